//! The visitor's calls: the deployment's public configuration, sessions
//! (identified or anonymous), the transcript, messages through the message
//! path, "talk to a human", attachments and the satisfaction rating.

use axum::Json;
use axum::extract::{Extension, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use switchboard_store::{
    Actor, Message, MessageRole, NewAttachment, NewContact, NewMessage, NewVisitor, Ownership, StoreError, Tenant,
    Transition, new_id, now_millis,
};
use utoipa::ToSchema;

use super::access::{self, DeploymentCtx, VisitorCtx};
use super::identity;
use crate::auth::credentials::sha256_hex;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::http::extract::{ApiJson, IdPath};
use crate::http::rate_limit::ClientIp;
use crate::routes::conversations::{MessageBody, TurnDto, answer_message, optional_text};
use crate::routes::deployments::Appearance;
use crate::routes::dto::iso;
use crate::state::AppState;

/// What the widget needs before a session: how to look, whether identity is checked.
#[derive(Serialize, ToSchema)]
pub struct WidgetConfig {
    pub id: String,
    pub appearance: Appearance,
    pub identity_verification: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    /// A returning visitor's token: resumes its conversation and renews the
    /// token's lifetime. An expired one is refused (401 `visitor-token-expired`)
    /// unless `user_id` and `user_hash` identify the visitor.
    pub visitor_token: Option<String>,
    /// The customer's id for a logged-in user.
    #[schema(max_length = 200)]
    pub user_id: Option<String>,
    /// hex(HMAC-SHA256(identity_secret, user_id)), computed by the customer's backend.
    pub user_hash: Option<String>,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 320)]
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    /// Send as `Authorization: Bearer …` from now on; keep it to resume. It
    /// expires when not resumed for a while (401 `visitor-token-expired`).
    pub visitor_token: String,
    pub conversation_id: String,
    /// `ai`, `pending_human`, `human` or `resolved`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// Download with the visitor token (`GET`, `Authorization: Bearer …`).
    pub url: String,
}

/// A message as the visitor sees it.
#[derive(Serialize, ToSchema)]
pub struct WidgetMessage {
    pub id: String,
    /// `customer`, `assistant`, `human` or `system`.
    pub role: String,
    pub text: String,
    pub created_at: String,
    #[schema(value_type = Vec<crate::routes::conversations::CitationDto>)]
    pub citations: Vec<serde_json::Value>,
    /// The person who wrote it (human replies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CsatDto {
    pub rating: i32,
    pub comment: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetConversation {
    pub id: String,
    pub status: String,
    /// The person who has the conversation, when one does.
    pub assignee_name: Option<String>,
    /// The visitor's rating, once given.
    pub csat: Option<CsatDto>,
    /// The latest messages (at most 100), oldest first.
    pub messages: Vec<WidgetMessage>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusDto {
    pub status: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatBody {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i32,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// How many messages the transcript call returns.
const TRANSCRIPT_MESSAGES: u32 = 100;

/// The deployment's public configuration (no secret).
#[utoipa::path(get, path = "/widget/v1/deployments/{id}/config", tag = "widget", operation_id = "widget_config", security(()),
    params(("id" = String, Path)), responses((status = 200, body = WidgetConfig)))]
pub async fn config(ctx: DeploymentCtx) -> ApiResult<Json<WidgetConfig>> {
    let d = ctx.deployment;
    Ok(Json(WidgetConfig {
        id: d.id,
        appearance: Appearance::from_stored(&d.appearance),
        identity_verification: d.identity_verification,
    }))
}

/// Who the session is for, after identity verification.
enum Identity {
    Anonymous,
    /// A user id with a valid hash: may attach to that contact and its history.
    Verified(String),
}

async fn identify(state: &AppState, ctx: &DeploymentCtx, body: &SessionBody) -> ApiResult<Identity> {
    let user_id = optional_text("user_id", body.user_id.as_deref(), 200)?;
    let (user_id, hash) = match (user_id, body.user_hash.as_deref().filter(|h| !h.trim().is_empty())) {
        (None, None) => return Ok(Identity::Anonymous),
        (None, Some(_)) => return Err(ApiError::invalid("`user_hash` needs the `user_id` it signs")),
        (Some(_), None) if ctx.deployment.identity_verification => {
            return Err(ApiError::forbidden(
                "this deployment verifies identity: send `user_hash` (HMAC-SHA256 of `user_id` with the identity secret)",
            ));
        }
        // Not verified, so not attached: an unverified claim never reaches anyone's contact.
        (Some(_), None) => return Ok(Identity::Anonymous),
        (Some(user_id), Some(hash)) => (user_id, hash.to_owned()),
    };
    let sealed = state.store.deployment_secret(&ctx.tenant, &ctx.deployment.id).await?;
    let secret = identity::open(&state.sealer, &ctx.deployment.id, &sealed)?;
    if !identity::user_hash_matches(&secret, &user_id, &hash) {
        return Err(ApiError::forbidden("`user_hash` does not match `user_id`"));
    }
    Ok(Identity::Verified(user_id))
}

/// Starts or resumes a visitor's session. A returning visitor's token resumes
/// its conversation and starts its lifetime (`web.visitor_token_ttl_hours`)
/// anew; a verified user resumes their latest conversation on this
/// deployment; anyone else starts a new one.
#[utoipa::path(post, path = "/widget/v1/deployments/{id}/sessions", tag = "widget", operation_id = "widget_create_session", security(()),
    params(("id" = String, Path)), request_body = SessionBody, responses((status = 201, body = SessionDto)))]
