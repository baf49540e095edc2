//! One customer message through the message path (DESIGN.md):
//!
//! ```text
//! inbound  redact PII, persist the customer message (before anything can fail)
//! owner    a person owns the conversation? stop: the AI never replies then
//! route    language, "wants a human", small talk, blocked topics, intent -> autonomy
//! retrieve hybrid search over the agent's knowledge; follow-ups rewritten with history
//! act      the agent's LLM (see `llm.rs`), or the extractive answerer
//! guard    canary and forbidden strings withhold, grounding drops unsupported
//!          claims, links only to the agent's link hosts, PII in the reply,
//!          markdown made safe, confidence threshold
//! reply    stream the text to the caller (an LLM's reply: its guarded first
//!          sentences went out while the model wrote, see `stream.rs`; the rest now)
//! persist  the assistant message with citations, outcome, confidence, timings, verdicts
//! ```
//!
//! Each stage is a function below, timed on its own; [`run_turn`] calls them
//! in order and is the place to read to follow a message.

use std::time::Instant;

use serde::Serialize;
use switchboard_store::{Actor, Conversation, Message, MessageRole, NewMessage, Ownership, Store, Tenant, Transition};
use tokio::sync::mpsc;

use super::agent::{AgentConfig, Mode};
use super::claims::{self, Evidence};
use super::extractive::{self, Passage};
use super::intents::IntentVerdict;
use super::llm::{self, LlmFailure, LlmReply};
use super::phrases::{Phrase, say};
use crate::error::{ApiError, ApiResult};
use crate::knowledge::embedding;
use crate::knowledge::search::{self, SearchRequest, Weights};
use crate::state::AppState;

/// Longest customer message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// What a turn ended as (DESIGN.md's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    Abstained,
    Escalated,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Abstained => "abstained",
            Outcome::Escalated => "escalated",
            Outcome::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    pub number: usize,
    pub document_id: String,
    pub chunk_id: String,
    pub title: String,
    pub url: Option<String>,
    pub heading_path: String,
    pub snippet: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cost_usd: f64,
}

/// Milliseconds per stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub inbound: f64,
    pub route: f64,
    pub retrieve: f64,
    pub generate: f64,
    pub guard: f64,
    pub persist: f64,
    pub total: f64,
}

/// Why the router decided what it did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RouteVerdict {
    pub language: String,
    pub wants_human: bool,
    pub small_talk: Option<String>,
    pub blocked_topic: Option<String>,
    /// The intent recognised from the agent's example phrases (decides the autonomy).
    pub intent: Option<String>,
    /// Why: the nearest example and its similarity.
    pub intent_match: Option<IntentVerdict>,
    /// The prompt-injection detector's verdict on the message, when it fired.
    pub injection: Option<InjectionVerdict>,
    /// The query retrieval ran (the message, or it rewritten with history).
    pub query: Option<String>,
    /// The query in the knowledge's language (English words from the support lexicon),
    /// when the customer wrote in another: what was searched and answered instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translated_query: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InjectionVerdict {
    pub score: f32,
    pub rules: Vec<&'static str>,
}

fn injection_verdict(text: &str) -> Option<InjectionVerdict> {
    let v = switchboard_guard::injection::scan(text);
    v.is_injection().then(|| InjectionVerdict { score: v.score, rules: v.reasons.iter().map(|r| r.rule).collect() })
}

/// Every guard verdict of a turn, stored on the assistant message.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GuardVerdicts {
    /// Kinds of personal data redacted from the customer's message.
    pub pii_in_message: Vec<String>,
    /// Kinds redacted from the reply before it was sent.
    pub pii_in_reply: Vec<String>,
    /// Forbidden strings the reply contained (the reply was withheld).
    pub forbidden: Vec<String>,
    /// Retrieved chunks carrying instructions aimed at the assistant: not used.
    pub quarantined_chunks: Vec<String>,
    /// Links, images and bare URLs to hosts outside the agent's link hosts, reduced to text.
    pub links_removed: usize,
    pub confidence: f64,
    pub min_confidence: f64,
}

/// Everything a turn produced.
#[derive(Debug, Clone)]
pub struct Turn {
    pub customer_message: Message,
    /// `None` while a person owns the conversation: the AI stays silent.
    pub reply: Option<Message>,
    pub outcome: Outcome,
    pub confidence: f64,
    pub citations: Vec<Citation>,
    pub usage: Usage,
    pub timings: Timings,
    pub status: Ownership,
    /// Some text was streamed (`delta` events) and the reply is not its continuation: a check
    /// on the whole reply changed it after part of it was shown (the model leaked and the reply
    /// was withheld, the stream broke off, …). The reply replaces what was streamed.
    pub deltas_replaced: bool,
}

