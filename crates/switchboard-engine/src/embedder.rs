//! The embedding interface shared by the local model and remote providers.

use std::path::PathBuf;

/// Turns texts into fixed-size vectors for vector search.
///
/// Object-safe and `Send + Sync` so the server can hold one
/// `Arc<dyn Embedder>` per configured model and share it across workers.
/// Implementations are blocking; call them from a blocking pool.
pub trait Embedder: Send + Sync {
    /// A stable name of the model, recorded with each collection so vectors
    /// from different models are never mixed (changing it means re-embedding).
    fn model_id(&self) -> &str;

    /// The length of every vector [`Embedder::embed`] returns.
    fn dimension(&self) -> usize;

    /// Embeds `texts`, returning one vector per text in the same order.
    ///
    /// Vectors are L2-normalised, so cosine similarity is a dot product.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is absent: the operator has not fetched the model yet.
    #[error(
        "model file {} is missing: run scripts/fetch-model, or point the model directory at a \
         local all-MiniLM-L6-v2 folder (model.safetensors, tokenizer.json, config.json)",
        path.display()
    )]
    ModelMissing { path: PathBuf },

    /// The model files exist but cannot be read or do not describe a model we run.
    #[error("cannot load the model from {}: {reason}", dir.display())]
    Load { dir: PathBuf, reason: String },

    /// The tokenizer rejected an input.
    #[error("tokenization failed: {0}")]
    Tokenize(String),

    /// The forward pass failed (a bug or resource exhaustion, not bad input).
    #[error("inference failed: {0}")]
    Inference(#[from] candle_core::Error),
}
