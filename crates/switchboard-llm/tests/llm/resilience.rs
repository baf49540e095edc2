use std::time::{Duration, SystemTime};

use switchboard_llm::mock::{MockLlm, Script};
use switchboard_llm::{BreakerState, ChatEvent, ChatProvider, ErrorClass, LlmError, RetryPolicy};

use crate::helpers::*;

#[tokio::test]
async fn a_rate_limit_is_retried_no_sooner_than_retry_after() {
    let mock = MockLlm::start().await;
    mock.push(Script::rate_limited("2"));
    mock.push(Script::reply("Back again."));
    let breakers = breakers();
    let response = resilient(&mock, None, &breakers, quick_retries()).complete(request("Hi")).await.unwrap();
    assert_eq!(response.content, "Back again.");

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let waited = requests[1].received_at - requests[0].responded_at.unwrap();
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}, asked for 2 s");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured_on_a_stream() {
    let mock = MockLlm::start().await;
    let not_before = SystemTime::now() + Duration::from_secs(2);
    mock.push(Script::rate_limited(&httpdate::fmt_http_date(not_before)));
    mock.push(Script::reply("ok"));
    let breakers = breakers();
    let events = events(&resilient(&mock, None, &breakers, quick_retries()), request("Hi")).await;
    assert_eq!(text_of(&events), "ok");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    // The date has whole seconds: the retry may not come before it.
    let date = httpdate::parse_http_date(&httpdate::fmt_http_date(not_before)).unwrap();
    assert!(requests[1].received_wall >= date, "retried before the date asked for");
}

#[tokio::test]
async fn server_errors_and_overload_are_retried_at_most_three_times() {
    let mock = MockLlm::start().await;
    for status in [500, 503, 529] {
        mock.push(Script::status(status));
    }
    mock.push(Script::reply("Recovered."));
    let breakers = breakers();
    let provider = resilient(&mock, None, &breakers, quick_retries());
    assert_eq!(provider.complete(request("Hi")).await.unwrap().content, "Recovered.");
    assert_eq!(mock.request_count(), 4);

    let mock = MockLlm::start().await;
    mock.set_default(Script::status(502));
    let provider = resilient(&mock, None, &breakers, quick_retries());
    let error = provider.complete(request("Hi")).await.unwrap_err();
    assert!(matches!(error, LlmError::Api { status: 502, .. }), "{error:?}");
    assert_eq!(mock.request_count(), 4, "1 attempt + 3 retries");

    // A stream that fails before any output is retried the same way.
    let mock = MockLlm::start().await;
    mock.push(Script::status(504));
    mock.push(Script::cut("never seen", 4, 0));
    mock.push(Script::reply("Streamed after all."));
    let events = events(&resilient(&mock, None, &breakers, quick_retries()), request("Hi")).await;
    assert_eq!(text_of(&events), "Streamed after all.");
    assert!(matches!(events.last(), Some(Ok(ChatEvent::Finish { .. }))));
    assert_eq!(mock.request_count(), 3);
}

