//! Embedding models: the local one, loaded once per process and run off the
//! async runtime, and a collection's remote OpenAI-compatible Embeddings
//! endpoint (`openai:MODEL`), reached through the same address policy and
//! tenant secrets as chat providers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use switchboard_engine::{Embedder, LocalEmbedder, LocalEmbedderOptions, Precision};
use switchboard_llm::{OpenAiConfig, OpenAiEmbeddings};
use switchboard_store::{CollectionEmbedding, Tenant};

use crate::state::AppState;

/// The embedding model new collections use: all-MiniLM-L6-v2, run locally.
pub const DEFAULT_EMBEDDING_MODEL: (&str, i32) = ("local:all-MiniLM-L6-v2", 384);

/// How a remote model is named in `embedding_model`: `openai:text-embedding-3-small`.
pub const REMOTE_PREFIX: &str = "openai:";

/// Texts per request to a remote endpoint (OpenAI takes up to 2048; smaller
/// requests keep each within the deadline and the response limit).
const REMOTE_BATCH: usize = 64;

/// A collection's embedding model, ready to run.
#[derive(Clone)]
pub enum Model {
    Local(Arc<dyn Embedder>),
    Remote {
        client: OpenAiEmbeddings,
        /// The name the endpoint knows it by (without [`REMOTE_PREFIX`]).
        model: String,
        /// Sent as `dimensions` when the collection asks for it.
        dimensions: Option<u32>,
    },
}

impl Model {
    /// One unit vector per text, in order.
    pub async fn embed(&self, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        match self {
            Model::Local(embedder) => embed(embedder.clone(), texts).await,
            Model::Remote { client, model, dimensions } => {
                let mut out = Vec::with_capacity(texts.len());
                for batch in texts.chunks(REMOTE_BATCH) {
                    let done = client
                        .embed(model, batch, *dimensions)
                        .await
                        .with_context(|| format!("embeddings endpoint {}", client.endpoint()))?;
                    out.extend(done.vectors);
                }
                Ok(out)
            }
        }
    }
}

/// Why a collection's model cannot run here now.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The local model is not loaded (no model files): full-text only.
    #[error("the local embedding model is not loaded")]
    NoLocalModel,
    /// A remote endpoint that cannot be used as configured.
    #[error("{0}")]
    Endpoint(String),
}

/// The model `c`'s vectors come from, if it can run here.
pub async fn for_collection(state: &AppState, t: &Tenant, c: &CollectionEmbedding) -> Result<Model, Unavailable> {
    let Some(endpoint) = &c.endpoint else {
        return state.embedder.clone().map(Model::Local).ok_or(Unavailable::NoLocalModel);
    };
    let model = c.model.strip_prefix(REMOTE_PREFIX).unwrap_or(&c.model).to_owned();
    let dimensions = endpoint.request_dimensions.then_some(c.dim as u32);
    let client = remote_client(state, t, &endpoint.base_url, endpoint.api_key_secret.as_deref()).await?;
    Ok(Model::Remote { client, model, dimensions })
}

/// A client for an Embeddings endpoint: its address allowed by the `[llm]`
/// policy (and resolved through it on connect), its key opened from the
/// tenant's secrets.
pub async fn remote_client(
    state: &AppState,
    t: &Tenant,
    base_url: &str,
    api_key_secret: Option<&str>,
) -> Result<OpenAiEmbeddings, Unavailable> {
    crate::conversation::llm::check_model_endpoint(state, base_url).await.map_err(Unavailable::Endpoint)?;
    let key = match api_key_secret {
        Some(name) => Some(
            crate::secrets::tenant_secret(state.store.as_ref(), &state.sealer, t, name)
                .await
                .map_err(|e| Unavailable::Endpoint(format!("the secret `{name}` could not be read: {e}")))?
                .ok_or_else(|| Unavailable::Endpoint(format!("there is no secret named `{name}`")))?,
        ),
        None => None,
    };
    let mut config = OpenAiConfig::compatible(base_url, key);
    let policy = state.settings.llm.address_policy().map_err(|e| Unavailable::Endpoint(e.to_string()))?;
    config.resolver = Some(switchboard_llm::Resolver(switchboard_egress::filtering_resolver(policy)));
    OpenAiEmbeddings::new(config).map_err(|e| Unavailable::Endpoint(e.to_string()))
}

const MODEL_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// The first of `dirs` that holds a model, loaded (once per process and folder).
/// `None` when no folder has one: the server then runs full-text search only.
pub async fn load_first(dirs: &[PathBuf], precision: Precision) -> Option<Arc<dyn Embedder>> {
    type Loaded = HashMap<(PathBuf, Precision), Arc<LocalEmbedder>>;
    static LOADED: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let Some(dir) = dirs.iter().find(|d| MODEL_FILES.iter().all(|f| d.join(f).is_file())).cloned() else {
        tracing::warn!(looked_in = ?dirs, "no embedding model found: search is full-text only (run scripts/fetch-model)");
        return None;
    };
    let cache = LOADED.get_or_init(Default::default);
    let key = (dir.clone(), precision);
    if let Some(model) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Some(model.clone());
    }
    let loaded = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || LocalEmbedder::load(Path::new(&dir), LocalEmbedderOptions::default().with_precision(precision))
    })
    .await;
    match loaded {
        Ok(Ok(model)) => {
            let model = Arc::new(model);
            cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, model.clone());
            Some(model)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "embedding model failed to load: search is full-text only");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "embedding model loader panicked: search is full-text only");
            None
        }
    }
}

/// Embeds on the blocking pool, keeping the request's span.
pub async fn embed(embedder: Arc<dyn Embedder>, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed(&refs)
    })
    .await?
    .map_err(anyhow::Error::from)
}
