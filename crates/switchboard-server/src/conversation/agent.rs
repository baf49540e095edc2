//! An agent's configuration: what one immutable agent version holds. Stored
//! as JSON on the version; parsed and validated here, once, at the edge.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_guard::links::HostPattern;
use utoipa::ToSchema;

use super::http_tools::ToolSettings;
use crate::error::ApiError;

/// Everything that decides how an agent answers. A change to any of it is a
/// new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub name: String,
    /// The knowledge collections it answers from.
    pub collection_ids: Vec<String>,
    /// Who the agent is, e.g. "Friendly support assistant of Acme".
    #[serde(default)]
    pub persona: String,
    /// Extra instructions for the LLM.
    #[serde(default)]
    pub instructions: String,
    #[serde(default)]
    pub language: LanguagePolicy,
    #[serde(default)]
    pub guardrails: Guardrails,
    #[serde(default)]
    pub escalation: EscalationPolicy,
    /// Intents recognised by nearest neighbours over their example phrases.
    #[serde(default)]
    pub intents: Vec<Intent>,
    /// How similar (cosine, 0 to 1) a message must be to an intent's nearest
    /// example to count as that intent; below it the message is out of scope
    /// and gets the default autonomy. Default 0.645 (calibrated on CLINC150,
    /// docs/bench/intent.md); raise it when the intents are close to each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_threshold: Option<f32>,
    #[serde(default)]
    pub autonomy: Autonomy,
    #[serde(default)]
    pub knowledge: KnowledgePolicy,
    /// The model that writes answers. Without it the built-in extractive answerer serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmSettings>,
    /// What the model may call besides `search_knowledge` and `handoff_to_human`
    /// (used only with `llm`).
    #[serde(default, skip_serializing_if = "ToolSettings::is_default")]
    pub tools: ToolSettings,
}

/// An OpenAI-compatible Chat Completions endpoint and how to use it, with an
/// optional fallback endpoint and a prompt token budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// `openai`: any OpenAI-compatible Chat Completions server (OpenAI, Azure's
    /// v1 API, OpenRouter, Ollama, vLLM, llama.cpp).
    #[serde(default = "openai")]
    pub provider: String,
    /// Scheme, host and path prefix, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub model: String,
    /// The name of the organization's secret holding the API key (see
    /// `/v1/secrets`); none for a server that needs no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<String>,
    /// 0 to 2; the provider's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// The most tokens a reply may have (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Asked when the primary endpoint fails (after its retries) or its circuit is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<LlmEndpoint>,
    /// The most prompt tokens a turn may send (instructions, retrieved chunks
    /// and history); older history goes first, then the lowest-ranked chunks.
    /// Default: the model's context window when known, else 8000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_budget: Option<u32>,
}

/// One endpoint (the fallback's fields are the primary's, without a fallback of its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmEndpoint {
    #[serde(default = "openai")]
    pub provider: String,
    pub base_url: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

fn openai() -> String {
    "openai".into()
}

impl LlmSettings {
    /// The primary endpoint.
    pub fn primary(&self) -> LlmEndpoint {
        LlmEndpoint {
            provider: self.provider.clone(),
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_secret: self.api_key_secret.clone(),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
        }
    }

    /// The secrets the settings name, primary first.
    pub fn secret_names(&self) -> Vec<&str> {
        let fallback = self.fallback.as_ref().and_then(|f| f.api_key_secret.as_deref());
        self.api_key_secret.as_deref().into_iter().chain(fallback).collect()
    }

    fn validate(mut self) -> Result<Self, ApiError> {
        let primary = self.primary().validate("llm")?;
        (self.base_url, self.model) = (primary.base_url, primary.model);
        self.fallback = self.fallback.map(|f| f.validate("llm.fallback")).transpose()?;
        if let Some(budget) = self.token_budget
            && !(500..=2_000_000).contains(&budget)
        {
            return Err(ApiError::invalid("`llm.token_budget` must be 500 to 2000000"));
        }
        Ok(self)
    }
}