/// What the act stage decided, before guarding.
struct Draft {
    text: String,
    outcome: Outcome,
    confidence: f64,
    citations: Vec<Citation>,
    evidence: serde_json::Value,
    escalate: Option<String>,
    /// `extractive` or `llm`.
    answerer: &'static str,
    /// The model that answered (a fallback's name when it served).
    model: Option<String>,
    usage: Usage,
    /// What the caller already has of the text, streamed as the model wrote it
    /// (the guarded text of the reply's first sentences: see `stream.rs`).
    released: String,
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

/// Runs one customer message through the pipeline. `deltas`, when given,
/// receives the reply's text piece by piece as it is produced.
pub async fn run_turn(
    state: &AppState,
    t: &Tenant,
    conversation_id: &str,
    text: &str,
    deltas: Option<mpsc::Sender<String>>,
) -> ApiResult<Turn> {
    let started = Instant::now();
    let mut timings = Timings::default();
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("`text` must not be empty"));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(format!("`text` must be at most {MAX_MESSAGE_CHARS} characters")));
    }
    let store = state.store.as_ref();
    // A spent token budget refuses the message before anything is stored (429).
    super::budget::admit(state, t, conversation_id).await?;

    // inbound
    let stage = Instant::now();
    let conversation = store.get_conversation(t, conversation_id).await?;
    let redacted = switchboard_guard::pii::redact(text);
    let pii_in_message = kinds(&redacted.findings);
    let customer_message = store
        .add_message(
            t,
            conversation_id,
            &NewMessage {
                role: MessageRole::Customer,
                text: redacted.text.clone(),
                author_id: conversation.contact_id.clone(),
                agent_version_id: None,
                outcome: None,
                confidence: None,
                details: serde_json::json!({"pii": pii_in_message}),
            },
        )
        .await?;
    timings.inbound = ms(stage);

    // owner
    let conversation = reopen_if_resolved(store, t, conversation).await?;
    if conversation.status != Ownership::Ai {
        timings.total = ms(started);
        return Ok(Turn {
            customer_message,
            reply: None,
            outcome: Outcome::Escalated,
            confidence: 0.0,
            citations: Vec::new(),
            usage: Usage::default(),
            timings,
            status: conversation.status,
            deltas_replaced: false,
        });
    }
    let version = store.get_agent_version_by_id(t, &conversation.agent_version_id).await?;
    let config = AgentConfig::from_stored(&version.config)?;

    // route (on the redacted text: routing never needs the personal data)
    let stage = Instant::now();
    let history = store.recent_messages(t, conversation_id, 8).await?;
    let mut route = route(&config, &redacted.text, &history);
    if route.decides_alone() {
        route.intent_match = recognise_intent(state, &version.id, &config, &redacted.text).await;
        route.intent = route.intent_match.as_ref().map(|m| m.name.clone());
    }
    if conversation.language.as_deref() != Some(route.language.as_str()) {
        store.set_conversation_language(t, conversation_id, &route.language).await?;
    }
    timings.route = ms(stage);
    let lang = reply_language(&config, &route);

    let min_confidence = config.guardrails.min_confidence.unwrap_or(extractive::DEFAULT_MIN_CONFIDENCE);
    let mut quarantined = Vec::new();
    // The knowledge this turn's reply may quote (what it publishes is not redacted from it).
    let mut published: Vec<String> = Vec::new();
    let draft = if let Some(injection) = &route.injection {
        Draft::fixed(Phrase::Refused, &lang, Outcome::Refused, None)
            .with_evidence(serde_json::json!({"injection": injection}))
    } else if let Some(topic) = &route.blocked_topic {
        Draft::fixed(Phrase::Refused, &lang, Outcome::Refused, None)
            .with_evidence(serde_json::json!({"blocked": topic}))
    } else if route.wants_human && config.escalation.on_request {
        Draft::fixed(Phrase::Escalated, &lang, Outcome::Escalated, Some("the customer asked for a person".into()))
    } else if let Some(reply) = &route.small_talk {
        Draft { text: reply.clone(), outcome: Outcome::Answered, confidence: 1.0, ..Draft::empty() }
    } else if config.mode_for(route.intent.as_deref()) == Mode::HumanOnly {
        let why = format!("topic `{}` is handled by people only", route.intent.clone().unwrap_or_default());
        Draft::fixed(Phrase::Escalated, &lang, Outcome::Escalated, Some(why))
    } else {
        // retrieve
        let stage = Instant::now();
        let query = rewrite_follow_up(&redacted.text, &history);
        let translated = in_knowledge_language(&query, &route.language, &config.knowledge.language);
        let (searched, asked) = match &translated {
            Some(t) => (t.search.as_str(), t.question.as_str()),
            None => (query.as_str(), query.as_str()),
        };
        // A city is searched with its country, a country with its region:
        // knowledge writes its rules per country and region.
        let regions = extractive::places_for_search(searched);
        let searched =
            if regions.is_empty() { searched.to_owned() } else { format!("{searched} ({})", regions.join(", ")) };
        let mut passages = retrieve(state, t, &config, &version.id, &searched).await?;
        // Knowledge that addresses the assistant is quarantined, never quoted or obeyed.
        passages.retain(|p| match injection_verdict(&p.text) {
            Some(_) => {
                quarantined.push(p.chunk_id.clone());
                false
            }
            None => true,
        });
        route.query = Some(query.clone());
        route.translated_query = translated.as_ref().map(|t| t.question.clone());
        published = passages.iter().map(|p| p.text.clone()).collect();
        timings.retrieve = ms(stage);

        // act
        let stage = Instant::now();
        let mode = config.mode_for(route.intent.as_deref());
        let mut draft = match &config.llm {
            Some(settings) => {
                // A draft waits for a person: nothing of it reaches the customer now.
                let live = if mode == Mode::Auto { deltas.clone() } else { None };
                let ask = llm::Ask {
                    config: &config,
                    llm: settings,
                    lang: &lang,
                    history: &history,
                    passages: &passages,
                    version_id: &version.id,
                    conversation_id,
                    agent_id: &conversation.agent_id,
                };
                let result = llm::act(state, t, ask, live).await;
                timings.generate = ms(stage);
                llm_draft(result, &config, &lang)
            }
            None => {
                let answer = act_extractive(state, asked, &passages).await?;
                timings.generate = ms(stage);
                grounded_or_abstain(answer, &passages, min_confidence, &config, &lang)
            }
        };
        if draft.outcome == Outcome::Answered && mode == Mode::Draft {
            draft.escalate = Some("the answer waits for a person's approval".into());
        }
        draft
    };

    // guard
    let stage = Instant::now();
    let mut draft = draft;
    let (text, links_removed) =
        super::links::keep_to_link_hosts(store, t, &config, &conversation.agent_id, &draft.text).await?;
    draft.text = text;
    let (draft, mut verdicts) = guard(draft, &config, pii_in_message, min_confidence, &lang, &published);
    verdicts.quarantined_chunks = quarantined;
    verdicts.links_removed = links_removed;
    timings.guard = ms(stage);

    // reply: the customer sees the draft only when it is released; a held
    // draft is stored for a person to approve. What was streamed while the
    // model wrote is the guarded start of this text, and the rest follows; when
    // a later check changed the reply (a leak withheld it, the stream broke
    // off), the final event says the reply replaces what was streamed.
    let held = draft.escalate.is_some() && draft.outcome == Outcome::Answered;
    let shown = if held { say(Phrase::Drafted, &lang).to_owned() } else { draft.text.clone() };
    let mut deltas_replaced = false;
    if let Some(tx) = deltas {
        match shown.strip_prefix(draft.released.as_str()) {
            Some(rest) => stream_text(&tx, rest).await,
            None => deltas_replaced = true,
        }
    }

    // persist
    let stage = Instant::now();
    let outcome = if held { Outcome::Escalated } else { draft.outcome };
    timings.total = ms(started);
    let details = serde_json::json!({
        "timings": timings,
        "citations": draft.citations,
        "route": route,
        "guard": verdicts,
        "evidence": draft.evidence,
        "draft": held.then_some(&draft.text),
        "answerer": draft.answerer,
        "model": draft.model,
        "usage": draft.usage,
        "deltas_replaced": deltas_replaced,
    });
    let reply = store
        .add_message(
            t,
            conversation_id,
            &NewMessage {
                role: MessageRole::Assistant,
                text: shown,
                author_id: None,
                agent_version_id: Some(version.id.clone()),
                outcome: Some(outcome.as_str().to_owned()),
                confidence: Some(draft.confidence),
                details,
            },
        )
        .await?;
    let mut status = conversation.status;
    if let Some(reason) = draft.escalate.as_deref().or((outcome == Outcome::Escalated).then_some("escalated")) {
        let moved = store
            .transition_conversation(
                t,
                conversation_id,
                &Transition {
                    from: &[Ownership::Ai],
                    to: Ownership::PendingHuman,
                    actor: Actor::System,
                    reason,
                    assignee: None,
                    priority: &config.escalation.priority,
                },
            )
            .await?;
        status = moved.status;
    }
    timings.persist = ms(stage);
    timings.total = ms(started);
    Ok(Turn {
        customer_message,
        reply: Some(reply),
        outcome,
        confidence: draft.confidence,
        citations: draft.citations,
        usage: draft.usage,
        timings,
        status,
        deltas_replaced,
    })
}

