//! The Chat Completions wire format: exactly the JSON OpenAI documents, for
//! the fields we send and read. Unknown fields are ignored on the way in
//! (compatible servers add their own).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::{ChatRequest, Message};

#[derive(Debug, Serialize)]
pub struct Request<'a> {
    pub model: &'a str,
    pub messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
}

#[derive(Debug, Serialize)]
pub struct StreamOptions {
    pub include_usage: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: &'a str,
    },
    Assistant {
        // `null` content is how OpenAI writes a turn that only called tools.
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Debug, Serialize)]
pub struct WireToolCall<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireFunctionCall<'a>,
}

#[derive(Debug, Serialize)]
pub struct WireFunctionCall<'a> {
    pub name: &'a str,
    pub arguments: &'a str,
}

#[derive(Debug, Serialize)]
pub struct WireTool<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireFunction<'a>,
}

#[derive(Debug, Serialize)]
pub struct WireFunction<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub parameters: &'a Value,
}

/// Which field carries the reply-length limit: OpenAI's current models want
/// `max_completion_tokens` (reasoning models refuse `max_tokens`); most
/// compatible servers know only `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokensField {
    MaxTokens,
    MaxCompletionTokens,
}

impl<'a> Request<'a> {
    pub fn new(request: &'a ChatRequest, stream: bool, include_usage: bool, max_field: MaxTokensField) -> Self {
        let messages = request
            .messages
            .iter()
            .map(|m| match m {
                Message::System { content } => WireMessage::System { content },
                Message::User { content } => WireMessage::User { content },
                Message::Assistant { content, tool_calls } => WireMessage::Assistant {
                    content: content.as_deref(),
                    tool_calls: tool_calls
                        .iter()
                        .map(|c| WireToolCall {
                            id: &c.id,
                            kind: "function",
                            function: WireFunctionCall { name: &c.name, arguments: &c.arguments },
                        })
                        .collect(),
                },
                Message::Tool { tool_call_id, content } => WireMessage::Tool { tool_call_id, content },
            })
            .collect();
        let tools = request
            .tools
            .iter()
            .map(|t| WireTool {
                kind: "function",
                function: WireFunction { name: t.name(), description: t.description(), parameters: t.parameters() },
            })
            .collect();
        let (max_tokens, max_completion_tokens) = match max_field {
            MaxTokensField::MaxTokens => (request.max_tokens, None),
            MaxTokensField::MaxCompletionTokens => (None, request.max_tokens),
        };
        Request {
            model: &request.model,
            messages,
            tools,
            temperature: request.temperature,
            max_tokens,
            max_completion_tokens,
            stream,
            stream_options: (stream && include_usage).then_some(StreamOptions { include_usage: true }),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Completion {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<Choice>,
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    pub message: ChoiceMessage,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChoiceMessage {
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<FullToolCall>,
}

#[derive(Debug, Deserialize)]
pub struct FullToolCall {
    #[serde(default)]
    pub id: String,
    pub function: FullFunctionCall,
}

#[derive(Debug, Deserialize)]
pub struct FullFunctionCall {
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct WireUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// One `data:` event of a stream.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    pub usage: Option<WireUsage>,
    /// Some providers report a failure inside the stream.
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
pub struct ChunkChoice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Delta,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Delta {
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCallDelta>,
}

#[derive(Debug, Deserialize)]
pub struct ToolCallDelta {
    pub index: Option<usize>,
    pub id: Option<String>,
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Deserialize)]
pub struct FunctionDelta {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

/// `{"error": {...}}`, the body of an error response.
#[derive(Debug, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<Value>,
    #[serde(default)]
    pub code: Option<Value>,
}

impl ErrorBody {
    /// The machine-readable code: `code`, else `type` (OpenAI puts
    /// `insufficient_quota` in both; others use one). Numbers become text.
    pub fn code(&self) -> Option<String> {
        let text = |v: &Value| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        self.code.as_ref().and_then(text).or_else(|| self.kind.as_ref().and_then(text))
    }
}
