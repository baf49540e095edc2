//! The extractive answerer's semantic evidence costs one embedding per
//! candidate sentence, every turn: most of a turn's time. A knowledge base has
//! a bounded set of sentences and the same ones come back turn after turn, so
//! their vectors are kept here, least recently used out first. Keys are the
//! exact text embedded (heading path and sentence), so an edited document's
//! new sentences are new keys; the process has one model, so a vector never
//! goes stale.

use std::sync::{Arc, Mutex};

use hashlink::LruCache;
use switchboard_engine::Embedder;

use crate::knowledge::embedding;

/// Sentences kept (a 384-dimension vector is 1.5 KiB: about 30 MiB).
const CAPACITY: usize = 20_000;

pub struct SentenceVectors {
    vectors: Mutex<LruCache<String, Arc<[f32]>>>,
}

impl Default for SentenceVectors {
    fn default() -> Self {
        Self { vectors: Mutex::new(LruCache::new(CAPACITY)) }
    }
}

impl SentenceVectors {
    /// The vectors of `texts`, in order: kept ones from memory, the others
    /// embedded in one batch and kept.
    pub async fn embed(&self, embedder: &Arc<dyn Embedder>, texts: &[String]) -> anyhow::Result<Vec<Arc<[f32]>>> {
        let mut found: Vec<Option<Arc<[f32]>>> = {
            let mut kept = self.vectors.lock().unwrap_or_else(|e| e.into_inner());
            texts.iter().map(|t| kept.get(t).cloned()).collect()
        };
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| found[i].is_none()).collect();
        if !missing.is_empty() {
            let batch = missing.iter().map(|&i| texts[i].clone()).collect();
            let vectors = embedding::embed(embedder.clone(), batch).await?;
            let mut kept = self.vectors.lock().unwrap_or_else(|e| e.into_inner());
            for (&i, vector) in missing.iter().zip(vectors) {
                let vector: Arc<[f32]> = vector.into();
                kept.insert(texts[i].clone(), vector.clone());
                found[i] = Some(vector);
            }
        }
        Ok(found.into_iter().map(|v| v.unwrap_or_else(|| Arc::from(Vec::new()))).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use switchboard_engine::EmbedError;

    use super::*;

    /// Counts the texts it is asked to embed; a text's vector is its length.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            "counting"
        }
        fn dimension(&self) -> usize {
            1
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
    }

    #[tokio::test]
    async fn sentences_are_embedded_once_and_returned_in_order() {
        let counting = Arc::new(Counting::default());
        let embedder: Arc<dyn Embedder> = counting.clone();
        let kept = SentenceVectors::default();
        let texts = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let first = kept.embed(&embedder, &texts(&["a", "bb", "ccc"])).await.unwrap();
        assert_eq!(first.iter().map(|v| v[0]).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
        let second = kept.embed(&embedder, &texts(&["ccc", "dddd", "a"])).await.unwrap();
        assert_eq!(second.iter().map(|v| v[0]).collect::<Vec<_>>(), [3.0, 4.0, 1.0]);
        assert_eq!(counting.0.load(Ordering::SeqCst), 4, "only the new sentence was embedded");
    }
}
