//! Conversations: contacts talking to an agent, the message path
//! (`POST …/messages`, JSON or server-sent events), and the calls a human
//! agent uses to take over, reply, hand back and resolve.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use switchboard_store::{
    Actor, Conversation, ConversationEvent, ConversationFilter, Escalation, ListedConversation, Message, MessageRole,
    NewContact, NewMessage, Ownership, StoreError, Transition,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::conversation::pipeline::{self, Turn};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams, is_object_id};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(list_events))
        .routes(routes!(take_over))
        .routes(routes!(human_reply))
        .routes(routes!(hand_back))
        .routes(routes!(resolve))
        .routes(routes!(escalate))
        .routes(routes!(list_escalations))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// Your id for this person; the same id finds the same contact.
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 320)]
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    pub agent_id: String,
    pub contact: Option<ContactBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationDto {
    pub id: String,
    /// Who owns it: `ai`, `pending_human`, `human` or `resolved`.
    pub status: String,
    pub agent_id: String,
    /// The agent version serving it.
    pub agent_version: Option<i32>,
    pub contact_id: Option<String>,
    /// The person the conversation is with, when they are known (a widget
    /// visitor who gave a name or email, a verified user, or the contact given
    /// when the conversation was started).
    pub contact: Option<ContactDto>,
    /// The human agent who has it, when one does.
    pub assignee_id: Option<String>,
    pub language: Option<String>,
    pub last_outcome: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A contact as conversations show it.
#[derive(Serialize, ToSchema)]
pub struct ContactDto {
    pub id: String,
    /// Your id for this person (a verified widget user's `user_id`).
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    /// `ai`, `pending_human`, `human` or `resolved`.
    pub status: Option<String>,
    pub agent_id: Option<String>,
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub after: Option<String>,
    #[param(minimum = 1)]
    pub limit: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct CitationDto {
    pub number: usize,
    pub document_id: String,
    pub chunk_id: String,
    pub title: String,
    pub url: Option<String>,
    pub heading_path: String,
    pub snippet: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReplyDto {
    pub id: String,
    pub text: String,
    pub citations: Vec<CitationDto>,
}

#[derive(Serialize, ToSchema)]
pub struct UsageDto {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cost_usd: f64,
}

#[derive(Serialize, ToSchema)]
pub struct TimingsDto {
    pub inbound: f64,
    pub route: f64,
    pub retrieve: f64,
    pub generate: f64,
    pub guard: f64,
    pub persist: f64,
    pub total: f64,
}

/// The result of one customer message.
#[derive(Serialize, ToSchema)]
pub struct TurnDto {
    /// The stored customer message (PII redacted).
    pub message_id: String,
    /// `null` while a person owns the conversation: the AI does not reply then.
    pub reply: Option<ReplyDto>,
    /// `answered`, `abstained`, `escalated` or `refused`.
    pub outcome: String,
    pub confidence: f64,
    pub usage: UsageDto,
    /// Milliseconds per stage of the message path.
    pub timings_ms: TimingsDto,
    /// The conversation's owner after this turn.
    pub status: String,
    /// With `Accept: text/event-stream`: `true` when `reply.text` is not what the `delta`
    /// events added up to, because a check on the whole reply changed it after part of it was
    /// streamed (the model leaked and the reply was withheld, the stream broke off, …). Show
    /// `reply.text` in place of the streamed text. `false` otherwise: the deltas are the reply.
    pub deltas_replaced: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MessageDto {
    pub id: String,
    /// `customer`, `assistant`, `human` or `system`.
    pub role: String,
    /// As stored: personal data redacted.
    pub text: String,
    pub created_at: String,
    pub citations: Vec<serde_json::Value>,
    pub outcome: Option<String>,
    pub confidence: Option<f64>,
    pub author_id: Option<String>,
    /// Route, guard verdicts, evidence and per-stage timings (assistant messages).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<MessageDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub id: String,
    pub from: Option<String>,
    pub to: String,
    /// `user`, `api_key` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub reason: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateBody {
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// low, normal (default), high or urgent.
    pub priority: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EscalationDto {
    pub id: String,
    pub conversation_id: String,
    pub reason: String,
    pub priority: String,
    /// `open`, `taken` or `closed`.
    pub status: String,
    pub taken_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct EscalationList {
    pub escalations: Vec<EscalationDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EscalationQuery {
    /// `open`, `taken` or `closed`.
    pub status: Option<String>,
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub after: Option<String>,
    #[param(minimum = 1)]
    pub limit: Option<u64>,
}

async fn conversation_dto(state: &AppState, p: &Principal, c: Conversation) -> ApiResult<ConversationDto> {
    let version = state.store.get_agent_version_by_id(&p.tenant, &c.agent_version_id).await.ok().map(|v| v.version);
    let contact = match c.contact_id.as_deref() {
        Some(id) => match state.store.get_contact(&p.tenant, id).await {
            Ok(k) => Some(k),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    Ok(listed_dto(ListedConversation { conversation: c, agent_version: version, contact }))
}

/// The wire shape of a conversation with its version number and contact, looked up or listed.
fn listed_dto(listed: ListedConversation) -> ConversationDto {
    let ListedConversation { conversation: c, agent_version: version, contact } = listed;
    let contact = contact.map(|k| ContactDto { id: k.id, external_id: k.external_id, name: k.name, email: k.email });
    ConversationDto {
        id: c.id,
        status: c.status.as_str().into(),
        agent_id: c.agent_id,
        agent_version: version,
        contact_id: c.contact_id,
        contact,
        assignee_id: c.assignee_id,
        language: c.language,
        last_outcome: c.last_outcome,
        created_at: iso(c.created_at),
        updated_at: iso(c.updated_at),
    }
}

pub(crate) fn message_dto(m: Message) -> MessageDto {
    let citations = m.details.get("citations").and_then(|c| c.as_array()).cloned().unwrap_or_default();
    MessageDto {
        id: m.id,
        role: m.role.as_str().into(),
        text: m.text,
        created_at: iso(m.created_at),
        citations,
        outcome: m.outcome,
        confidence: m.confidence,
        author_id: m.author_id,
        details: m.details,
    }
}

pub fn turn_dto(turn: Turn) -> TurnDto {
    let citations = turn
        .citations
        .into_iter()
        .map(|c| CitationDto {
            number: c.number,
            document_id: c.document_id,
            chunk_id: c.chunk_id,
            title: c.title,
            url: c.url,
            heading_path: c.heading_path,
            snippet: c.snippet,
        })
        .collect();
    let t = turn.timings;
    TurnDto {
        message_id: turn.customer_message.id,
        reply: turn.reply.map(|r| ReplyDto { id: r.id, text: r.text, citations }),
        outcome: turn.outcome.as_str().into(),
        confidence: (turn.confidence * 1000.0).round() / 1000.0,
        usage: UsageDto {
            prompt_tokens: turn.usage.prompt_tokens,
            completion_tokens: turn.usage.completion_tokens,
            cost_usd: turn.usage.cost_usd,
        },
        timings_ms: TimingsDto {
            inbound: t.inbound,
            route: t.route,
            retrieve: t.retrieve,
            generate: t.generate,
            guard: t.guard,
            persist: t.persist,
            total: t.total,
        },
        status: turn.status.as_str().into(),
        deltas_replaced: turn.deltas_replaced,
    }
}

pub(crate) fn optional_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(ApiError::invalid(format!("`{field}` must be at most {max} characters")))
        }
        Some(v) if v.chars().any(char::is_control) => {
            Err(ApiError::invalid(format!("`{field}` must not contain control characters")))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// Lists conversations, newest first, optionally by owner status or agent.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", params(ConversationQuery),
    responses((status = 200, body = ConversationList)))]
async fn list_conversations(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ConversationQuery>,
) -> ApiResult<Json<ConversationList>> {
    p.require(Permission::Read)?;
    let page = ListParams { after: q.after, limit: q.limit }.page()?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<Ownership>()
                .map_err(|_| ApiError::invalid("`status` must be ai, pending_human, human or resolved"))
        })
        .transpose()?;
    if q.agent_id.as_deref().is_some_and(|a| !is_object_id(a)) {
        return Err(ApiError::invalid("`agent_id` must be an agent id"));
    }
    let filter = ConversationFilter { status, agent_id: q.agent_id };
    let found = state.store.list_conversations(&p.tenant, &filter, &page).await?;
    let conversations = found.items.into_iter().map(listed_dto).collect();
    Ok(Json(ConversationList { conversations, next_cursor: found.next_cursor }))
}

/// Starts a conversation with an agent (served by its live version).
#[utoipa::path(post, path = "/v1/conversations", tag = "conversations", request_body = CreateConversation,
    responses((status = 201, body = ConversationDto)))]
async fn create_conversation(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CreateConversation>,
) -> ApiResult<(StatusCode, Json<ConversationDto>)> {
    p.require(Permission::Converse)?;
    if !is_object_id(&body.agent_id) {
        return Err(ApiError::invalid("`agent_id` must be an agent id"));
    }
    state.store.get_agent(&p.tenant, &body.agent_id).await.map_err(|e| match e {
        switchboard_store::StoreError::NotFound => ApiError::invalid(format!("no agent `{}`", body.agent_id)),
        other => other.into(),
    })?;
    let contact = match body.contact {
        Some(c) => {
            let new = NewContact {
                external_id: optional_text("contact.external_id", c.external_id.as_deref(), 200)?,
                name: optional_text("contact.name", c.name.as_deref(), 200)?,
                email: optional_text("contact.email", c.email.as_deref(), 320)?,
            };
            Some(state.store.upsert_contact(&p.tenant, &new).await?)
        }
        None => None,
    };
    let conversation =
        state.store.create_conversation(&p.tenant, &body.agent_id, contact.as_ref().map(|c| c.id.as_str())).await?;
    Ok((StatusCode::CREATED, Json(conversation_dto(&state, &p, conversation).await?)))
}

/// One conversation.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = ConversationDto)))]
async fn get_conversation(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<ConversationDto>> {
    p.require(Permission::Read)?;
    let c = state.store.get_conversation(&p.tenant, &id).await?;
    Ok(Json(conversation_dto(&state, &p, c).await?))
}

/// The transcript, oldest first, as stored (personal data redacted).
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path), ListParams), responses((status = 200, body = MessageList)))]
async fn list_messages(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<MessageList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_messages(&p.tenant, &id, &q.page()?).await?;
    Ok(Json(MessageList { messages: page.items.into_iter().map(message_dto).collect(), next_cursor: page.next_cursor }))
}