impl Draft {
    fn empty() -> Self {
        Draft {
            text: String::new(),
            outcome: Outcome::Abstained,
            confidence: 0.0,
            citations: Vec::new(),
            evidence: serde_json::Value::Null,
            escalate: None,
            answerer: "extractive",
            model: None,
            usage: Usage::default(),
            released: String::new(),
        }
    }

    fn fixed(phrase: Phrase, lang: &str, outcome: Outcome, escalate: Option<String>) -> Self {
        Draft { text: say(phrase, lang).to_owned(), outcome, confidence: 1.0, escalate, ..Draft::empty() }
    }

    fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = evidence;
        self
    }
}

fn kinds(findings: &[switchboard_guard::pii::Finding]) -> Vec<String> {
    let mut out: Vec<String> = findings.iter().map(|f| f.kind.as_str().to_owned()).collect();
    out.sort();
    out.dedup();
    out
}

/// A customer writing to a resolved conversation reopens it: back to the
/// human queue when a person had it (they know the case), otherwise to the AI.
async fn reopen_if_resolved(store: &dyn Store, t: &Tenant, conversation: Conversation) -> ApiResult<Conversation> {
    if conversation.status != Ownership::Resolved {
        return Ok(conversation);
    }
    let (to, reason) = match conversation.assignee_id {
        Some(_) => (Ownership::PendingHuman, "the customer wrote again after a person resolved it"),
        None => (Ownership::Ai, "the customer wrote again after it was resolved"),
    };
    let assignee = conversation.assignee_id.clone();
    Ok(store
        .transition_conversation(
            t,
            &conversation.id,
            &Transition {
                from: &[Ownership::Resolved],
                to,
                actor: Actor::System,
                reason,
                assignee: assignee.as_deref(),
                priority: "normal",
            },
        )
        .await?)
}

