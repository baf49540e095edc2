//! What goes to a model and what comes back, independent of any wire format.

use std::time::Duration;

use futures::stream::BoxStream;
use serde_json::Value;

use crate::error::LlmError;
use crate::tools::{ToolCallError, ToolSpec};

/// One message of a conversation as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Instructions from the platform (persona, rules, retrieved context).
    System { content: String },
    /// What the customer wrote.
    User { content: String },
    /// What the model answered earlier: text, tool calls, or both.
    Assistant { content: Option<String>, tool_calls: Vec<ToolCall> },
    /// The result of one tool call, answering the call with the same id.
    Tool { tool_call_id: String, content: String },
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message::System { content: content.into() }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Message::User { content: content.into() }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Message::Assistant { content: Some(content.into()), tool_calls: Vec::new() }
    }

    /// The assistant turn that asked for `calls` (to be followed by one
    /// [`Message::Tool`] per call).
    pub fn assistant_tool_calls(content: Option<String>, calls: Vec<ToolCall>) -> Self {
        Message::Assistant { content, tool_calls: calls }
    }

    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message::Tool { tool_call_id: tool_call_id.into(), content: content.into() }
    }

    /// The text of the message (tool-call arguments included for assistant turns),
    /// which is what token estimates count.
    pub(crate) fn text_parts(&self) -> Vec<&str> {
        match self {
            Message::System { content } | Message::User { content } => vec![content],
            Message::Tool { tool_call_id, content } => vec![tool_call_id, content],
            Message::Assistant { content, tool_calls } => {
                let mut parts: Vec<&str> = content.iter().map(String::as_str).collect();
                for call in tool_calls {
                    parts.extend([call.id.as_str(), call.name.as_str(), call.arguments.as_str()]);
                }
                parts
            }
        }
    }
}

/// A tool call as the model wrote it. `arguments` is the JSON text exactly as
/// received, which is what goes back to the model in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A tool call with the verdict on its arguments: parsed and valid for the
/// tool's JSON schema, or why not. The pipeline runs only `Ok` calls; for an
/// `Err` it can answer the call with [`ToolCallError::feedback`] so the model
/// may correct itself, or refuse the turn.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedToolCall {
    pub call: ToolCall,
    pub arguments: Result<Value, ToolCallError>,
}

/// A request for one model turn.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    /// The tools the model may call; their schemas are compiled once in [`ToolSpec::new`].
    pub tools: Vec<ToolSpec>,
    pub temperature: Option<f32>,
    /// The most tokens the model may generate.
    pub max_tokens: Option<u32>,
    /// The whole turn's deadline; it overrides the provider's total timeout when shorter.
    pub timeout: Option<Duration>,
}

impl ChatRequest {
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            tools: Vec::new(),
            temperature: None,
            max_tokens: None,
            timeout: None,
        }
    }

    pub fn with_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }

    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Parses and validates a tool call's arguments against the schema of the
    /// tool it names.
    pub fn check_tool_call(&self, call: ToolCall) -> CheckedToolCall {
        let arguments = match self.tools.iter().find(|t| t.name() == call.name) {
            Some(tool) => tool.check_arguments(&call.arguments),
            None => Err(ToolCallError::UnknownTool { name: call.name.clone() }),
        };
        CheckedToolCall { call, arguments }
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end.
    Stop,
    /// `max_tokens` reached: the text is cut.
    Length,
    /// The model asked for tool calls.
    ToolCalls,
    /// The provider's own filter withheld content.
    ContentFilter,
    /// Anything else a compatible server reports.
    Other(String),
}

impl FinishReason {
    pub(crate) fn from_wire(reason: &str) -> Self {
        match reason {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

/// Tokens of one model turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// True when the provider reported no usage and these are
    /// [`crate::tokens::estimate_tokens`] figures.
    pub estimated: bool,
}

impl Usage {
    pub fn total(&self) -> u32 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// A complete (non-streamed) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The text, empty when the model only called tools.
    pub content: String,
    /// The tool calls in the order the model made them, each with its verdict.
    pub tool_calls: Vec<CheckedToolCall>,
    pub finish: FinishReason,
    pub usage: Usage,
    /// The model that answered, as the provider names it (tells a fallback's answer apart).
    pub model: String,
}

/// One event of a streamed answer. A successful stream is zero or more
/// `Delta`s and `ToolCall`s, then exactly one `Usage`, then exactly one
/// `Finish`, then its end. A stream that ends any other way ends with an `Err`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The next piece of text.
    Delta(String),
    /// A tool call, assembled from its fragments and checked against its schema.
    ToolCall(CheckedToolCall),
    Usage(Usage),
    Finish {
        reason: FinishReason,
        model: String,
    },
}

/// What [`crate::ChatProvider::stream`] returns.
pub type ChatStream = BoxStream<'static, Result<ChatEvent, LlmError>>;
