//! Typed settings, layered: built-in defaults, then an optional TOML file, then
//! `SWITCHBOARD__SECTION__KEY` environment variables (env wins over the file),
//! then the command-line flags the binary passes in (flags win over all).
//! `DATABASE_URL` is read too, as the conventional way to select PostgreSQL.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The documented example configuration, printed by `switchboard default-config`.
pub const EXAMPLE_TOML: &str = include_str!("../switchboard.example.toml");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where the SQLite database and stored files live.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub knowledge: KnowledgeSettings,
    pub web: WebSettings,
    pub secrets: SecretsSettings,
    pub llm: LlmProviderSettings,
    pub tools: ToolEgressSettings,
}

/// A setting's list of networks in CIDR form, `field` naming it in the error.
pub fn parse_networks(field: &str, networks: &[String]) -> anyhow::Result<Vec<switchboard_egress::IpNet>> {
    networks.iter().map(|n| n.parse().map_err(|e| anyhow::anyhow!("{field}: `{n}`: {e}"))).collect()
}

/// Calls of agents' HTTP tools (organizations' own endpoints).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ToolEgressSettings {
    /// Let tools call loopback, private (RFC 1918), shared (CGNAT) and
    /// unique-local addresses. Link-local addresses (cloud metadata) stay refused.
    pub allow_private_networks: bool,
    /// Networks tools may call whatever their kind, in CIDR form.
    pub allowed_networks: Vec<String>,
    /// The largest response body read; a larger one fails the call.
    pub max_response_bytes: u64,
    /// Redirects followed per call, each target checked like the first.
    pub max_redirects: usize,
}

impl Default for ToolEgressSettings {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            allowed_networks: Vec::new(),
            max_response_bytes: 256 * 1024,
            max_redirects: 3,
        }
    }
}

impl ToolEgressSettings {
    /// The SSRF-safe client tool calls go through (each call sets its own timeout).
    pub fn egress_client(&self) -> anyhow::Result<switchboard_egress::Client> {
        let mut config =
            switchboard_egress::EgressConfig::new(format!("Switchboard-Tools/{}", env!("CARGO_PKG_VERSION")));
        config.addresses.allow_private_networks = self.allow_private_networks;
        config.addresses.allowed_networks = parse_networks("tools.allowed_networks", &self.allowed_networks)?;
        config.connect_timeout = std::time::Duration::from_secs(5);
        config.max_redirects = self.max_redirects;
        config.max_body_bytes = self.max_response_bytes;
        Ok(switchboard_egress::Client::new(config)?)
    }
}

/// Calls to the agents' language models.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LlmProviderSettings {
    /// Let agents' LLM endpoints be on loopback, private (RFC 1918), shared
    /// (CGNAT) or unique-local addresses (a local Ollama or vLLM). Link-local
    /// addresses (cloud metadata) stay refused.
    pub allow_private_networks: bool,
    /// Networks LLM endpoints may be on whatever their kind, in CIDR form.
    pub allowed_networks: Vec<String>,
    /// One turn's deadline for the model: retries and the fallback included.
    pub turn_timeout_secs: u64,
    /// Retries of a transient failure per endpoint (full-jitter backoff, never
    /// sooner than `Retry-After`; quota errors and 400s are never retried).
    pub max_retries: u32,
    /// Tool calls one turn may make; a model that wants more hands the
    /// conversation to a person.
    pub max_tool_calls: u32,
}

impl Default for LlmProviderSettings {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            allowed_networks: Vec::new(),
            turn_timeout_secs: 60,
            max_retries: 3,
            max_tool_calls: 8,
        }
    }
}

impl LlmProviderSettings {
    /// The addresses LLM endpoints may be on.
    pub fn address_policy(&self) -> anyhow::Result<switchboard_egress::AddressPolicy> {
        let mut policy = switchboard_egress::AddressPolicy::public_only();
        policy.allow_private_networks = self.allow_private_networks;
        policy.allowed_networks = parse_networks("llm.allowed_networks", &self.allowed_networks)?;
        Ok(policy)
    }
}