/// Language, "wants a human", small talk, blocked topics.
fn route(config: &AgentConfig, text: &str, _history: &[Message]) -> RouteVerdict {
    let language = switchboard_route::detect_language(text, &config.language.default);
    let wants_human = switchboard_route::wants_human(text).is_some();
    let small_talk = if wants_human {
        None
    } else {
        switchboard_route::small_talk(text, &language).map(|s| s.reply(&reply_lang(config, &language)).to_owned())
    };
    let folded = switchboard_route::fold(text);
    let blocked_topic = config
        .guardrails
        .blocked_topics
        .iter()
        .find(|topic| topic.keywords.iter().any(|k| contains_word(&folded, &switchboard_route::fold(k))))
        .map(|topic| topic.name.clone());
    let injection = injection_verdict(text);
    RouteVerdict {
        language,
        wants_human,
        small_talk,
        blocked_topic,
        intent: None,
        intent_match: None,
        injection,
        query: None,
        translated_query: None,
    }
}

impl RouteVerdict {
    /// Nothing the rules found settles the message (no injection, blocked
    /// topic, request for a person or small talk): what it is about decides.
    fn decides_alone(&self) -> bool {
        self.injection.is_none() && self.blocked_topic.is_none() && !self.wants_human && self.small_talk.is_none()
    }
}

/// The agent's intent for the message, when it has intents and the model is
/// loaded. A failure only costs the intent (the default autonomy applies).
async fn recognise_intent(
    state: &AppState,
    version_id: &str,
    config: &AgentConfig,
    text: &str,
) -> Option<IntentVerdict> {
    let embedder = state.embedder.as_ref().filter(|_| !config.intents.is_empty())?;
    match state.intents.classify(embedder, version_id, config, text).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "intent recognition failed; the default autonomy applies");
            None
        }
    }
}

