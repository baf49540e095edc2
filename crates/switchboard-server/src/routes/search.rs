//! `POST /v1/collections/{id}/search`: hybrid retrieval with per-signal scores.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_store::SearchFilter;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, IdPath};
use crate::knowledge::search::{Fusion, Mode, Scored, SearchRequest, Weights, search};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_collection))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    #[schema(min_length = 1, max_length = 2000)]
    pub query: String,
    /// 1 to 50; default 5.
    #[schema(minimum = 1, maximum = 50)]
    pub top_k: Option<u32>,
    /// `hybrid` (default), `bm25` or `dense`.
    #[schema(value_type = Option<SearchModeSchema>)]
    pub mode: Option<String>,
    /// Weight of the full-text signal in hybrid fusion (default 1).
    #[schema(minimum = 0.0)]
    pub bm25_weight: Option<f64>,
    /// Weight of the vector signal in hybrid fusion (default 1).
    #[schema(minimum = 0.0)]
    pub dense_weight: Option<f64>,
    /// How hybrid search combines the signals: `convex` (default; a weighted
    /// mean of each signal's min-max normalised scores) or `rrf` (reciprocal
    /// rank fusion, ranks only).
    #[schema(value_type = Option<String>)]
    pub fusion: Option<String>,
    /// Only chunks of the documents that match.
    pub filter: Option<FilterBody>,
    /// Re-rank for diversity (maximal marginal relevance).
    pub mmr: Option<MmrBody>,
}

/// Which documents a search may return chunks of. Applied inside each signal's
/// query, so `top_k` is filled with matching chunks when there are enough.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    /// Document metadata that must match: each key maps to a value, or to a
    /// list of values any of which matches; every key must match.
    pub metadata: Option<BTreeMap<String, OneOrMany>>,
    /// Only these documents (1 to 100 ids).
    pub document_ids: Option<Vec<String>>,
}

/// A value, or a list of values.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Maximal marginal relevance: each next result is the candidate with the best
/// `lambda * relevance - (1 - lambda) * similarity to the results before it`,
/// chosen among all the fused candidates (each signal returns four times
/// `top_k`, at least 20). The results keep their fused `score` and per-signal
/// `scores`; their order is the re-ranked one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MmrBody {
    /// 0 to 1: 1 keeps the fused ranking, lower values favour diversity (0.5 is a common choice).
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub lambda: f64,
}

/// The request's filter as the domain value (422 when it is out of bounds).
fn parse_filter(body: Option<FilterBody>) -> Result<SearchFilter, ApiError> {
    let Some(body) = body else { return Ok(SearchFilter::default()) };
    let metadata = body
        .metadata
        .unwrap_or_default()
        .into_iter()
        .map(|(key, values)| match values {
            OneOrMany::One(value) => (key, vec![value]),
            OneOrMany::Many(values) => (key, values),
        })
        .collect();
    SearchFilter::parse(metadata, body.document_ids).map_err(|e| ApiError::invalid(format!("`filter`: {e}")))
}

/// Which signals a search uses.
#[derive(Serialize, ToSchema)]
#[allow(dead_code, reason = "describes the `mode` values in the API document only")]
#[serde(rename_all = "snake_case")]
#[schema(as = SearchMode)]
pub enum SearchModeSchema {
    Hybrid,
    Bm25,
    Dense,
}

#[derive(Serialize, ToSchema)]
pub struct SignalScore {
    /// 1-based rank within this signal's results.
    pub rank: usize,
    pub score: f64,
}

#[derive(Serialize, ToSchema)]
pub struct SignalScores {
    /// Full-text relevance: BM25 (SQLite FTS5; on PostgreSQL over tsvector with per-collection statistics).
    pub bm25: Option<SignalScore>,
    /// Cosine similarity to the query.
    pub dense: Option<SignalScore>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResult {
    pub chunk_id: String,
    pub document_id: String,
    pub title: String,
    pub text: String,
    /// The fused score in hybrid mode (`fusion`), the signal's own score
    /// otherwise; with `mmr` the results are in re-ranked order and keep it.
    pub score: f64,
    pub url: Option<String>,
    /// Headings above the chunk, e.g. `Returns > EU > Time limits`.
    pub heading_path: String,
    pub page: Option<i32>,
    pub scores: SignalScores,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    pub results: Vec<SearchResult>,
    /// `hybrid`, `bm25` or `dense`: what actually ran.
    pub mode: String,
    /// False when no embedding model is loaded (full-text only).
    pub dense_available: bool,
}

/// Searches a collection's live documents, optionally only those whose
/// metadata matches `filter`, optionally re-ranked for diversity (`mmr`).
#[utoipa::path(post, path = "/v1/collections/{id}/search", tag = "knowledge", params(("id" = String, Path)),
    request_body = SearchBody, responses((status = 200, body = SearchResponse)))]
