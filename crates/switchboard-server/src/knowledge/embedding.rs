//! Loading the local embedding model once per process, and running it off the
//! async runtime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use switchboard_engine::{Embedder, LocalEmbedder, LocalEmbedderOptions};

/// The embedding model new collections use: all-MiniLM-L6-v2, run locally.
pub const DEFAULT_EMBEDDING_MODEL: (&str, i32) = ("local:all-MiniLM-L6-v2", 384);

const MODEL_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// The first of `dirs` that holds a model, loaded (once per process and folder).
/// `None` when no folder has one: the server then runs full-text search only.
pub async fn load_first(dirs: &[PathBuf]) -> Option<Arc<dyn Embedder>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<LocalEmbedder>>>> = OnceLock::new();
    let Some(dir) = dirs.iter().find(|d| MODEL_FILES.iter().all(|f| d.join(f).is_file())).cloned() else {
        tracing::warn!(looked_in = ?dirs, "no embedding model found: search is full-text only (run scripts/fetch-model)");
        return None;
    };
    let cache = LOADED.get_or_init(Default::default);
    if let Some(model) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&dir) {
        return Some(model.clone());
    }
    let loaded = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || LocalEmbedder::load(Path::new(&dir), LocalEmbedderOptions::default())
    })
    .await;
    match loaded {
        Ok(Ok(model)) => {
            let model = Arc::new(model);
            cache.lock().unwrap_or_else(|e| e.into_inner()).insert(dir, model.clone());
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
