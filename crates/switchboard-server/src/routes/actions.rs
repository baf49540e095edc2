//! What agents' tools leave for people: calls of tools with side effects
//! waiting for approval, and tickets the assistant filed.
//!
//! Approving runs the call once, then (through the same SSRF-safe client and
//! with the tool definition of the agent version that asked for it) and
//! records what it returned; denying records the refusal. Either way a note
//! goes into the conversation's transcript, so the customer and the team see
//! what became of the request.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_store::{ApprovalStatus, MessageRole, NewMessage, Ticket, ToolApproval};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::conversation::agent::AgentConfig;
use crate::conversation::{http_tools, tools};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_approvals))
        .routes(routes!(get_approval))
        .routes(routes!(approve))
        .routes(routes!(deny))
        .routes(routes!(list_tickets))
        .routes(routes!(get_ticket, update_ticket))
}

/// A tool call that waits for, or had, a person's decision.
#[derive(Serialize, ToSchema)]
pub struct ApprovalDto {
    pub id: String,
    pub conversation_id: String,
    pub agent_version_id: String,
    pub tool: String,
    /// The arguments the model gave, as checked against the tool's schema.
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// `pending`, `denied`, `approved` (running), `succeeded` or `failed`.
    pub status: String,
    /// What the call returned (`HTTP <status>` and the body, capped), why it
    /// failed, or the reason it was denied.
    pub result: Option<String>,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApprovalList {
    pub approvals: Vec<ApprovalDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApprovalQuery {
    /// `pending`, `denied`, `approved`, `succeeded` or `failed`.
    pub status: Option<String>,
    pub conversation_id: Option<String>,
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub after: Option<String>,
    #[param(minimum = 1)]
    pub limit: Option<u64>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Why (kept on the approval when it is denied).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketDto {
    pub id: String,
    pub conversation_id: Option<String>,
    pub subject: String,
    pub description: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `open` or `closed`.
    pub status: String,
    /// `assistant`, or the user or API key that filed it.
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TicketList {
    pub tickets: Vec<TicketDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// `open` or `closed`.
    pub status: Option<String>,
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub after: Option<String>,
    #[param(minimum = 1)]
    pub limit: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    /// `open` or `closed`.
    pub status: String,
}

fn approval_dto(a: ToolApproval) -> ApprovalDto {
    ApprovalDto {
        arguments: serde_json::from_str(&a.arguments).unwrap_or(Value::Null),
        id: a.id,
        conversation_id: a.conversation_id,
        agent_version_id: a.agent_version_id,
        tool: a.tool,
        status: a.status.as_str().into(),
        result: a.result,
        requested_at: iso(a.requested_at),
        decided_by: a.decided_by,
        decided_at: a.decided_at.map(iso),
        finished_at: a.finished_at.map(iso),
    }
}

fn ticket_dto(t: Ticket) -> TicketDto {
    TicketDto {
        id: t.id,
        conversation_id: t.conversation_id,
        subject: t.subject,
        description: t.description,
        priority: t.priority,
        status: t.status,
        created_by: t.created_by,
        created_at: iso(t.created_at),
        updated_at: iso(t.updated_at),
    }
}

fn page(after: Option<String>, limit: Option<u64>) -> ApiResult<switchboard_store::PageRequest> {
    ListParams { after, limit }.page()
}

/// Tool calls recorded for approval, newest first.
#[utoipa::path(get, path = "/v1/approvals", tag = "conversations", params(ApprovalQuery),
    responses((status = 200, body = ApprovalList)))]
async fn list_approvals(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ApprovalQuery>,
) -> ApiResult<Json<ApprovalList>> {
    p.require(Permission::Read)?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<ApprovalStatus>)
        .transpose()
        .map_err(|_| ApiError::invalid("`status` must be pending, denied, approved, succeeded or failed"))?;
    if q.conversation_id.as_deref().is_some_and(|c| !crate::http::extract::is_object_id(c)) {
        return Err(ApiError::invalid("`conversation_id` must be a conversation id"));
    }
    let found =
        state.store.list_approvals(&p.tenant, status, q.conversation_id.as_deref(), &page(q.after, q.limit)?).await?;
    Ok(Json(ApprovalList {
        approvals: found.items.into_iter().map(approval_dto).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// One recorded tool call.
#[utoipa::path(get, path = "/v1/approvals/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = ApprovalDto)))]
async fn get_approval(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<ApprovalDto>> {
    p.require(Permission::Read)?;
    Ok(Json(approval_dto(state.store.get_approval(&p.tenant, &id).await?)))
}

/// Approves a pending call and runs it (once, whoever else approves at the
/// same moment); the approval comes back with what the call returned.
#[utoipa::path(post, path = "/v1/approvals/{id}/approve", tag = "conversations", params(("id" = String, Path)),
    request_body = DecisionBody, responses((status = 200, body = ApprovalDto)))]
async fn approve(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(_body): ApiJson<DecisionBody>,
) -> ApiResult<Json<ApprovalDto>> {
    p.require(Permission::Converse)?;
    let t = &p.tenant;
    let pending = state.store.get_approval(t, &id).await?;
    let version = state.store.get_agent_version_by_id(t, &pending.agent_version_id).await?;
    let config = AgentConfig::from_stored(&version.config)?;
    let tool = config
        .tools
        .find(&pending.tool)
        .cloned()
        .ok_or_else(|| ApiError::conflict(format!("the agent version defines no tool `{}`", pending.tool)))?;
    let arguments = match serde_json::from_str::<Value>(&pending.arguments).map_err(anyhow::Error::from)? {
        Value::Object(arguments) => arguments,
        _ => return Err(ApiError::conflict("the recorded arguments are not an object")),
    };
    state.store.claim_approval(t, &p.audit(), &id, true, None).await?;
    let result = http_tools::call(&state, t, &tool, &arguments).await;
    let text = tools::capped(result.text);
    let finished = state.store.finish_approval(t, &id, result.answered, &text).await?;
    let note = if result.answered {
        format!("A team member approved the request ({}); it has been carried out.", tool.name)
    } else {
        format!("A team member approved the request ({}), but it could not be carried out.", tool.name)
    };
    transcript_note(&state, &p, &finished, note).await?;
    Ok(Json(approval_dto(finished)))
}

/// Denies a pending call: it never runs.
#[utoipa::path(post, path = "/v1/approvals/{id}/deny", tag = "conversations", params(("id" = String, Path)),
    request_body = DecisionBody, responses((status = 200, body = ApprovalDto)))]
async fn deny(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<Json<ApprovalDto>> {
    p.require(Permission::Converse)?;
    let reason = body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid("`reason` must be at most 500 characters"));
    }
    let denied = state.store.claim_approval(&p.tenant, &p.audit(), &id, false, reason).await?;
    let note = format!("A team member declined the request ({}); it has not been carried out.", denied.tool);
    transcript_note(&state, &p, &denied, note).await?;
    Ok(Json(approval_dto(denied)))
}

/// What became of the request, in the conversation's transcript.
async fn transcript_note(state: &AppState, p: &Principal, approval: &ToolApproval, text: String) -> ApiResult<()> {
    let new = NewMessage {
        role: MessageRole::System,
        text,
        author_id: p.audit().actor.id().map(str::to_owned),
        agent_version_id: None,
        outcome: None,
        confidence: None,
        details: serde_json::json!({"approval_id": approval.id, "status": approval.status.as_str()}),
    };
    state.store.add_message(&p.tenant, &approval.conversation_id, &new).await?;
    Ok(())
}

/// Tickets, newest first.
#[utoipa::path(get, path = "/v1/tickets", tag = "conversations", params(TicketQuery),
    responses((status = 200, body = TicketList)))]
