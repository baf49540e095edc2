//! Who may call the visitor API, checked before any `/widget/v1` handler runs.
//!
//! Every request must come from a page on one of the deployment's allowed
//! origins (W3: anti-embedding, not authentication): its `Origin` header, or,
//! for a same-origin request that carries none (`Sec-Fetch-Site:
//! same-origin`, a page switchboard serves itself such as `/demo`), the
//! server's own origin. `null` and everything else get 403. CORS answers
//! name that exact origin, never `*`, and no credentials mode is offered
//! (visitors authenticate with a bearer token, not cookies).
//!
//! The deployment comes from the path (`/widget/v1/deployments/{id}/…`) or
//! from the visitor token (`Authorization: Bearer …`, or `?token=` where a
//! browser API cannot set headers: EventSource, WebSocket). A preflight
//! carries neither, so it is answered for origins that some deployment
//! allows (for a path naming a deployment: that deployment) and the real
//! request is then checked against its own deployment.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use switchboard_store::{Deployment, Millis, Tenant, Visitor, now_millis};

use crate::auth::credentials::sha256_hex;
use crate::error::{ApiError, ErrorKind};
use crate::http::extract::is_object_id;
use crate::state::AppState;

/// A request on a deployment's public path, from an origin it allows.
#[derive(Debug, Clone)]
pub struct DeploymentCtx {
    pub tenant: Tenant,
    pub deployment: Deployment,
}

/// A request with a visitor token, from an origin its deployment allows.
#[derive(Debug, Clone)]
pub struct VisitorCtx {
    pub tenant: Tenant,
    pub visitor: Visitor,
    pub deployment: Deployment,
}

impl<S: Send + Sync> FromRequestParts<S> for DeploymentCtx {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<DeploymentCtx>().cloned().ok_or_else(ApiError::not_found)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VisitorCtx {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<VisitorCtx>().cloned().ok_or_else(visitor_unauthorized)
    }
}

fn visitor_unauthorized() -> ApiError {
    ApiError::new(ErrorKind::Unauthorized, "send the visitor token: `Authorization: Bearer <visitor_token>`")
}

pub fn visitor_token_expired() -> ApiError {
    ApiError::new(
        ErrorKind::VisitorTokenExpired,
        "this visitor token has expired; start a new session (POST /widget/v1/deployments/{id}/sessions)",
    )
}

/// Whether the token has outlived its lifetime since it was issued or last renewed.
pub fn is_expired(visitor: &Visitor, ttl_hours: u64, now: Millis) -> bool {
    let ttl_ms = i64::try_from(ttl_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    now.saturating_sub(visitor.renewed_at) >= ttl_ms
}

/// An origin as browsers serialise it: `scheme://host[:port]`, lowercase,
/// no default port, no path. Only http and https.
pub fn normalize_origin(input: &str) -> Result<String, String> {
    let input = input.trim();
    if input == "*" || input.eq_ignore_ascii_case("null") {
        return Err(format!("`{input}` is not an origin; name each site, e.g. https://shop.example"));
    }
    let url = url::Url::parse(input).map_err(|_| format!("`{input}` is not an origin like https://shop.example"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{input}` must be an http or https origin"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{input}` must not hold a user name or password"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{input}` must be an origin only (scheme, host, port), without a path"));
    }
    Ok(url.origin().ascii_serialization())
}

/// A deployment's allowed origins: each normalised, sorted, without duplicates, at most 50.
pub fn normalize_origins(values: &[String]) -> Result<Vec<String>, String> {
    if values.len() > 50 {
        return Err("`allowed_origins` holds at most 50 origins".into());
    }
    let mut origins = values.iter().map(|o| normalize_origin(o)).collect::<Result<Vec<_>, _>>()?;
    origins.sort();
    origins.dedup();
    Ok(origins)
}

/// The origin a request comes from, or why it has none we accept.
fn request_origin(headers: &HeaderMap, own_origin: impl FnOnce() -> Option<String>) -> Result<String, ApiError> {
    let refuse = |detail: &str| ApiError::forbidden(detail.to_owned());
    match headers.get(header::ORIGIN) {
        Some(value) => {
            let text = value.to_str().map_err(|_| refuse("the Origin header is not readable"))?;
            if text.eq_ignore_ascii_case("null") {
                return Err(refuse("requests from an opaque origin (`Origin: null`) are refused"));
            }
            normalize_origin(text).map_err(|_| refuse("the Origin header is not an http(s) origin"))
        }
        None => {
            let same_origin = headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"same-origin");
            match own_origin().filter(|_| same_origin) {
                Some(own) => Ok(own),
                None => {
                    Err(refuse("the widget API answers pages on a deployment's allowed origins; no Origin was sent"))
                }
            }
        }
    }
}

/// This server's origin, for same-origin requests: `server.public_url`, else the Host it was reached at.
fn own_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(public) = &state.settings.server.public_url {
        return normalize_origin(public.trim_end_matches('/')).ok();
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    normalize_origin(&format!("http://{host}")).ok()
}

