//! Hybrid retrieval: full-text and vector results fused into one ranking,
//! keeping each signal's score and rank so ranking is explainable.
//!
//! Two fusion functions, both with a weight per signal:
//!
//! - **convex** (the default): each signal's scores are min-max normalised over
//!   the chunks it returned for this query (the best gets 1, the last 0, a chunk
//!   it did not return 0), and the fused score is their weighted mean. It keeps
//!   the margins: when full text is sure (a product code, the question's exact
//!   words) and the vectors are not, full text wins (Bruch, Gai and Ingber, "An
//!   Analysis of Fusion Functions for Hybrid Retrieval", 2023).
//! - **rrf**, reciprocal rank fusion: `w / (60 + rank)` summed over the signals;
//!   ranks only, so a clear winner in one signal counts like a narrow one.
//!
//! On the public sets (docs/bench/retrieval.md) convex fusion beats the better
//! single signal on both SciFact and SQuAD, where RRF loses to BM25 on SQuAD.

use std::collections::HashMap;

use switchboard_store::{ChunkHit, CollectionEmbedding, SearchFilter, SearchScope, Store, Tenant};

use super::{embedding, mmr};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Hybrid,
    Bm25,
    Dense,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fusion {
    #[default]
    Convex,
    Rrf,
}

impl Fusion {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "convex" => Some(Fusion::Convex),
            "rrf" => Some(Fusion::Rrf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Fusion::Convex => "convex",
            Fusion::Rrf => "rrf",
        }
    }
}

/// How hybrid search combines the signals: the function and each signal's weight.
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub bm25: f64,
    pub dense: f64,
    pub fusion: Fusion,
}

impl Default for Weights {
    fn default() -> Self {
        Self { bm25: 1.0, dense: 1.0, fusion: Fusion::default() }
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
    /// Which documents' chunks may be returned; applied inside each signal.
    pub filter: SearchFilter,
    /// Re-rank the fused candidates by maximal marginal relevance with this
    /// lambda (0 to 1; 1 keeps the fused order).
    pub mmr: Option<f64>,
}

impl<'a> SearchRequest<'a> {
    /// A search with no filter and no re-ranking.
    pub fn new(query: &'a str, top_k: usize, mode: Mode, weights: Weights) -> Self {
        Self { query, top_k, mode, weights, filter: SearchFilter::default(), mmr: None }
    }
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
    let scope = SearchScope { collection_ids, limit: depth(req.top_k), pinned_to, filter: req.filter.clone() };
    let found = signals(state, t, &scope, req.query, req.mode).await?;
    let dense_used = found.dense_used;
    let Some(lambda) = req.mmr else {
        return Ok((fuse(found.text, found.vector, req), dense_used));
    };
    // MMR chooses among all fused candidates (each signal looked `depth` deep).
    let candidates = fuse_all(found.text, found.vector, req);
    let ids: Vec<String> = candidates.iter().map(|s| s.hit.chunk_id.clone()).collect();
    let vectors = state.store.chunk_embeddings(t, &ids).await?;
    Ok((mmr::rerank(candidates, &vectors, lambda, req.top_k), dense_used))
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
    if mode == Mode::Bm25 {
        return Ok(Signals { text, vector: Vec::new(), dense_used: false });
    }
    // Collections on different models are searched apart, each with the
    // query embedded by its own model; their cosines are merged.
    let mut by_model: Vec<(CollectionEmbedding, Vec<String>)> = Vec::new();
    for c in store.collection_embeddings(t, &scope.collection_ids).await? {
        match by_model.iter_mut().find(|(m, _)| (&m.model, m.dim, &m.endpoint) == (&c.model, c.dim, &c.endpoint)) {
            Some((_, ids)) => ids.push(c.collection_id),
            None => {
                let ids = vec![c.collection_id.clone()];
                by_model.push((c, ids));
            }
        }
    }
    let mut vector = Vec::new();
    let mut dense_used = false;
    for (model, collection_ids) in by_model {
        let found = match embedding::for_collection(state, t, &model).await {
            Ok(found) => found,
            Err(embedding::Unavailable::NoLocalModel) => continue,
            Err(e) => {
                // Search goes on with full text (and any other model) rather than failing.
                tracing::warn!(error = %e, model = model.model, "a collection's embedding model is unavailable");
                continue;
            }
        };
        let embedded = match found.embed(vec![query.to_owned()]).await {
            Ok(mut v) => v.pop().unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), model = model.model, "the query could not be embedded");
                continue;
            }
        };
        let part = SearchScope { collection_ids, ..scope.clone() };
        vector.extend(store.search_vector(t, &part, &embedded).await?);
        dense_used = true;
    }
    vector.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.chunk_id.cmp(&b.chunk_id)));
    vector.truncate(scope.limit as usize);
    Ok(Signals { text, vector, dense_used })
}

