//! One error type for the provider layer, and its classification: what may be
//! retried, what may go to the fallback provider, what is the request's own fault.

use std::fmt;
use std::time::Duration;

/// Which deadline ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Opening the TCP/TLS connection.
    Connect,
    /// Waiting for the response headers of a streamed request.
    FirstByte,
    /// Waiting for the next piece of a response that had started.
    Idle,
    /// The whole request (the provider's total, or the request's own timeout).
    Total,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::FirstByte => "first byte",
            TimeoutKind::Idle => "idle between chunks",
            TimeoutKind::Total => "total",
        })
    }
}

/// An error from the provider layer. Its `Display` and `Debug` never contain
/// the API key: provider messages are scrubbed before they are stored here.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    /// The provider answered with an error status.
    #[error("provider answered {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api {
        status: u16,
        /// The provider's machine-readable code or type (`insufficient_quota`,
        /// `rate_limit_exceeded`, `context_length_exceeded`, …).
        code: Option<String>,
        /// The provider's message, scrubbed and shortened.
        message: String,
        /// How long the provider asked us to wait (`Retry-After`, seconds or HTTP-date).
        retry_after: Option<Duration>,
    },
    /// No connection could be made (refused, reset before a response, DNS, TLS).
    #[error("could not reach the provider: {0}")]
    Connect(String),
    #[error("provider timed out ({0})")]
    Timeout(TimeoutKind),
    /// The response broke off: a connection cut, or a stream that ended before
    /// the model finished. Never a silently short answer.
    #[error("the provider's response broke off: {0}")]
    Interrupted(String),
    /// The provider sent something that is not the Chat Completions format.
    #[error("malformed provider response: {0}")]
    Protocol(String),
    #[error("provider response exceeded {limit} bytes")]
    TooLarge { limit: usize },
    /// The endpoint's circuit breaker is open and no fallback could serve.
    #[error("provider `{endpoint}` is unavailable (circuit open)")]
    CircuitOpen { endpoint: String },
    #[error("invalid provider configuration: {0}")]
    Config(String),
    #[error("invalid schema for tool `{tool}`: {detail}")]
    InvalidToolSchema { tool: String, detail: String },
}

/// What to do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient: retry the same endpoint (429 rate limit, 500, 502, 503, 504,
    /// 529, connection failures, broken-off responses).
    Retry,
    /// This endpoint cannot serve now or without an operator (quota or billing,
    /// bad key, unknown model, timeouts, open circuit, nonsense answers):
    /// do not retry it, but another provider may serve.
    Fallback,
    /// The request itself is wrong (400 and other 4xx, invalid tool schema,
    /// configuration): no provider will do better.
    Fatal,
}

/// Codes and types providers use for a 429 that waiting will not cure.
const QUOTA_CODES: &[&str] = &[
    "insufficient_quota",
    "billing_hard_limit_reached",
    "billing_not_active",
    "quota_exceeded",
    "insufficient_credits",
    "credit_balance_too_low",
    "payment_required",
];

impl LlmError {
    pub fn class(&self) -> ErrorClass {
        if self.is_quota() {
            return ErrorClass::Fallback;
        }
        match self {
            LlmError::Api { status: 429 | 500 | 502 | 503 | 504 | 529, .. } => ErrorClass::Retry,
            // Payment required, bad or unauthorised key, unknown model or deployment.
            LlmError::Api { status: 401..=404, .. } => ErrorClass::Fallback,
            LlmError::Api { status, .. } if *status >= 500 => ErrorClass::Fallback,
            LlmError::Api { .. } => ErrorClass::Fatal,
            LlmError::Connect(_) | LlmError::Interrupted(_) => ErrorClass::Retry,
            // A hung provider is better left for the fallback than waited on again.
            LlmError::Timeout(_) | LlmError::Protocol(_) | LlmError::TooLarge { .. } => ErrorClass::Fallback,
            LlmError::CircuitOpen { .. } => ErrorClass::Fallback,
            LlmError::Config(_) | LlmError::InvalidToolSchema { .. } => ErrorClass::Fatal,
        }
    }

    /// A quota or billing refusal (never retried).
    pub fn is_quota(&self) -> bool {
        match self {
            LlmError::Api { status: 402, .. } => true,
            LlmError::Api { status: 429, code, message, .. } => {
                code.as_deref().is_some_and(|c| QUOTA_CODES.contains(&c))
                    || message.contains("exceeded your current quota")
                    || message.contains("check your plan and billing")
            }
            _ => false,
        }
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
