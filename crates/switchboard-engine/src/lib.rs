//! Switchboard's knowledge engine: the CPU-heavy machine-learning parts of the
//! knowledge path (today: sentence embeddings).
//!
//! The rest of the product sees embeddings only through the [`Embedder`]
//! trait, so a collection can be embedded by the local model (the default:
//! no service, works offline) or by a remote OpenAI-compatible endpoint.
//!
//! Calls are blocking and CPU-bound: async callers run them on a blocking pool
//! (`tokio::task::spawn_blocking`), never on the runtime's worker threads.

mod embedder;
mod local;

pub use embedder::{EmbedError, Embedder};
pub use local::{LocalEmbedder, LocalEmbedderOptions, Precision};
