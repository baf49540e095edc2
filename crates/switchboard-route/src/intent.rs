//! Intent classification by nearest neighbours over an agent's example phrases.
//!
//! The operator gives each intent a few example phrases; the caller embeds them (the engine's
//! sentence embedder: L2-normalised vectors, so cosine similarity is a dot product) and builds an
//! [`IntentIndex`]. A message is classified by comparing its vector with every example:
//!
//! - [`Scoring::Nearest`]: the intent of the most similar example;
//! - [`Scoring::WeightedKnn`]: the `k` most similar examples vote, each with its similarity.
//!
//! A message whose best similarity is below the index's threshold is **out of scope**: it matches
//! no intent well enough, and the pipeline treats it as a general question.
//!
//! What the measurements say (`bench/intent`, `docs/bench/intent.md`, all-MiniLM-L6-v2):
//!
//! - With a handful of examples per intent, which is what operators write, [`Scoring::Nearest`]
//!   is best (BANKING77, 10 per intent: 0.82 accuracy, against 0.80 for a 5-NN vote and 0.76 for
//!   10-NN); with about 100 per intent a 10-NN vote gains a little (CLINC150).
//! - The out-of-scope threshold depends on how close the intents are to each other: about 0.62–0.65
//!   across CLINC150's ten broad domains, 0.83–0.84 inside BANKING77's single banking domain.
//!   [`IntentIndex::RECOMMENDED_THRESHOLD`] is the broad-domain value; an agent whose intents are
//!   near neighbours should calibrate on a few held-out messages.
//!
//! Brute force over all examples: an agent has hundreds of examples, not millions, and a
//! 384-dimensional dot product per example is microseconds per query.
//!
//! ```
//! use switchboard_route::{IntentIndex, Scoring};
//!
//! let mut index = IntentIndex::new(2, Scoring::Nearest, 0.8);
//! index.add("track_order", "where is my parcel", vec![1.0, 0.0]).unwrap();
//! index.add("refund", "I want my money back", vec![0.0, 1.0]).unwrap();
//! let hit = index.classify(&[0.96, 0.28]).unwrap();
//! assert_eq!((hit.intent, hit.example), ("track_order", "where is my parcel"));
//! assert!(index.classify(&[0.71, 0.70]).is_none(), "between both: out of scope");
//! ```

/// How the examples' similarities become a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// The intent of the single most similar example.
    Nearest,
    /// The `k` most similar examples vote, weighted by similarity; the winner's similarity is its
    /// best example's.
    WeightedKnn { k: usize },
}

/// The intent a message was matched to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntentMatch<'a> {
    pub intent: &'a str,
    /// Cosine similarity between the message and the intent's most similar example.
    pub similarity: f32,
    /// That example, to explain the decision.
    pub example: &'a str,
}

/// Why an example was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntentError {
    #[error("vector has {got} dimensions, the index {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("vector is not L2-normalised (norm {norm})")]
    NotNormalised { norm: f32 },
}

/// An agent's example phrases with their vectors, ready to classify messages.
#[derive(Debug, Clone)]
pub struct IntentIndex {
    dimension: usize,
    scoring: Scoring,
    threshold: f32,
    /// Row-major, one row of `dimension` per example.
    vectors: Vec<f32>,
    /// Per example: index into `intents`.
    labels: Vec<usize>,
    examples: Vec<String>,
    intents: Vec<String>,
}

impl IntentIndex {
    /// The out-of-scope threshold chosen on CLINC150's validation splits for all-MiniLM-L6-v2
    /// with [`Scoring::Nearest`] (see `docs/bench/intent.md`).
    pub const RECOMMENDED_THRESHOLD: f32 = 0.645;

    /// An empty index for vectors of `dimension`; messages below `threshold` are out of scope.
    pub fn new(dimension: usize, scoring: Scoring, threshold: f32) -> Self {
        Self {
            dimension,
            scoring,
            threshold,
            vectors: Vec::new(),
            labels: Vec::new(),
            examples: Vec::new(),
            intents: Vec::new(),
        }
    }

