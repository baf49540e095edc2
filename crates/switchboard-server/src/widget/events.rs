//! The visitor's live conversation: `GET /widget/v1/events` (server-sent
//! events) and `GET /widget/v1/ws` (a WebSocket that also takes messages).
//! Both carry the same events, from [`crate::live::feed`]: `status` first,
//! then `message` (a human's reply, the AI's, the visitor's own from another
//! tab), `status` when a person joins or the conversation is resolved, and
//! `typing`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{
    CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_store::Tenant;
use tokio::sync::mpsc;
use utoipa::IntoParams;

use super::access::VisitorCtx;
use super::visitor::{Names, widget_message};
use crate::conversation::pipeline;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::http::extract::{ApiQuery, is_object_id};
use crate::live::{self, FeedItem};
use crate::routes::conversations::turn_dto;
use crate::state::AppState;

/// Heartbeats keep proxies from closing an idle stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// The largest WebSocket frame (and message) a client may send.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The visitor token, for clients that cannot set `Authorization` (EventSource, WebSocket).
    pub token: Option<String>,
    /// The last message id the client has: the messages after it are sent
    /// first (for SSE, `Last-Event-ID` does the same).
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub after: Option<String>,
}

fn after(headers: &HeaderMap, query: Option<String>) -> ApiResult<Option<String>> {
    let from_header = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match from_header.or(query).filter(|a| !a.is_empty()) {
        Some(a) if !is_object_id(&a) => Err(ApiError::invalid("`after` (or Last-Event-ID) must be a message id")),
        other => Ok(other),
    }
}

/// One feed item as the visitor sees it: event name, SSE id, data.
async fn render(
    state: &AppState,
    t: &Tenant,
    names: &mut Names,
    item: FeedItem,
) -> (&'static str, Option<String>, Value) {
    match item {
        FeedItem::Message(m) => {
            let m = widget_message(state, t, names, *m).await;
            let id = m.id.clone();
            ("message", Some(id), serde_json::to_value(m).unwrap_or_default())
        }
        FeedItem::Status { status, assignee_id } => {
            let assignee_name = match (&assignee_id, status) {
                (Some(id), switchboard_store::Ownership::Human) => names.of(state, t, id).await,
                _ => None,
            };
            ("status", None, json!({"status": status.as_str(), "assignee_name": assignee_name}))
        }
        FeedItem::Typing { who } => ("typing", None, json!({"who": who})),
    }
}

/// The visitor's conversation as server-sent events: `status`, `message`
/// (with the message id as the event id), `typing`; heartbeat comments every 15 s.
#[utoipa::path(get, path = "/widget/v1/events", tag = "widget", operation_id = "widget_events", security(("visitor" = [])), params(StreamQuery),
    responses((status = 200, content_type = "text/event-stream",
        description = "`status` (first, then on changes), `message` and `typing` events")))]
pub async fn events(
    State(state): State<AppState>,
    v: VisitorCtx,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> ApiResult<Response> {
    let after = after(&headers, q.after)?;
    let feed = live::feed(&state, &v.tenant, &v.visitor.conversation_id, after).await?;
    let tenant = v.tenant;
    let stream = futures::stream::unfold((feed, Names::default()), move |(mut feed, mut names)| {
        let (state, tenant) = (state.clone(), tenant.clone());
        async move {
            let item = feed.recv().await?;
            let (name, id, data) = render(&state, &tenant, &mut names, item).await;
            let mut event = Event::default().event(name).json_data(data).unwrap_or_default();
            if let Some(id) = id {
                event = event.id(id);
            }
            Some((Ok::<Event, Infallible>(event), (feed, names)))
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)).into_response())
}

/// The visitor's conversation over a WebSocket: the same events as
/// `/widget/v1/events` as JSON `{type, data}`; the client sends `{"type":
/// "message", "text": …}` and the reply streams back as `delta` frames, then
/// a `turn` frame (the same object as `POST /widget/v1/messages` answers).
/// Frames over 64 KiB close the connection (1009); frames count against the
/// visitor's rate limits (an `error` frame says when one is hit).
#[utoipa::path(get, path = "/widget/v1/ws", tag = "widget", operation_id = "widget_ws", security(("visitor" = [])), params(StreamQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol")))]
pub async fn ws(
    State(state): State<AppState>,
    v: VisitorCtx,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = upgrade.map_err(|_| {
        ApiError::new(ErrorKind::BadRequest, "this is a WebSocket endpoint: connect with `Upgrade: websocket`")
    })?;
    let after = after(&headers, q.after)?;
    let feed = live::feed(&state, &v.tenant, &v.visitor.conversation_id, after).await?;
    Ok(upgrade
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run_socket(state, v, feed, socket)))
}

