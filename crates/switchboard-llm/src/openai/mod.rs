//! The OpenAI-compatible Chat Completions provider (OpenAI, Azure OpenAI,
//! OpenRouter, Ollama, vLLM, llama.cpp's server).
//!
//! One attempt per call: retries, the circuit breaker and the fallback are
//! [`crate::Resilient`]'s. What this layer guarantees is that every way a
//! request can go wrong comes back as a typed [`LlmError`] within its
//! deadlines, that the answer is complete or an error (a stream that stops
//! before the model finished is [`LlmError::Interrupted`], never a short
//! answer), and that the key never leaves in a log line or error.

mod config;
mod embeddings;
mod stream;
mod wire;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::{Instant, timeout};

pub use config::{Auth, MaxTokensField, OpenAiConfig, Resolver, Timeouts};
pub use embeddings::{Embeddings, OpenAiEmbeddings};

use crate::ChatProvider;
use crate::error::{LlmError, TimeoutKind};
use crate::retry::parse_retry_after;
use crate::tokens::{estimate_prompt_tokens, estimate_tokens};
use crate::types::{ChatRequest, ChatResponse, ChatStream, FinishReason, ToolCall, Usage};

/// The most of an error body we read, and of its message we keep.
const MAX_ERROR_BODY: usize = 64 * 1024;
const MAX_ERROR_MESSAGE: usize = 500;

/// A Chat Completions endpoint. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct OpenAiProvider {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    url: url::Url,
    endpoint: String,
    headers: HeaderMap,
    secret: Option<SecretString>,
    config: OpenAiConfig,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider").field("endpoint", &self.inner.endpoint).finish_non_exhaustive()
    }
}

impl Inner {
    /// The client, URL and headers for `config`; the key goes only into sensitive headers.
    fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let joined = format!("{}/{}", config.base_url.trim_end_matches('/'), config.path.trim_start_matches('/'));
        let mut url = url::Url::parse(&joined).map_err(|e| LlmError::Config(format!("base URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
            return Err(LlmError::Config("base URL must be http(s) without credentials".into()));
        }
        let endpoint = url.as_str().to_owned();
        if !config.query.is_empty() {
            url.query_pairs_mut().extend_pairs(config.query.iter());
        }

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let secret = match &config.auth {
            Auth::None => None,
            Auth::Bearer(key) => {
                headers.insert(AUTHORIZATION, sensitive(&format!("Bearer {}", key.expose_secret()))?);
                Some(key.clone())
            }
            Auth::ApiKeyHeader(key) => {
                headers.insert(HeaderName::from_static("api-key"), sensitive(key.expose_secret())?);
                Some(key.clone())
            }
        };
        for (name, value) in &config.headers {
            let name =
                HeaderName::try_from(name.as_str()).map_err(|_| LlmError::Config(format!("header name {name}")))?;
            headers.insert(name, sensitive(value)?);
        }

        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            // A provider has no business redirecting, and a redirect could
            // carry the `api-key` header to another host.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(resolver) = &config.resolver {
            builder = builder.dns_resolver(resolver.0.clone());
        }
        let client = builder.build().map_err(|e| LlmError::Config(format!("HTTP client: {}", error_chain(&e))))?;
        Ok(Inner { client, url, endpoint, headers, secret, config })
    }
}

impl OpenAiProvider {
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        Ok(OpenAiProvider { inner: Arc::new(Inner::new(config)?) })
    }

    /// The endpoint's URL without its query: the key of its circuit breaker.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, LlmError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| LlmError::Config("a header value is not valid".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The error and its causes, without the URL (reqwest's own text names it).
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn map_send_error(error: reqwest::Error) -> LlmError {
    let error = error.without_url();
    if error.is_timeout() {
        LlmError::Timeout(TimeoutKind::Connect)
    } else if error.is_body() || error.is_decode() {
        LlmError::Interrupted(error_chain(&error))
    } else {
        LlmError::Connect(error_chain(&error))
    }
}

impl Inner {
    fn deadline(&self, request: &ChatRequest) -> Instant {
        let total = request.timeout.map_or(self.config.timeouts.total, |t| t.min(self.config.timeouts.total));
        Instant::now() + total
    }

