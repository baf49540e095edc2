//! `GET /v1/documents/{id}/events`: a document's processing progress as
//! server-sent events, ending when it is ready or failed.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use switchboard_store::DocumentStatus;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::documents::DocumentDto;
use crate::auth::{Permission, Principal};
use crate::error::ApiResult;
use crate::http::extract::IdPath;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document_events))
}

/// Another node may run the job: look again at least this often.
const RECHECK: Duration = Duration::from_secs(1);
/// A stream never outlives this, whatever the document does.
const MAX_STREAM: Duration = Duration::from_secs(15 * 60);

/// Streams `status` events (the document, as `GET /v1/documents/{id}` shows
/// it) each time it changes, the last one `ready` or `failed`.
#[utoipa::path(get, path = "/v1/documents/{id}/events", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream",
        description = "`status` events holding the document, until it is ready or failed")))]
async fn document_events(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Response> {
    p.require(Permission::Read)?;
    // Unknown or another tenant's: a 404 before the stream starts.
    let first = state.store.get_document(&p.tenant, &id).await?;
    let tenant = p.tenant.clone();
    let stream = async_stream(state, tenant, id, first);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

fn async_stream(
    state: AppState,
    tenant: switchboard_store::Tenant,
    id: String,
    first: switchboard_store::Document,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
    let deadline = tokio::time::Instant::now() + MAX_STREAM;
    futures::stream::unfold((Some(first), None::<String>, false), move |(next, last, done)| {
        let (state, tenant, id) = (state.clone(), tenant.clone(), id.clone());
        async move {
            if done {
                return None;
            }
            let mut current = next;
            loop {
                if let Some(doc) = current.take() {
                    let dto = DocumentDto::from(doc.clone());
                    let key = format!("{:?}/{}/{}", dto.status, dto.version, dto.chunk_count);
                    let finished = matches!(doc.status, DocumentStatus::Ready | DocumentStatus::Failed);
                    if last.as_deref() != Some(key.as_str()) {
                        let event = Event::default().event("status").json_data(&dto).unwrap_or_default();
                        return Some((Ok(event), (None, Some(key), finished)));
                    }
                    if finished {
                        return None;
                    }
                }
                if tokio::time::Instant::now() >= deadline {
                    return None;
                }
                let notified = state.jobs_changed.notified();
                let _ = tokio::time::timeout(RECHECK, notified).await;
                match state.store.get_document(&tenant, &id).await {
                    Ok(doc) => current = Some(doc),
                    // Deleted meanwhile, or the database is away: end the stream.
                    Err(_) => return None,
                }
            }
        }
    })
}
