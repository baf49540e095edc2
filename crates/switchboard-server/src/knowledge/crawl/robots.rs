//! robots.txt (RFC 9309), parsed by `texting_robots` (tested against Google's
//! reference cases and fuzzed; it returns errors rather than panicking on
//! junk, unlike the other Rust ports).

use std::time::Duration;

use switchboard_egress::{Client, EgressError, Request};
use texting_robots::Robot;
use url::Url;

use super::AGENT;

/// The RFC asks crawlers to parse at least 500 KiB.
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// A `Crawl-delay` longer than this is shortened to it.
const MAX_DELAY: Duration = Duration::from_secs(30);

pub struct Robots {
    /// `None`: no rules (no robots.txt, or a 4xx for it).
    rules: Option<Robot>,
    pub sitemaps: Vec<String>,
    pub delay: Option<Duration>,
}

pub enum RobotsError {
    /// The site cannot be crawled as things are (refused address, oversized file).
    Stop(String),
    /// The file could not be had now (5xx, network): crawl later.
    Retry(String),
}

impl Robots {
    pub fn allows(&self, url: &Url) -> bool {
        self.rules.as_ref().is_none_or(|r| r.allowed(url.as_str()))
    }
}

pub async fn fetch(client: &Client, start: &Url) -> Result<Robots, RobotsError> {
    let mut url = start.join("/robots.txt").map_err(|e| RobotsError::Stop(e.to_string()))?;
    url.set_query(None);
    let none = || Robots { rules: None, sitemaps: Vec::new(), delay: None };
    let response = match client.send(Request::get(url).max_body_bytes(MAX_ROBOTS_BYTES)).await {
        Ok(r) => r,
        Err(e @ EgressError::TooLarge { .. }) => return Err(RobotsError::Stop(format!("robots.txt: {e}"))),
        Err(e) if e.is_refusal() => return Err(RobotsError::Stop(e.to_string())),
        Err(e) => return Err(RobotsError::Retry(format!("robots.txt could not be fetched: {e}"))),
    };
    let status = response.status;
    if status.is_success() {
        return Ok(match Robot::new(AGENT, &response.body) {
            Ok(robot) => Robots {
                delay: robot
                    .delay
                    .filter(|d| d.is_finite() && *d > 0.0)
                    .map(|d| Duration::from_secs_f32(d.min(MAX_DELAY.as_secs_f32()))),
                sitemaps: robot.sitemaps.clone(),
                rules: Some(robot),
            },
            Err(e) => {
                tracing::info!(error = %e, "robots.txt could not be parsed; treating it as empty");
                none()
            }
        });
    }
    // 429 is a request to come back later, not "no rules".
    if status.is_client_error() && status.as_u16() != 429 {
        return Ok(none());
    }
    Err(RobotsError::Retry(format!("robots.txt answered HTTP {}", status.as_u16())))
}
