//! `Idempotency-Key` on POST, PATCH and DELETE, with Stripe's semantics: the
//! first response (success or server error) is stored and replayed byte for
//! byte for the same key and request; the same key with a different request is
//! 422; a second request while the first runs is 409. Requests the server
//! refused without acting (validation, auth, limits) are not stored, so the
//! key can be used again. Keys are scoped to the tenant and the credential and
//! kept for 24 hours.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use switchboard_store::{IdempotencyBegin, IdempotencyScope, StoredResponse, now_millis};

use crate::auth::Principal;
use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Stored responses larger than this are not kept (the request still runs).
const MAX_STORED_BODY: usize = 1024 * 1024;

fn stored_status(status: StatusCode) -> bool {
    status.is_success() || status.is_server_error() || status == StatusCode::NOT_FOUND
}

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::POST | Method::PATCH | Method::DELETE) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).cloned() else { return next.run(request).await };
    // Unauthenticated requests get their 401 from the handler; nothing to scope a key to.
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return next.run(request).await;
    };
    match run(state, principal, key, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run(
    state: AppState,
    principal: Principal,
    key: HeaderValue,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::new(ErrorKind::BadRequest, "Idempotency-Key must be 1 to 255 visible ASCII characters")
                .into_response()
        })?
        .to_owned();
    let (parts, body) = request.into_parts();
    // The largest body any route takes (uploads); each route still applies its own limit.
    let limit = state.settings.server.body_limit_bytes.max(state.settings.knowledge.max_upload_bytes * 2);
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(ErrorKind::PayloadTooLarge, "the request body is over the size limit").into_response()
    })?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update([0]);
    hasher.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_default());
    hasher.update([0]);
    hasher.update(&bytes);
    let scope =
        IdempotencyScope { principal: principal.credential_id(), key, request_hash: hex::encode(hasher.finalize()) };
    let tenant = principal.tenant.clone();
    let begun = state
        .store
        .idempotency_begin(&tenant, &scope, now_millis())
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    match begun {
        IdempotencyBegin::Started => {}
        IdempotencyBegin::InFlight => {
            return Err(ApiError::new(ErrorKind::IdempotencyInFlight, "retry when the first request has finished")
                .into_response());
        }
        IdempotencyBegin::Mismatch => {
            return Err(ApiError::new(
                ErrorKind::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request",
            )
            .into_response());
        }
        IdempotencyBegin::Completed(stored) => return Ok(replay(stored)),
    }

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let streaming =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streaming || !stored_status(response.status()) {
        // A stream cannot be replayed, and a refused request did nothing: free the key.
        if let Err(e) = state.store.idempotency_abort(&tenant, &scope).await {
            tracing::warn!(error = %e, "could not release idempotency key");
        }
        return Ok(response);
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_STORED_BODY).await else {
        let _ = state.store.idempotency_abort(&tenant, &scope).await;
        return Err(ApiError::internal(anyhow::anyhow!("response too large to store for idempotency")).into_response());
    };
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        content_type: parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
        body: bytes.to_vec(),
    };
    if let Err(e) = state.store.idempotency_complete(&tenant, &scope, &stored).await {
        tracing::error!(error = %e, "could not store idempotent response");
    }
    parts.headers.insert("idempotent-replayed", HeaderValue::from_static("false"));
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, stored.body).into_response();
    if let Some(ct) = stored.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
