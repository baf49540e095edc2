//! The `crawl` job: one run of one crawl source, resumable.
//!
//! Everything the run knows lives in the store (the frontier, each page's
//! state, the run's start time), and each page is recorded in one transaction
//! as soon as it is fetched. A worker that dies mid-run leaves the job to be
//! taken over when its lease runs out; the next attempt fetches robots.txt
//! again and carries on with the pages still pending. A page in flight when the
//! worker died is fetched again, and its content, unchanged, adds no version.

use std::collections::{HashSet, VecDeque};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use sha2::{Digest, Sha256};
use switchboard_egress::{EgressError, Request, Response};
use switchboard_ingest::{Format, SitemapKind};
use switchboard_store::{
    AuditCtx, CrawlPage, CrawlPageOutcome, CrawlSource, CrawledPage, Job, NewDocumentVersion, StoreError, Tenant,
    now_millis,
};
use url::Url;

use super::robots::{self, Robots, RobotsError};
use super::{AGENT, Site, canonical, is_skipped_extension};
use crate::knowledge::ingest::IngestError;
use crate::settings::CrawlSettings;
use crate::state::AppState;

/// Links kept from one page (a page of 10k links still adds at most the page cap).
const MAX_LINKS_PER_PAGE: usize = 5_000;
/// Sitemap files read per run, index files included.
const MAX_SITEMAPS: usize = 10;
/// Locations kept from one sitemap (the protocol's own maximum).
const MAX_SITEMAP_LOCS: usize = 50_000;

/// Media types a crawl turns into documents; anything else is skipped.
const INDEXED_TYPES: &[&str] =
    &["text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown", "application/pdf"];

struct Run<'a> {
    state: &'a AppState,
    job: &'a Job,
    settings: &'a CrawlSettings,
    t: Tenant,
    audit: AuditCtx,
    source: CrawlSource,
    start: Url,
    site: Site,
    robots: Robots,
}