/// The web apps (dashboard, widget, demo page) and the widget's visitor API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// The built front-end (`widget.js`, `app/`). Unset: `web/dist` in the
    /// working directory, then `web/dist` next to the executable.
    pub dist_dir: Option<PathBuf>,
    /// The deployment `/demo` embeds when the URL names none.
    pub demo_deployment_id: Option<String>,
    /// Largest file a visitor may attach, in bytes.
    pub max_attachment_bytes: usize,
    /// How long a visitor token stays good after it was issued or last
    /// renewed; the widget renews it on each returning visit.
    pub visitor_token_ttl_hours: u64,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            dist_dir: None,
            demo_deployment_id: None,
            max_attachment_bytes: 10 * 1024 * 1024,
            visitor_token_ttl_hours: 30 * 24,
        }
    }
}

impl WebSettings {
    /// Where to look for the built front-end, in order.
    pub fn dist_dirs(&self) -> Vec<PathBuf> {
        match &self.dist_dir {
            Some(dir) => vec![dir.clone()],
            None => {
                let mut dirs = vec![PathBuf::from("web/dist")];
                if let Some(exe_dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
                    dirs.push(exe_dir.join("web/dist"));
                }
                dirs
            }
        }
    }
}

/// The key that encrypts stored secrets (deployments' identity secrets).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsSettings {
    /// 32 bytes, base64. Nodes sharing one PostgreSQL must all have the same
    /// one. Unset: the key file. Never printed.
    pub key: Option<Secret>,
    /// Unset: `<data_dir>/secret.key`, created (mode 0600) on first start.
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeSettings {
    /// The all-MiniLM-L6-v2 folder (model.safetensors, tokenizer.json,
    /// config.json). Unset: `SWITCHBOARD_MODEL_DIR`, then
    /// `<data_dir>/models/all-MiniLM-L6-v2`, then `.cache/models/all-MiniLM-L6-v2`.
    /// Without a model, search is full-text only.
    pub model_dir: Option<PathBuf>,
    /// How the local model computes: `f32` (vectors match
    /// sentence-transformers) or `int8` (quantized linear layers: about 1.4x
    /// the throughput on CPUs with AVX-512 VNNI, vectors within 0.998
    /// cosine of f32, SciFact nDCG@10 within 0.005). Collections keep
    /// recording `local:all-MiniLM-L6-v2`: both compute that model, so a
    /// switch re-embeds nothing, and `/readyz` names the one running.
    pub model_precision: ModelPrecision,
    /// Ingestion workers inside `serve` (0: this node only serves the API).
    pub workers: u32,
    /// Largest uploaded file, in bytes.
    pub max_upload_bytes: usize,
    /// Tries of an ingestion job before its document is marked failed.
    pub job_max_attempts: i32,
    /// How long a worker holds a job before another may take it over.
    pub job_lease_secs: u64,
    /// The `switchboard` executable that parses documents in a child process
    /// (`switchboard extract-worker`). Unset: this executable when it is
    /// `switchboard`; otherwise documents are parsed in-process, unconfined.
    pub extractor: Option<PathBuf>,
    /// Address space one parsing child may use (its executable included).
    pub extractor_memory_bytes: u64,
    /// CPU and wall-clock seconds one document may take to parse.
    pub extractor_timeout_secs: u64,
    pub crawl: CrawlSettings,
}

/// [`KnowledgeSettings::model_precision`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ModelPrecision {
    F32,
    Int8,
}

impl From<ModelPrecision> for switchboard_engine::Precision {
    fn from(p: ModelPrecision) -> Self {
        match p {
            ModelPrecision::F32 => switchboard_engine::Precision::F32,
            ModelPrecision::Int8 => switchboard_engine::Precision::Int8,
        }
    }
}

/// Web crawling for `{url}` documents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlSettings {
    /// Let crawls reach loopback, private (RFC 1918), shared (CGNAT) and
    /// unique-local addresses. Link-local addresses (cloud metadata) stay refused.
    pub allow_private_networks: bool,
    /// Networks crawls may reach whatever their kind, in CIDR form (an
    /// intranet docs host: `10.20.0.0/16`).
    pub allowed_networks: Vec<String>,
    /// Pages per crawl when the request does not say.
    pub max_pages: u32,
    /// The most pages a request may ask for.
    pub max_pages_limit: u32,
    /// Link depth from the start page when the request does not say.
    pub max_depth: u32,
    /// The deepest a request may ask for.
    pub max_depth_limit: u32,
    /// Larger pages are skipped (the cap holds while reading, whatever the headers say).
    pub max_page_bytes: u64,
    /// One crawl's time budget, counted from its start across worker restarts.
    pub max_crawl_secs: u64,
    /// Requests in flight to one site at a time.
    pub concurrency_per_host: u32,
    pub connect_timeout_secs: u64,
    /// For one page, redirects and body included.
    pub request_timeout_secs: u64,
    /// The shortest re-crawl interval a source may ask for.
    pub min_recrawl_interval_secs: u64,
}