pub async fn create_session(
    State(state): State<AppState>,
    ctx: DeploymentCtx,
    client_ip: Option<Extension<ClientIp>>,
    ApiJson(body): ApiJson<SessionBody>,
) -> ApiResult<(StatusCode, Json<SessionDto>)> {
    if let Some(Extension(ClientIp(ip))) = client_ip {
        state.limiters.check_widget_session(ip)?;
    }
    let identity = identify(&state, &ctx, &body).await?;
    let name = optional_text("name", body.name.as_deref(), 200)?;
    let email = optional_text("email", body.email.as_deref(), 320)?;
    let t = &ctx.tenant;
    let d = &ctx.deployment;

    if let Some(token) = body.visitor_token.as_deref().filter(|t| !t.is_empty())
        && let Some(found) = state.store.find_visitor(&sha256_hex(token)).await?
        && found.tenant == *t
        && found.visitor.deployment_id == d.id
        && same_person(&state, t, &found.visitor, &identity).await?
    {
        let now = now_millis();
        if access::is_expired(&found.visitor, state.settings.web.visitor_token_ttl_hours, now) {
            // An expired token reopens nothing: a verified user resumes by
            // their identity below, an anonymous visitor is told to start afresh.
            if matches!(identity, Identity::Anonymous) {
                return Err(access::visitor_token_expired());
            }
        } else {
            state.store.renew_visitor(t, &found.visitor.id, now).await?;
            let c = state.store.get_conversation(t, &found.visitor.conversation_id).await?;
            let dto =
                SessionDto { visitor_token: token.to_owned(), conversation_id: c.id, status: c.status.as_str().into() };
            return Ok((StatusCode::CREATED, Json(dto)));
        }
    }

    let (contact_id, resume, verified) = match &identity {
        Identity::Verified(user_id) => {
            let new = NewContact { external_id: Some(user_id.clone()), name, email };
            let contact = state.store.upsert_contact(t, &new).await?;
            let resume = state.store.latest_visitor_conversation(t, &d.id, &contact.id).await?;
            (Some(contact.id), resume, true)
        }
        Identity::Anonymous if name.is_some() || email.is_some() => {
            let contact = state.store.upsert_contact(t, &NewContact { external_id: None, name, email }).await?;
            (Some(contact.id), None, false)
        }
        Identity::Anonymous => (None, None, false),
    };
    let conversation = match resume {
        Some(id) => state.store.get_conversation(t, &id).await?,
        None => state.store.create_conversation(t, &d.agent_id, contact_id.as_deref()).await.map_err(|e| match e {
            StoreError::NotFound => ApiError::new(ErrorKind::Unavailable, "this deployment's agent is not available"),
            other => other.into(),
        })?,
    };
    let token = identity::mint_visitor_token();
    let new = NewVisitor {
        deployment_id: d.id.clone(),
        conversation_id: conversation.id.clone(),
        contact_id,
        token_hash: sha256_hex(&token),
        verified,
    };
    state.store.create_visitor(t, &new).await?;
    let dto = SessionDto {
        visitor_token: token,
        conversation_id: conversation.id,
        status: conversation.status.as_str().into(),
    };
    Ok((StatusCode::CREATED, Json(dto)))
}

/// A token resumes only for the person it was made for: an anonymous token
/// for an anonymous visitor (or the same one logging in), a verified user's
/// token for that user.
async fn same_person(
    state: &AppState,
    t: &Tenant,
    visitor: &switchboard_store::Visitor,
    identity: &Identity,
) -> ApiResult<bool> {
    match identity {
        Identity::Anonymous => Ok(true),
        Identity::Verified(user_id) if visitor.verified => {
            let Some(contact_id) = &visitor.contact_id else { return Ok(false) };
            let contact = state.store.get_contact(t, contact_id).await?;
            Ok(contact.external_id.as_deref() == Some(user_id.as_str()))
        }
        Identity::Verified(_) => Ok(false),
    }
}

