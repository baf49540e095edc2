//! Building and running the server. `build` binds the listeners (port 0
//! works, for tests) and `run_until` serves until the given shutdown future
//! resolves, then drains: readiness fails at once, no new connections are
//! accepted, in-flight requests finish within the grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use switchboard_store::{Store, now_millis};
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::{ApiError, ErrorKind};
use crate::http::request_id::RequestId;
use crate::http::{idempotency, metrics, rate_limit, request_id, security};
use crate::settings::Settings;
use crate::state::AppState;

pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    router: Router,
    metrics_router: Option<Router>,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let state = AppState::new(settings, store).await?;
        let settings = state.settings.clone();
        // Knowledge ingested while the model was missing gets its vectors now that it is here.
        if state.embedder.is_some() {
            let model = crate::knowledge::embedding::DEFAULT_EMBEDDING_MODEL.0;
            match state.store.queue_missing_vectors(model, settings.knowledge.job_max_attempts).await {
                Ok(0) => {}
                Ok(queued) => tracing::info!(queued, "collections without vectors queued for embedding"),
                Err(e) => tracing::warn!(error = %e, "could not look for chunks without vectors"),
            }
        }
        // Before the first request: every change committed from now on reaches the live streams.
        crate::live::start(state.store.clone(), state.hub.clone()).await?;
        let listener = TcpListener::bind(settings.server.listen).await?;
        let (metrics_listener, metrics_router) = match settings.metrics.listen {
            Some(addr) => (
                Some(TcpListener::bind(addr).await?),
                Some(Router::new().route("/metrics", axum::routing::get(metrics_text)).with_state(state.clone())),
            ),
            None => (None, None),
        };
        let router = router(state.clone(), metrics_router.is_none());
        Ok(Self { listener, metrics_listener, router, metrics_router, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, metrics_listener, router, metrics_router, state } = self;
        let grace = Duration::from_secs(state.settings.server.shutdown_grace_secs);
        let stop_tx = state.shutdown.clone();
        let stop_rx = state.shutdown.subscribe();
        let draining = state.draining.clone();
        tokio::spawn(async move {
            shutdown.await;
            draining.store(true, Ordering::SeqCst);
            tracing::info!("shutdown requested: draining");
            stop_tx.send_replace(true);
        });
        let maintenance = tokio::spawn(maintain(state.clone()));
        crate::knowledge::worker::spawn_workers(state.clone(), state.settings.knowledge.workers, stop_rx.clone());

        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let (Some(l), Some(r)) = (metrics_listener, metrics_router) {
            let rx = stop_rx.clone();
            tokio::spawn(async move { axum::serve(l, r).with_graceful_shutdown(stopped(rx)).await });
        }
        let serve = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stopped(stop_rx.clone()));
        let deadline = async move {
            stopped(stop_rx).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            result = serve => result?,
            () = deadline => tracing::warn!(grace_secs = grace.as_secs(), "grace period over; exiting with requests in flight"),
        }
        maintenance.abort();
        tracing::info!("stopped");
        Ok(())
    }
}

/// Periodic housekeeping: forget idle rate-limit keys, purge old idempotency
/// keys, queue the re-crawls that are due.
async fn maintain(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.limiters.forget_idle();
        state.hub.prune();
        if let Err(e) = state.store.idempotency_purge(now_millis() - idempotency::RETENTION_MS).await {
            tracing::warn!(error = %e, "idempotency purge failed");
        }
        match state.store.start_due_crawls(now_millis(), state.settings.knowledge.job_max_attempts).await {
            Ok(0) => {}
            Ok(started) => {
                tracing::info!(started, "scheduled re-crawls queued");
                state.jobs_queued.notify_waiters();
            }
            Err(e) => tracing::warn!(error = %e, "queuing re-crawls failed"),
        }
    }
}

fn router(state: AppState, metrics_on_main: bool) -> Router {
    let routes = crate::routes::all(&state.settings);
    let mut api = routes.api;
    if metrics_on_main {
        api = api.route("/metrics", axum::routing::get(loopback_metrics));
    }
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    // Layers run outside-in from the last added. For /v1: CORS for the
    // configured origins, the body limit, per-address limits, authentication,
    // idempotency. For /widget/v1: the body limit (per route), per-address
    // limits, then the origin check and visitor authentication. Around both,
    // and around the web apps (the fallback): request id, tracing span,
    // security headers, metrics, problem+json for bare errors, the deadline.
    let api = api
        .layer(from_fn_with_state(state.clone(), idempotency::middleware))
        .layer(from_fn_with_state(state.clone(), crate::auth::middleware::authenticate))
        .layer(from_fn_with_state(state.clone(), rate_limit::per_ip))
        .layer(DefaultBodyLimit::max(state.settings.server.body_limit_bytes))
        .layer(security::cors(&state.settings.server.cors_allowed_origins));
    let widget = routes
        .widget
        .layer(from_fn_with_state(state.clone(), crate::widget::access::guard))
        .layer(from_fn_with_state(state.clone(), rate_limit::per_ip));
    let mut router = api
        .merge(widget)
        .fallback(crate::web::fallback)
        .layer(from_fn(move |req: Request, next: Next| deadline(timeout, req, next)))
        .layer(from_fn(problemize))
        .layer(from_fn_with_state(state.clone(), metrics::middleware));
    for layer in security::headers() {
        router = router.layer(layer);
    }
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.extensions().get::<RequestId>().map(|r| r.0.as_str()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(from_fn(request_id::middleware))
        .with_state(state)
}

async fn deadline(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut err = ApiError::new(ErrorKind::Unavailable, "the request took too long");
            err.retry_after_secs = Some(1);
            err.into_response()
        }
    }
}

/// Any error response produced outside our handlers (axum's 405, a layer's
/// refusal) that has no body gets a problem+json body, so every error has
/// the one wire format.
async fn problemize(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let has_type = response.headers().contains_key(header::CONTENT_TYPE);
    if !(status.is_client_error() || status.is_server_error()) || has_type {
        return response;
    }
    let kind = match status {
        StatusCode::METHOD_NOT_ALLOWED => ErrorKind::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
        StatusCode::NOT_FOUND => ErrorKind::NotFound,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
        s if s.is_server_error() => ErrorKind::Internal,
        _ => ErrorKind::BadRequest,
    };
    let (parts, body) = response.into_parts();
    let detail = body.collect().await.map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned()).unwrap_or_default();
    let mut fresh =
        ApiError::new(kind, if detail.is_empty() { kind.spec().2.to_owned() } else { detail }).into_response();
    *fresh.status_mut() = parts.status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}

/// `/metrics` on the main listener answers loopback clients only (a scraper
/// on the same host); elsewhere it is a 404. `metrics.listen` moves it to a
/// private listener of its own, which answers everyone who can reach it.
async fn loopback_metrics(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
) -> Response {
    if !peer.ip().is_loopback() {
        return ApiError::new(ErrorKind::NotFound, "no such route").into_response();
    }
    metrics_text(State(state)).await
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.encode())
        .into_response()
}
