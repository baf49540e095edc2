//! Maximal marginal relevance (Carbonell and Goldstein, 1998): re-ranks a
//! search's fused candidates so that near-duplicates do not crowd out other
//! relevant chunks. Each step takes the candidate with the best
//! `lambda * relevance - (1 - lambda) * (its highest similarity to a chunk
//! already taken)`.
//!
//! Relevance is the fused score divided by the best candidate's (so the top
//! candidate has 1 and the order is the fused order); similarity is the cosine
//! of the chunks' stored embeddings, or, for a chunk without one (a collection
//! searched without a model), the overlap of the two texts' word sets
//! (Jaccard). `lambda = 1` keeps the fused order; lower values favour
//! diversity. Written here because it is a dozen lines over our own types.

use std::collections::{HashMap, HashSet};

use super::search::Scored;

/// Re-ranks `candidates` (best first) and keeps `k`. `vectors` holds the
/// stored embeddings of the candidates that have one, by chunk id.
pub fn rerank(candidates: Vec<Scored>, vectors: &HashMap<String, Vec<f32>>, lambda: f64, k: usize) -> Vec<Scored> {
    let best = candidates.iter().map(|s| s.score).fold(0.0f64, f64::max);
    let relevance: Vec<f64> =
        candidates.iter().map(|s| if best > 0.0 { (s.score / best).max(0.0) } else { 0.0 }).collect();
    let words: Vec<HashSet<String>> = candidates.iter().map(|s| word_set(&s.hit.text)).collect();
    let similarity =
        |a: usize, b: usize| match (vectors.get(&candidates[a].hit.chunk_id), vectors.get(&candidates[b].hit.chunk_id))
        {
            (Some(x), Some(y)) if x.len() == y.len() => cosine(x, y),
            _ => jaccard(&words[a], &words[b]),
        };
    let mut left: Vec<usize> = (0..candidates.len()).collect();
    // Each remaining candidate's highest similarity to the chunks taken so far.
    let mut redundancy = vec![f64::NEG_INFINITY; candidates.len()];
    let mut order = Vec::with_capacity(k.min(candidates.len()));
    while order.len() < k && !left.is_empty() {
        let value = |i: usize| {
            let penalty = if order.is_empty() { 0.0 } else { redundancy[i] };
            lambda * relevance[i] - (1.0 - lambda) * penalty
        };
        // Ties go to the better fused rank: `left` keeps the fused order.
        let (at, _) = left.iter().enumerate().fold((0, f64::NEG_INFINITY), |(bi, bv), (at, &i)| {
            let v = value(i);
            if v > bv { (at, v) } else { (bi, bv) }
        });
        let taken = left.remove(at);
        for &i in &left {
            redundancy[i] = redundancy[i].max(similarity(i, taken));
        }
        order.push(taken);
    }
    let mut slots: Vec<Option<Scored>> = candidates.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa > 0.0 && bb > 0.0 { dot / (aa.sqrt() * bb.sqrt()) } else { 0.0 }
}

fn word_set(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 { 0.0 } else { a.intersection(b).count() as f64 / union as f64 }
}

#[cfg(test)]
mod tests {
    use switchboard_store::ChunkHit;

    use super::*;
    use crate::knowledge::search::tests::hit;

    fn scored(id: &str, text: &str, score: f64) -> Scored {
        let hit = ChunkHit { text: text.into(), ..hit(id, score) };
        Scored { hit, score, bm25: None, dense: None }
    }

    fn ids(ranked: &[Scored]) -> Vec<&str> {
        ranked.iter().map(|s| s.hit.chunk_id.as_str()).collect()
    }

    /// Three near-identical chunks ranked first and a different one fourth.
    fn near_duplicates() -> (Vec<Scored>, HashMap<String, Vec<f32>>) {
        let candidates = vec![
            scored("a1", "refunds are paid to the card within 14 days", 1.0),
            scored("a2", "refunds are paid to the card within 14 days.", 0.98),
            scored("a3", "refunds are paid to your card within 14 days", 0.97),
            scored("b", "a bank transfer refund reaches the account you name", 0.8),
        ];
        let vectors = HashMap::from([
            ("a1".to_owned(), vec![1.0, 0.0, 0.1]),
            ("a2".to_owned(), vec![1.0, 0.01, 0.1]),
            ("a3".to_owned(), vec![0.99, 0.0, 0.12]),
            ("b".to_owned(), vec![0.3, 1.0, 0.0]),
        ]);
        (candidates, vectors)
    }

    #[test]
    fn lambda_one_keeps_the_fused_order() {
        let (candidates, vectors) = near_duplicates();
        assert_eq!(ids(&rerank(candidates, &vectors, 1.0, 4)), ["a1", "a2", "a3", "b"]);
    }

    #[test]
    fn a_different_relevant_chunk_passes_the_near_duplicates() {
        let (candidates, vectors) = near_duplicates();
        let ranked = rerank(candidates, &vectors, 0.5, 2);
        assert_eq!(ids(&ranked), ["a1", "b"]);
        assert_eq!(ranked[1].score, 0.8, "the fused score is kept");
    }

    #[test]
    fn without_vectors_text_overlap_is_the_similarity() {
        let (candidates, _) = near_duplicates();
        assert_eq!(ids(&rerank(candidates, &HashMap::new(), 0.5, 3)), ["a1", "b", "a3"]);
    }

    #[test]
    fn lambda_zero_takes_the_least_similar_next_and_k_caps_the_list() {
        let (candidates, vectors) = near_duplicates();
        assert_eq!(ids(&rerank(candidates.clone(), &vectors, 0.0, 2)), ["a1", "b"]);
        assert_eq!(rerank(candidates, &vectors, 0.5, 10).len(), 4);
        assert!(rerank(Vec::new(), &vectors, 0.5, 3).is_empty());
    }

    #[test]
    fn similarity_measures() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-12);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert!((jaccard(&word_set("A b c"), &word_set("b c d")) - 0.5).abs() < 1e-12);
        assert_eq!(jaccard(&word_set(""), &word_set("")), 0.0);
    }
}
