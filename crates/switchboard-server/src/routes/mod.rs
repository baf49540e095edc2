//! Every HTTP route, one module per feature, each exporting `router()`.
//! Routes are registered only through utoipa's `routes!`, which records each
//! one in the OpenAPI document as it adds it to the router: a route cannot be
//! served without being documented.

mod actions;
mod agents;
mod api_keys;
mod audit;
mod collections;
pub mod conversations;
mod crawl;
pub(crate) mod deployments;
mod documents;
pub mod dto;
mod health;
mod live;
mod members;
mod org;
mod progress;
pub mod search;
pub(crate) mod secrets;
mod session;
mod stats;

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
        (name = "organization", description = "The organization, billing settings, secrets and audit log"),
        (name = "team", description = "Members and API keys"),
        (name = "knowledge", description = "Collections of documents agents answer from"),
        (name = "agents", description = "Agents and their versions: release, rollback, diff"),
        (name = "conversations", description = "Conversations, the message path, and the human queue"),
        (name = "deployments", description = "The agent on websites: the chat widget's deployments"),
        (name = "widget", description = "The visitor API the chat widget calls from allowed origins (no API key; a visitor token)"),
        (name = "operations", description = "Health and the API description"),
    )
)]
struct ApiDoc;

struct Security;

/// Error responses every operation can give, besides the ones it documents.
const COMMON_ERRORS: &[(&str, &str)] = &[
    ("400", "Malformed request (e.g. invalid JSON)"),
    ("401", "Missing, unknown or revoked credentials"),
    ("403", "The role or the key's scopes do not allow this, or the CSRF token is missing"),
    ("404", "No such object in this organization"),
    ("409", "Conflicts with the current state, or the Idempotency-Key is in use"),
    ("413", "Request body over the size limit"),
    ("415", "Body is not `application/json`"),
    ("422", "Valid JSON that breaks the rules: unknown fields, wrong types, invalid values"),
    ("429", "Rate limited; see `Retry-After`"),
    ("503", "Overloaded, shutting down, or the request took too long"),
];

/// Every error is `application/problem+json` with the `Problem` schema: add
/// the common errors to each operation and give documented errors that
/// content type.
fn problem_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    for item in openapi.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.post, &mut item.patch, &mut item.put, &mut item.delete].into_iter().flatten()
        {
            let responses = &mut op.responses.responses;
            for (code, description) in COMMON_ERRORS {
                if op.security.as_ref().is_some_and(|s| s.is_empty()) && *code == "401" {
                    continue;
                }
                responses.entry((*code).to_owned()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description(*description)
                        .content(crate::error::PROBLEM_JSON, problem())
                        .build()
                        .into()
                });
            }
            for (code, response) in responses.iter_mut() {
                if !(code.starts_with('4') || code.starts_with('5')) {
                    continue;
                }
                if let utoipa::openapi::RefOr::T(response) = response
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response.content.insert(crate::error::PROBLEM_JSON.to_owned(), content);
                }
            }
        }
    }
}

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
        components.add_security_scheme(
            "visitor",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A widget visitor token, `sbv_…`, from `POST /widget/v1/deployments/{id}/sessions`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The routes, split by who calls them, with their one OpenAPI document.
pub struct Routes {
    /// `/v1`: API keys and dashboard sessions.
    pub api: axum::Router<AppState>,
    /// `/widget/v1`: visitors, from allowed origins.
    pub widget: axum::Router<AppState>,
    pub spec: utoipa::openapi::OpenApi,
}

/// All routes with their OpenAPI document.
pub fn all(settings: &crate::settings::Settings) -> Routes {
    let (api, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(session::router())
        .merge(org::router())
        .merge(members::router())
        .merge(api_keys::router())
        .merge(audit::router())
        .merge(collections::router())
        .merge(documents::router(settings.knowledge.max_upload_bytes))
        .merge(crawl::router())
        .merge(search::router())
        .merge(progress::router())
        .merge(agents::router())
        .merge(conversations::router())
        .merge(live::router())
        .merge(deployments::router())
        .merge(stats::router())
        .merge(secrets::router())
        .merge(actions::router())
        .routes(routes!(openapi_json))
        .split_for_parts();
    let (widget, widget_spec) = OpenApiRouter::<AppState>::new()
        .merge(crate::widget::router(settings.web.max_attachment_bytes))
        .split_for_parts();
    let mut spec = spec;
    spec.merge(widget_spec);
    problem_responses(&mut spec);
    let json = Arc::new(serde_json::to_value(&spec).unwrap_or_default());
    Routes { api: api.layer(Extension(SpecJson(json))), widget, spec }
}

/// The OpenAPI document as `switchboard openapi` prints it and `web/openapi.json` keeps it.
pub fn spec_json() -> String {
    let spec = all(&crate::settings::Settings::default()).spec;
    let mut text = serde_json::to_string_pretty(&spec).unwrap_or_default();
    text.push('\n');
    text
}

#[derive(Clone)]
struct SpecJson(Arc<serde_json::Value>);

/// This document: the OpenAPI 3.1 description of every route.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(Extension(SpecJson(spec)): Extension<SpecJson>) -> Json<serde_json::Value> {
    Json(spec.as_ref().clone())
}
