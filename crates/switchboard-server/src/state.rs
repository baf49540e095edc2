//! The one cloneable context every handler gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use switchboard_engine::Embedder;
use switchboard_store::Store;
use tokio::sync::Notify;

use crate::http::metrics::Metrics;
use crate::http::rate_limit::Limiters;
use crate::live::Hub;
use crate::secrets::Sealer;
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
    /// Outbound HTTP of agents' tools, SSRF-safe under `[tools]`' policy.
    pub tool_egress: switchboard_egress::Client,
    /// Live conversation events for the streams (fed by the store's change announcements).
    pub hub: Arc<Hub>,
    /// Each agent version's intent index (example phrases embedded once).
    pub intents: Arc<crate::conversation::intents::IntentCache>,
    /// The vectors of knowledge sentences the extractive answerer has compared.
    pub sentence_vectors: Arc<crate::conversation::sentence_vectors::SentenceVectors>,
    /// Encrypts the secrets we must read back (deployments' identity secrets).
    pub sealer: Arc<Sealer>,
    /// One circuit breaker per tenant and LLM endpoint, for the whole process.
    pub llm_breakers: Arc<switchboard_llm::Breakers>,
    /// Turns true when shutdown starts: workers stop claiming and long-lived
    /// streams end, so the drain can finish (`subscribe` to watch it).
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Everything the API and the workers share, built from the settings: the
    /// server, the command-line tools (`switchboard ingest`, `search`, `eval`)
    /// and tests all start here. Fails when the document parser cannot run.
    pub async fn new(settings: Settings, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        crate::knowledge::extractor::Parser::from_settings(&settings.knowledge).check()?;
        settings.llm.address_policy()?;
        Ok(Self {
            store,
            limiters: Arc::new(Limiters::new(&settings.rate_limit)),
            metrics: Arc::new(Metrics::default()),
            draining: Arc::new(AtomicBool::new(false)),
            embedder: crate::knowledge::embedding::load_first(
                &settings.model_dirs(),
                settings.knowledge.model_precision.into(),
            )
            .await,
            jobs_queued: Arc::new(Notify::new()),
            jobs_changed: Arc::new(Notify::new()),
            egress: crate::knowledge::crawl::egress_client(&settings.knowledge.crawl)?,
            tool_egress: settings.tools.egress_client()?,
            hub: Arc::new(Hub::default()),
            intents: Arc::new(Default::default()),
            sentence_vectors: Arc::new(Default::default()),
            sealer: Arc::new(Sealer::from_settings(&settings)?),
            llm_breakers: Arc::new(switchboard_llm::Breakers::new(switchboard_llm::BreakerConfig::standard())),
            shutdown: Arc::new(tokio::sync::watch::channel(false).0),
            settings: Arc::new(settings),
        })
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}