/// A customer message: runs the message path and answers with the reply.
/// With `Accept: text/event-stream` the reply streams as `delta` events
/// (`{"text": …}`) and ends with a `message` event holding the same object
/// as the JSON answer.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "conversations", params(("id" = String, Path)),
    request_body = MessageBody, responses(
        (status = 200, body = TurnDto, description = "The turn (JSON), or the same as server-sent events")))]
async fn post_message(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<Response> {
    p.require(Permission::Converse)?;
    answer_message(state, p.tenant.clone(), id, body.text, &headers).await
}

/// Whether the client asked for server-sent events.
pub(crate) fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|part| part.trim().starts_with("text/event-stream")))
}

/// Runs a customer message through the message path and answers with the
/// turn: JSON, or `delta` events ending in a `message` event when the client
/// asked for an event stream. Shared by the API and the widget.
pub(crate) async fn answer_message(
    state: AppState,
    tenant: switchboard_store::Tenant,
    id: String,
    text: String,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if !wants_event_stream(headers) {
        let turn = pipeline::run_turn(&state, &tenant, &id, &text, None).await?;
        return Ok(Json(turn_dto(turn)).into_response());
    }
    // Refuse what would fail before the stream starts (an unknown conversation,
    // a spent token budget), so errors stay problem+json.
    crate::conversation::budget::admit(&state, &tenant, &id).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(64);
    // The turn runs to completion (and is stored) even if the client goes away.
    let turn = tokio::spawn(async move { pipeline::run_turn(&state, &tenant, &id, &text, Some(tx)).await });
    let deltas = tokio_stream::wrappers::ReceiverStream::new(rx).map(|text| {
        Ok::<Event, Infallible>(
            Event::default().event("delta").json_data(serde_json::json!({"text": text})).unwrap_or_default(),
        )
    });
    let last = futures::stream::once(async move {
        let event = match turn.await {
            Ok(Ok(turn)) => Event::default().event("message").json_data(turn_dto(turn)),
            Ok(Err(e)) => Event::default().event("error").json_data(e.problem()),
            Err(e) => Event::default().event("error").json_data(ApiError::internal(e).problem()),
        };
        Ok::<Event, Infallible>(event.unwrap_or_default())
    });
    Ok(Sse::new(deltas.chain(last)).keep_alive(KeepAlive::default()).into_response())
}