impl LlmEndpoint {
    fn validate(mut self, at: &str) -> Result<Self, ApiError> {
        if self.provider != "openai" {
            return Err(ApiError::invalid(format!("`{at}.provider` must be openai (any OpenAI-compatible server)")));
        }
        self.base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        let url_ok = self.base_url.len() <= 2048
            && url::Url::parse(&self.base_url).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.username().is_empty()
                    && u.password().is_none()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
        if !url_ok {
            return Err(ApiError::invalid(format!(
                "`{at}.base_url` must be an http(s) URL without credentials, query or fragment"
            )));
        }
        self.model = self.model.trim().to_owned();
        if self.model.is_empty() || self.model.len() > 200 || self.model.chars().any(char::is_control) {
            return Err(ApiError::invalid(format!("`{at}.model` must be 1 to 200 characters")));
        }
        if let Some(name) = &self.api_key_secret
            && !crate::routes::secrets::is_secret_name(name)
        {
            return Err(ApiError::invalid(format!("`{at}.api_key_secret` must be the name of a secret")));
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(ApiError::invalid(format!("`{at}.temperature` must be 0 to 2")));
        }
        if let Some(n) = self.max_tokens
            && !(1..=100_000).contains(&n)
        {
            return Err(ApiError::invalid(format!("`{at}.max_tokens` must be 1 to 100000")));
        }
        Ok(self)
    }
}

/// Which language replies are written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguagePolicy {
    /// `customer` (default): answer in the customer's language; `fixed`: always `default`.
    #[serde(default = "customer")]
    pub reply: String,
    /// ISO 639-1 code used when the customer's language cannot be told, or always when `fixed`.
    #[serde(default = "english")]
    pub default: String,
}

fn customer() -> String {
    "customer".into()
}
fn english() -> String {
    "en".into()
}