fn not_allowed(origin: &str) -> ApiError {
    ApiError::forbidden(format!("origin `{origin}` is not allowed for this deployment"))
}

/// Which deployment the path names, if it names one.
fn path_deployment(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/widget/v1/deployments/")?;
    Some(rest.split('/').next().unwrap_or_default())
}

fn visitor_token(parts: &HeaderMap, query: Option<&str>) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(visitor_unauthorized)?;
        return Ok(Some(token.to_owned()));
    }
    let from_query = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
    });
    Ok(from_query.filter(|t| !t.is_empty()))
}

pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let origin = match request_origin(request.headers(), || own_origin(&state, request.headers())) {
        Ok(origin) => origin,
        Err(e) => return e.into_response(),
    };
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let path = request.uri().path().to_owned();
    let outcome = match path_deployment(&path) {
        Some(id) => for_deployment(&state, id, &origin, preflight).await.map(|ctx| {
            if let Some(ctx) = ctx {
                request.extensions_mut().insert(ctx);
            }
        }),
        None if preflight => known_origin(&state, &origin).await,
        None => {
            let token = visitor_token(request.headers(), request.uri().query());
            match token {
                Ok(token) => for_visitor(&state, token, &origin).await.map(|ctx| {
                    request.extensions_mut().insert(ctx);
                }),
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = outcome {
        // A refused origin learns nothing; an allowed one may read why (an expired token, a limit).
        let readable = e.kind != ErrorKind::Forbidden && known_origin(&state, &origin).await.is_ok();
        let mut response = e.into_response();
        if readable {
            allow(&mut response, &origin);
        }
        return response;
    }
    let mut response = if preflight { preflight_ok() } else { next.run(request).await };
    allow(&mut response, &origin);
    response
}

async fn for_deployment(
    state: &AppState,
    id: &str,
    origin: &str,
    preflight: bool,
) -> Result<Option<DeploymentCtx>, ApiError> {
    if !is_object_id(id) {
        return Err(ApiError::not_found());
    }
    let found = state.store.find_deployment(id).await?.ok_or_else(ApiError::not_found)?;
    if !found.deployment.allowed_origins.iter().any(|o| o == origin) {
        return Err(not_allowed(origin));
    }
    Ok((!preflight).then_some(DeploymentCtx { tenant: found.tenant, deployment: found.deployment }))
}

async fn known_origin(state: &AppState, origin: &str) -> Result<(), ApiError> {
    if state.store.origin_in_any_deployment(origin).await? { Ok(()) } else { Err(not_allowed(origin)) }
}

async fn for_visitor(state: &AppState, token: Option<String>, origin: &str) -> Result<VisitorCtx, ApiError> {
    let token = token.ok_or_else(visitor_unauthorized)?;
    let session = state
        .store
        .find_visitor(&sha256_hex(&token))
        .await?
        .ok_or_else(|| ApiError::new(ErrorKind::Unauthorized, "unknown visitor token; start a new session"))?;
    if !session.deployment.allowed_origins.iter().any(|o| o == origin) {
        return Err(not_allowed(origin));
    }
    if is_expired(&session.visitor, state.settings.web.visitor_token_ttl_hours, now_millis()) {
        return Err(visitor_token_expired());
    }
    state.limiters.check_visitor(&session.visitor.id)?;
    Ok(VisitorCtx { tenant: session.tenant, visitor: session.visitor, deployment: session.deployment })
}

fn preflight_ok() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, last-event-id, x-request-id"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// The CORS answer for an allowed origin: that origin exactly.
fn allow(response: &mut Response, origin: &str) {
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after, x-request-id"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalise_the_way_browsers_send_them() {
        assert_eq!(normalize_origin("https://Shop.Example").unwrap(), "https://shop.example");
        assert_eq!(normalize_origin("https://shop.example:443/").unwrap(), "https://shop.example");
        assert_eq!(normalize_origin("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(normalize_origin("https://bücher.example").unwrap(), "https://xn--bcher-kva.example");
        for bad in [
            "*",
            "null",
            "NULL",
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/path",
            "https://shop.example/?q",
            "https://user:pw@shop.example",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_request_without_origin_counts_only_when_the_browser_says_same_origin() {
        let own = || Some("http://127.0.0.1:8080".to_owned());
        let mut h = HeaderMap::new();
        assert!(request_origin(&h, own).is_err());
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(request_origin(&h, own).is_err());
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert_eq!(request_origin(&h, own).unwrap(), "http://127.0.0.1:8080");
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(request_origin(&h, own).is_err(), "an explicit null is refused whatever else is sent");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://Shop.example"));
        assert_eq!(request_origin(&h, own).unwrap(), "https://shop.example");
    }

    #[test]
    fn tokens_come_from_the_header_or_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(visitor_token(&h, Some("token=abc&after=x")).unwrap().as_deref(), Some("abc"));
        assert_eq!(visitor_token(&h, Some("after=x")).unwrap(), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer sbv_1"));
        assert_eq!(visitor_token(&h, Some("token=abc")).unwrap().as_deref(), Some("sbv_1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic x"));
        assert!(visitor_token(&h, None).is_err());
    }
}