/// Every change of ownership: who, why, when.
#[utoipa::path(get, path = "/v1/conversations/{id}/events", tag = "conversations",
    params(("id" = String, Path), ListParams), responses((status = 200, body = EventList)))]
async fn list_events(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<EventList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_conversation_events(&p.tenant, &id, &q.page()?).await?;
    let events = page
        .items
        .into_iter()
        .map(|e: ConversationEvent| EventDto {
            id: e.id,
            from: e.from_status.map(|s| s.as_str().into()),
            to: e.to_status.as_str().into(),
            actor_type: e.actor.kind().into(),
            actor_id: e.actor.id().map(Into::into),
            reason: e.reason,
            created_at: iso(e.created_at),
        })
        .collect();
    Ok(Json(EventList { events, next_cursor: page.next_cursor }))
}

async fn transition(
    state: &AppState,
    p: &Principal,
    id: &str,
    (from, to): (&[Ownership], Ownership),
    reason: &str,
    assignee: Option<&str>,
    priority: &str,
) -> ApiResult<Json<ConversationDto>> {
    p.require(Permission::Converse)?;
    let actor = p.audit().actor;
    let change = Transition { from, to, actor, reason, assignee, priority };
    let c = state.store.transition_conversation(&p.tenant, id, &change).await?;
    Ok(Json(conversation_dto(state, p, c).await?))
}