#[tokio::test]
async fn bad_requests_are_never_retried_nor_sent_to_the_fallback() {
    let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
    primary.set_default(Script::bad_request("Invalid 'messages[1].content': string too long."));
    let breakers = breakers();
    let provider = resilient(&primary, Some(&fallback), &breakers, quick_retries());
    let error = provider.complete(request("Hi")).await.unwrap_err();
    assert!(matches!(error, LlmError::Api { status: 400, .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Fatal);
    let events = events(&provider, request("Hi")).await;
    assert!(matches!(events.as_slice(), [Err(LlmError::Api { status: 400, .. })]), "{events:?}");
    assert_eq!(primary.request_count(), 2, "one request per call");
    assert_eq!(fallback.request_count(), 0);
    // A refused request says nothing against the endpoint.
    assert_eq!(breakers.get(provider_endpoint(&primary).as_str()).state(), BreakerState::Closed);
}

fn provider_endpoint(mock: &MockLlm) -> String {
    format!("{}/chat/completions", mock.base_url())
}

#[tokio::test]
async fn quota_and_auth_failures_are_not_retried_but_the_fallback_serves() {
    for script in [Script::insufficient_quota(), Script::status(401), Script::status(403), Script::status(404)] {
        let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
        primary.set_default(script.clone());
        fallback.push(Script::reply("From the fallback."));
        let breakers = breakers();
        let provider = resilient(&primary, Some(&fallback), &breakers, quick_retries());
        let response = provider.complete(request("Hi")).await.unwrap();
        assert_eq!(response.content, "From the fallback.");
        assert_eq!(response.model, "fallback-model");
        assert_eq!(primary.request_count(), 1, "{script:?} was retried");

        // Without a fallback the caller gets the provider's own error.
        let alone = resilient(&primary, None, &breakers, quick_retries());
        let error = alone.complete(request("Hi")).await.unwrap_err();
        assert!(matches!(error, LlmError::Api { .. }), "{error:?}");
        assert_eq!(primary.request_count(), 2, "{script:?} was retried");
    }
    let quota = MockLlm::start().await;
    quota.set_default(Script::insufficient_quota());
    let error = provider(&quota).complete(request("Hi")).await.unwrap_err();
    assert!(error.is_quota(), "{error:?}");
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_goes_to_the_fallback_at_once() {
    let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
    primary.push(Script::rate_limited("60"));
    fallback.push(Script::reply("Served by the fallback."));
    let breakers = breakers();
    let provider = resilient(&primary, Some(&fallback), &breakers, quick_retries());
    assert_eq!(provider.complete(request("Hi")).await.unwrap().content, "Served by the fallback.");
    assert_eq!(primary.request_count(), 1);
}

#[tokio::test]
async fn the_breaker_opens_and_the_fallback_serves() {
    let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
    primary.set_default(Script::status(503));
    fallback.set_default(Script::reply("Fallback answer."));
    let breakers = breakers();
    let provider = resilient(&primary, Some(&fallback), &breakers, RetryPolicy::none());

    for _ in 0..5 {
        assert_eq!(provider.complete(request("Hi")).await.unwrap().content, "Fallback answer.");
    }
    assert_eq!(primary.request_count(), 5);
    assert_eq!(breakers.get(&provider_endpoint(&primary)).state(), BreakerState::Open);

    // Open: the primary gets nothing, the fallback everything, streams included.
    for _ in 0..5 {
        assert_eq!(provider.complete(request("Hi")).await.unwrap().content, "Fallback answer.");
        assert_eq!(text_of(&events(&provider, request("Hi")).await), "Fallback answer.");
    }
    assert_eq!(primary.request_count(), 5);
    assert_eq!(fallback.request_count(), 15);
    // The fallback got its own model.
    assert!(fallback.requests().iter().all(|r| r.json.as_ref().unwrap()["model"] == "fallback-model"));

    // When the fallback fails too, its breaker opens as well, and then
    // callers are refused at once without a request to either.
    fallback.set_default(Script::status(500));
    for _ in 0..5 {
        let error = provider.complete(request("Hi")).await.unwrap_err();
        assert!(matches!(error, LlmError::Api { status: 500, .. }), "{error:?}");
    }
    let sent = fallback.request_count();
    let error = provider.complete(request("Hi")).await.unwrap_err();
    assert!(matches!(error, LlmError::CircuitOpen { .. }), "{error:?}");
    assert_eq!((primary.request_count(), fallback.request_count()), (5, sent));
}

#[tokio::test]
async fn a_stream_that_already_spoke_is_not_retried() {
    let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
    primary.push(Script::cut("Partial answer that breaks", 4, 2));
    fallback.set_default(Script::reply("must not be used"));
    let breakers = breakers();
    let events = events(&resilient(&primary, Some(&fallback), &breakers, quick_retries()), request("Hi")).await;
    assert_eq!(events.iter().filter(|e| matches!(e, Ok(ChatEvent::Delta(_)))).count(), 2);
    assert!(matches!(events.last(), Some(Err(LlmError::Interrupted(_)))), "{events:?}");
    assert_eq!(primary.request_count(), 1);
    assert_eq!(fallback.request_count(), 0);
}

#[tokio::test]
async fn a_request_timeout_bounds_the_whole_call_retries_included() {
    let mock = MockLlm::start().await;
    mock.push(Script::rate_limited("2"));
    let breakers = breakers();
    let provider = resilient(&mock, None, &breakers, quick_retries());
    // Waiting 2 s would overrun the 1 s the caller gave: the 429 comes back instead.
    let error = provider.complete(request("Hi").with_timeout(Duration::from_secs(1))).await.unwrap_err();
    assert!(matches!(error, LlmError::Api { status: 429, .. }), "{error:?}");
    assert_eq!(mock.request_count(), 1);

    // Each attempt carries what is left of the time, so a hang ends with the call's deadline.
    mock.set_default(Script::Hang);
    let events = events(&provider, request("Hi").with_timeout(Duration::from_millis(300))).await;
    assert!(matches!(events.as_slice(), [Err(LlmError::Timeout(switchboard_llm::TimeoutKind::Total))]), "{events:?}");
}

#[tokio::test]
async fn a_breaker_that_opens_during_a_call_stops_its_retries_and_the_fallback_serves() {
    let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
    primary.set_default(Script::status(503));
    fallback.set_default(Script::reply("Fallback answer."));
    let breakers = switchboard_llm::Breakers::new(switchboard_llm::BreakerConfig {
        consecutive_failures: 2,
        ..switchboard_llm::BreakerConfig::standard()
    });
    let provider = resilient(&primary, Some(&fallback), &breakers, quick_retries());
    assert_eq!(provider.complete(request("Hi")).await.unwrap().content, "Fallback answer.");
    assert_eq!(text_of(&events(&provider, request("Hi")).await), "Fallback answer.");
    // One attempt and one retry opened the breaker; the other two retries were not made.
    assert_eq!(primary.request_count(), 2);
}