/// The visitor's conversation with its latest messages.
#[utoipa::path(get, path = "/widget/v1/conversation", tag = "widget", operation_id = "widget_conversation", security(("visitor" = [])),
    responses((status = 200, body = WidgetConversation)))]
pub async fn conversation(State(state): State<AppState>, v: VisitorCtx) -> ApiResult<Json<WidgetConversation>> {
    let t = &v.tenant;
    let c = state.store.get_conversation(t, &v.visitor.conversation_id).await?;
    let recent = state.store.recent_messages(t, &c.id, TRANSCRIPT_MESSAGES).await?;
    let mut names = Names::default();
    let mut messages = Vec::with_capacity(recent.len());
    for m in recent {
        messages.push(widget_message(&state, t, &mut names, m).await);
    }
    let assignee_name = match (&c.assignee_id, c.status) {
        (Some(id), Ownership::Human) => names.of(&state, t, id).await,
        _ => None,
    };
    let csat = state.store.get_csat(t, &c.id).await?.map(|r| CsatDto { rating: r.rating, comment: r.comment });
    Ok(Json(WidgetConversation { id: c.id, status: c.status.as_str().into(), assignee_name, csat, messages }))
}

/// Names of the people who write to visitors, looked up once per stream.
#[derive(Default)]
pub struct Names(std::collections::HashMap<String, Option<String>>);

impl Names {
    pub async fn of(&mut self, state: &AppState, t: &Tenant, user_id: &str) -> Option<String> {
        if let Some(name) = self.0.get(user_id) {
            return name.clone();
        }
        // API keys and removed members have no name to show.
        let name = state.store.get_member(t, user_id).await.ok().map(|m| m.user.name);
        self.0.insert(user_id.to_owned(), name.clone());
        name
    }
}

pub async fn widget_message(state: &AppState, t: &Tenant, names: &mut Names, m: Message) -> WidgetMessage {
    let citations = m.details.get("citations").and_then(|c| c.as_array()).cloned().unwrap_or_default();
    let author_name = match (m.role, &m.author_id) {
        (MessageRole::Human, Some(id)) => names.of(state, t, id).await,
        _ => None,
    };
    let attachment = m.details.get("attachment").and_then(|a| {
        let id = a.get("id")?.as_str()?.to_owned();
        Some(AttachmentDto {
            url: format!("/widget/v1/attachments/{id}"),
            id,
            name: a.get("name")?.as_str()?.to_owned(),
            size: a.get("size")?.as_i64()?,
            content_type: a.get("content_type")?.as_str()?.to_owned(),
        })
    });
    WidgetMessage {
        id: m.id,
        role: m.role.as_str().into(),
        text: m.text,
        created_at: iso(m.created_at),
        citations,
        author_name,
        attachment,
    }
}

/// The visitor's message through the message path. With `Accept:
/// text/event-stream` the reply streams as `delta` events and ends with a
/// `message` event (the same object as the JSON answer).
#[utoipa::path(post, path = "/widget/v1/messages", tag = "widget", operation_id = "widget_post_message", security(("visitor" = [])),
    request_body = MessageBody, responses(
        (status = 200, body = TurnDto, description = "The turn (JSON), or the same as server-sent events")))]
pub async fn post_message(
    State(state): State<AppState>,
    v: VisitorCtx,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<Response> {
    state.limiters.check_visitor_message(&v.visitor.id)?;
    let id = v.visitor.conversation_id.clone();
    state.hub.typing(&id, "assistant");
    answer_message(state, v.tenant, id, body.text, &headers).await
}

/// "Talk to a human": puts the conversation in the human queue.
#[utoipa::path(post, path = "/widget/v1/handoff", tag = "widget", operation_id = "widget_handoff", security(("visitor" = [])),
    responses((status = 200, body = StatusDto)))]
pub async fn handoff(State(state): State<AppState>, v: VisitorCtx) -> ApiResult<Json<StatusDto>> {
    let t = &v.tenant;
    let c = state.store.get_conversation(t, &v.visitor.conversation_id).await?;
    if matches!(c.status, Ownership::PendingHuman | Ownership::Human) {
        return Ok(Json(StatusDto { status: c.status.as_str().into() }));
    }
    let change = Transition {
        from: &[Ownership::Ai, Ownership::Resolved],
        to: Ownership::PendingHuman,
        actor: Actor::System,
        reason: "the customer asked for a person (widget)",
        assignee: None,
        priority: "normal",
    };
    let moved = state.store.transition_conversation(t, &c.id, &change).await?;
    Ok(Json(StatusDto { status: moved.status.as_str().into() }))
}

