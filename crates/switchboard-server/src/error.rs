//! One error type for the HTTP layer, one wire format: RFC 9457
//! `application/problem+json` with a stable `type` per error kind. The kinds
//! and their statuses are declared in one table ([`ErrorKind::spec`]). Internal
//! errors are opaque to clients and logged once, with their cause chain.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_store::StoreError;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    MalformedJson,
    InvalidRequest,
    Unauthorized,
    /// A visitor token past its lifetime: the widget starts a new session.
    VisitorTokenExpired,
    Forbidden,
    CsrfFailed,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IdempotencyKeyReused,
    IdempotencyInFlight,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorKind {
    /// (stable code, HTTP status, title). The code is the last part of `type`.
    pub const fn spec(self) -> (&'static str, StatusCode, &'static str) {
        use ErrorKind::*;
        match self {
            BadRequest => ("bad-request", StatusCode::BAD_REQUEST, "Bad request"),
            MalformedJson => ("malformed-json", StatusCode::BAD_REQUEST, "Malformed JSON"),
            InvalidRequest => ("invalid-request", StatusCode::UNPROCESSABLE_ENTITY, "Invalid request"),
            Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED, "Authentication required"),
            VisitorTokenExpired => ("visitor-token-expired", StatusCode::UNAUTHORIZED, "Visitor token expired"),
            Forbidden => ("forbidden", StatusCode::FORBIDDEN, "Not allowed"),
            CsrfFailed => ("csrf-failed", StatusCode::FORBIDDEN, "CSRF token missing or wrong"),
            NotFound => ("not-found", StatusCode::NOT_FOUND, "Not found"),
            MethodNotAllowed => ("method-not-allowed", StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
            Conflict => ("conflict", StatusCode::CONFLICT, "Conflict"),
            IdempotencyKeyReused => (
                "idempotency-key-reused",
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency key used with a different request",
            ),
            IdempotencyInFlight => {
                ("idempotency-in-flight", StatusCode::CONFLICT, "A request with this idempotency key is in progress")
            }
            PayloadTooLarge => ("payload-too-large", StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
            UnsupportedMediaType => {
                ("unsupported-media-type", StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type")
            }
            RateLimited => ("rate-limited", StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
            Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        }
    }

    pub fn type_uri(self) -> String {
        format!("urn:switchboard:problem:{}", self.spec().0)
    }
}

/// The problem+json body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the error kind, e.g. `urn:switchboard:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request id, to quote when asking for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub detail: String,
    pub retry_after_secs: Option<u64>,
    /// The hidden cause of an internal error, logged, never sent.
    pub source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), retry_after_secs: None, source: None }
    }
    pub fn not_found() -> Self {
        Self::new(ErrorKind::NotFound, "no such object")
    }
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, detail)
    }
    pub fn unauthorized() -> Self {
        Self::new(ErrorKind::Unauthorized, "send `Authorization: Bearer <api key>` or log in")
    }
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self { retry_after_secs: Some(retry_after_secs.max(1)), ..Self::new(ErrorKind::RateLimited, "slow down") }
    }
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self { source: Some(err.into()), ..Self::new(ErrorKind::Internal, "something went wrong on our side") }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(what) => ApiError::new(ErrorKind::Conflict, what),
            other => ApiError::internal(other),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::internal(err)
    }
}

impl ApiError {
    /// The problem+json body, for errors that travel inside a stream. Internal
    /// errors are logged here, once, inside the request's span.
    pub fn problem(&self) -> Problem {
        let (_, status, title) = self.kind.spec();
        if let Some(source) = &self.source {
            tracing::error!(error = format!("{source:#}"), "internal error");
        }
        Problem {
            kind: self.kind.type_uri(),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail.clone(),
            request_id: crate::http::request_id::current(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (_, status, _) = self.kind.spec();
        let body = self.problem();
        let mut response = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
