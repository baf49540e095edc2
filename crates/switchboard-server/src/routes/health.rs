//! Liveness and readiness, outside `/v1` and without auth.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub checks: Vec<Check>,
}

#[derive(Serialize, ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", checks: vec![] })
}

/// The server can take traffic: the database answers and no shutdown is under way.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = match state.store.ping().await {
        Ok(()) => Check { name: "database", ok: true, detail: format!("{:?}", state.store.backend()).to_lowercase() },
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Check { name: "database", ok: false, detail: "unreachable".into() }
        }
    };
    let draining = state.is_draining();
    let shutdown =
        Check { name: "shutdown", ok: !draining, detail: if draining { "draining".into() } else { "serving".into() } };
    // Informational: without a model the server still serves, with full-text search only.
    let embeddings = match &state.embedder {
        Some(model) => Check { name: "embeddings", ok: true, detail: format!("local:{}", model.model_id()) },
        None => Check { name: "embeddings", ok: true, detail: "no model loaded: search is full-text only".into() },
    };
    let ok = database.ok && shutdown.ok;
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let checks = vec![database, shutdown, embeddings];
    (status, Json(Health { status: if ok { "ok" } else { "unavailable" }, checks }))
}
