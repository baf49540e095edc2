//! Intent recognition for the route stage: the agent version's example
//! phrases, embedded once per version and kept in memory, and the customer's
//! message classified by its nearest example (`switchboard_route::IntentIndex`).
//! A message below the agent's threshold matches no intent (out of scope) and
//! gets the default autonomy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use switchboard_engine::Embedder;
use switchboard_route::{IntentIndex, Scoring};

use super::agent::AgentConfig;
use crate::knowledge::embedding;

/// Versions whose indexes are kept; past it the cache starts over (an index
/// is a few hundred vectors, rebuilt in one batch).
const MAX_VERSIONS: usize = 256;

/// The intent a message was matched to, stored with the route's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct IntentVerdict {
    pub name: String,
    /// Cosine similarity to the nearest example of that intent.
    pub similarity: f32,
    /// That example, to explain the decision.
    pub example: String,
}

/// Each agent version's intent index, by version id. Versions are immutable,
/// so an index never goes stale.
#[derive(Default)]
pub struct IntentCache {
    indexes: Mutex<HashMap<String, Arc<IntentIndex>>>,
}

impl IntentCache {
    /// The intent of `text` for agent version `version_id` (whose
    /// configuration is `config`), or `None` when it matches none well enough
    /// or the agent has no intents.
    pub async fn classify(
        &self,
        embedder: &Arc<dyn Embedder>,
        version_id: &str,
        config: &AgentConfig,
        text: &str,
    ) -> anyhow::Result<Option<IntentVerdict>> {
        if config.intents.is_empty() {
            return Ok(None);
        }
        let index = self.index(embedder, version_id, config).await?;
        let vector = embedding::embed(embedder.clone(), vec![text.to_owned()]).await?.pop().unwrap_or_default();
        Ok(index.classify(&vector).map(|m| IntentVerdict {
            name: m.intent.to_owned(),
            similarity: m.similarity,
            example: m.example.to_owned(),
        }))
    }

    async fn index(
        &self,
        embedder: &Arc<dyn Embedder>,
        version_id: &str,
        config: &AgentConfig,
    ) -> anyhow::Result<Arc<IntentIndex>> {
        if let Some(index) = self.indexes.lock().unwrap_or_else(|e| e.into_inner()).get(version_id) {
            return Ok(index.clone());
        }
        let examples: Vec<(&str, &str)> =
            config.intents.iter().flat_map(|i| i.examples.iter().map(move |e| (i.name.as_str(), e.as_str()))).collect();
        let vectors =
            embedding::embed(embedder.clone(), examples.iter().map(|(_, e)| (*e).to_owned()).collect()).await?;
        let threshold = config.intent_threshold.unwrap_or(IntentIndex::RECOMMENDED_THRESHOLD);
        let mut index = IntentIndex::new(embedder.dimension(), Scoring::Nearest, threshold);
        for ((intent, example), vector) in examples.into_iter().zip(vectors) {
            index.add(intent, example, vector)?;
        }
        let index = Arc::new(index);
        let mut indexes = self.indexes.lock().unwrap_or_else(|e| e.into_inner());
        if indexes.len() >= MAX_VERSIONS {
            indexes.clear();
        }
        indexes.insert(version_id.to_owned(), index.clone());
        Ok(index)
    }
}
