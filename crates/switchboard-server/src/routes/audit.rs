//! The audit log: every mutation, newest first (owners and admins).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use switchboard_store::AuditEntry;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::error::ApiResult;
use crate::http::extract::{ApiQuery, ListParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: String,
    /// `user`, `api_key` or `system`.
    pub actor_type: &'static str,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: String,
    pub details: serde_json::Value,
    pub created_at: String,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            actor_type: e.actor.kind(),
            actor_id: e.actor.id().map(str::to_owned),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            request_id: e.request_id,
            details: e.details,
            created_at: iso(e.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntryDto>,
    pub next_cursor: Option<String>,
}

/// Lists audit entries, newest first.
#[utoipa::path(get, path = "/v1/audit-log", tag = "organization", params(ListParams), responses((status = 200, body = AuditList)))]
async fn list_audit(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<AuditList>> {
    p.require(Permission::ReadAudit)?;
    let page = state.store.list_audit(&p.tenant, &q.page()?).await?;
    Ok(Json(AuditList { entries: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}
