//! Crawl sources: web sites added to a collection by URL, with their crawl
//! state, and re-crawls on request.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_store::{CrawlSource, Metadata, NewCrawlSource};
use url::Url;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::documents::{Accepted, AcceptedDocuments};
use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::IdPath;
use crate::knowledge::crawl::canonical;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_crawl_source)).routes(routes!(recrawl))
}

/// How far a crawl goes. Every field is optional; the server's defaults and
/// limits are in its `[knowledge.crawl]` settings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrawlOptions {
    /// Pages fetched per crawl at most (default 50).
    #[schema(minimum = 1)]
    pub max_pages: Option<u32>,
    /// Links followed from the start page (0: the start page and sitemap
    /// pages are not followed; default 2).
    pub max_depth: Option<u32>,
    /// Re-crawl this often: changed pages get new versions, vanished ones are
    /// removed. Unset: crawled once (re-crawl with `POST /v1/crawl-sources/{id}/recrawl`).
    #[schema(minimum = 1)]
    pub recrawl_interval_secs: Option<u64>,
}

/// Longest re-crawl interval: a year.
const MAX_RECRAWL_SECS: u64 = 366 * 24 * 3600;
const MAX_URL_LEN: usize = 2048;

fn parse_crawl(
    state: &AppState,
    url: &str,
    options: Option<CrawlOptions>,
    metadata: Metadata,
) -> Result<NewCrawlSource, ApiError> {
    let settings = &state.settings.knowledge.crawl;
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::invalid(format!("`url` is longer than {MAX_URL_LEN} characters")));
    }
    let parsed = Url::parse(url.trim()).map_err(|e| ApiError::invalid(format!("`url` is not a valid URL: {e}")))?;
    state.egress.check_url(&parsed).map_err(|e| ApiError::invalid(format!("`url` is refused: {e}")))?;
    let start = canonical(&parsed).ok_or_else(|| ApiError::invalid("`url` must be an http or https URL"))?;
    let options = options.unwrap_or(CrawlOptions { max_pages: None, max_depth: None, recrawl_interval_secs: None });
    let max_pages = options.max_pages.unwrap_or(settings.max_pages);
    if max_pages == 0 || max_pages > settings.max_pages_limit {
        return Err(ApiError::invalid(format!("`crawl.max_pages` must be 1 to {}", settings.max_pages_limit)));
    }
    let max_depth = options.max_depth.unwrap_or(settings.max_depth);
    if max_depth > settings.max_depth_limit {
        return Err(ApiError::invalid(format!("`crawl.max_depth` must be 0 to {}", settings.max_depth_limit)));
    }
    if let Some(secs) = options.recrawl_interval_secs
        && !(settings.min_recrawl_interval_secs..=MAX_RECRAWL_SECS).contains(&secs)
    {
        return Err(ApiError::invalid(format!(
            "`crawl.recrawl_interval_secs` must be {} to {MAX_RECRAWL_SECS}",
            settings.min_recrawl_interval_secs
        )));
    }
    Ok(NewCrawlSource {
        start_url: start.to_string(),
        max_pages: max_pages as i32,
        max_depth: max_depth as i32,
        recrawl_interval_secs: options.recrawl_interval_secs.map(|s| s as i64),
        metadata,
    })
}

/// `POST /v1/collections/{id}/documents {url, crawl?}`: adds (or updates) the
/// crawl source and queues a crawl; the answer names the start page's document.
pub(super) async fn add_crawl(
    state: &AppState,
    p: &Principal,
    collection_id: &str,
    url: &str,
    options: Option<CrawlOptions>,
    metadata: Metadata,
) -> ApiResult<(StatusCode, Json<AcceptedDocuments>)> {
    let new = parse_crawl(state, url, options, metadata)?;
    let max_attempts = state.settings.knowledge.job_max_attempts;
    let added = state.store.add_crawl_source(&p.tenant, &p.audit(), collection_id, &new, max_attempts).await?;
    state.jobs_queued.notify_waiters();
    let start = Accepted { id: added.start_document.id, status: added.start_document.status };
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedDocuments { documents: vec![start], crawl_source_id: Some(added.source.id) }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CrawlPagesDto {
    /// Still to fetch.
    pub pending: i64,
    /// New or changed: a new document version.
    pub indexed: i64,
    pub unchanged: i64,
    /// Not indexed: off site, not a document type, too large, noindex, a redirect alias.
    pub skipped: i64,
    /// Answered 404 or 410; their documents are removed when the crawl ends.
    pub gone: i64,
    /// Could not be fetched this time; their documents are kept.
    pub failed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CrawlSourceDto {
    pub id: String,
    pub collection_id: String,
    pub start_url: String,
    /// The start page's document.
    pub start_document_id: String,
    pub max_pages: i32,
    pub max_depth: i32,
    pub recrawl_interval_secs: Option<i64>,
    /// `queued`, `crawling` or `idle`.
    pub status: String,
    /// The current or last crawl, counted from 1.
    pub run: i32,
    /// Pages of the current or last crawl.
    pub pages: CrawlPagesDto,
    /// The crawl found more pages than `max_pages`.
    pub truncated: bool,
    /// Why the last crawl (or its start page) failed.
    pub last_error: Option<String>,
    /// Given to every page's document.
    pub metadata: BTreeMap<String, String>,
    pub last_crawled_at: Option<String>,
    pub next_crawl_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CrawlSource> for CrawlSourceDto {
    fn from(s: CrawlSource) -> Self {
        Self {
            id: s.id,
            collection_id: s.collection_id,
            start_url: s.start_url,
            start_document_id: s.start_document_id,
            max_pages: s.max_pages,
            max_depth: s.max_depth,
            recrawl_interval_secs: s.recrawl_interval_secs,
            status: s.status.as_str().to_owned(),
            run: s.run,
            pages: CrawlPagesDto {
                pending: s.pages.pending,
                indexed: s.pages.indexed,
                unchanged: s.pages.unchanged,
                skipped: s.pages.skipped,
                gone: s.pages.gone,
                failed: s.pages.failed,
            },
            truncated: s.run_truncated,
            last_error: s.last_error,
            metadata: s.metadata.entries().clone(),
            last_crawled_at: s.last_crawled_at.map(iso),
            next_crawl_at: s.next_crawl_at.map(iso),
            created_at: iso(s.created_at),
            updated_at: iso(s.updated_at),
        }
    }
}

/// A crawl source: its settings, the state of its current or last crawl, and when the next one is due.
#[utoipa::path(get, path = "/v1/crawl-sources/{id}", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 200, body = CrawlSourceDto)))]
async fn get_crawl_source(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<CrawlSourceDto>> {
    p.require(Permission::Read)?;
    Ok(Json(state.store.get_crawl_source(&p.tenant, &id).await?.into()))
}

/// Crawls the source again now (unless a crawl is queued or running):
/// changed pages get new versions, vanished ones are removed.
#[utoipa::path(post, path = "/v1/crawl-sources/{id}/recrawl", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 202, body = CrawlSourceDto)))]
async fn recrawl(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<(StatusCode, Json<CrawlSourceDto>)> {
    p.require(Permission::Write)?;
    let max_attempts = state.settings.knowledge.job_max_attempts;
    let source = state.store.start_crawl(&p.tenant, &p.audit(), &id, max_attempts).await?;
    state.jobs_queued.notify_waiters();
    Ok((StatusCode::ACCEPTED, Json(source.into())))
}