fn frame(kind: &str, data: Value) -> WsMessage {
    WsMessage::Text(json!({"type": kind, "data": data}).to_string().into())
}

fn error_frame(e: &ApiError) -> WsMessage {
    frame("error", serde_json::to_value(e.problem()).unwrap_or_default())
}

fn close(code: u16, reason: &'static str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))
}

async fn run_socket(state: AppState, v: VisitorCtx, mut feed: mpsc::Receiver<FeedItem>, socket: WebSocket) {
    let (mut sink, mut incoming) = socket.split();
    let (out, mut outgoing) = mpsc::channel::<WsMessage>(64);
    // One writer: feed events, streamed deltas and replies interleave safely.
    let writer = tokio::spawn(async move {
        while let Some(m) = outgoing.recv().await {
            let closing = matches!(m, WsMessage::Close(_));
            if sink.send(m).await.is_err() || closing {
                break;
            }
        }
    });
    let forward = {
        let (out, state, tenant) = (out.clone(), state.clone(), v.tenant.clone());
        tokio::spawn(async move {
            let mut names = Names::default();
            while let Some(item) = feed.recv().await {
                let (kind, _, data) = render(&state, &tenant, &mut names, item).await;
                if out.send(frame(kind, data)).await.is_err() {
                    break;
                }
            }
        })
    };
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut stop = state.shutdown.subscribe();
    loop {
        tokio::select! {
            received = incoming.next() => match received {
                Some(Ok(WsMessage::Text(text))) => on_client_frame(&state, &v, &out, text.as_str()).await,
                Some(Ok(WsMessage::Binary(_))) => {
                    let _ = out.send(error_frame(&ApiError::invalid("send JSON text frames"))).await;
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                Some(Ok(WsMessage::Close(_))) | None => break,
                Some(Err(e)) => {
                    // Over the frame cap, or not speaking the protocol: say so and hang up.
                    tracing::info!(error = %e, "closing a widget WebSocket");
                    let _ = out.send(close(1009, "frames are limited to 64 KiB")).await;
                    break;
                }
            },
            _ = heartbeat.tick() => {
                let _ = out.send(WsMessage::Ping(Vec::new().into())).await;
            }
            () = live::stopping(&mut stop) => {
                let _ = out.send(close(1001, "the server is restarting")).await;
                break;
            }
        }
    }
    forward.abort();
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFrame {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

async fn on_client_frame(state: &AppState, v: &VisitorCtx, out: &mpsc::Sender<WsMessage>, text: &str) {
    if let Err(e) = state.limiters.check_visitor(&v.visitor.id) {
        let _ = out.send(error_frame(&e)).await;
        return;
    }
    let parsed: ClientFrame = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let _ = out.send(error_frame(&ApiError::invalid(format!("unreadable frame: {e}")))).await;
            return;
        }
    };
    match (parsed.kind.as_str(), parsed.text) {
        ("message", Some(text)) => {
            if let Err(e) = state.limiters.check_visitor_message(&v.visitor.id) {
                let _ = out.send(error_frame(&e)).await;
                return;
            }
            start_turn(state.clone(), v.clone(), out.clone(), text);
        }
        ("typing", _) => state.hub.typing(&v.visitor.conversation_id, "customer"),
        ("ping", _) => {
            let _ = out.send(frame("pong", json!({}))).await;
        }
        _ => {
            let e = ApiError::invalid(
                "frames are {\"type\": \"message\", \"text\": …}, {\"type\": \"typing\"} or {\"type\": \"ping\"}",
            );
            let _ = out.send(error_frame(&e)).await;
        }
    }
}

/// Runs the turn on its own task: it completes (and is stored) even if the
/// socket goes away; its deltas and result go to the socket while it is there.
fn start_turn(state: AppState, v: VisitorCtx, out: mpsc::Sender<WsMessage>, text: String) {
    state.hub.typing(&v.visitor.conversation_id, "assistant");
    tokio::spawn(async move {
        let (tx, mut deltas) = mpsc::channel::<String>(64);
        let relay = {
            let out = out.clone();
            tokio::spawn(async move {
                while let Some(text) = deltas.recv().await {
                    let _ = out.send(frame("delta", json!({"text": text}))).await;
                }
            })
        };
        let result = pipeline::run_turn(&state, &v.tenant, &v.visitor.conversation_id, &text, Some(tx)).await;
        let _ = relay.await;
        let reply = match result {
            Ok(turn) => frame("turn", serde_json::to_value(turn_dto(turn)).unwrap_or_default()),
            Err(e) => error_frame(&e),
        };
        let _ = out.send(reply).await;
    });
}
