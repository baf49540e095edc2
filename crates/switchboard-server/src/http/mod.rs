//! HTTP plumbing shared by every route: request ids, problem+json extractors,
//! idempotency, rate limits, metrics and security headers.

pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod rate_limit;
pub mod request_id;
pub mod security;