async fn search_collection(
    State(state): State<AppState>,
    p: Principal,
    IdPath(collection_id): IdPath,
    ApiJson(body): ApiJson<SearchBody>,
) -> ApiResult<Json<SearchResponse>> {
    p.require(Permission::Read)?;
    let collection = state.store.get_collection(&p.tenant, &collection_id).await?;
    // A collection on a remote model has vectors whether or not the local model is loaded.
    let dense_available = collection.embedding_endpoint.is_some() || state.embedder.is_some();
    let query = body.query.trim();
    if query.is_empty() || query.chars().count() > 2000 {
        return Err(ApiError::invalid("`query` must be 1 to 2000 characters"));
    }
    let top_k = body.top_k.unwrap_or(5);
    if !(1..=50).contains(&top_k) {
        return Err(ApiError::invalid("`top_k` must be 1 to 50"));
    }
    let mode = match body.mode.as_deref().unwrap_or("hybrid") {
        "hybrid" => Mode::Hybrid,
        "bm25" => Mode::Bm25,
        "dense" => Mode::Dense,
        other => return Err(ApiError::invalid(format!("unknown mode `{other}` (hybrid, bm25 or dense)"))),
    };
    if mode == Mode::Dense && !dense_available {
        return Err(ApiError::invalid("dense search needs the embedding model, which this server has not loaded"));
    }
    let fusion = match body.fusion.as_deref() {
        None => Fusion::default(),
        Some(f) => Fusion::parse(f).ok_or_else(|| ApiError::invalid("`fusion` must be convex or rrf"))?,
    };
    let weights = Weights { bm25: body.bm25_weight.unwrap_or(1.0), dense: body.dense_weight.unwrap_or(1.0), fusion };
    if !(weights.bm25 >= 0.0 && weights.dense >= 0.0 && weights.bm25.is_finite() && weights.dense.is_finite()) {
        return Err(ApiError::invalid("weights must be finite and not negative"));
    }
    let filter = parse_filter(body.filter)?;
    let mmr = body.mmr.map(|m| m.lambda);
    if mmr.is_some_and(|l| !(0.0..=1.0).contains(&l)) {
        return Err(ApiError::invalid("`mmr.lambda` must be 0 to 1"));
    }
    let req = SearchRequest { query, top_k: top_k as usize, mode, weights, filter, mmr };
    let (found, dense_used) = search(&state, &p.tenant, vec![collection_id], &req).await?;
    Ok(Json(response(found, mode, dense_used, dense_available)))
}

/// The wire form of a search: the API's response, and `switchboard search --json`.
pub fn response(found: Vec<Scored>, mode: Mode, dense_used: bool, dense_available: bool) -> SearchResponse {
    let ran = match (mode, dense_used) {
        (Mode::Hybrid, false) => "bm25",
        (Mode::Hybrid, true) => "hybrid",
        (Mode::Bm25, _) => "bm25",
        (Mode::Dense, _) => "dense",
    };
    let results = found
        .into_iter()
        .map(|s| SearchResult {
            chunk_id: s.hit.chunk_id,
            document_id: s.hit.document_id,
            title: s.hit.title,
            text: s.hit.text,
            score: s.score,
            url: s.hit.url,
            heading_path: s.hit.heading_path,
            page: s.hit.page,
            scores: SignalScores {
                bm25: s.bm25.map(|(rank, score)| SignalScore { rank, score }),
                dense: s.dense.map(|(rank, score)| SignalScore { rank, score }),
            },
        })
        .collect();
    SearchResponse { results, mode: ran.into(), dense_available }
}