    /// Sends the request and waits for a success status.
    async fn send(
        &self,
        request: &ChatRequest,
        stream: bool,
        deadline: Instant,
    ) -> Result<reqwest::Response, LlmError> {
        let body = wire::Request::new(request, stream, self.config.include_usage, self.config.max_tokens_field);
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Protocol(format!("encoding the request: {e}")))?;
        self.send_body(body, stream, deadline).await
    }

    /// Posts a JSON body and waits for a success status (for a stream, at
    /// most the first-byte timeout).
    async fn send_body(&self, body: Vec<u8>, stream: bool, deadline: Instant) -> Result<reqwest::Response, LlmError> {
        let sending = self.client.post(self.url.clone()).headers(self.headers.clone()).body(body).send();

        let remaining = deadline.saturating_duration_since(Instant::now());
        let (wait, kind) = if stream && self.config.timeouts.first_byte < remaining {
            (self.config.timeouts.first_byte, TimeoutKind::FirstByte)
        } else {
            (remaining, TimeoutKind::Total)
        };
        let response = match timeout(wait, sending).await {
            Err(_) => return Err(LlmError::Timeout(kind)),
            Ok(Err(e)) => return Err(map_send_error(e)),
            Ok(Ok(response)) => response,
        };
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.api_error(response, deadline).await)
    }

    async fn api_error(&self, response: reqwest::Response, deadline: Instant) -> LlmError {
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        // The body explains the refusal; if it cannot be read, the status still does.
        let body =
            read_limited(response, MAX_ERROR_BODY, deadline, self.config.timeouts.idle).await.unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<wire::ErrorEnvelope>(&body) {
            Ok(envelope) => (envelope.error.code(), envelope.error.message.unwrap_or_default()),
            Err(_) => (None, String::from_utf8_lossy(&body).into_owned()),
        };
        LlmError::Api { status, code, message: self.scrub(&message), retry_after }
    }

    /// A success body as `T`; some servers answer 200 with an error object,
    /// which becomes the API error it is.
    fn parse_ok_body<T: serde::de::DeserializeOwned>(&self, body: &[u8], what: &str) -> Result<T, LlmError> {
        serde_json::from_slice(body).map_err(|e| match serde_json::from_slice::<wire::ErrorEnvelope>(body) {
            Ok(envelope) => {
                let message = self.scrub(&envelope.error.message.clone().unwrap_or_default());
                LlmError::Api { status: 200, code: envelope.error.code(), message, retry_after: None }
            }
            Err(_) => LlmError::Protocol(format!("not {what}: {e}")),
        })
    }

    /// Removes the key from provider text (OpenAI quotes a masked key in 401
    /// messages; a proxy may echo headers) and shortens it.
    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        if let Some(secret) = &self.secret {
            let secret = secret.expose_secret();
            if !secret.is_empty() {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        let text = redact_key_like(&text);
        let mut end = text.len().min(MAX_ERROR_MESSAGE);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].trim().to_owned()
    }

    fn usage_or_estimate(&self, request: &ChatRequest, reported: Option<wire::WireUsage>, output: &str) -> Usage {
        match reported {
            Some(u) => Usage { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens, estimated: false },
            None => {
                let tools: u32 = request
                    .tools
                    .iter()
                    .map(|t| {
                        estimate_tokens(t.name())
                            + estimate_tokens(t.description())
                            + estimate_tokens(&t.parameters().to_string())
                    })
                    .sum();
                Usage {
                    input_tokens: estimate_prompt_tokens(&request.messages) + tools,
                    output_tokens: estimate_tokens(output),
                    estimated: true,
                }
            }
        }
    }
}

/// Masks anything shaped like an OpenAI-style key (`sk-…`, masked or not).
fn redact_key_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sk-") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 3..];
        let len =
            tail.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*'))).unwrap_or(tail.len());
        if len >= 6 {
            out.push_str("sk-[REDACTED]");
        } else {
            out.push_str(&rest[at..at + 3 + len]);
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// `retry-after-ms` (OpenAI, Azure) or `Retry-After` (seconds or HTTP-date).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        // Never shorter than a seconds value sent alongside.
        let from_ms = Duration::from_secs_f64((ms / 1000.0).min(86_400.0));
        let from_header = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        return Some(from_header.map_or(from_ms, |s| s.max(from_ms)));
    }
    text(RETRY_AFTER.as_str()).and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// Reads a body up to `limit` bytes, within the deadline and the idle timeout.
