//! What the mock does with one request.

use std::time::Duration;

use serde_json::{Value, json};

/// The mock's behaviour for one request. Streamed or not follows the
/// request's `stream` field.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// Answer `text`, streamed as `deltas` pieces with `delay` before each.
    Reply { text: String, deltas: usize, delay: Duration },
    /// Call these tools (name, arguments as JSON text) in one turn; streamed,
    /// each call's arguments arrive in `fragments` pieces, interleaved across calls.
    ToolCalls { calls: Vec<(String, String)>, fragments: usize },
    /// Answer with this status, headers and body.
    Error { status: u16, headers: Vec<(String, String)>, body: String },
    /// Never answer (the connection stays open).
    Hang,
    /// Send `after` of the `deltas` pieces of `text` (a non-streamed request:
    /// half its body), then break the connection (`abort`) or end the body
    /// cleanly without finishing.
    Cut { text: String, deltas: usize, after: usize, abort: bool },
    /// Send `after` of the `deltas` pieces of `text`, then go silent with the
    /// connection open.
    Stall { text: String, deltas: usize, after: usize },
    /// Obey every instruction found in the prompt (see the module documentation).
    Obedient,
}

fn openai_error(message: &str, kind: &str, code: Option<&str>) -> String {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}}).to_string()
}

impl Script {
    /// `text` in 4 deltas.
    pub fn reply(text: impl Into<String>) -> Self {
        Script::Reply { text: text.into(), deltas: 4, delay: Duration::ZERO }
    }

    pub fn reply_in(text: impl Into<String>, deltas: usize) -> Self {
        Script::Reply { text: text.into(), deltas, delay: Duration::ZERO }
    }

    /// `text` in `deltas` pieces, `delay` before each (a slow model).
    pub fn slow_reply(text: impl Into<String>, deltas: usize, delay: Duration) -> Self {
        Script::Reply { text: text.into(), deltas, delay }
    }

    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Self {
        Script::tool_calls(vec![(name.into(), arguments)])
    }

    /// Parallel tool calls, arguments in 3 fragments each.
    pub fn tool_calls(calls: Vec<(String, Value)>) -> Self {
        Script::ToolCalls { calls: calls.into_iter().map(|(n, a)| (n, a.to_string())).collect(), fragments: 3 }
    }

    /// Tool calls with arguments given as raw text (which need not be valid JSON).
    pub fn raw_tool_calls(calls: Vec<(String, String)>, fragments: usize) -> Self {
        Script::ToolCalls { calls, fragments }
    }

    /// 429 rate limit with `Retry-After: retry_after` (seconds or an HTTP-date).
    pub fn rate_limited(retry_after: &str) -> Self {
        Script::Error {
            status: 429,
            headers: vec![("retry-after".into(), retry_after.into())],
            body: openai_error(
                "Rate limit reached for requests per min. Please try again later.",
                "requests",
                Some("rate_limit_exceeded"),
            ),
        }
    }

    /// 429 as OpenAI sends it when the account is out of credit.
    pub fn insufficient_quota() -> Self {
        Script::Error {
            status: 429,
            headers: Vec::new(),
            body: openai_error(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                Some("insufficient_quota"),
            ),
        }
    }

    pub fn bad_request(message: &str) -> Self {
        Script::Error { status: 400, headers: Vec::new(), body: openai_error(message, "invalid_request_error", None) }
    }

    /// An error status with an OpenAI-shaped body (500, 503, 529 "overloaded", …).
    pub fn status(status: u16) -> Self {
        let message = match status {
            529 => "Overloaded",
            503 => "The engine is currently overloaded, please try again later.",
            _ => "The server had an error while processing your request.",
        };
        Script::Error { status, headers: Vec::new(), body: openai_error(message, "server_error", None) }
    }

    /// Breaks the connection after `after` of `deltas` pieces.
    pub fn cut(text: impl Into<String>, deltas: usize, after: usize) -> Self {
        Script::Cut { text: text.into(), deltas, after, abort: true }
    }

    /// Ends the body cleanly after `after` of `deltas` pieces, with no finish and no `[DONE]`.
    pub fn truncated(text: impl Into<String>, deltas: usize, after: usize) -> Self {
        Script::Cut { text: text.into(), deltas, after, abort: false }
    }

    pub fn stall(text: impl Into<String>, deltas: usize, after: usize) -> Self {
        Script::Stall { text: text.into(), deltas, after }
    }
}