/// Rates the conversation once it is resolved (again to change the rating).
#[utoipa::path(post, path = "/widget/v1/csat", tag = "widget", operation_id = "widget_csat", security(("visitor" = [])),
    request_body = CsatBody, responses((status = 201, body = CsatDto)))]
pub async fn csat(
    State(state): State<AppState>,
    v: VisitorCtx,
    ApiJson(body): ApiJson<CsatBody>,
) -> ApiResult<(StatusCode, Json<CsatDto>)> {
    if !(1..=5).contains(&body.rating) {
        return Err(ApiError::invalid("`rating` must be 1 to 5"));
    }
    let comment =
        optional_text("comment", body.comment.as_deref(), 2000)?.map(|c| switchboard_guard::pii::redact(&c).text);
    let t = &v.tenant;
    let c = state.store.get_conversation(t, &v.visitor.conversation_id).await?;
    if c.status != Ownership::Resolved {
        return Err(ApiError::conflict(format!("the conversation is {}; rate it once it is resolved", c.status)));
    }
    let saved = state.store.set_csat(t, &c.id, body.rating, comment.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(CsatDto { rating: saved.rating, comment: saved.comment })))
}

/// Attaches a file (multipart `file`): PNG, JPEG, GIF, WebP or PDF, decided
/// from its bytes, up to `web.max_attachment_bytes`. It appears in the
/// transcript as the visitor's message.
#[utoipa::path(post, path = "/widget/v1/attachments", tag = "widget", operation_id = "widget_attach", security(("visitor" = [])),
    request_body(content_type = "multipart/form-data", description = "one `file` part"),
    responses((status = 201, body = AttachmentDto)))]
pub async fn attach(
    State(state): State<AppState>,
    v: VisitorCtx,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<(StatusCode, Json<AttachmentDto>)> {
    state.limiters.check_visitor_message(&v.visitor.id)?;
    let mut multipart = multipart
        .map_err(|_| ApiError::new(ErrorKind::UnsupportedMediaType, "send `multipart/form-data` with a `file`"))?;
    let max = state.settings.web.max_attachment_bytes;
    let too_large = || ApiError::new(ErrorKind::PayloadTooLarge, format!("attachments are at most {max} bytes"));
    let mut field = multipart
        .next_field()
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { ApiError::invalid(e.body_text()) }
        })?
        .ok_or_else(|| ApiError::invalid("send the file as a `file` part"))?;
    if field.name() != Some("file") {
        return Err(ApiError::invalid("send the file as a `file` part"));
    }
    let name = crate::knowledge::uploads::clean_file_name(field.file_name().unwrap_or("attachment"));
    // Read chunk by chunk so the cap holds however the body is framed.
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { ApiError::invalid(e.body_text()) }
    })? {
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid("the file is empty"));
    }
    let content_type = super::files::sniff(&bytes).ok_or_else(|| {
        ApiError::new(ErrorKind::UnsupportedMediaType, "attachments may be PNG, JPEG, GIF, WebP or PDF files")
    })?;
    let id = new_id();
    let shown_name = switchboard_guard::pii::redact(&name).text;
    let size = bytes.len() as i64;
    let new = NewAttachment {
        id: id.clone(),
        name: shown_name.clone(),
        content_type: content_type.to_owned(),
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
        content: bytes,
        message: NewMessage {
            role: MessageRole::Customer,
            text: format!("📎 {shown_name}"),
            author_id: v.visitor.contact_id.clone(),
            agent_version_id: None,
            outcome: None,
            confidence: None,
            details: serde_json::json!({"attachment": {
                "id": id, "name": shown_name, "size": size, "content_type": content_type,
            }}),
        },
    };
    let (a, _) = state.store.add_attachment(&v.tenant, &v.visitor.conversation_id, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(AttachmentDto {
            url: format!("/widget/v1/attachments/{}", a.id),
            id: a.id,
            name: a.name,
            size: a.size,
            content_type: a.content_type,
        }),
    ))
}

/// One of the visitor's own attachments.
#[utoipa::path(get, path = "/widget/v1/attachments/{id}", tag = "widget", operation_id = "widget_download", security(("visitor" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream")))]
pub async fn download(State(state): State<AppState>, v: VisitorCtx, IdPath(id): IdPath) -> ApiResult<Response> {
    let (a, bytes) = state.store.get_attachment(&v.tenant, &id).await?;
    if a.conversation_id != v.visitor.conversation_id {
        return Err(ApiError::not_found());
    }
    Ok(super::files::download_response(&a, bytes))
}