fn actor_id(p: &Principal) -> String {
    match p.audit().actor {
        Actor::User(id) | Actor::ApiKey(id) => id,
        Actor::System => String::new(),
    }
}

/// A human agent takes the conversation: the AI stops replying.
#[utoipa::path(post, path = "/v1/conversations/{id}/takeover", tag = "conversations", params(("id" = String, Path)),
    request_body = ReasonBody, responses((status = 200, body = ConversationDto)))]
async fn take_over(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<ConversationDto>> {
    let reason = optional_text("reason", body.reason.as_deref(), 500)?.unwrap_or_else(|| "taken over".into());
    let me = actor_id(&p);
    let from = [Ownership::Ai, Ownership::PendingHuman, Ownership::Resolved];
    transition(&state, &p, &id, (&from, Ownership::Human), &reason, Some(&me), "normal").await
}

/// A human agent's reply (the conversation must be theirs: take it over first).
#[utoipa::path(post, path = "/v1/conversations/{id}/replies", tag = "conversations", params(("id" = String, Path)),
    request_body = MessageBody, responses((status = 201, body = MessageDto)))]
async fn human_reply(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<(StatusCode, Json<MessageDto>)> {
    p.require(Permission::Converse)?;
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > pipeline::MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(format!("`text` must be 1 to {} characters", pipeline::MAX_MESSAGE_CHARS)));
    }
    let c = state.store.get_conversation(&p.tenant, &id).await?;
    if c.status != Ownership::Human {
        return Err(ApiError::conflict(format!("the conversation is {}; take it over before replying", c.status)));
    }
    let redacted = switchboard_guard::pii::redact(text);
    let new = NewMessage {
        role: MessageRole::Human,
        text: redacted.text,
        author_id: Some(actor_id(&p)),
        agent_version_id: None,
        outcome: None,
        confidence: None,
        details: serde_json::json!({}),
    };
    let m = state.store.add_message(&p.tenant, &id, &new).await?;
    Ok((StatusCode::CREATED, Json(message_dto(m))))
}