async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    deadline: Instant,
    idle: Duration,
) -> Result<Bytes, LlmError> {
    let mut body = BytesMut::new();
    loop {
        let chunk = next_chunk(&mut response, deadline, idle).await?;
        let Some(chunk) = chunk else { return Ok(body.freeze()) };
        if body.len() + chunk.len() > limit {
            return Err(LlmError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
}

/// The next piece of a body, or the timeout that came first.
async fn next_chunk(
    response: &mut reqwest::Response,
    deadline: Instant,
    idle: Duration,
) -> Result<Option<Bytes>, LlmError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let (wait, kind) = if idle < remaining { (idle, TimeoutKind::Idle) } else { (remaining, TimeoutKind::Total) };
    match timeout(wait, response.chunk()).await {
        Err(_) => Err(LlmError::Timeout(kind)),
        Ok(Err(e)) => Err(LlmError::Interrupted(error_chain(&e.without_url()))),
        Ok(Ok(chunk)) => Ok(chunk),
    }
}

/// Fills in what some servers leave out of a tool call.
fn tool_call(index: usize, id: String, name: String, arguments: String) -> ToolCall {
    let id = if id.is_empty() { format!("call_{index}") } else { id };
    ToolCall { id, name, arguments }
}

#[async_trait]
impl ChatProvider for OpenAiProvider {
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let inner = &self.inner;
        let deadline = inner.deadline(&request);
        let response = inner.send(&request, false, deadline).await?;
        let body =
            read_limited(response, inner.config.max_response_bytes, deadline, inner.config.timeouts.idle).await?;
        let completion: wire::Completion = inner.parse_ok_body(&body, "a chat completion")?;
        let choice = completion.choices.into_iter().next().ok_or_else(|| LlmError::Protocol("no choices".into()))?;
        let content = choice.message.content.unwrap_or_default();
        let calls: Vec<ToolCall> = choice
            .message
            .tool_calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| tool_call(i, c.id, c.function.name, c.function.arguments))
            .collect();
        let finish = match choice.finish_reason {
            Some(reason) => FinishReason::from_wire(&reason),
            None if calls.is_empty() => FinishReason::Stop,
            None => FinishReason::ToolCalls,
        };
        let mut output = content.clone();
        for call in &calls {
            output.push(' ');
            output.push_str(&call.arguments);
        }
        let usage = inner.usage_or_estimate(&request, completion.usage, &output);
        let model = if completion.model.is_empty() { request.model.clone() } else { completion.model };
        let tool_calls = calls.into_iter().map(|c| request.check_tool_call(c)).collect();
        Ok(ChatResponse { content, tool_calls, finish, usage, model })
    }

    fn stream(&self, request: ChatRequest) -> ChatStream {
        stream::start(Arc::clone(&self.inner), request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_like_strings_are_masked() {
        assert_eq!(
            redact_key_like("Incorrect API key provided: sk-abc123**********wxyz. See docs."),
            "Incorrect API key provided: sk-[REDACTED]. See docs."
        );
        assert_eq!(redact_key_like("task-sk-1 ok"), "task-sk-1 ok");
    }

    #[test]
    fn debug_shows_the_endpoint_not_the_key() {
        let key = "sk-test-0123456789abcdef0123456789abcdef";
        let mut config = OpenAiConfig::openai(SecretString::from(key));
        config.headers.push(("X-Title".into(), "Switchboard".into()));
        let provider = OpenAiProvider::new(config.clone()).unwrap();
        let printed = format!("{provider:?} {config:?} {:?}", provider.inner.headers);
        assert!(printed.contains("https://api.openai.com/v1/chat/completions"), "{printed}");
        assert!(!printed.contains(key), "{printed}");
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
    }

    #[test]
    fn azure_url_has_deployment_path_and_api_version() {
        let config =
            OpenAiConfig::azure("https://res.openai.azure.com/", "gpt4o-prod", "2024-10-21", SecretString::from("k"));
        let provider = OpenAiProvider::new(config).unwrap();
        assert_eq!(provider.endpoint(), "https://res.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions");
        assert_eq!(provider.inner.url.query(), Some("api-version=2024-10-21"));
        assert!(provider.inner.headers.contains_key("api-key"));
        assert!(!provider.inner.headers.contains_key(AUTHORIZATION));
    }

    #[test]
    fn refuses_urls_that_are_not_http_or_carry_credentials() {
        for base in ["file:///etc", "ftp://x/v1", "https://user:pw@x/v1", "not a url"] {
            assert!(
                matches!(OpenAiProvider::new(OpenAiConfig::compatible(base, None)), Err(LlmError::Config(_))),
                "{base}"
            );
        }
    }
}
