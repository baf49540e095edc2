//! Web crawling: a start URL becomes one document per page of its site.
//!
//! `POST /v1/collections/{id}/documents {url, crawl}` adds a crawl source and
//! queues a run (`Store::add_crawl_source`); a worker runs the `crawl` job
//! ([`job::run_crawl`]): robots.txt, then the sitemaps, then the frontier in
//! breadth-first order, each page fetched through the SSRF-safe egress client
//! and recorded in one transaction with its document version and the links it
//! adds. Pages become documents through the same versioning and ingest jobs as
//! uploads. The maintenance task starts due re-crawls; a run that reached
//! everything removes the documents of pages that vanished.
//!
//! Rules:
//! - **Same site:** the start URL's host and explicit port; `http` and
//!   `https` both count. A start page that redirects to another host is
//!   reported, not followed (add the URL it redirects to instead).
//! - **Canonical URLs** ([`canonical`]) name pages and documents.
//! - **robots.txt** (RFC 9309) for the user agent `SwitchboardBot`: a 4xx
//!   means no rules; a 5xx or an unreachable file means "not now" (the job
//!   retries later); `Crawl-delay` makes the crawl sequential and spaced.
//! - **Caps:** pages per run (links beyond it are dropped and the run is
//!   marked truncated), depth, bytes per page (read with a cap, whatever the
//!   headers say), time per run (counted from the run's start across restarts).

pub mod job;
mod robots;

use url::Url;

use crate::settings::CrawlSettings;

/// The robots.txt product token, and the start of the User-Agent header.
pub const AGENT: &str = "SwitchboardBot";

/// The egress client crawls use, from the settings.
pub fn egress_client(settings: &CrawlSettings) -> anyhow::Result<switchboard_egress::Client> {
    let mut config = switchboard_egress::EgressConfig::new(format!("{AGENT}/{}", env!("CARGO_PKG_VERSION")));
    config.addresses.allow_private_networks = settings.allow_private_networks;
    config.addresses.allowed_networks =
        crate::settings::parse_networks("knowledge.crawl.allowed_networks", &settings.allowed_networks)?;
    config.connect_timeout = std::time::Duration::from_secs(settings.connect_timeout_secs.max(1));
    config.timeout = std::time::Duration::from_secs(settings.request_timeout_secs.max(1));
    config.max_body_bytes = settings.max_page_bytes;
    Ok(switchboard_egress::Client::new(config)?)
}

/// Query parameters that only track where a visitor came from.
fn is_tracking_parameter(name: &str) -> bool {
    name.starts_with("utm_") || matches!(name, "gclid" | "fbclid" | "msclkid" | "mc_cid" | "mc_eid")
}

/// The URL a page is known by: `http`/`https` only, no fragment, no user
/// info, no tracking parameters, no empty query. Otherwise the URL is kept as
/// the URL standard normalises it (lower-case scheme and host, default port
/// dropped, dot segments resolved, percent-encoding fixed): `/a` and `/a/`
/// stay two pages, since servers may answer them differently, and the order
/// of query parameters is kept, since it may matter to the server.
pub fn canonical(url: &Url) -> Option<Url> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let mut url = url.clone();
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let kept: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| !is_tracking_parameter(k)).collect();
        if kept.is_empty() {
            url.set_query(None);
        } else if kept.len() != pairs.len() {
            url.query_pairs_mut().clear().extend_pairs(kept.iter().map(|(k, v)| (k, v)));
        }
    }
    Some(url)
}

/// The pages a crawl stays on: the start URL's host and explicit port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    host: String,
    port: Option<u16>,
}

impl Site {
    pub fn of(start: &Url) -> Self {
        Self { host: start.host_str().unwrap_or_default().to_owned(), port: start.port() }
    }

    pub fn contains(&self, url: &Url) -> bool {
        url.host_str() == Some(self.host.as_str()) && url.port() == self.port
    }
}

/// Links to files that are never documents we index (styles, scripts, media,
/// archives, office formats a crawl does not take): skipped without a fetch,
/// so they do not use up the page cap.
fn is_skipped_extension(url: &Url) -> bool {
    const SKIPPED: &[&str] = &[
        "css", "js", "mjs", "json", "xml", "rss", "atom", "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp",
        "tif", "tiff", "avif", "mp3", "mp4", "m4a", "m4v", "wav", "ogg", "oga", "webm", "avi", "mov", "mkv", "flac",
        "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "exe", "dmg", "msi", "iso", "apk", "deb", "rpm", "woff",
        "woff2", "ttf", "otf", "eot", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "csv", "wasm",
    ];
    let last = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default();
    last.rsplit_once('.').is_some_and(|(_, ext)| SKIPPED.contains(&ext.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> Option<String> {
        canonical(&Url::parse(text).unwrap()).map(String::from)
    }

    #[test]
    fn canonical_urls() {
        assert_eq!(c("HTTP://Example.COM:80/a/./b/../c#frag").as_deref(), Some("http://example.com/a/c"));
        assert_eq!(c("https://example.com").as_deref(), Some("https://example.com/"));
        assert_eq!(c("https://u:p@example.com/x?").as_deref(), Some("https://example.com/x"));
        assert_eq!(c("https://example.com/x/").as_deref(), Some("https://example.com/x/"), "trailing slash kept");
        assert_eq!(c("https://example.com/s?b=2&a=1").as_deref(), Some("https://example.com/s?b=2&a=1"), "order kept");
        assert_eq!(c("https://example.com/s?utm_source=x&id=7&gclid=1").as_deref(), Some("https://example.com/s?id=7"));
        assert_eq!(c("https://example.com/s?utm_medium=x").as_deref(), Some("https://example.com/s"));
        assert_eq!(c("mailto:help@example.com"), None);
        assert_eq!(c("javascript:alert(1)"), None);
        assert_eq!(c("ftp://example.com/x"), None);
    }

    #[test]
    fn same_site_is_host_and_explicit_port_either_scheme() {
        let site = Site::of(&Url::parse("https://example.com/docs/").unwrap());
        assert!(site.contains(&Url::parse("http://example.com/other").unwrap()));
        assert!(!site.contains(&Url::parse("https://www.example.com/").unwrap()));
        assert!(!site.contains(&Url::parse("https://example.com:8443/").unwrap()));
        let local = Site::of(&Url::parse("http://127.0.0.1:8080/").unwrap());
        assert!(local.contains(&Url::parse("http://127.0.0.1:8080/x").unwrap()));
        assert!(!local.contains(&Url::parse("http://127.0.0.1:8081/x").unwrap()));
    }

    #[test]
    fn skipped_extensions() {
        assert!(is_skipped_extension(&Url::parse("https://e.com/logo.PNG").unwrap()));
        assert!(is_skipped_extension(&Url::parse("https://e.com/a/style.css?v=2").unwrap()));
        assert!(!is_skipped_extension(&Url::parse("https://e.com/guide.pdf").unwrap()));
        assert!(!is_skipped_extension(&Url::parse("https://e.com/v1.2/").unwrap()));
        assert!(!is_skipped_extension(&Url::parse("https://e.com/page.html").unwrap()));
    }
}