/// The `top_k` best of [`fuse_all`].
pub fn fuse(text_hits: Vec<ChunkHit>, vector_hits: Vec<ChunkHit>, req: &SearchRequest<'_>) -> Vec<Scored> {
    let mut all = fuse_all(text_hits, vector_hits, req);
    all.truncate(req.top_k);
    all
}

/// Every chunk either signal found, with its fused score, best first.
pub fn fuse_all(text_hits: Vec<ChunkHit>, vector_hits: Vec<ChunkHit>, req: &SearchRequest<'_>) -> Vec<Scored> {
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
    let w = req.weights;
    let bm25_range = range(by_id.values().filter_map(|s| s.bm25.map(|(_, v)| v)));
    let dense_range = range(by_id.values().filter_map(|s| s.dense.map(|(_, v)| v)));
    let mut all: Vec<Scored> = by_id
        .into_values()
        .map(|mut s| {
            s.score = match (req.mode, w.fusion) {
                (Mode::Bm25, _) => s.bm25.map_or(0.0, |(_, v)| v),
                (Mode::Dense, _) => s.dense.map_or(0.0, |(_, v)| v),
                (Mode::Hybrid, Fusion::Rrf) => {
                    s.bm25.map_or(0.0, |(r, _)| w.bm25 / (RRF_K + r as f64))
                        + s.dense.map_or(0.0, |(r, _)| w.dense / (RRF_K + r as f64))
                }
                (Mode::Hybrid, Fusion::Convex) => {
                    let total = w.bm25 + w.dense;
                    let part = |signal: Option<(usize, f64)>, range: (f64, f64)| {
                        signal.map_or(0.0, |(_, v)| normalised(v, range))
                    };
                    if total > 0.0 {
                        (w.bm25 * part(s.bm25, bm25_range) + w.dense * part(s.dense, dense_range)) / total
                    } else {
                        0.0
                    }
                }
            };
            s
        })
        .collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.hit.chunk_id.cmp(&b.hit.chunk_id)));
    all
}

/// The lowest and highest of a signal's scores for this query.
fn range(scores: impl Iterator<Item = f64>) -> (f64, f64) {
    scores.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// A score mapped to 0..=1 within its signal's range (1 when all are equal).
fn normalised(value: f64, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo { (value - lo) / (hi - lo) } else { 1.0 }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hit(id: &str, score: f64) -> ChunkHit {
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

    fn hybrid(weights: Weights) -> SearchRequest<'static> {
        SearchRequest::new("q", 3, Mode::Hybrid, weights)
    }

    #[test]
    fn rrf_rewards_agreement_between_signals() {
        let req = hybrid(Weights { fusion: Fusion::Rrf, ..Weights::default() });
        let fused = fuse(vec![hit("a", 9.0), hit("b", 8.0)], vec![hit("b", 0.9), hit("c", 0.8)], &req);
        let ids: Vec<_> = fused.iter().map(|s| s.hit.chunk_id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"], "b is found by both signals");
        assert_eq!(fused[0].bm25, Some((2, 8.0)));
        assert_eq!(fused[0].dense, Some((1, 0.9)));
    }

    #[test]
    fn weights_tilt_the_fusion() {
        for fusion in [Fusion::Rrf, Fusion::Convex] {
            let req = hybrid(Weights { bm25: 0.0, dense: 1.0, fusion });
            let fused = fuse(vec![hit("a", 9.0)], vec![hit("c", 0.8)], &req);
            assert_eq!(fused[0].hit.chunk_id, "c", "{fusion:?}");
        }
    }

    #[test]
    fn convex_fusion_keeps_a_clear_full_text_winner_that_rrf_ties_away() {
        // Full text is sure of `a` (far ahead of the rest); the vectors barely prefer `b`.
        let text = vec![hit("a", 30.0), hit("b", 5.0), hit("c", 4.0)];
        let vectors = vec![hit("b", 0.62), hit("a", 0.61), hit("c", 0.40)];
        let convex = fuse(text.clone(), vectors.clone(), &hybrid(Weights::default()));
        assert_eq!(convex[0].hit.chunk_id, "a");
        assert!((convex[0].score - (1.0 + (0.61 - 0.40) / (0.62 - 0.40)) / 2.0).abs() < 1e-9);
        assert_eq!(convex[2].score, 0.0, "last in both signals");
        let rrf = fuse(text, vectors, &hybrid(Weights { fusion: Fusion::Rrf, ..Weights::default() }));
        assert!((rrf[0].score - rrf[1].score).abs() < 1e-12, "RRF sees a tie between a and b");
    }
}
