//! Tools the language model may call during a turn: the built-ins
//! `search_knowledge` (more of the agent's knowledge, numbered after the
//! sources the prompt already has), `handoff_to_human` (the turn ends in the
//! human queue) and `create_ticket` (a ticket for the team, linked to the
//! conversation), and the organization's HTTP tools (`http_tools.rs`).
//!
//! A call is run only when it names an offered tool and its arguments pass
//! the tool's JSON schema (`CheckedToolCall`); anything else is refused, and
//! the refusal is what the model gets back. A call of a tool with side
//! effects never runs in the turn: it is recorded for a person to approve
//! (`/v1/approvals`), and the model is told so. At most `[llm]
//! max_tool_calls` calls run in one turn; the turn that wants more is handed
//! to a person (RELIABILITY L5). Every call and its result are stored on the reply.

use serde::Serialize;
use serde_json::{Map, Value, json};
use switchboard_llm::{CheckedToolCall, ToolSpec};
use switchboard_store::{NewTicket, NewToolApproval, Tenant};

use super::extractive::Passage;
use super::http_tools::{self, ToolSettings};
use super::llm::{Ask, source};
use crate::state::AppState;

pub const SEARCH_KNOWLEDGE: &str = "search_knowledge";
pub const HANDOFF_TO_HUMAN: &str = "handoff_to_human";
pub const CREATE_TICKET: &str = "create_ticket";

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

fn create_ticket_spec() -> ToolSpec {
    let schema = json!({
        "type": "object",
        "properties": {
            "subject": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 4000},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
        },
        "required": ["subject"],
        "additionalProperties": false,
    });
    let description = "File a ticket for the support team to follow up on later (the conversation is linked).";
    ToolSpec::new(CREATE_TICKET, description, schema).expect("built-in schemas compile")
}

/// What this agent's model is offered: the built-ins, `create_ticket` unless
/// turned off, and its HTTP tools.
pub fn offered(tools: &ToolSettings) -> Vec<ToolSpec> {
    let mut out = builtins();
    if tools.create_ticket {
        out.push(create_ticket_spec());
    }
    // Validated when the version was made; a tool that no longer compiles is left out.
    out.extend(tools.http.iter().filter_map(|t| t.spec().ok()));
    out
}

/// One call as it is stored on the reply.
#[derive(Debug, Clone, Serialize)]
pub struct ToolRecord {
    pub name: String,
    /// The arguments as the model wrote them.
    pub arguments: String,
    /// Whether it ran (false: refused by schema or because the tool is unknown,
    /// waiting for approval, or an HTTP tool that got no answer).
    pub ran: bool,
    /// One of ours (`search_knowledge`, `handoff_to_human`, `create_ticket`), not the organization's.
    pub builtin: bool,
    pub result: String,
    /// The approval the call waits for (tools with side effects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
}

/// What running a call leads to.
pub enum Outcome {
    /// Text for the model.
    Result(String),
    /// The turn ends with the conversation in the human queue, for this reason.
    Handoff(String),
}

/// `text` cut to [`MAX_RESULT_CHARS`] characters, marked when cut.
pub(crate) fn capped(mut text: String) -> String {
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
        builtin: matches!(call.call.name.as_str(), SEARCH_KNOWLEDGE | HANDOFF_TO_HUMAN | CREATE_TICKET),
        result: result.to_owned(),
        approval_id: None,
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
        CREATE_TICKET if ask.config.tools.create_ticket => {
            let text = capped(ticket(state, t, ask, arguments).await);
            (Outcome::Result(text.clone()), record(true, &text))
        }
        name => match (ask.config.tools.find(name), arguments.as_object()) {
            (Some(tool), Some(arguments)) if tool.needs_approval() => {
                match request_approval(state, t, ask, &tool.name, arguments).await {
                    Ok(approval_id) => {
                        let text = format!(
                            "This action needs a person on the team to approve it; the request is recorded \
                             (approval {approval_id}). It has NOT been done yet: tell the customer that the \
                             team will confirm it."
                        );
                        (
                            Outcome::Result(text.clone()),
                            ToolRecord { approval_id: Some(approval_id), ..record(false, &text) },
                        )
                    }
                    Err(e) => {
                        tracing::warn!(error = format!("{e:#}"), tool = name, "an approval could not be recorded");
                        let text = "The request could not be recorded; it has not been done.".to_owned();
                        (Outcome::Result(text.clone()), record(false, &text))
                    }
                }
            }
            (Some(tool), Some(arguments)) => {
                let result = http_tools::call(state, t, tool, arguments).await;
                let text = capped(result.text);
                (Outcome::Result(text.clone()), record(result.answered, &text))
            }
            // Offered tools are the ones above: the schema check refuses any other name.
            _ => {
                let text = format!("Tool call rejected: unknown tool `{name}`.");
                (Outcome::Result(text.clone()), record(false, &text))
            }
        },
    }
}

/// Records a call of a tool with side effects for a person to approve.
async fn request_approval(
    state: &AppState,
    t: &Tenant,
    ask: &Ask<'_>,
    tool: &str,
    arguments: &Map<String, Value>,
) -> anyhow::Result<String> {
    let new = NewToolApproval {
        conversation_id: ask.conversation_id.to_owned(),
        agent_version_id: ask.version_id.to_owned(),
        tool: tool.to_owned(),
        arguments: serde_json::to_string(arguments)?,
    };
    let approval = state.store.request_approval(t, &new).await?;
    tracing::info!(approval = approval.id, tool, "a tool call waits for approval");
    Ok(approval.id)
}

/// Files a ticket linked to the conversation.
async fn ticket(state: &AppState, t: &Tenant, ask: &Ask<'_>, arguments: &Value) -> String {
    let text = |key: &str| arguments.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    let priority = Some(text("priority")).filter(|p| !p.is_empty()).unwrap_or_else(|| "normal".into());
    let new = NewTicket {
        conversation_id: Some(ask.conversation_id.to_owned()),
        subject: switchboard_guard::pii::redact(&text("subject")).text,
        description: switchboard_guard::pii::redact(&text("description")).text,
        priority,
        created_by: "assistant".into(),
    };
    match state.store.create_ticket(t, &new).await {
        Ok(ticket) => format!("Ticket {} is filed; the team will follow up.", ticket.id),
        Err(e) => {
            tracing::warn!(error = %e, "a ticket could not be filed");
            "The ticket could not be filed.".into()
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
