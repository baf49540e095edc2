//! `GET /v1/conversations/{id}/stream`: a conversation as it happens, for the
//! dashboard (new messages, changes of owner, typing), and the files visitors
//! attached.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::message_dto;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, IdPath, is_object_id};
use crate::live::{self, FeedItem};
use crate::state::AppState;
use crate::widget::events::{HEARTBEAT, StreamQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_conversation)).routes(routes!(download_attachment))
}

/// Server-sent events for one conversation: `status` first (`{status,
/// assignee_id}`) and on every change of owner, `message` (as `GET
/// …/messages` shows it; the event id is the message id), `typing`
/// (`{who}`); heartbeat comments every 15 s. `Last-Event-ID` (or `?after=`)
/// replays the messages after that one first.
#[utoipa::path(get, path = "/v1/conversations/{id}/stream", tag = "conversations",
    params(("id" = String, Path), ("after" = Option<String>, Query, description = "The last message id the client has")),
    responses((status = 200, content_type = "text/event-stream",
        description = "`status`, `message` and `typing` events as the conversation changes")))]
async fn stream_conversation(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> ApiResult<Response> {
    p.require(Permission::Read)?;
    if q.token.is_some() {
        return Err(ApiError::invalid("`token` is for visitors; operators use their key or session"));
    }
    let from_header = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let after = from_header.or(q.after).filter(|a| !a.is_empty());
    if after.as_deref().is_some_and(|a| !is_object_id(a)) {
        return Err(ApiError::invalid("`after` (or Last-Event-ID) must be a message id"));
    }
    let feed = live::feed(&state, &p.tenant, &id, after).await?;
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let event = match feed.recv().await? {
            FeedItem::Message(m) => {
                let id = m.id.clone();
                Event::default().event("message").id(id).json_data(message_dto(*m))
            }
            FeedItem::Status { status, assignee_id } => Event::default()
                .event("status")
                .json_data(json!({"status": status.as_str(), "assignee_id": assignee_id})),
            FeedItem::Typing { who } => Event::default().event("typing").json_data(json!({"who": who})),
        };
        Some((Ok::<Event, Infallible>(event.unwrap_or_default()), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)).into_response())
}

/// A file a visitor attached, as a download.
#[utoipa::path(get, path = "/v1/attachments/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream")))]
async fn download_attachment(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Response> {
    p.require(Permission::Read)?;
    let (a, bytes) = state.store.get_attachment(&p.tenant, &id).await?;
    Ok(crate::widget::files::download_response(&a, bytes))
}