pub async fn run_crawl(state: &AppState, job: &Job) -> Result<(), IngestError> {
    let source_id = job.payload.get("source_id").and_then(|v| v.as_str());
    let run = job.payload.get("run").and_then(|v| v.as_i64()).and_then(|r| i32::try_from(r).ok());
    let (Some(source_id), Some(run)) = (source_id, run) else {
        return Err(IngestError::Permanent("crawl job without a source_id and run".into()));
    };
    let t = job.tenant();
    let source = match state.store.begin_crawl_run(&t, source_id, run).await {
        Ok(source) => source,
        // The source was deleted, or this run is over: nothing to do.
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let start = Url::parse(&source.start_url)
        .map_err(|e| IngestError::Permanent(format!("the start URL is not valid: {e}")))?;
    let audit = AuditCtx::system(format!("job:{}", job.id));
    let robots = match robots::fetch(&state.egress, &start).await {
        Ok(robots) => robots,
        Err(RobotsError::Retry(why)) => return Err(IngestError::Transient(anyhow::anyhow!(why))),
        Err(RobotsError::Stop(why)) => {
            // Nothing on this site can be fetched: say so on the start page and end the run.
            let page = CrawledPage {
                url: source.start_url.clone(),
                depth: 0,
                outcome: CrawlPageOutcome::Failed(why.clone()),
                aliases: Vec::new(),
                links: Vec::new(),
            };
            let max = state.settings.knowledge.job_max_attempts;
            state.store.record_crawl_page(&t, &audit, source_id, run, &page, max).await?;
            state.store.finish_crawl_run(&t, &audit, source_id, run, false, Some(&why)).await?;
            return Ok(());
        }
    };
    let settings = &state.settings.knowledge.crawl;
    let site = Site::of(&start);
    let crawl = Run { state, job, settings, t, audit, source, start, site, robots };
    crawl.run().await
}

impl Run<'_> {
    async fn run(&self) -> Result<(), IngestError> {
        let (id, run) = (self.source.id.clone(), self.source.run);
        let deadline = self.source.run_started_at.unwrap_or_else(now_millis)
            + i64::try_from(self.settings.max_crawl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let first = self.state.store.crawl_frontier(&self.t, &id, run, 1).await?;
        // Sitemaps are read once per run, before the start page is recorded; a
        // restart after that finds their pages in the frontier already.
        if first.first().is_some_and(|p| p.depth == 0) && self.source.max_depth >= 1 {
            let urls = self.sitemap_pages().await;
            let added = self.state.store.queue_crawl_pages(&self.t, &id, run, &urls, 1).await?;
            tracing::info!(listed = urls.len(), added, "sitemap pages queued");
        }
        let (batch_size, pause) = match self.robots.delay {
            Some(delay) => (1, Some(delay)),
            None => (self.settings.concurrency_per_host.max(1), None),
        };
        let lease_ms =
            i64::try_from(self.state.settings.knowledge.job_lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        loop {
            if now_millis() >= deadline {
                let why = format!(
                    "stopped at the {} s time limit; pages not reached were kept",
                    self.settings.max_crawl_secs
                );
                self.state.store.finish_crawl_run(&self.t, &self.audit, &id, run, false, Some(&why)).await?;
                return Ok(());
            }
            if !self.state.store.renew_job_lease(self.job, now_millis() + lease_ms).await? {
                tracing::warn!("lost the crawl job's lease; another worker has it");
                return Ok(());
            }
            let batch = self.state.store.crawl_frontier(&self.t, &id, run, batch_size).await?;
            if batch.is_empty() {
                let done = self.state.store.finish_crawl_run(&self.t, &self.audit, &id, run, true, None).await?;
                tracing::info!(removed = done.removed, "crawl run finished");
                return Ok(());
            }
            let mut fetches: FuturesUnordered<_> = batch.into_iter().map(|page| self.crawl_page(page)).collect();
            while let Some(page) = fetches.next().await {
                let max = self.state.settings.knowledge.job_max_attempts;
                let recorded = self.state.store.record_crawl_page(&self.t, &self.audit, &id, run, &page, max).await?;
                if recorded.document.as_ref().is_some_and(|d| d.version_id.is_some()) {
                    self.state.jobs_queued.notify_waiters();
                }
            }
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Fetches one page and decides what becomes of it.
    async fn crawl_page(&self, page: CrawlPage) -> CrawledPage {
        let mut crawled = CrawledPage {
            url: page.url.clone(),
            depth: page.depth,
            outcome: CrawlPageOutcome::Skipped(String::new()),
            aliases: Vec::new(),
            links: Vec::new(),
        };
        let Ok(url) = Url::parse(&page.url) else {
            crawled.outcome = CrawlPageOutcome::Skipped("not a valid URL".into());
            return crawled;
        };
        let request = Request::get(url).max_body_bytes(self.settings.max_page_bytes);
        let response = match self.state.egress.send(request).await {
            Ok(r) => r,
            Err(e @ EgressError::TooLarge { .. }) => {
                crawled.outcome = CrawlPageOutcome::Skipped(e.to_string());
                return crawled;
            }
            Err(e) => {
                crawled.outcome = CrawlPageOutcome::Failed(e.to_string());
                return crawled;
            }
        };
        let status = response.status.as_u16();
        if matches!(status, 404 | 410) {
            crawled.outcome = CrawlPageOutcome::Gone(format!("HTTP {status}"));
            return crawled;
        }
        if !response.status.is_success() {
            crawled.outcome = CrawlPageOutcome::Failed(format!("HTTP {status}"));
            return crawled;
        }
        let Some(landed) = canonical(&response.url) else {
            crawled.outcome = CrawlPageOutcome::Skipped("redirects to a URL that is not a web page".into());
            return crawled;
        };
        if !self.site.contains(&landed) {
            let why = if page.depth == 0 {
                format!("redirects to another site, {landed}; add that URL to crawl it")
            } else {
                format!("redirects off the site, to {landed}")
            };
            crawled.outcome = CrawlPageOutcome::Skipped(why);
            return crawled;
        }
        // The start page keeps the URL it was added with (its document was made
        // for it); other pages are known by where they landed, and the URLs
        // that led there are recorded as aliases so they are not fetched again.
        if page.depth > 0 {
            crawled.url = landed.to_string();
        }
        let mut aliases: Vec<String> = response
            .redirected_from
            .iter()
            .chain(std::iter::once(&response.url))
            .filter_map(canonical)
            .filter(|u| self.site.contains(u))
            .map(String::from)
            .chain(std::iter::once(page.url.clone()))
            .filter(|u| *u != crawled.url)
            .collect();
        let mut seen = HashSet::new();
        aliases.retain(|u| seen.insert(u.clone()));
        crawled.aliases = aliases;
        crawled.outcome = self.page_document(&response, &landed, &mut crawled);
        crawled
    }

    /// The document for a fetched page (or why there is none), collecting its links on the way.
    fn page_document(&self, response: &Response, landed: &Url, crawled: &mut CrawledPage) -> CrawlPageOutcome {
        let declared = response.media_type();
        if let Some(media) = declared.as_deref()
            && !INDEXED_TYPES.contains(&media)
        {
            return CrawlPageOutcome::Skipped(format!("`{media}` is not a document type a crawl indexes"));
        }
        let name = landed.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default();
        let format = match switchboard_ingest::detect(&response.body, Some(name), declared.as_deref()) {
            Ok(f @ (Format::Html | Format::Markdown | Format::Text | Format::Pdf)) => f,
            Ok(other) => return CrawlPageOutcome::Skipped(format!("a {other} is not a document type a crawl indexes")),
            Err(e) => return CrawlPageOutcome::Skipped(e.to_string()),
        };
        let mut title = None;
        if format == Format::Html {
            let found = switchboard_ingest::page_links(&response.body, AGENT, MAX_LINKS_PER_PAGE);
            if crawled.depth < self.source.max_depth && !found.nofollow {
                crawled.links = self.links(landed, found.base.as_deref(), &found.hrefs);
            }
            if found.noindex {
                return CrawlPageOutcome::Skipped("the page asks not to be indexed (noindex)".into());
            }
            title = found.title;
        }
        let title = title.unwrap_or_else(|| match name {
            "" => landed.host_str().unwrap_or_default().to_owned(),
            name => name.to_owned(),
        });
        CrawlPageOutcome::Fetched(NewDocumentVersion {
            source_key: crawled.url.clone(),
            source_kind: "url".into(),
            title,
            url: Some(landed.to_string()),
            content_hash: hex::encode(Sha256::digest(&response.body)),
            media_type: Some(format.media_type().to_owned()),
            content: response.body.to_vec(),
            // Every page of a crawl carries what its source was given.
            metadata: self.source.metadata.clone(),
        })
    }

    /// The page's links worth queuing: resolved, canonical, on the site,
    /// allowed by robots.txt, not a file type we skip, each once.
    fn links(&self, page: &Url, base: Option<&str>, hrefs: &[String]) -> Vec<String> {
        let base = base.and_then(|b| page.join(b).ok()).filter(|b| matches!(b.scheme(), "http" | "https"));
        let base = base.as_ref().unwrap_or(page);
        let mut seen = HashSet::new();
        hrefs
            .iter()
            .filter_map(|href| base.join(href).ok())
            .filter_map(|u| self.worth_queuing(&u))
            .filter(|u| seen.insert(u.clone()))
            .collect()
    }

    fn worth_queuing(&self, url: &Url) -> Option<String> {
        let url = canonical(url)?;
        (self.site.contains(&url) && !is_skipped_extension(&url) && self.robots.allows(&url)).then(|| url.to_string())
    }

    /// Page URLs from the sitemaps robots.txt names and `/sitemap.xml`,
    /// following sitemap indexes, within the file and page caps.
    async fn sitemap_pages(&self) -> Vec<String> {
        let mut queue: VecDeque<Url> = self.robots.sitemaps.iter().filter_map(|s| Url::parse(s).ok()).collect();
        if let Ok(default) = self.start.join("/sitemap.xml") {
            queue.push_back(default);
        }
        let mut fetched = HashSet::new();
        let mut pages = Vec::new();
        let mut seen = HashSet::new();
        let want = usize::try_from(self.source.max_pages).unwrap_or(0);
        while let Some(sitemap) = queue.pop_front() {
            if fetched.len() >= MAX_SITEMAPS || pages.len() >= want {
                break;
            }
            if !fetched.insert(sitemap.to_string()) {
                continue;
            }
            let request = Request::get(sitemap.clone()).max_body_bytes(self.settings.max_page_bytes);
            let body = match self.state.egress.send(request).await {
                Ok(r) if r.status.is_success() => r.body,
                Ok(_) => continue,
                Err(e) => {
                    tracing::info!(sitemap = %sitemap, error = %e, "sitemap not read");
                    continue;
                }
            };
            let Some(map) = switchboard_ingest::parse_sitemap(&body, MAX_SITEMAP_LOCS) else { continue };
            for loc in map.locs.iter().filter_map(|l| Url::parse(l).ok()) {
                match map.kind {
                    SitemapKind::Index => queue.push_back(loc),
                    SitemapKind::Pages => {
                        if let Some(url) = self.worth_queuing(&loc)
                            && seen.insert(url.clone())
                        {
                            pages.push(url);
                        }
                    }
                }
            }
        }
        pages
    }
}

/// A crawl job that failed for good ends its run, with the reason on the source.
pub async fn record_failure(state: &AppState, job: &Job, message: &str) {
    let source_id = job.payload.get("source_id").and_then(|v| v.as_str());
    let run = job.payload.get("run").and_then(|v| v.as_i64()).and_then(|r| i32::try_from(r).ok());
    if let (Some(source_id), Some(run)) = (source_id, run) {
        let audit = AuditCtx::system(format!("job:{}", job.id));
        if let Err(e) = state.store.finish_crawl_run(&job.tenant(), &audit, source_id, run, false, Some(message)).await
        {
            tracing::error!(error = %e, "could not end the failed crawl run");
        }
    }
}