async fn list_tickets(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<TicketQuery>,
) -> ApiResult<Json<TicketList>> {
    p.require(Permission::Read)?;
    if q.status.as_deref().is_some_and(|s| !matches!(s, "open" | "closed")) {
        return Err(ApiError::invalid("`status` must be open or closed"));
    }
    let found = state.store.list_tickets(&p.tenant, q.status.as_deref(), &page(q.after, q.limit)?).await?;
    Ok(Json(TicketList { tickets: found.items.into_iter().map(ticket_dto).collect(), next_cursor: found.next_cursor }))
}

/// One ticket.
#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = TicketDto)))]
async fn get_ticket(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<TicketDto>> {
    p.require(Permission::Read)?;
    Ok(Json(ticket_dto(state.store.get_ticket(&p.tenant, &id).await?)))
}

/// Opens or closes a ticket.
#[utoipa::path(patch, path = "/v1/tickets/{id}", tag = "conversations", params(("id" = String, Path)),
    request_body = TicketUpdate, responses((status = 200, body = TicketDto)))]
async fn update_ticket(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<TicketUpdate>,
) -> ApiResult<Json<TicketDto>> {
    p.require(Permission::Converse)?;
    if !matches!(body.status.as_str(), "open" | "closed") {
        return Err(ApiError::invalid("`status` must be open or closed"));
    }
    Ok(Json(ticket_dto(state.store.set_ticket_status(&p.tenant, &p.audit(), &id, &body.status).await?)))
}
