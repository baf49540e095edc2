//! The one cloneable context every handler gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use switchboard_engine::Embedder;
use switchboard_store::Store;
use tokio::sync::Notify;

use crate::http::metrics::Metrics;
use crate::http::rate_limit::Limiters;
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub limiters: Arc<Limiters>,
    pub metrics: Arc<Metrics>,
    /// Flipped when shutdown starts, so readiness fails at once.
    pub draining: Arc<AtomicBool>,
    /// The local embedding model, when one was found; `None`: full-text search only.
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Wakes idle workers when a job is queued.
    pub jobs_queued: Arc<Notify>,
    /// Fires when a job finishes (progress streams listen to it).
    pub jobs_changed: Arc<Notify>,
    /// Outbound HTTP to tenant-chosen URLs (crawls), SSRF-safe.
    pub egress: switchboard_egress::Client,
}

impl AppState {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}
