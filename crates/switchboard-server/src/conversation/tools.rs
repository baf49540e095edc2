//! Tools the language model may call during a turn: the built-ins
//! `search_knowledge` (more of the agent's knowledge, numbered after the
//! sources the prompt already has) and `handoff_to_human` (the turn ends in
//! the human queue).
//!
//! A call is run only when it names an offered tool and its arguments pass
//! the tool's JSON schema (`CheckedToolCall`); anything else is refused, and
//! the refusal is what the model gets back. At most `[llm] max_tool_calls`
//! calls run in one turn; the turn that wants more is handed to a person
//! (RELIABILITY L5). Every call and its result are stored on the reply.

use serde::Serialize;
use serde_json::{Value, json};
use switchboard_llm::{CheckedToolCall, ToolSpec};
use switchboard_store::Tenant;

use super::extractive::Passage;
use super::llm::{Ask, source};
use crate::state::AppState;

pub const SEARCH_KNOWLEDGE: &str = "search_knowledge";
pub const HANDOFF_TO_HUMAN: &str = "handoff_to_human";

/// The most characters of a tool result sent back to the model or stored.
const MAX_RESULT_CHARS: usize = 8_000;

/// The tools every agent's model is offered.
pub fn builtins() -> Vec<ToolSpec> {
    let search = json!({
        "type": "object",
        "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500}},
        "required": ["query"],
        "additionalProperties": false,
    });
    let handoff = json!({
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 500}},
        "additionalProperties": false,
    });
    [
        (SEARCH_KNOWLEDGE, "Search the help articles for more sources on a question.", search),
        (HANDOFF_TO_HUMAN, "Hand the conversation to a person on the support team.", handoff),
    ]
    .into_iter()
    .map(|(name, description, schema)| ToolSpec::new(name, description, schema).expect("built-in schemas compile"))
    .collect()
}

/// One call as it is stored on the reply.
#[derive(Debug, Clone, Serialize)]
pub struct ToolRecord {
    pub name: String,
    /// The arguments as the model wrote them.
    pub arguments: String,
    /// Whether it ran (false: refused by schema or because the tool is unknown).
    pub ran: bool,
    pub result: String,
}

/// What running a call leads to.
pub enum Outcome {
    /// Text for the model.
    Result(String),
    /// The turn ends with the conversation in the human queue, for this reason.
    Handoff(String),
}

fn capped(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(MAX_RESULT_CHARS) {
        text.truncate(at);
        text.push_str(" …");
    }
    text
}

/// Runs one checked call; `sources` are the numbered sources so far (search adds to them).
pub async fn run(
    state: &AppState,
    t: &Tenant,
    ask: &Ask<'_>,
    call: &CheckedToolCall,
    sources: &mut Vec<Passage>,
) -> (Outcome, ToolRecord) {
    let record = |ran: bool, result: &str| ToolRecord {
        name: call.call.name.clone(),
        arguments: capped(call.call.arguments.clone()),
        ran,
        result: result.to_owned(),
    };
    let arguments = match &call.arguments {
        Ok(arguments) => arguments,
        Err(refused) => {
            let feedback = refused.feedback();
            return (Outcome::Result(feedback.clone()), record(false, &feedback));
        }
    };
    match call.call.name.as_str() {
        HANDOFF_TO_HUMAN => {
            let reason = arguments.get("reason").and_then(Value::as_str).unwrap_or("the model asked for a person");
            let reason = capped(format!("handed over by the assistant: {reason}"));
            (Outcome::Handoff(reason.clone()), record(true, &reason))
        }
        SEARCH_KNOWLEDGE => {
            let query = arguments.get("query").and_then(Value::as_str).unwrap_or_default();
            let text = capped(search(state, t, ask, query, sources).await);
            (Outcome::Result(text.clone()), record(true, &text))
        }
        // Offered tools are the ones above: the schema check refuses any other name.
        other => {
            let text = format!("Tool call rejected: unknown tool `{other}`.");
            (Outcome::Result(text.clone()), record(false, &text))
        }
    }
}

/// New sources for `query`, numbered after the ones the model has.
async fn search(state: &AppState, t: &Tenant, ask: &Ask<'_>, query: &str, sources: &mut Vec<Passage>) -> String {
    let found = match super::pipeline::retrieve(state, t, ask.config, ask.version_id, query).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "search_knowledge failed");
            return "The search failed; answer from the sources you have.".into();
        }
    };
    let mut added = Vec::new();
    for passage in found {
        // Knowledge that addresses the assistant is quarantined here too, never quoted or obeyed.
        let known = sources.iter().any(|s| s.chunk_id == passage.chunk_id);
        if known || switchboard_guard::injection::scan(&passage.text).is_injection() {
            continue;
        }
        sources.push(passage);
        added.push(source(sources.len(), &sources[sources.len() - 1]));
    }
    if added.is_empty() { "No further sources found.".into() } else { added.join("\n\n") }
}
