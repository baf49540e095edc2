use std::time::Duration;

use switchboard_llm::mock::{MockLlm, Script};
use switchboard_llm::{ChatEvent, ChatProvider, LlmError, OpenAiProvider, TimeoutKind};

use crate::helpers::*;

fn impatient(mock: &MockLlm) -> OpenAiProvider {
    let mut config = config(mock);
    config.timeouts.first_byte = Duration::from_millis(300);
    config.timeouts.idle = Duration::from_millis(300);
    config.timeouts.total = Duration::from_millis(600);
    OpenAiProvider::new(config).unwrap()
}

#[tokio::test]
async fn a_hanging_provider_times_out() {
    let mock = MockLlm::start().await;
    mock.set_default(Script::Hang);
    let events = events(&impatient(&mock), request("Hi")).await;
    assert!(matches!(events.as_slice(), [Err(LlmError::Timeout(TimeoutKind::FirstByte))]), "{events:?}");
    let error = impatient(&mock).complete(request("Hi")).await.unwrap_err();
    assert!(matches!(error, LlmError::Timeout(TimeoutKind::Total)), "{error:?}");
    // A request's own timeout can only shorten the provider's.
    let error = impatient(&mock).complete(request("Hi").with_timeout(Duration::from_secs(3600))).await.unwrap_err();
    assert!(matches!(error, LlmError::Timeout(TimeoutKind::Total)), "{error:?}");
}

#[tokio::test]
async fn a_stalled_stream_times_out_between_chunks() {
    let mock = MockLlm::start().await;
    mock.push(Script::stall("Let me check that for you.", 4, 1));
    let events = events(&impatient(&mock), request("Hi")).await;
    assert!(matches!(events.first(), Some(Ok(ChatEvent::Delta(_)))), "{events:?}");
    assert!(matches!(events.last(), Some(Err(LlmError::Timeout(TimeoutKind::Idle)))), "{events:?}");
}

#[tokio::test]
async fn a_hanging_primary_is_left_for_the_fallback() {
    let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
    primary.set_default(Script::Hang);
    fallback.push(Script::reply("Fallback after a hang."));
    let breakers = breakers();
    let provider = switchboard_llm::Resilient::new(
        switchboard_llm::Route::openai(impatient(&primary), &breakers, None),
        quick_retries(),
    )
    .with_fallback(route(&fallback, &breakers));
    let events = events(&provider, request("Hi")).await;
    assert_eq!(text_of(&events), "Fallback after a hang.");
    assert_eq!(primary.request_count(), 1, "a timeout is not retried on the same endpoint");
}

#[tokio::test]
async fn an_unreachable_provider_is_a_connection_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = switchboard_llm::OpenAiConfig::compatible(format!("http://127.0.0.1:{port}/v1"), None);
    let error = OpenAiProvider::new(config).unwrap().complete(request("Hi")).await.unwrap_err();
    assert!(matches!(error, LlmError::Connect(_)), "{error:?}");
    assert_eq!(error.class(), switchboard_llm::ErrorClass::Retry);
}
