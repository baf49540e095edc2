//! Hybrid retrieval: full-text and vector results fused by reciprocal rank
//! fusion (RRF), keeping each signal's score and rank so ranking is explainable.

use std::collections::HashMap;

use switchboard_store::{ChunkHit, SearchScope, Store, Tenant};

use super::embedding;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Hybrid,
    Bm25,
    Dense,
}

#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub bm25: f64,
    pub dense: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self { bm25: 1.0, dense: 1.0 }
    }
}

/// RRF's constant: ranks deeper than this matter little.
const RRF_K: f64 = 60.0;

#[derive(Debug, Clone)]
pub struct Scored {
    pub hit: ChunkHit,
    /// The fused score (or the single signal's score in single-signal modes).
    pub score: f64,
    pub bm25: Option<(usize, f64)>,
    pub dense: Option<(usize, f64)>,
}

pub struct SearchRequest<'a> {
    pub query: &'a str,
    pub top_k: usize,
    pub mode: Mode,
    pub weights: Weights,
}

/// Runs the requested signals and fuses them. Without an embedding model,
/// hybrid search falls back to full-text only and says so (`dense_used`).
pub async fn search(
    state: &AppState,
    t: &Tenant,
    collection_ids: Vec<String>,
    req: &SearchRequest<'_>,
) -> anyhow::Result<(Vec<Scored>, bool)> {
    search_pinned(state, t, collection_ids, None, req).await
}

/// [`search`], optionally over the knowledge snapshot an agent version was
/// released with (`pinned_to`, an agent version id) instead of live documents.
pub async fn search_pinned(
    state: &AppState,
    t: &Tenant,
    collection_ids: Vec<String>,
    pinned_to: Option<String>,
    req: &SearchRequest<'_>,
) -> anyhow::Result<(Vec<Scored>, bool)> {
    let scope = SearchScope { collection_ids, limit: depth(req.top_k), pinned_to };
    let found = signals(state, t, &scope, req.query, req.mode).await?;
    let dense_used = found.dense_used;
    Ok((fuse(found.text, found.vector, req), dense_used))
}

/// How deep each signal looks for `top_k` results: deeper than `top_k`, so
/// that fusion has something to fuse.
pub fn depth(top_k: usize) -> u32 {
    (top_k * 4).clamp(20, 200) as u32
}

/// Each signal's own results, best first, before fusion.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub text: Vec<ChunkHit>,
    pub vector: Vec<ChunkHit>,
    /// False when the mode asked for vectors but no model is loaded.
    pub dense_used: bool,
}

/// Runs the signals `mode` needs over `scope`: full text, and the query's
/// embedding against the stored vectors.
pub async fn signals(
    state: &AppState,
    t: &Tenant,
    scope: &SearchScope,
    query: &str,
    mode: Mode,
) -> anyhow::Result<Signals> {
    let store: &dyn Store = state.store.as_ref();
    let text = if mode != Mode::Dense { store.search_text(t, scope, query).await? } else { Vec::new() };
    let dense_model = if mode == Mode::Bm25 { None } else { state.embedder.clone() };
    let dense_used = dense_model.is_some();
    let vector = match dense_model {
        Some(model) => {
            let mut v = embedding::embed(model, vec![query.to_owned()]).await?;
            store.search_vector(t, scope, &v.pop().unwrap_or_default()).await?
        }
        None => Vec::new(),
    };
    Ok(Signals { text, vector, dense_used })
}

pub fn fuse(text_hits: Vec<ChunkHit>, vector_hits: Vec<ChunkHit>, req: &SearchRequest<'_>) -> Vec<Scored> {
    let mut by_id: HashMap<String, Scored> = HashMap::new();
    for (rank, hit) in text_hits.into_iter().enumerate() {
        let score = hit.score;
        by_id.entry(hit.chunk_id.clone()).or_insert_with(|| Scored { hit, score: 0.0, bm25: None, dense: None }).bm25 =
            Some((rank + 1, score));
    }
    for (rank, hit) in vector_hits.into_iter().enumerate() {
        let score = hit.score;
        by_id
            .entry(hit.chunk_id.clone())
            .or_insert_with(|| Scored { hit, score: 0.0, bm25: None, dense: None })
            .dense = Some((rank + 1, score));
    }
    let mut all: Vec<Scored> = by_id
        .into_values()
        .map(|mut s| {
            s.score = match req.mode {
                Mode::Bm25 => s.bm25.map_or(0.0, |(_, v)| v),
                Mode::Dense => s.dense.map_or(0.0, |(_, v)| v),
                Mode::Hybrid => {
                    s.bm25.map_or(0.0, |(r, _)| req.weights.bm25 / (RRF_K + r as f64))
                        + s.dense.map_or(0.0, |(r, _)| req.weights.dense / (RRF_K + r as f64))
                }
            };
            s
        })
        .collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.hit.chunk_id.cmp(&b.hit.chunk_id)));
    all.truncate(req.top_k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, score: f64) -> ChunkHit {
        ChunkHit {
            chunk_id: id.into(),
            document_id: "d".into(),
            collection_id: "c".into(),
            title: "t".into(),
            url: None,
            heading_path: String::new(),
            page: None,
            text: id.into(),
            score,
        }
    }

    #[test]
    fn rrf_rewards_agreement_between_signals() {
        let req = SearchRequest { query: "q", top_k: 3, mode: Mode::Hybrid, weights: Weights::default() };
        let fused = fuse(vec![hit("a", 9.0), hit("b", 8.0)], vec![hit("b", 0.9), hit("c", 0.8)], &req);
        let ids: Vec<_> = fused.iter().map(|s| s.hit.chunk_id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"], "b is found by both signals");
        assert_eq!(fused[0].bm25, Some((2, 8.0)));
        assert_eq!(fused[0].dense, Some((1, 0.9)));
    }

    #[test]
    fn weights_tilt_the_fusion() {
        let req =
            SearchRequest { query: "q", top_k: 2, mode: Mode::Hybrid, weights: Weights { bm25: 0.0, dense: 1.0 } };
        let fused = fuse(vec![hit("a", 9.0)], vec![hit("c", 0.8)], &req);
        assert_eq!(fused[0].hit.chunk_id, "c");
    }
}
