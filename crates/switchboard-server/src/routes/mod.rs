//! Every HTTP route, one module per feature, each exporting `router()`.
//! Routes are registered only through utoipa's `routes!`, which records each
//! one in the OpenAPI document as it adds it to the router: a route cannot be
//! served without being documented.

mod api_keys;
mod audit;
mod collections;
pub mod dto;
mod health;
mod members;
mod org;
mod session;

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", version = "1", description = "AI customer-support agents: knowledge, agents, conversations, channels."),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    components(schemas(crate::error::Problem)),
    tags(
        (name = "auth", description = "Dashboard login and the caller's identity"),
        (name = "organization", description = "The organization, billing settings and audit log"),
        (name = "team", description = "Members and API keys"),
        (name = "knowledge", description = "Collections of documents agents answer from"),
        (name = "operations", description = "Health and the API description"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An API key, `sb_…`")).build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "sb_session",
                "Dashboard session; unsafe methods also need `X-CSRF-Token`",
            ))),
        );
    }
}

/// All routes with their OpenAPI document.
pub fn all() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(session::router())
        .merge(org::router())
        .merge(members::router())
        .merge(api_keys::router())
        .merge(audit::router())
        .merge(collections::router())
        .routes(routes!(openapi_json))
        .split_for_parts();
    let json = Arc::new(serde_json::to_value(&spec).unwrap_or_default());
    (router.layer(Extension(SpecJson(json))), spec)
}

#[derive(Clone)]
struct SpecJson(Arc<serde_json::Value>);

/// This document: the OpenAPI 3.1 description of every route.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(Extension(SpecJson(spec)): Extension<SpecJson>) -> Json<serde_json::Value> {
    Json(spec.as_ref().clone())
}
