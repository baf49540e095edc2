//! The web apps, served from the built front-end (`web/dist`, see
//! `web.dist_dir`): `/widget.js` (the widget a script tag loads on customers'
//! sites), `/app/` (the dashboard: files as they are, any other path gets
//! its index.html) and `/demo` (a test page embedding the widget).
//!
//! These are the router's fallback, not API routes: they are not in the API
//! document and no API layer (keys, sessions, CORS) applies to them. The
//! dashboard's HTML carries a nonce CSP made fresh for each response (W4).
//! When the front-end is not built, these paths answer a 404 problem saying
//! how to build it; the API works either way.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::{ApiError, ErrorKind};
use crate::http::extract::is_object_id;
use crate::state::AppState;

/// What Vite writes where a nonce belongs (`html.cspNonce`).
pub const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";

pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let is_web = path == "/widget.js" || path == "/app" || path.starts_with("/app/") || path == "/demo";
    if !is_web {
        return ApiError::new(ErrorKind::NotFound, "no such route").into_response();
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::new(ErrorKind::MethodNotAllowed, "the web apps answer GET only").into_response();
    }
    let Some(dist) = dist_dir(&state) else { return not_built(&state).into_response() };
    match path.as_str() {
        "/widget.js" => widget_js(&dist, request).await,
        "/app" => Redirect::permanent("/app/").into_response(),
        "/demo" => demo(&state, &dist, request.uri(), request.headers()).await,
        _ => dashboard(&dist, &path, request).await,
    }
}

/// The first of the candidate folders that holds a build.
fn dist_dir(state: &AppState) -> Option<PathBuf> {
    state.settings.web.dist_dirs().into_iter().find(|d| d.join("widget.js").is_file() || d.join("app").is_dir())
}

fn not_built(state: &AppState) -> ApiError {
    let looked: Vec<String> = state.settings.web.dist_dirs().iter().map(|d| d.display().to_string()).collect();
    ApiError::new(
        ErrorKind::NotFound,
        format!(
            "the web apps are not built (looked in {}): run `npm ci && npm run build` in web/ \
             (scripts/serve-demo does), or set `web.dist_dir` to a build. The API works without them.",
            looked.join(", ")
        ),
    )
}

async fn widget_js(dist: &Path, request: Request) -> Response {
    let file = dist.join("widget.js");
    if !file.is_file() {
        return ApiError::new(ErrorKind::NotFound, "widget.js is not in the build; rebuild web/").into_response();
    }
    let mut response = serve(ServeFile::new(file), request).await;
    let h = response.headers_mut();
    // Short: the name is fixed, so a new build must reach sites soon.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    // Loaded by other sites' pages, including ones that isolate themselves (COEP).
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    response
}

