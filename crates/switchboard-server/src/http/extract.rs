//! Extractors whose rejections speak problem+json: malformed JSON is 400,
//! well-formed JSON of the wrong shape (wrong types, missing or unknown
//! fields) is 422, a missing JSON content type is 415, an oversize body 413.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
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
        // Every request body of this API is an object. serde would also accept
        // a struct written as an array (`["agent"]`); refuse that shape outright.
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {}
            Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                return Err(ApiError::invalid("the request body must be a JSON object"));
            }
            _ => return Err(ApiError::new(ErrorKind::MalformedJson, "the request body is not JSON")),
        }
        axum::Json::<T>::from_bytes(&bytes).map(|axum::Json(v)| ApiJson(v)).map_err(json_rejection)
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

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::invalid(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::new(ErrorKind::MalformedJson, e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::new(ErrorKind::UnsupportedMediaType, "send `Content-Type: application/json`")
        }
        JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorKind::PayloadTooLarge, "the request body is over the size limit")
        }
        other => ApiError::new(ErrorKind::BadRequest, other.body_text()),
    }
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
    pub after: Option<String>,
    /// Page size, 1 to 100 (larger values are capped); default 20.
    pub limit: Option<u64>,
}

impl ListParams {
    pub fn page(&self) -> switchboard_store::PageRequest {
        let limit = self.limit.map(|l| l.min(u64::from(switchboard_store::PageRequest::MAX_LIMIT)) as u32);
        switchboard_store::PageRequest::new(self.after.clone(), limit)
    }
}

/// `{"deleted": true}` style acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}