    /// Adds one example phrase of `intent` with its embedding.
    pub fn add(&mut self, intent: &str, example: &str, vector: Vec<f32>) -> Result<(), IntentError> {
        if vector.len() != self.dimension {
            return Err(IntentError::Dimension { expected: self.dimension, got: vector.len() });
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !(0.99..=1.01).contains(&norm) {
            return Err(IntentError::NotNormalised { norm });
        }
        let label = match self.intents.iter().position(|i| i == intent) {
            Some(i) => i,
            None => {
                self.intents.push(intent.to_owned());
                self.intents.len() - 1
            }
        };
        self.vectors.extend_from_slice(&vector);
        self.labels.push(label);
        self.examples.push(example.to_owned());
        Ok(())
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the index has no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The intents, in the order their first example was added.
    pub fn intents(&self) -> &[String] {
        &self.intents
    }

    /// The out-of-scope threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The best intent for `query` (an L2-normalised vector), or `None` when the index is empty,
    /// the dimension is wrong or the best similarity is below the threshold (out of scope).
    pub fn classify(&self, query: &[f32]) -> Option<IntentMatch<'_>> {
        self.nearest(query).filter(|m| m.similarity >= self.threshold)
    }

    /// The best intent for `query` whatever its similarity (`None` only when the index is empty
    /// or the dimension is wrong).
    pub fn nearest(&self, query: &[f32]) -> Option<IntentMatch<'_>> {
        if query.len() != self.dimension || self.is_empty() {
            return None;
        }
        let k = match self.scoring {
            Scoring::Nearest => 1,
            Scoring::WeightedKnn { k } => k.max(1),
        };
        // The k most similar examples, best first (k is small: insertion into a short vector).
        let mut top: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
        for (row, vector) in self.vectors.chunks_exact(self.dimension).enumerate() {
            let similarity = dot(vector, query);
            if top.len() < k || similarity > top[top.len() - 1].0 {
                let at = top.partition_point(|(s, _)| *s >= similarity);
                top.insert(at, (similarity, row));
                top.truncate(k);
            }
        }
        // Vote: sum of similarities per intent; ties go to the intent with the best example.
        let mut votes: Vec<(usize, f32, f32, usize)> = Vec::new(); // (intent, sum, best, best row)
        for &(similarity, row) in &top {
            let label = self.labels[row];
            match votes.iter_mut().find(|v| v.0 == label) {
                Some(v) => v.1 += similarity,
                None => votes.push((label, similarity, similarity, row)),
            }
        }
        let (label, _, best, row) = votes.into_iter().max_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)))?;
        Some(IntentMatch { intent: &self.intents[label], similarity: best, example: &self.examples[row] })
    }
}

/// Dot product with eight independent partial sums: a plain `zip().sum()` is one serial chain
/// of float additions that the compiler may not reorder, so it never vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..389).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..389).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    #[test]
    fn bad_vectors_are_refused() {
        let mut index = IntentIndex::new(3, Scoring::Nearest, 0.5);
        assert_eq!(index.add("a", "x", vec![1.0, 0.0]), Err(IntentError::Dimension { expected: 3, got: 2 }));
        assert!(matches!(index.add("a", "x", vec![2.0, 0.0, 0.0]), Err(IntentError::NotNormalised { .. })));
        assert!(index.is_empty());
        assert!(index.nearest(&[1.0, 0.0, 0.0]).is_none());
    }

    #[test]
    fn knn_vote_can_overrule_the_single_nearest_example() {
        let mut index = IntentIndex::new(2, Scoring::WeightedKnn { k: 3 }, 0.0);
        index.add("refund", "r1", unit(&[1.0, 0.05])).unwrap();
        index.add("refund", "r2", unit(&[1.0, 0.1])).unwrap();
        index.add("cancel", "c1", unit(&[1.0, 0.0])).unwrap();
        let query = unit(&[1.0, 0.0]);
        assert_eq!(index.nearest(&query).unwrap().intent, "refund");
        let nearest = IntentIndex { scoring: Scoring::Nearest, ..index.clone() };
        assert_eq!(nearest.nearest(&query).unwrap().intent, "cancel");
        assert_eq!(index.intents(), ["refund", "cancel"]);
    }
}