fn contains_word(haystack: &str, needle: &str) -> bool {
    let needle = needle.trim();
    !needle.is_empty()
        && haystack.match_indices(needle).any(|(at, _)| {
            let before = haystack[..at].chars().next_back();
            let after = haystack[at + needle.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
}

fn reply_lang(config: &AgentConfig, detected: &str) -> String {
    if config.language.reply == "fixed" { config.language.default.clone() } else { detected.to_owned() }
}

fn reply_language(config: &AgentConfig, route: &RouteVerdict) -> String {
    reply_lang(config, &route.language)
}

/// Words that make a message lean on the one before it.
const FOLLOW_UP_CUES: &[&str] =
    &["it", "that", "this", "they", "them", "those", "there", "and", "also", "what about", "how about", "same"];

/// A short message that leans on the previous one is searched as that
/// question: "and for the UK?" after "How long do EU returns take?" becomes
/// "How long do UK returns take?" (the follow-up's name takes the place of the
/// previous question's last one); without names to swap, the two are searched
/// together.
pub fn rewrite_follow_up(text: &str, history: &[Message]) -> String {
    let previous = history
        .iter()
        .rev()
        .filter(|m| m.role == MessageRole::Customer)
        .map(|m| m.text.as_str())
        .find(|m| m.trim() != text.trim());
    let Some(previous) = previous else { return text.to_owned() };
    let lower = format!(" {} ", text.to_lowercase());
    let words = extractive::terms(text).len();
    // A question with its own subject stands alone, even when it starts with "and".
    let leans = words <= 2
        || (words <= 3
            && FOLLOW_UP_CUES
                .iter()
                .any(|cue| lower.contains(&format!(" {cue} ")) || lower.starts_with(&format!(" {cue}"))));
    if !leans {
        return text.to_owned();
    }
    match (extractive::names(text).first(), extractive::names(previous).last()) {
        (Some(new), Some(old)) => format!("{}{}{}", &previous[..old.start], &text[new.clone()], &previous[old.end..]),
        (None, Some(old)) => match pronoun(text) {
            // "how often should I reproof it?" after "I just bought the
            // Hydroshell 20K jacket." asks about the jacket by its name.
            Some(at) => format!("{}{}{}", &text[..at.start], noun_phrase(previous, old.clone()), &text[at.end..]),
            None => format!("{previous} {text}"),
        },
        _ => format!("{previous} {text}"),
    }
}

/// Where `text` first says "it" or "them" (the thing talked about before).
fn pronoun(text: &str) -> Option<std::ops::Range<usize>> {
    // ASCII lower case keeps every byte where it was, so positions hold in `text`.
    let lower = text.to_ascii_lowercase();
    ["it", "them"]
        .iter()
        .filter_map(|p| {
            lower.match_indices(p).find(|(at, _)| {
                let before = lower[..*at].chars().next_back();
                let after = lower[at + p.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
            })
        })
        .map(|(at, p)| at..at + p.len())
        .min_by_key(|r| r.start)
}

/// A name with the article before it and up to two plain words after it,
/// to the end of its phrase: "the Hydroshell 20K jacket".
fn noun_phrase(text: &str, name: std::ops::Range<usize>) -> &str {
    let mut start = name.start;
    if text[..start].to_lowercase().ends_with("the ") {
        start -= 4;
    }
    let mut end = name.end;
    for _ in 0..2 {
        let rest = &text[end..];
        let Some(word) = rest.strip_prefix(' ').and_then(|r| r.split(' ').next()) else { break };
        let bare = word.trim_end_matches(['?', '!', '.', ',', ';', ':']);
        if bare.is_empty() || !bare.chars().all(|c| c.is_lowercase()) || extractive::terms(bare).is_empty() {
            break;
        }
        end += 1 + bare.len();
        if bare.len() != word.len() {
            break;
        }
    }
    &text[start..end]
}

/// Below this share of known words, a translation is searched together with
/// the question as written: the lexicon understood too little of it to stand
/// alone (or the question is not in the language it was taken for, as "When
/// was Tarnfield founded?" taken for German).
const MIN_COVERAGE: f64 = 0.5;

/// A question put in the knowledge's language.
struct Translated {
    /// What retrieval searches: every sense the lexicon lists ("store shop").
    search: String,
    /// What the answerer reads: the first senses, closest to the question.
    question: String,
}

/// A question in another language than the knowledge's (`knowledge.language`),
/// in the knowledge's words: for English knowledge, the English of the support
/// lexicon (`switchboard_route::to_english`), so full-text search, the English
/// embedding model and the answerer's question words ("wie lange" -> "how
/// long") all meet the knowledge. `None` when the question is in the
/// knowledge's language, the knowledge is not English (the lexicon leads only
/// into English), or the lexicon has no word of it: it is then searched as
/// written (names and cognates still match).
fn in_knowledge_language(query: &str, lang: &str, knowledge: &str) -> Option<Translated> {
    if lang == knowledge || knowledge != "en" {
        return None;
    }
    let translation = switchboard_route::to_english(query, lang)?;
    if translation.text.trim().is_empty() {
        return None;
    }
    Some(if translation.coverage() >= MIN_COVERAGE {
        Translated { search: translation.expanded, question: translation.text }
    } else {
        Translated {
            search: format!("{query} {}", translation.expanded),
            question: format!("{query} {}", translation.text),
        }
    })
}

/// Hybrid search over the agent's collections.
pub(super) async fn retrieve(
    state: &AppState,
    t: &Tenant,
    config: &AgentConfig,
    version_id: &str,
    query: &str,
) -> anyhow::Result<Vec<Passage>> {
    if config.collection_ids.is_empty() {
        return Ok(Vec::new());
    }
    let req = SearchRequest::new(query, config.knowledge.top_k as usize, search::Mode::Hybrid, Weights::default());
    let pinned_to = config.knowledge.pin_to_release.then(|| version_id.to_owned());
    let (found, _) = search::search_pinned(state, t, config.collection_ids.clone(), pinned_to, &req).await?;
    Ok(found
        .into_iter()
        .map(|s| Passage {
            chunk_id: s.hit.chunk_id,
            document_id: s.hit.document_id,
            title: s.hit.title,
            url: s.hit.url,
            heading_path: s.hit.heading_path,
            text: s.hit.text,
            dense: s.dense.map(|(_, score)| score),
        })
        .collect())
}

/// The extractive answerer, with semantic evidence when a model is loaded.
async fn act_extractive(state: &AppState, query: &str, passages: &[Passage]) -> anyhow::Result<extractive::Answer> {
    let candidates = extractive::candidates(query, passages);
    let semantic = match (&state.embedder, candidates.is_empty()) {
        (Some(model), false) => {
            let sentences: Vec<String> = candidates
                .iter()
                .map(|c| {
                    let heading = &passages[c.passage].heading_path;
                    if heading.is_empty() { c.match_text.clone() } else { format!("{heading}: {}", c.match_text) }
                })
                .collect();
            // The question is new each turn; the knowledge's sentences mostly are not.
            let question = embedding::embed(model.clone(), vec![query.to_owned()]).await?.pop().unwrap_or_default();
            let vectors = state.sentence_vectors.embed(model, &sentences).await?;
            Some(vectors.iter().map(|v| dot(&question, v)).collect::<Vec<f32>>())
        }
        _ => None,
    };
    Ok(extractive::compose(passages, &candidates, semantic.as_deref()))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// An answer with citations above the threshold, or an honest abstention.
fn grounded_or_abstain(
    answer: extractive::Answer,
    passages: &[Passage],
    min_confidence: f64,
    config: &AgentConfig,
    lang: &str,
) -> Draft {
    let evidence = serde_json::to_value(&answer.evidence).unwrap_or_default();
    if answer.citations.is_empty() || answer.confidence < min_confidence {
        let (phrase, outcome, escalate) = if config.escalation.on_abstain {
            (Phrase::Escalated, Outcome::Escalated, Some("no answer in the knowledge".to_owned()))
        } else {
            (Phrase::Abstain, Outcome::Abstained, None)
        };
        return Draft {
            text: say(phrase, lang).to_owned(),
            outcome,
            confidence: answer.confidence,
            evidence,
            escalate,
            ..Draft::empty()
        };
    }
    let citations = answer
        .citations
        .iter()
        .map(|c| {
            let p = &passages[c.passage];
            Citation {
                number: c.number,
                document_id: p.document_id.clone(),
                chunk_id: p.chunk_id.clone(),
                title: p.title.clone(),
                url: p.url.clone(),
                heading_path: p.heading_path.clone(),
                snippet: c.snippet.clone(),
            }
        })
        .collect();
    // Quoting English knowledge to a customer who wrote in another language says so.
    let lead = if config.knowledge.language == "en" { say(Phrase::QuotedInEnglish, lang) } else { "" };
    let text = if lead.is_empty() { answer.text } else { format!("{lead}\n\n{}", answer.text) };
    Draft { text, outcome: Outcome::Answered, confidence: answer.confidence, citations, evidence, ..Draft::empty() }
}

/// No answer: said honestly with `phrase` (a person offered), or handed to
/// the queue when the agent escalates instead of abstaining.
fn abstain(config: &AgentConfig, lang: &str, phrase: Phrase, why: &str) -> Draft {
    if config.escalation.on_abstain {
        Draft::fixed(Phrase::Escalated, lang, Outcome::Escalated, Some(why.to_owned()))
    } else {
        Draft { text: say(phrase, lang).to_owned(), ..Draft::empty() }
    }
}

/// The first words of a cited chunk, as the citation shows them.
fn snippet(text: &str) -> String {
    const MAX: usize = 240;
    let text = text.trim();
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text[..end].trim_end())
}

/// What the model wrote, made an answer: a leak withholds it; each claim is
/// checked against the sources it cites and unsupported ones are dropped; an
/// answer citing no source, or no reply at all, becomes an honest abstention.
fn llm_draft(result: Result<LlmReply, LlmFailure>, config: &AgentConfig, lang: &str) -> Draft {
    let reply = match result {
        Ok(reply) => reply,
        Err(failure) => {
            let evidence = serde_json::json!({
                "llm_failure": {"kind": failure.kind, "detail": failure.detail},
                "tool_calls": failure.tool_calls,
            });
            let draft = if failure.kind == "tool_limit" {
                // A model that will not stop calling tools is a person's case (L5).
                Draft::fixed(Phrase::Escalated, lang, Outcome::Escalated, Some(failure.detail.clone()))
            } else {
                abstain(config, lang, Phrase::Unavailable, "the language model could not answer")
            };
            return Draft { evidence, answerer: "llm", usage: failure.usage, released: failure.released, ..draft };
        }
    };
    let base = |draft: Draft| Draft {
        answerer: "llm",
        model: Some(reply.model.clone()),
        usage: reply.usage.clone(),
        released: reply.released.clone(),
        ..draft
    };
    if let Some(reason) = &reply.handoff {
        let escalated = Draft::fixed(Phrase::Escalated, lang, Outcome::Escalated, Some(reason.clone()));
        return base(Draft { evidence: serde_json::json!({"tool_calls": reply.tool_calls}), ..escalated });
    }
    if let Some(why) = reply.withheld {
        let refused = Draft::fixed(Phrase::Refused, lang, Outcome::Refused, None);
        let evidence = serde_json::json!({"withheld": why, "tool_calls": reply.tool_calls});
        return base(Draft { evidence, confidence: 0.0, ..refused });
    }
    let numbered = &reply.sources;
    let evidence_of = Evidence::new(numbered, &reply.tool_calls);
    let checked = claims::check(&reply.text, &evidence_of);
    let evidence = serde_json::json!({
        "grounding": {
            "claims": checked.claims,
            "dropped": checked.dropped,
            "tools": evidence_of.tools,
            "links_removed": checked.links_removed,
        },
        "tool_calls": reply.tool_calls,
    });
    let confidence = checked.confidence();
    if !checked.answers(&evidence_of) {
        let draft = abstain(config, lang, Phrase::Abstain, "no grounded answer in the knowledge");
        return base(Draft { evidence, ..draft });
    }
    let (text, numbers) = (checked.text, checked.cited);
    let citations = numbers
        .into_iter()
        .map(|n| {
            let p = &numbered[n - 1];
            Citation {
                number: n,
                document_id: p.document_id.clone(),
                chunk_id: p.chunk_id.clone(),
                title: p.title.clone(),
                url: p.url.clone(),
                heading_path: p.heading_path.clone(),
                snippet: snippet(&p.text),
            }
        })
        .collect();
    base(Draft { text, outcome: Outcome::Answered, confidence, citations, evidence, ..Draft::empty() })
}

/// Output checks: forbidden strings withhold the reply, personal data is
/// redacted from it, markdown is made safe.
fn guard(
    mut draft: Draft,
    config: &AgentConfig,
    pii_in_message: Vec<String>,
    min_confidence: f64,
    lang: &str,
    published: &[String],
) -> (Draft, GuardVerdicts) {
    let mut verdicts = GuardVerdicts {
        pii_in_message,
        forbidden: forbidden_in(&draft.text, &config.guardrails.forbidden_strings),
        confidence: draft.confidence,
        min_confidence,
        ..Default::default()
    };
    if !verdicts.forbidden.is_empty() {
        // Withheld: the refusal replaces text, outcome and citations; usage and evidence stay.
        let refused = Draft::fixed(Phrase::Refused, lang, Outcome::Refused, None);
        draft = Draft { text: refused.text, outcome: refused.outcome, citations: Vec::new(), escalate: None, ..draft };
    }
    (draft.text, verdicts.pii_in_reply) = outgoing(&draft.text, published);
    (draft, verdicts)
}

/// The last step for every reply, stored or streamed: personal data redacted (except what the
/// knowledge the reply rests on publishes: the business's own phone number, address or bank
/// account), markdown made safe. Returns the text and the kinds of personal data redacted.
pub(super) fn outgoing(text: &str, published: &[String]) -> (String, Vec<String>) {
    let published: Vec<&str> = published.iter().map(String::as_str).collect();
    let redacted = switchboard_guard::pii::redact_unpublished(text, &published);
    (switchboard_guard::markdown::sanitize_markdown(&redacted.text, &[]), kinds(&redacted.findings))
}

/// The agent's forbidden strings found in `text`, ignoring case, accents and
/// punctuation between words.
pub(super) fn forbidden_in(text: &str, forbidden: &[String]) -> Vec<String> {
    let folded = switchboard_route::fold(text);
    forbidden
        .iter()
        .filter(|f| {
            let needle = switchboard_route::fold(f);
            !needle.trim().is_empty() && folded.contains(needle.trim())
        })
        .cloned()
        .collect()
}

/// Sends the reply in word-sized pieces, as a model would stream it.
async fn stream_text(tx: &mpsc::Sender<String>, text: &str) {
    let mut piece = String::new();
    for (i, word) in text.split_inclusive(' ').enumerate() {
        piece.push_str(word);
        if i % 3 == 2 && tx.send(std::mem::take(&mut piece)).await.is_err() {
            return;
        }
    }
    if !piece.is_empty() {
        let _ = tx.send(piece).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(text: &str) -> Message {
        Message {
            id: text.into(),
            conversation_id: "c".into(),
            role: MessageRole::Customer,
            text: text.into(),
            author_id: None,
            agent_version_id: None,
            outcome: None,
            confidence: None,
            details: serde_json::Value::Null,
            created_at: 0,
        }
    }

    #[test]
    fn follow_ups_are_searched_with_the_previous_question() {
        let history = vec![customer("How long do EU returns take?")];
        assert_eq!(rewrite_follow_up("and for the UK?", &history), "How long do UK returns take?");
        let policy = vec![customer("What is your return policy for UK orders?")];
        assert_eq!(rewrite_follow_up("And in the US?", &policy), "What is your return policy for US orders?");
        let pack = vec![customer("How do I clean my Corrie 38 backpack?")];
        assert_eq!(rewrite_follow_up("and the Skyline 2?", &pack), "How do I clean my Skyline 2 backpack?");
        let no_names = vec![customer("how long do returns take?")];
        assert_eq!(rewrite_follow_up("and for the UK?", &no_names), "how long do returns take? and for the UK?");
        assert_eq!(
            rewrite_follow_up("What payment methods do you accept?", &history),
            "What payment methods do you accept?"
        );
        assert_eq!(rewrite_follow_up("and for the UK?", &[]), "and for the UK?");
        let standalone = "And how long do US customers have to return items?";
        assert_eq!(rewrite_follow_up(standalone, &history), standalone);
        assert_eq!(
            rewrite_follow_up("what time does it open on sundays", &[customer("Do you have a shop in Utrecht?")]),
            "what time does Utrecht open on sundays"
        );
        assert_eq!(
            rewrite_follow_up(
                "how often should I reproof it?",
                &[customer("I just bought the Hydroshell 20K jacket.")]
            ),
            "how often should I reproof the Hydroshell 20K jacket?"
        );
        assert_eq!(
            rewrite_follow_up("can I wash them", &[customer("My Scree Mid boots are muddy")]),
            "can I wash Scree Mid boots"
        );
        let text = "İSTANBUL: does it ship?";
        assert_eq!(pronoun(text).map(|at| &text[at]), Some("it"), "positions hold after non-ASCII letters");
    }

    #[test]
    fn questions_in_other_languages_are_searched_and_answered_in_english_words() {
        assert!(in_knowledge_language("How long do returns take?", "en", "en").is_none());
        let es = in_knowledge_language("¿Dónde está la tienda de Madrid?", "es", "en").unwrap();
        assert_eq!((es.question.as_str(), es.search.as_str()), ("where store Madrid", "where store shop Madrid"));
        // English taken for German: the lexicon knows too little of it to stand alone.
        let misread = in_knowledge_language("When was Tarnfield founded?", "de", "en").unwrap();
        assert!(misread.question.starts_with("When was Tarnfield founded?"), "{}", misread.question);
        assert!(in_knowledge_language("Hvor er butikken?", "da", "en").is_none(), "no lexicon");
        // German knowledge: a German question is searched as written, and so is a
        // Spanish one (the lexicon leads only into English).
        assert!(in_knowledge_language("Wie lange dauert der Versand?", "de", "de").is_none());
        assert!(in_knowledge_language("¿Dónde está la tienda?", "es", "de").is_none());
    }

    #[test]
    fn blocked_topics_match_whole_words() {
        assert!(contains_word("can you give me legal advice", "legal advice"));
        assert!(!contains_word("illegal advices", "legal advice"));
    }
}
