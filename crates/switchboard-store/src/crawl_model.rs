//! Domain types of web crawls: a source (a start URL in a collection, crawled
//! in numbered runs) and the pages a run reaches.

use std::str::FromStr;

use crate::model::{AddedDocument, Millis, NewDocumentVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrawlStatus {
    /// A run is queued and no worker has started it.
    Queued,
    Crawling,
    /// No run in progress; the next one starts at `next_crawl_at`, if set.
    Idle,
}

impl CrawlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CrawlStatus::Queued => "queued",
            CrawlStatus::Crawling => "crawling",
            CrawlStatus::Idle => "idle",
        }
    }
}

impl FromStr for CrawlStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [CrawlStatus::Queued, CrawlStatus::Crawling, CrawlStatus::Idle]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown crawl status `{s}`"))
    }
}

/// Pages of one run by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrawlPageCounts {
    pub pending: i64,
    /// Fetched, and new or changed: a new document version.
    pub indexed: i64,
    /// Fetched and identical to the document's latest version.
    pub unchanged: i64,
    /// Not indexed: off site, not a document type, too large, noindex, a redirect alias.
    pub skipped: i64,
    /// Answered 404 or 410.
    pub gone: i64,
    /// Could not be fetched this time; its document is kept.
    pub failed: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawlSource {
    pub id: String,
    pub collection_id: String,
    /// Canonical: no fragment, no tracking parameters.
    pub start_url: String,
    /// The start page's document, made when the source was.
    pub start_document_id: String,
    pub max_pages: i32,
    pub max_depth: i32,
    pub recrawl_interval_secs: Option<i64>,
    pub status: CrawlStatus,
    /// The current or last run (1 for the first crawl).
    pub run: i32,
    pub job_id: Option<String>,
    pub run_started_at: Option<Millis>,
    /// The run dropped links at the page cap, so pages it did not reach may still exist.
    pub run_truncated: bool,
    pub next_crawl_at: Option<Millis>,
    pub last_crawled_at: Option<Millis>,
    pub last_error: Option<String>,
    /// Given to every page's document (see [`crate::Metadata`]).
    pub metadata: crate::Metadata,
    /// Of the current or last run.
    pub pages: CrawlPageCounts,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewCrawlSource {
    /// Canonical.
    pub start_url: String,
    pub max_pages: i32,
    pub max_depth: i32,
    pub recrawl_interval_secs: Option<i64>,
    /// Given to every page's document.
    pub metadata: crate::Metadata,
}

/// What [`crate::Store::add_crawl_source`] did.
#[derive(Debug, Clone)]
pub struct AddedCrawl {
    pub source: CrawlSource,
    pub start_document: crate::model::Document,
}

/// A page waiting in a run's frontier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawlPage {
    pub url: String,
    pub depth: i32,
}

/// What became of a fetched (or refused) page.
#[derive(Debug, Clone)]
pub enum CrawlPageOutcome {
    /// Content to keep as the page's document; indexed or unchanged, as the
    /// store's document-level dedupe decides.
    Fetched(NewDocumentVersion),
    /// Not indexed, with why. A document it had is removed when the run ends.
    Skipped(String),
    /// 404 or 410. A document it had is removed when the run ends.
    Gone(String),
    /// Not fetched this time (network, 5xx, refusal); a document it had is kept.
    Failed(String),
}

/// One page's result, recorded in one transaction.
#[derive(Debug, Clone)]
pub struct CrawledPage {
    /// The page's canonical URL: the document's source key when fetched.
    pub url: String,
    pub depth: i32,
    pub outcome: CrawlPageOutcome,
    /// Other URLs of this run that led here (through redirects): recorded as skipped.
    pub aliases: Vec<String>,
    /// In-scope, robots-allowed canonical URLs found on the page, queued at `depth + 1`.
    pub links: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RecordedPage {
    /// The document version made, when the outcome was `Fetched`.
    pub document: Option<AddedDocument>,
    /// How many links were new to this run's frontier.
    pub links_added: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishedCrawl {
    /// Documents removed because their pages vanished.
    pub removed: u64,
}