impl Default for CrawlSettings {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            allowed_networks: Vec::new(),
            max_pages: 50,
            max_pages_limit: 1000,
            max_depth: 2,
            max_depth_limit: 10,
            max_page_bytes: 5 * 1024 * 1024,
            max_crawl_secs: 600,
            concurrency_per_host: 2,
            connect_timeout_secs: 10,
            request_timeout_secs: 30,
            min_recrawl_interval_secs: 3600,
        }
    }
}

impl Default for KnowledgeSettings {
    fn default() -> Self {
        Self {
            model_dir: None,
            model_precision: ModelPrecision::F32,
            workers: 2,
            max_upload_bytes: 25 * 1024 * 1024,
            job_max_attempts: 5,
            job_lease_secs: 300,
            extractor: None,
            extractor_memory_bytes: 1 << 30,
            extractor_timeout_secs: 60,
            crawl: CrawlSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// The URL users reach the server at (printed at start; used for links).
    pub public_url: Option<String>,
    /// Largest JSON request body, in bytes.
    pub body_limit_bytes: usize,
    /// Requests running longer are answered 503.
    pub request_timeout_secs: u64,
    /// After SIGTERM, how long in-flight requests may take before the process exits anyway.
    pub shutdown_grace_secs: u64,
    /// Browser origins allowed to call the API with credentials. Empty: same-origin only.
    pub cors_allowed_origins: Vec<String>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://…` selects PostgreSQL; empty means SQLite in the data dir.
    pub url: Option<Secret>,
    pub max_connections: u32,
    /// SQLite only: `full` (fsync every commit; survives power loss) or `normal`.
    pub sqlite_synchronous: String,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_ref().map(|_| "[redacted]"))
            .field("max_connections", &self.max_connections)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    pub session_ttl_hours: u64,
    /// Mark the session cookie `Secure`. Browsers accept Secure cookies from
    /// http://localhost, so keep this on unless serving plain HTTP on another host.
    pub cookie_secure: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Requests per minute from one client address (0 disables).
    pub per_ip_per_minute: u32,
    /// Requests per minute with one API key or session (0 disables).
    pub per_key_per_minute: u32,
    /// Login attempts per 20 seconds from one address.
    pub login_per_ip_per_20s: u32,
    /// Login attempts per 5 minutes for one email.
    pub login_per_email_per_5min: u32,
    /// Widget requests per minute with one visitor token (0 disables).
    pub per_visitor_per_minute: u32,
    /// Messages per minute one visitor may send, over HTTP and WebSocket together.
    pub visitor_messages_per_minute: u32,
    /// New widget sessions per minute from one client address.
    pub widget_sessions_per_ip_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Serve `/metrics` on this separate address (keep it private). Unset:
    /// `/metrics` is served on the main listener.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `json` (one object per line) or `pretty`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `switchboard=debug,info`.
    pub level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            server: ServerSettings::default(),
            database: DatabaseSettings { url: None, max_connections: 16, sqlite_synchronous: "full".into() },
            auth: AuthSettings::default(),
            rate_limit: RateLimitSettings::default(),
            metrics: MetricsSettings::default(),
            log: LogSettings::default(),
            knowledge: KnowledgeSettings::default(),
            web: WebSettings::default(),
            secrets: SecretsSettings::default(),
            llm: LlmProviderSettings::default(),
            tools: ToolEgressSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 60,
            shutdown_grace_secs: 30,
            cors_allowed_origins: Vec::new(),
            trust_forwarded_for: false,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { session_ttl_hours: 24 * 7, cookie_secure: true }
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        // Login limits match Chatwoot's published ones; request limits are
        // generous enough for a dashboard and an integration.
        Self {
            per_ip_per_minute: 1200,
            per_key_per_minute: 1200,
            login_per_ip_per_20s: 5,
            login_per_email_per_5min: 20,
            per_visitor_per_minute: 120,
            visitor_messages_per_minute: 20,
            widget_sessions_per_ip_per_minute: 30,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: "json".into(), level: "info".into() }
    }
}

