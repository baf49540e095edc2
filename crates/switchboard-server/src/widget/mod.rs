//! The chat widget's visitor API, `/widget/v1`: what a script tag on a
//! customer's website calls. No API key: the origin the page comes from and
//! a visitor token (made by `sessions`, scoped to one deployment and one
//! conversation) decide what a request may touch; see [`access`].
//!
//! These routes are documented in the same OpenAPI document as `/v1`, under
//! the `widget` tag, but sit behind their own layers (origin check and
//! visitor authentication instead of API keys and the dashboard's CORS).

pub mod access;
pub mod events;
pub mod files;
pub mod identity;
pub mod visitor;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// JSON bodies of the visitor API are small: a message is at most 4,000 characters.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

pub fn router(max_attachment_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(visitor::attach))
        // The cap itself is checked while reading; this leaves room for the multipart framing.
        .layer(axum::extract::DefaultBodyLimit::max(max_attachment_bytes.saturating_add(64 * 1024)));
    let rest = OpenApiRouter::new()
        .routes(routes!(visitor::config))
        .routes(routes!(visitor::create_session))
        .routes(routes!(visitor::conversation))
        .routes(routes!(visitor::post_message))
        .routes(routes!(visitor::handoff))
        .routes(routes!(visitor::csat))
        .routes(routes!(visitor::download))
        .routes(routes!(events::events))
        .routes(routes!(events::ws))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    OpenApiRouter::new().merge(uploads).merge(rest)
}