async fn serve<S>(service: S, request: Request) -> Response
where
    S: tower::Service<Request, Error = std::convert::Infallible> + Send,
    S::Response: IntoResponse,
    S::Future: Send,
{
    match service.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

async fn dashboard(dist: &Path, path: &str, request: Request) -> Response {
    let app = dist.join("app");
    let rest = path.trim_start_matches("/app/");
    // Files of the build as they are; the SPA's own paths get index.html.
    if !rest.is_empty() && !rest.ends_with('/') && rest != "index.html" {
        let mut inner = request;
        let uri = format!("/{rest}{}", inner.uri().query().map(|q| format!("?{q}")).unwrap_or_default());
        *inner.uri_mut() = uri.parse().unwrap_or_else(|_| Uri::from_static("/"));
        let response = serve(ServeDir::new(&app).append_index_html_on_directories(false), inner).await;
        if response.status() != StatusCode::NOT_FOUND {
            let mut response = response;
            if rest.starts_with("assets/") && response.status().is_success() {
                // Vite names assets by their content hash.
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            }
            return response;
        }
    }
    let index = app.join("index.html");
    match tokio::fs::read_to_string(&index).await {
        Ok(html) => html_with_nonce(&html, dashboard_csp),
        Err(_) => {
            ApiError::new(ErrorKind::NotFound, "the dashboard is not in the build (no app/index.html); rebuild web/")
                .into_response()
        }
    }
}

fn new_nonce() -> String {
    STANDARD.encode(rand::random::<[u8; 16]>())
}

/// The dashboard's policy: scripts only by nonce (and what they load), no
/// plugins, no `<base>`, never framed.
pub fn dashboard_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob: https:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// Puts a fresh nonce into the page (Vite's placeholder, or on each
/// `<script` tag when the build has none) and sends it with its policy.
fn html_with_nonce(html: &str, csp: impl FnOnce(&str) -> String) -> Response {
    let nonce = new_nonce();
    let body = if html.contains(NONCE_PLACEHOLDER) {
        html.replace(NONCE_PLACEHOLDER, &nonce)
    } else {
        html.replace("<script", &format!("<script nonce=\"{nonce}\""))
    };
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&csp(&nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A page standing in for a customer's site, with the widget on it.
async fn demo(state: &AppState, dist: &Path, uri: &Uri, headers: &HeaderMap) -> Response {
    if !dist.join("widget.js").is_file() {
        return ApiError::new(ErrorKind::NotFound, "widget.js is not in the build; rebuild web/").into_response();
    }
    let from_query = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "deployment").map(|(_, v)| v.into_owned())
    });
    let Some(id) = from_query.or_else(|| state.settings.web.demo_deployment_id.clone()) else {
        return ApiError::new(
            ErrorKind::NotFound,
            "no demo deployment: open /demo?deployment=<deployment id> or set `web.demo_deployment_id`",
        )
        .into_response();
    };
    if !is_object_id(&id) {
        return ApiError::not_found().into_response();
    }
    match state.store.find_deployment(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => return ApiError::new(ErrorKind::NotFound, format!("no deployment `{id}`")).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    }
    // The widget talks to this server over fetch, EventSource and WebSocket.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    let html = DEMO_PAGE.replace("{{DEPLOYMENT}}", &id);
    html_with_nonce(&html, |nonce| {
        format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob: https:; connect-src 'self'{host}; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'none'"
        )
    })
}

const DEMO_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tarnfield Outfitters — widget test page</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f2937; background: #f8fafc; }
  header { background: #14532d; color: #fff; padding: 1.25rem 2rem; }
  header h1 { margin: 0; font-size: 1.4rem; }
  main { max-width: 44rem; margin: 2rem auto; padding: 0 1.5rem; }
  .card { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 1.25rem 1.5rem; margin-bottom: 1rem; }
  code { background: #f1f5f9; padding: 0 .25rem; border-radius: 4px; }
</style>
</head>
<body>
<header><h1>Tarnfield Outfitters</h1><div>Outdoor gear since 1987 · Kendal · Edinburgh · Utrecht · Boulder</div></header>
<main>
  <div class="card">
    <h2>This is a test page</h2>
    <p>It stands in for a shop's website. The chat button in the corner is the Switchboard widget,
    answering from the shop's sample knowledge base.</p>
    <p>Try: <code>How long do I have to return an item?</code>, <code>Do you ship to Canada?</code>,
    or <code>I want to talk to a person</code>.</p>
  </div>
  <div class="card">
    <h2>New this season</h2>
    <p>The Glacier Dome 3 tent, the Fellwalker 45 pack and the Lumen 400 head torch are in stock.</p>
  </div>
</main>
<script src="/widget.js" data-deployment="{{DEPLOYMENT}}" async></script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_goes_into_the_placeholder_or_onto_every_script() {
        let r = html_with_nonce("<script nonce=\"__CSP_NONCE__\" src=a></script>", dashboard_csp);
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(
            csp.contains("object-src 'none'")
                && csp.contains("base-uri 'none'")
                && csp.contains("frame-ancestors 'none'")
        );
        let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_owned();
        assert_eq!(nonce.len(), 24);
        let r2 = html_with_nonce("<script src=a></script><script>x</script>", dashboard_csp);
        let csp2 = r2.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert_ne!(csp, csp2, "a fresh nonce per response");
    }
}