/// Hands the conversation back to the AI.
#[utoipa::path(post, path = "/v1/conversations/{id}/handback", tag = "conversations", params(("id" = String, Path)),
    request_body = ReasonBody, responses((status = 200, body = ConversationDto)))]
async fn hand_back(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<ConversationDto>> {
    let reason =
        optional_text("reason", body.reason.as_deref(), 500)?.unwrap_or_else(|| "handed back to the AI".into());
    transition(&state, &p, &id, (&[Ownership::Human, Ownership::PendingHuman], Ownership::Ai), &reason, None, "normal")
        .await
}

/// Marks the conversation resolved.
#[utoipa::path(post, path = "/v1/conversations/{id}/resolve", tag = "conversations", params(("id" = String, Path)),
    request_body = ReasonBody, responses((status = 200, body = ConversationDto)))]
async fn resolve(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<ConversationDto>> {
    p.require(Permission::Converse)?;
    let reason = optional_text("reason", body.reason.as_deref(), 500)?.unwrap_or_else(|| "resolved".into());
    let c = state.store.get_conversation(&p.tenant, &id).await?;
    let from = [Ownership::Ai, Ownership::PendingHuman, Ownership::Human];
    // Who had it stays recorded, so a follow-up from the customer goes back to people.
    transition(&state, &p, &id, (&from, Ownership::Resolved), &reason, c.assignee_id.as_deref(), "normal").await
}

/// Puts the conversation in the human queue.
#[utoipa::path(post, path = "/v1/conversations/{id}/escalate", tag = "conversations", params(("id" = String, Path)),
    request_body = EscalateBody, responses((status = 200, body = ConversationDto)))]
async fn escalate(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<EscalateBody>,
) -> ApiResult<Json<ConversationDto>> {
    let reason =
        optional_text("reason", body.reason.as_deref(), 500)?.unwrap_or_else(|| "escalated by a person".into());
    let priority = body.priority.unwrap_or_else(|| "normal".into());
    if !matches!(priority.as_str(), "low" | "normal" | "high" | "urgent") {
        return Err(ApiError::invalid("`priority` must be low, normal, high or urgent"));
    }
    transition(&state, &p, &id, (&[Ownership::Ai], Ownership::PendingHuman), &reason, None, &priority).await
}

/// The human queue: escalations, newest first.
#[utoipa::path(get, path = "/v1/escalations", tag = "conversations", params(EscalationQuery),
    responses((status = 200, body = EscalationList)))]
async fn list_escalations(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<EscalationQuery>,
) -> ApiResult<Json<EscalationList>> {
    p.require(Permission::Read)?;
    let page = ListParams { after: q.after, limit: q.limit }.page()?;
    if q.status.as_deref().is_some_and(|s| !matches!(s, "open" | "taken" | "closed")) {
        return Err(ApiError::invalid("`status` must be open, taken or closed"));
    }
    let found = state.store.list_escalations(&p.tenant, q.status.as_deref(), &page).await?;
    let escalations = found
        .items
        .into_iter()
        .map(|e: Escalation| EscalationDto {
            id: e.id,
            conversation_id: e.conversation_id,
            reason: e.reason,
            priority: e.priority,
            status: e.status,
            taken_by: e.taken_by,
            created_at: iso(e.created_at),
            updated_at: iso(e.updated_at),
        })
        .collect();
    Ok(Json(EscalationList { escalations, next_cursor: found.next_cursor }))
}
