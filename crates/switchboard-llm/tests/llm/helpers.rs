use std::time::Duration;

use secrecy::SecretString;
use switchboard_llm::mock::MockLlm;
use switchboard_llm::{
    BreakerConfig, Breakers, ChatEvent, ChatProvider, ChatRequest, LlmError, Message, OpenAiConfig, OpenAiProvider,
    Resilient, RetryPolicy, Route, Timeouts,
};

pub const KEY: &str = "sk-test-CANARY-7f3c9a1e5b2d4c6e8f0a1b3c5d7e9f11";

pub fn config(mock: &MockLlm) -> OpenAiConfig {
    let mut config = mock.openai_config(Some(SecretString::from(KEY)));
    config.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        first_byte: Duration::from_secs(5),
        idle: Duration::from_secs(5),
        total: Duration::from_secs(20),
    };
    config
}

pub fn provider(mock: &MockLlm) -> OpenAiProvider {
    OpenAiProvider::new(config(mock)).expect("provider")
}

pub fn request(user: &str) -> ChatRequest {
    ChatRequest::new("gpt-4o-mini", vec![Message::system("You are the shop's assistant."), Message::user(user)])
}

/// Retries as in production, but with millisecond backoff so tests stay quick.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        budget: Duration::from_secs(20),
    }
}

pub fn route(mock: &MockLlm, breakers: &Breakers) -> Route {
    Route::openai(provider(mock), breakers, None)
}

pub fn resilient(primary: &MockLlm, fallback: Option<&MockLlm>, breakers: &Breakers, retry: RetryPolicy) -> Resilient {
    let mut resilient = Resilient::new(route(primary, breakers), retry);
    if let Some(fallback) = fallback {
        let mut fallback = route(fallback, breakers);
        fallback.model = Some("fallback-model".into());
        resilient = resilient.with_fallback(fallback);
    }
    resilient
}

pub fn breakers() -> Breakers {
    Breakers::new(BreakerConfig::standard())
}

/// Every event of a stream, the error that ended it included.
pub async fn events(provider: &dyn ChatProvider, request: ChatRequest) -> Vec<Result<ChatEvent, LlmError>> {
    use futures::StreamExt;
    provider.stream(request).collect().await
}

pub fn text_of(events: &[Result<ChatEvent, LlmError>]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ChatEvent::Delta(text)) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