impl Default for LanguagePolicy {
    fn default() -> Self {
        Self { reply: customer(), default: english() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    /// Strings a reply must never contain (matched ignoring case and accents).
    #[serde(default)]
    pub forbidden_strings: Vec<String>,
    /// Topics answered with a polite refusal, each recognised by its keywords.
    #[serde(default)]
    pub blocked_topics: Vec<BlockedTopic>,
    /// Answers below this confidence abstain (0 to 1). Default: the answerer's calibrated threshold.
    #[serde(default)]
    pub min_confidence: Option<f64>,
    /// The hosts replies may link to, e.g. `["shop.example", "*.shop.example"]` (`*.` is any
    /// subdomain, not the host itself). A link, image or bare URL to any other host is reduced to
    /// its text. Empty (the default): the hosts of the agent's crawled web sites and of the
    /// origins its widget deployments allow. A list replaces that default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockedTopic {
    pub name: String,
    pub keywords: Vec<String>,
}

/// When a conversation goes to the human queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    /// The customer asks for a person (default true).
    #[serde(default = "yes")]
    pub on_request: bool,
    /// The knowledge has no answer: escalate instead of abstaining (default false).
    #[serde(default)]
    pub on_abstain: bool,
    /// Priority of escalations: low, normal (default), high or urgent.
    #[serde(default = "normal")]
    pub priority: String,
}

fn yes() -> bool {
    true
}
fn normal() -> String {
    "normal".into()
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        Self { on_request: true, on_abstain: false, priority: normal() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub name: String,
    /// Example customer phrases for this intent.
    pub examples: Vec<String>,
}

/// Per-topic autonomy: `auto` answers, `draft` holds the answer for a human's
/// approval, `human_only` hands over at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Autonomy {
    #[serde(default = "auto")]
    pub default: String,
    /// Intent name to mode.
    #[serde(default)]
    pub topics: BTreeMap<String, String>,
}

fn auto() -> String {
    "auto".into()
}

impl Default for Autonomy {
    fn default() -> Self {
        Self { default: auto(), topics: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KnowledgePolicy {
    /// Answer from the knowledge snapshot taken at release instead of the
    /// collections' live documents (default false: follow the collections).
    #[serde(default)]
    pub pin_to_release: bool,
    /// How many chunks retrieval hands to the answerer (1 to 20, default 6).
    #[serde(default = "six")]
    pub top_k: u32,
    /// The language the knowledge is written in (ISO 639-1, default `en`). A
    /// question in another language is searched in the knowledge's words when
    /// the support lexicon can put it there (into English), else as written.
    #[serde(default = "english")]
    pub language: String,
}

fn six() -> u32 {
    6
}

impl Default for KnowledgePolicy {
    fn default() -> Self {
        Self { pin_to_release: false, top_k: six(), language: english() }
    }
}

/// How an agent treats a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Draft,
    HumanOnly,
}

fn parse_mode(field: &str, value: &str) -> Result<Mode, ApiError> {
    match value {
        "auto" => Ok(Mode::Auto),
        "draft" => Ok(Mode::Draft),
        "human_only" => Ok(Mode::HumanOnly),
        other => Err(ApiError::invalid(format!("`{field}` must be auto, draft or human_only, not `{other}`"))),
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!("`{field}` must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(ApiError::invalid(format!("`{field}` must not contain control characters")));
    }
    Ok(())
}

impl AgentConfig {
    /// Checks every rule the type system does not; trims what should be trimmed.
    pub fn validate(mut self) -> Result<Self, ApiError> {
        self.name = crate::domain::Name::parse("name", &self.name)?.as_str().to_owned();
        if self.collection_ids.len() > 20 {
            return Err(ApiError::invalid("`collection_ids` holds at most 20 collections"));
        }
        if self.collection_ids.iter().any(|id| !crate::http::extract::is_object_id(id)) {
            return Err(ApiError::invalid("`collection_ids` must hold collection ids"));
        }
        self.collection_ids.sort();
        self.collection_ids.dedup();
        check_text("persona", &self.persona, 2000)?;
        check_text("instructions", &self.instructions, 20_000)?;
        match self.language.reply.as_str() {
            "customer" | "fixed" => {}
            other => {
                return Err(ApiError::invalid(format!("`language.reply` must be customer or fixed, not `{other}`")));
            }
        }
        for (field, lang) in
            [("language.default", &self.language.default), ("knowledge.language", &self.knowledge.language)]
        {
            if lang.len() != 2 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(ApiError::invalid(format!("`{field}` must be an ISO 639-1 code such as `en`")));
            }
        }
        if self.guardrails.forbidden_strings.len() > 200 {
            return Err(ApiError::invalid("`guardrails.forbidden_strings` holds at most 200 strings"));
        }
        for s in &self.guardrails.forbidden_strings {
            if s.trim().is_empty() {
                return Err(ApiError::invalid("`guardrails.forbidden_strings` must not hold empty strings"));
            }
            check_text("guardrails.forbidden_strings", s, 500)?;
        }
        for topic in &self.guardrails.blocked_topics {
            check_text("guardrails.blocked_topics.name", &topic.name, 200)?;
            if topic.keywords.is_empty() || topic.keywords.iter().any(|k| k.trim().is_empty()) {
                return Err(ApiError::invalid("each blocked topic needs non-empty `keywords`"));
            }
        }
        if let Some(c) = self.guardrails.min_confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(ApiError::invalid("`guardrails.min_confidence` must be between 0 and 1"));
        }
        if self.guardrails.link_hosts.len() > 100 {
            return Err(ApiError::invalid("`guardrails.link_hosts` holds at most 100 hosts"));
        }
        let mut hosts: Vec<String> = Vec::with_capacity(self.guardrails.link_hosts.len());
        for entry in &self.guardrails.link_hosts {
            let host = HostPattern::parse(entry)
                .map_err(|e| ApiError::invalid(format!("`guardrails.link_hosts`: {e}")))?
                .to_string();
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        self.guardrails.link_hosts = hosts;
        if !matches!(self.escalation.priority.as_str(), "low" | "normal" | "high" | "urgent") {
            return Err(ApiError::invalid("`escalation.priority` must be low, normal, high or urgent"));
        }
        if self.intents.len() > 200 {
            return Err(ApiError::invalid("`intents` holds at most 200 intents"));
        }
        for intent in &self.intents {
            check_text("intents.name", &intent.name, 100)?;
            if intent.name.trim().is_empty() || intent.examples.is_empty() || intent.examples.len() > 100 {
                return Err(ApiError::invalid("each intent needs a name and 1 to 100 `examples`"));
            }
            for e in &intent.examples {
                check_text("intents.examples", e, 500)?;
            }
        }
        if let Some(t) = self.intent_threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(ApiError::invalid("`intent_threshold` must be between 0 and 1"));
        }
        parse_mode("autonomy.default", &self.autonomy.default)?;
        for (topic, mode) in &self.autonomy.topics {
            parse_mode("autonomy.topics", mode)?;
            if !self.intents.iter().any(|i| &i.name == topic) {
                return Err(ApiError::invalid(format!("`autonomy.topics` names `{topic}`, which is not an intent")));
            }
        }
        if !(1..=20).contains(&self.knowledge.top_k) {
            return Err(ApiError::invalid("`knowledge.top_k` must be 1 to 20"));
        }
        self.llm = self.llm.map(LlmSettings::validate).transpose()?;
        self.tools = self.tools.validate()?;
        Ok(self)
    }

    /// The mode for a recognised intent (or the default when none was).
    pub fn mode_for(&self, intent: Option<&str>) -> Mode {
        let value = intent.and_then(|i| self.autonomy.topics.get(i)).unwrap_or(&self.autonomy.default);
        parse_mode("autonomy", value).unwrap_or(Mode::Auto)
    }

    pub fn from_stored(value: &serde_json::Value) -> anyhow::Result<Self> {
        Ok(serde_json::from_value(value.clone())?)
    }
}

/// One changed field between two versions, by JSON path.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Change {
    /// Dotted path, e.g. `guardrails.forbidden_strings`.
    pub path: String,
    #[schema(value_type = Object)]
    pub from: serde_json::Value,
    #[schema(value_type = Object)]
    pub to: serde_json::Value,
}

/// The fields that differ between two configurations, in path order.
pub fn diff(from: &serde_json::Value, to: &serde_json::Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", from, to, &mut out);
    out
}

fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<Change>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                walk(&p, x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        _ if a != b => out.push(Change { path: path.to_owned(), from: a.clone(), to: b.clone() }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AgentConfig {
        serde_json::from_value(serde_json::json!({"name": " Helper ", "collection_ids": []})).unwrap()
    }

    #[test]
    fn defaults_are_what_a_new_agent_should_do() {
        let c = config().validate().unwrap();
        assert_eq!(c.name, "Helper");
        assert_eq!(c.language.reply, "customer");
        assert!(c.escalation.on_request);
        assert!(!c.knowledge.pin_to_release);
        assert_eq!(c.mode_for(None), Mode::Auto);
    }

    #[test]
    fn autonomy_must_name_known_intents_and_modes() {
        let mut c = config();
        c.autonomy.topics.insert("refunds".into(), "draft".into());
        assert!(c.clone().validate().is_err(), "unknown intent");
        c.intents.push(Intent { name: "refunds".into(), examples: vec!["I want my money back".into()] });
        let c = c.validate().unwrap();
        assert_eq!(c.mode_for(Some("refunds")), Mode::Draft);
        assert_eq!(c.mode_for(Some("other")), Mode::Auto);
        let mut bad = config();
        bad.autonomy.default = "yolo".into();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn link_hosts_are_host_names_stored_normalised() {
        let mut c = config();
        c.guardrails.link_hosts = vec![" Shop.Example ".into(), "*.shop.example".into(), "shop.example".into()];
        assert_eq!(c.validate().unwrap().guardrails.link_hosts, ["shop.example", "*.shop.example"]);
        for bad in ["https://shop.example", "shop.example/returns", "*", ""] {
            let mut c = config();
            c.guardrails.link_hosts = vec![bad.into()];
            assert!(c.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn diff_lists_changed_paths_only() {
        let a = serde_json::json!({"name": "A", "guardrails": {"forbidden_strings": []}, "persona": "x"});
        let b = serde_json::json!({"name": "A", "guardrails": {"forbidden_strings": ["secret"]}, "persona": "x"});
        let changes = diff(&a, &b);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "guardrails.forbidden_strings");
        assert_eq!(changes[0].to, serde_json::json!(["secret"]));
    }
}