impl Settings {
    /// Defaults, then the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Settings::load`], with the environment passed in (tests use this).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        // DATABASE_URL is the conventional switch; SWITCHBOARD__DATABASE__URL beats it.
        if let Some((_, url)) = env.iter().find(|(k, _)| k == "DATABASE_URL").filter(|(_, v)| !v.is_empty()) {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        if let Some((_, dir)) = env.iter().find(|(k, _)| k == "SWITCHBOARD_MODEL_DIR").filter(|(_, v)| !v.is_empty()) {
            figment = figment.merge(Serialized::default("knowledge.model_dir", dir));
        }
        let prefixed: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("SWITCHBOARD__").map(|rest| (rest.replace("__", ".").to_lowercase(), v))
            })
            .collect();
        for (key, value) in prefixed {
            figment = figment.merge(Serialized::default(&key, parse_env_value(&value)));
        }
        figment.extract().map_err(Box::new)
    }

    /// Where to look for the embedding model, in order.
    pub fn model_dirs(&self) -> Vec<PathBuf> {
        match &self.knowledge.model_dir {
            Some(dir) => vec![dir.clone()],
            None => vec![
                self.data_dir.join("models").join("all-MiniLM-L6-v2"),
                PathBuf::from(".cache/models/all-MiniLM-L6-v2"),
            ],
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) if !url.expose().is_empty() => url.expose().to_owned(),
            _ => format!("sqlite://{}", self.data_dir.join("switchboard.db").display()),
        }
    }
}

/// Environment values are strings; numbers, booleans and TOML arrays are
/// recognised the way figment's own `Env` provider does.
fn parse_env_value(value: &str) -> figment::value::Value {
    let Ok(parsed) = value.parse::<figment::value::Value>();
    parsed
}

/// A setting that must never be printed: `Debug` and `Serialize` redact it.
#[derive(Clone, PartialEq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Serialization feeds the layered loader (defaults are never secret)
        // and nothing else; printing settings goes through Debug.
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_then_file_then_env_with_env_winning() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(
            &file,
            "data_dir = \"/from/file\"\n[server]\nlisten = \"127.0.0.1:1111\"\nbody_limit_bytes = 10\n[log]\nlevel = \"debug\"\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            env(&[
                ("SWITCHBOARD__SERVER__LISTEN", "127.0.0.1:2222"),
                ("SWITCHBOARD__RATE_LIMIT__PER_KEY_PER_MINUTE", "7"),
                ("SWITCHBOARD__SERVER__CORS_ALLOWED_ORIGINS", "[\"https://a.example\"]"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:2222", "env beats file");
        assert_eq!(s.server.body_limit_bytes, 10, "file beats defaults");
        assert_eq!(s.data_dir, PathBuf::from("/from/file"));
        assert_eq!(s.log.level, "debug");
        assert_eq!(s.rate_limit.per_key_per_minute, 7);
        assert_eq!(s.server.cors_allowed_origins, vec!["https://a.example".to_owned()]);
        assert_eq!(s.auth, AuthSettings::default(), "untouched sections keep their defaults");
        let s = Settings::load_from(None, env(&[("SWITCHBOARD__KNOWLEDGE__CRAWL__ALLOW_PRIVATE_NETWORKS", "true")]))
            .unwrap();
        assert!(s.knowledge.crawl.allow_private_networks, "nested sections take env overrides too");
        assert_eq!(s.knowledge.crawl.max_pages, 50);
    }

    #[test]
    fn database_url_comes_from_database_url_or_the_prefixed_variable() {
        let s = Settings::load_from(None, env(&[("DATABASE_URL", "postgres://u:pw@h/db")])).unwrap();
        assert_eq!(s.database_url(), "postgres://u:pw@h/db");
        let s = Settings::load_from(
            None,
            env(&[("DATABASE_URL", "postgres://a/x"), ("SWITCHBOARD__DATABASE__URL", "postgres://b/y")]),
        )
        .unwrap();
        assert_eq!(s.database_url(), "postgres://b/y");
        let s = Settings::load_from(None, Vec::new()).unwrap();
        assert!(s.database_url().starts_with("sqlite://") && s.database_url().ends_with("switchboard.db"));
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::load_from(None, env(&[("DATABASE_URL", "postgres://u:hunter2@h/db")])).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
        assert!(Settings::load_from(Some(&file), Vec::new()).is_err(), "a typo is reported, not ignored");
        assert!(Settings::load_from(None, env(&[("SWITCHBOARD__SERVER__LISTEN", "nope")])).is_err());
    }
}
