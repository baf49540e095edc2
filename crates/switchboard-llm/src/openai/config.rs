//! Where an OpenAI-compatible endpoint is and how to talk to it.

use std::time::Duration;

use secrecy::SecretString;

pub use super::wire::MaxTokensField;

/// How the API key is sent.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No key (a local Ollama, vLLM or llama.cpp server).
    None,
    /// `Authorization: Bearer <key>` (OpenAI, OpenRouter, most servers).
    Bearer(SecretString),
    /// `api-key: <key>` (Azure OpenAI).
    ApiKeyHeader(SecretString),
}

/// The deadlines of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the connection (TCP and TLS).
    pub connect: Duration,
    /// From sending a streamed request to its response headers. (A non-streamed
    /// request's headers come only when the whole answer is generated, so it
    /// waits up to `total`.)
    pub first_byte: Duration,
    /// The longest silence between two pieces of a response once it started.
    pub idle: Duration,
    /// The whole request; a [`crate::ChatRequest::timeout`] may shorten it.
    pub total: Duration,
}

impl Timeouts {
    /// 5 s to connect, 30 s to the first byte and between chunks, 120 s in all.
    pub fn standard() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(30),
            idle: Duration::from_secs(30),
            total: Duration::from_secs(120),
        }
    }
}

/// An OpenAI-compatible Chat Completions endpoint. The request goes to
/// `base_url` + `path` with `query` appended; the constructors fill these in
/// for the known providers, and every field can be changed after.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Scheme, host and any path prefix, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// Appended to `base_url`, e.g. `/chat/completions`.
    pub path: String,
    /// Query parameters, e.g. Azure's `api-version`.
    pub query: Vec<(String, String)>,
    pub auth: Auth,
    /// Extra headers (OpenRouter's `HTTP-Referer` and `X-Title`, a gateway's own).
    /// Values are marked sensitive, so they stay out of logs.
    pub headers: Vec<(String, String)>,
    pub max_tokens_field: MaxTokensField,
    /// Ask for usage in streams (`stream_options.include_usage`); turn off for
    /// a server that rejects the field.
    pub include_usage: bool,
    pub timeouts: Timeouts,
    /// The most bytes read from one response, streamed or not.
    pub max_response_bytes: usize,
    /// Resolves the endpoint's host name instead of the system resolver: the
    /// server passes one that refuses addresses its network policy forbids, so
    /// the addresses checked are the ones connected to (no DNS rebinding).
    pub resolver: Option<Resolver>,
}

/// A host-name resolver for the provider's HTTP client.
#[derive(Clone)]
pub struct Resolver(pub std::sync::Arc<dyn reqwest::dns::Resolve>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

impl OpenAiConfig {
    /// Any server that speaks Chat Completions at `base_url/chat/completions`:
    /// vLLM (`http://host:8000/v1`), llama.cpp's server (`http://host:8080/v1`),
    /// LM Studio, a gateway.
    pub fn compatible(base_url: impl Into<String>, api_key: Option<SecretString>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            path: "/chat/completions".into(),
            query: Vec::new(),
            auth: api_key.map_or(Auth::None, Auth::Bearer),
            headers: Vec::new(),
            max_tokens_field: MaxTokensField::MaxTokens,
            include_usage: true,
            timeouts: Timeouts::standard(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            resolver: None,
        }
    }

    /// OpenAI itself.
    pub fn openai(api_key: SecretString) -> Self {
        OpenAiConfig {
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            ..Self::compatible("https://api.openai.com/v1", Some(api_key))
        }
    }

    /// Azure OpenAI: `resource_endpoint` is `https://<resource>.openai.azure.com`;
    /// the model is chosen by the deployment (the request's `model` is ignored by Azure).
    pub fn azure(
        resource_endpoint: impl Into<String>,
        deployment: &str,
        api_version: impl Into<String>,
        api_key: SecretString,
    ) -> Self {
        OpenAiConfig {
            path: format!("/openai/deployments/{deployment}/chat/completions"),
            query: vec![("api-version".into(), api_version.into())],
            auth: Auth::ApiKeyHeader(api_key),
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            ..Self::compatible(resource_endpoint, None)
        }
    }

    /// OpenRouter; models are named `vendor/model`.
    pub fn openrouter(api_key: SecretString) -> Self {
        Self::compatible("https://openrouter.ai/api/v1", Some(api_key))
    }

    /// Ollama's OpenAI-compatible endpoint, `http://localhost:11434/v1` by default.
    pub fn ollama(base_url: impl Into<String>) -> Self {
        Self::compatible(base_url, None)
    }

    /// The same endpoint's Embeddings API: `…/chat/completions` becomes
    /// `…/embeddings` (Azure's deployment path and `api-version` stay).
    pub fn for_embeddings(mut self) -> Self {
        let prefix = self.path.strip_suffix("/chat/completions").unwrap_or(&self.path).trim_end_matches('/');
        self.path = format!("{prefix}/embeddings");
        self
    }
}
