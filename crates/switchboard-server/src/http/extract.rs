//! Extractors whose rejections speak problem+json: malformed JSON is 400,
//! well-formed JSON of the wrong shape (wrong types, missing or unknown
//! fields) is 422, a missing JSON content type is 415, an oversize body 413.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorKind};

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(ErrorKind::UnsupportedMediaType, "send `Content-Type: application/json`"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorKind::PayloadTooLarge, "the request body is over the size limit")
            } else {
                ApiError::new(ErrorKind::BadRequest, e.body_text())
            }
        })?;
        // Syntax first (400), then shape (422): parsing into a `Value` keeps
        // the two apart, which serde_json's typed errors do not always do.
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::new(ErrorKind::MalformedJson, format!("the request body is not valid JSON: {e}")))?;
        // Every request body of this API is an object; serde would also accept
        // a struct written as an array (`["agent"]`).
        if !value.is_object() {
            return Err(ApiError::invalid("the request body must be a JSON object"));
        }
        if contains_nul(&value) {
            return Err(ApiError::invalid("text must not contain NUL (U+0000) characters"));
        }
        serde_json::from_value(value).map(ApiJson).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))
    }
}

/// NUL cannot be stored in PostgreSQL text and is never meaningful in ours.
fn contains_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(contains_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
        .unwrap_or(false)
}

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::invalid(e.body_text())),
            Err(other) => Err(ApiError::new(ErrorKind::BadRequest, other.body_text())),
        }
    }
}

/// Cursor pagination parameters shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub after: Option<String>,
    /// Page size, at least 1; default 20; values over 100 are capped at 100.
    #[param(minimum = 1)]
    pub limit: Option<u64>,
}

impl ListParams {
    pub fn page(&self) -> Result<switchboard_store::PageRequest, ApiError> {
        if self.after.as_deref().is_some_and(|a| !is_object_id(a)) {
            return Err(ApiError::invalid("`after` must be a `next_cursor` from a previous page"));
        }
        if self.limit == Some(0) {
            return Err(ApiError::invalid("`limit` must be at least 1"));
        }
        let limit = self.limit.map(|l| l.min(u64::from(switchboard_store::PageRequest::MAX_LIMIT)) as u32);
        Ok(switchboard_store::PageRequest::new(self.after.clone(), limit))
    }
}

/// Our ids are UUIDs in their hyphenated text form.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// The `{id}` of a path. Anything that cannot be one of our ids is a 404
/// straight away, before it reaches a query.
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found())?;
        if !is_object_id(&id) {
            return Err(ApiError::not_found());
        }
        Ok(IdPath(id))
    }
}

/// `{"deleted": true}` style acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}
