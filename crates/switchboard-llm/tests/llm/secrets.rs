use std::io::Write;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use serde_json::json;
use switchboard_llm::mock::{MockLlm, Script};
use switchboard_llm::{ChatProvider, LlmError, OpenAiConfig, OpenAiProvider};

use crate::helpers::*;

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn error_script(status: u16, message: &str) -> Script {
    Script::Error {
        status,
        headers: Vec::new(),
        body: json!({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}})
            .to_string(),
    }
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output_errors_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // An OpenAI-style key, and an Azure-style one (32 hex digits, no prefix to spot).
    for key in [KEY, "5e1f0c9a3b7d42e8a6c4f2b0d8e6a4c2"] {
        let seen = provoke_failures(key).await;
        let logs = logs.text();
        // Every call fails on every route, and each route's failure is logged with
        // its error (whether a retry is also logged depends on breaker timing).
        assert!(logs.contains("LLM route failed"), "the failures were logged: {logs}");
        for text in seen.iter().chain([&logs]) {
            assert!(!text.contains(key), "key in: {text}");
            assert!(!text.contains(&key[key.len() - 12..]), "part of the key in: {text}");
        }
        // The errors still say what happened.
        assert!(seen[0].contains("401") && seen[0].contains("invalid_api_key"), "{}", seen[0]);
    }
}

/// Makes a provider using `key` fail in every way that prints, and returns what was printed.
async fn provoke_failures(key: &str) -> Vec<String> {
    let (primary, fallback) = (MockLlm::start().await, MockLlm::start().await);
    // A provider (or a proxy before it) that quotes the key back, whole and masked.
    primary.push(error_script(401, &format!("Incorrect API key provided: {key}.")));
    primary.push(error_script(401, &format!("Incorrect API key provided: sk-test-****{}.", &key[key.len() - 4..])));
    primary.push(error_script(503, &format!("upstream said: Authorization: Bearer {key}")));
    primary.set_default(Script::status(500));
    fallback.set_default(error_script(500, &format!("echo {key}")));

    let with_key = |mock: &MockLlm| {
        let mut config = config(mock);
        config.auth = switchboard_llm::Auth::Bearer(SecretString::from(key));
        config
    };
    let breakers = breakers();
    let primary_route =
        switchboard_llm::Route::openai(OpenAiProvider::new(with_key(&primary)).unwrap(), &breakers, None);
    let fallback_route =
        switchboard_llm::Route::openai(OpenAiProvider::new(with_key(&fallback)).unwrap(), &breakers, None);
    let provider = switchboard_llm::Resilient::new(primary_route, quick_retries()).with_fallback(fallback_route);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let error = provider.complete(request("Hi")).await.unwrap_err();
        seen.push(format!("{error} {error:?}"));
    }
    let direct = OpenAiProvider::new(with_key(&primary)).unwrap();
    seen.push(format!("{direct:?} {provider:?} {:?}", with_key(&primary)));
    let azure = OpenAiConfig::azure(primary.base_url(), "prod", "2024-10-21", SecretString::from(key));
    seen.push(format!("{azure:?} {:?}", OpenAiProvider::new(azure.clone()).unwrap()));

    // The key did reach the mock, where it belongs, so the checks can find it.
    assert_eq!(primary.requests()[0].header("authorization"), Some(format!("Bearer {key}").as_str()));
    seen
}

#[tokio::test]
async fn the_azure_key_goes_in_its_header_and_the_api_version_in_the_query() {
    let mock = MockLlm::start().await;
    mock.push(Script::reply("ok"));
    let config =
        OpenAiConfig::azure(format!("http://{}", mock.addr()), "gpt4o-prod", "2024-10-21", SecretString::from(KEY));
    let answer = OpenAiProvider::new(config).unwrap().complete(request("Hi")).await.unwrap();
    assert_eq!(answer.content, "ok");
    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/openai/deployments/gpt4o-prod/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert!(sent.json.as_ref().unwrap().get("max_completion_tokens").is_none());
}

#[tokio::test]
async fn a_provider_that_redirects_is_not_followed() {
    let mock = MockLlm::start().await;
    mock.push(Script::Error {
        status: 307,
        headers: vec![("location".into(), "http://127.0.0.1:9/steal".into())],
        body: String::new(),
    });
    let error = provider(&mock).complete(request("Hi")).await.unwrap_err();
    assert!(matches!(error, LlmError::Api { status: 307, .. }), "{error:?}");
}
