//! The `embed` job: vectors for the chunks of a collection that have none,
//! from the collection's model. A model change queues it (the change drops
//! every old vector: two models' vectors cannot be compared), and it fills
//! in chunks ingested while the local model was not loaded.
//!
//! It works in batches, renewing its lease between them, so a process killed
//! halfway leaves the rest for the retry and nothing twice: a vector is
//! written only to a chunk that has none, and only while the collection is
//! still on the model the job was queued for (a newer change queued its own
//! job, and this one stops).

use switchboard_store::{ChunkToEmbed, Job, now_millis};

use super::embedding::{self, Unavailable};
use super::ingest::IngestError;
use crate::state::AppState;

/// Chunks embedded and written per step.
const BATCH: u32 = 64;

/// What one `embed` job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Embedded {
    pub chunks: u64,
}

pub async fn run_embed(state: &AppState, job: &Job) -> Result<Embedded, IngestError> {
    let t = job.tenant();
    let field = |name: &str| job.payload.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let (Some(collection_id), Some(wanted)) = (field("collection_id"), field("model")) else {
        return Err(IngestError::Permanent("embed job without a collection_id and a model".into()));
    };
    let mut done = Embedded::default();
    let Some(current) = state.store.collection_embeddings(&t, std::slice::from_ref(&collection_id)).await?.pop() else {
        return Ok(done); // the collection was deleted
    };
    if current.model != wanted {
        tracing::info!(collection_id, "the collection changed its model again; that change's job embeds");
        return Ok(done);
    }
    let model = match embedding::for_collection(state, &t, &current).await {
        Ok(model) => model,
        Err(Unavailable::NoLocalModel) => {
            tracing::warn!(
                collection_id,
                "no local embedding model: the chunks stay full-text only until one is loaded"
            );
            return Ok(done);
        }
        Err(e @ Unavailable::Endpoint(_)) => {
            return Err(IngestError::Transient(anyhow::anyhow!("the collection's embedding model: {e}")));
        }
    };
    // A new dimension gets its vector index before its first vector (PostgreSQL).
    if let Err(e) = state.store.prepare_vector_index(current.dim).await {
        tracing::warn!(error = %e, dim = current.dim, "no vector index for this dimension: dense search scans");
    }
    let lease_ms = i64::try_from(state.settings.knowledge.job_lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    loop {
        if !state.store.renew_job_lease(job, now_millis() + lease_ms).await? {
            tracing::warn!(collection_id, "lost the embed job's lease; another worker has it");
            return Ok(done);
        }
        let batch = state.store.chunks_without_vectors(&t, &collection_id, BATCH).await?;
        if batch.is_empty() {
            tracing::info!(collection_id, chunks = done.chunks, model = wanted, "collection embedded");
            return Ok(done);
        }
        let texts = batch.iter().map(ChunkToEmbed::contextual_text).collect();
        let vectors = model.embed(texts).await.map_err(IngestError::Transient)?;
        let pairs: Vec<(String, Vec<f32>)> = batch.into_iter().map(|c| c.chunk_id).zip(vectors).collect();
        match state.store.store_chunk_vectors(&t, &collection_id, &wanted, &pairs).await {
            Ok(Some(written)) => done.chunks += written,
            Ok(None) => {
                tracing::info!(collection_id, "the collection changed its model meanwhile; stopping");
                return Ok(done);
            }
            // The endpoint answers with vectors of another size than the collection records.
            Err(switchboard_store::StoreError::Other(e)) => return Err(IngestError::Permanent(format!("{e:#}"))),
            Err(e) => return Err(e.into()),
        }
    }
}
