//! One ingestion job: a document version's bytes to published chunks.

use std::time::{Duration, Instant};

use switchboard_store::{NewChunk, Store, Tenant};

use super::embedding;
use super::extractor::Parser;
use crate::state::AppState;

/// Why a version could not be ingested. Permanent failures (the document is
/// broken) mark it failed at once; transient ones are retried with backoff.
#[derive(Debug)]
pub enum IngestError {
    Permanent(String),
    Transient(anyhow::Error),
}

impl From<switchboard_store::StoreError> for IngestError {
    fn from(e: switchboard_store::StoreError) -> Self {
        IngestError::Transient(e.into())
    }
}

/// What one ingestion did, and where its time went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    pub chunks: usize,
    pub embedded: bool,
    pub timings: IngestTimings,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestTimings {
    /// Detect, extract and chunk (in the confined child, its start included).
    pub parse: Duration,
    pub embed: Duration,
    /// Writing the chunks and switching the live version.
    pub publish: Duration,
}

pub async fn ingest_version(
    state: &AppState,
    t: &Tenant,
    version_id: &str,
    parser: &Parser,
) -> Result<Ingested, IngestError> {
    let store: &dyn Store = state.store.as_ref();
    let version = match store.version_to_ingest(t, version_id).await {
        Ok(v) => v,
        // Deleted while queued: nothing left to do.
        Err(switchboard_store::StoreError::NotFound) => return Ok(Ingested::default()),
        Err(e) => return Err(e.into()),
    };
    store.set_version_processing(t, version_id).await?;

    let started = Instant::now();
    // Untrusted bytes: parsed in a confined child process (see `extractor`), so a parser that
    // runs away fails this document only.
    let parsed = parser.parse(&version.document.source_key, version.media_type.as_deref(), version.content).await?;
    for warning in &parsed.warnings {
        tracing::info!(warning, "document parsed with a warning");
    }
    let chunks = parsed.chunks;
    if chunks.is_empty() {
        return Err(IngestError::Permanent("the document has no text to index".into()));
    }
    let parsed_at = Instant::now();

    let embedded = match embedding::for_collection(state, t, &version.embedding).await {
        Ok(model) => {
            let texts = chunks.iter().map(|c| c.contextual_text.clone()).collect();
            // A remote endpoint that is down or refuses is retried like any transient failure.
            Some(model.embed(texts).await.map_err(IngestError::Transient)?)
        }
        // Without the local model the chunks are published for full-text search; the
        // `embed` job gives them vectors once the model is there.
        Err(embedding::Unavailable::NoLocalModel) => None,
        Err(e @ embedding::Unavailable::Endpoint(_)) => {
            return Err(IngestError::Transient(anyhow::anyhow!("the collection's embedding model: {e}")));
        }
    };
    let embedded_at = Instant::now();
    let new_chunks: Vec<NewChunk> = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| NewChunk {
            ordinal: c.ordinal as i32,
            heading_path: c.heading_path.clone(),
            page: c.page.map(|p| p as i32),
            text: c.text.clone(),
            content_hash: c.content_hash.clone(),
            token_count: c.tokens as i32,
            embedding: embedded.as_ref().map(|e| e[i].clone()),
        })
        .collect();
    store.publish_version(t, version_id, &new_chunks, Some(&version.embedding.model)).await?;
    let timings =
        IngestTimings { parse: parsed_at - started, embed: embedded_at - parsed_at, publish: embedded_at.elapsed() };
    Ok(Ingested { chunks: new_chunks.len(), embedded: embedded.is_some(), timings })
}
