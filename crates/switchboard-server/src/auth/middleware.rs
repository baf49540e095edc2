//! Resolves the caller before any `/v1` handler runs. A bad credential is a
//! 401 at once; no credential lets the request through without a principal
//! (public routes like login work, the [`Principal`] extractor 401s the rest).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use switchboard_store::{Tenant, now_millis};

use super::credentials::sha256_hex;
use super::permissions::scopes_for_role;
use super::{Credential, Principal};
use crate::error::{ApiError, ErrorKind};
use crate::http::request_id::RequestId;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "sb_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Last-used times are written at most this often per key, so that
/// authentication stays a read.
const TOUCH_EVERY_MS: i64 = 60_000;

fn bearer(headers: &HeaderMap) -> Option<Result<&str, ApiError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let bad = || ApiError::new(ErrorKind::Unauthorized, "malformed Authorization header; use `Bearer <api key>`");
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(bad),
    )
}

pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    request_id: String,
) -> Result<Option<Principal>, ApiError> {
    if let Some(token) = bearer(headers) {
        let token = token?;
        let key = state
            .store
            .find_api_key_by_hash(&sha256_hex(token))
            .await?
            .ok_or_else(|| ApiError::new(ErrorKind::Unauthorized, "unknown or revoked API key"))?;
        let tenant = Tenant::new(key.org_id.clone());
        let now = now_millis();
        if key.last_used_at.is_none_or(|at| now - at > TOUCH_EVERY_MS) {
            state.store.touch_api_key(&tenant, &key.id, now).await?;
        }
        return Ok(Some(Principal {
            tenant,
            role: key.role,
            scopes: key.scopes,
            credential: Credential::ApiKey { key_id: key.id },
            request_id,
        }));
    }
    let Some(cookie) = session_cookie(headers) else { return Ok(None) };
    let Some(session) = state.store.find_session(&sha256_hex(cookie), now_millis()).await? else {
        return Err(ApiError::new(ErrorKind::Unauthorized, "session expired; log in again"));
    };
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        // Double-submit check: a cross-site form can send the cookie but
        // cannot read the token to echo it in a header.
        let sent = headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if !bool::from(sent.ct_eq(session.csrf_token.as_bytes())) {
            return Err(ApiError::new(ErrorKind::CsrfFailed, "send the session's CSRF token in `X-CSRF-Token`"));
        }
    }
    Ok(Some(Principal {
        tenant: Tenant::new(session.org.id),
        role: session.role,
        scopes: scopes_for_role(session.role),
        credential: Credential::Session { user_id: session.user.id },
        request_id,
    }))
}

pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let (headers, method) = (request.headers().clone(), request.method().clone());
    match resolve(&state, &headers, &method, request_id).await {
        Ok(Some(principal)) => {
            if let Err(err) = state.limiters.check_credential(&principal.credential_id()) {
                return err.into_response();
            }
            request.extensions_mut().insert(principal);
        }
        Ok(None) => {}
        Err(err) => return err.into_response(),
    }
    next.run(request).await
}
