//! Helpers both backends' search code shares.

/// The columns a [`crate::ChunkHit`] is read from (a `score` column follows in each query).
pub(crate) const HIT_COLUMNS: &str =
    "c.id AS chunk_id, c.document_id, c.collection_id, d.title, d.url, c.heading_path, c.page, c.text";

/// Chunks joined to their document, restricted to live versions: search never
/// sees a version that is still being ingested or has been replaced.
pub(crate) const LIVE_CHUNKS: &str =
    "chunks c JOIN documents d ON d.id = c.document_id AND d.live_version_id = c.version_id";

/// The chunks a search may see: the live versions, or the snapshot an agent
/// version was released with. The snapshot id is one of our UUIDs (checked
/// here), so it is safe to inline.
pub(crate) fn chunk_source(scope: &crate::SearchScope) -> String {
    match scope.pinned_to.as_deref().filter(|id| uuid::Uuid::try_parse(id).is_ok()) {
        Some(version) => format!(
            "chunks c JOIN documents d ON d.id = c.document_id \
             JOIN agent_version_knowledge k ON k.document_version_id = c.version_id AND k.agent_version_id = '{version}'"
        ),
        // An id that is not one of ours pins to nothing.
        None if scope.pinned_to.is_some() => format!("{LIVE_CHUNKS} AND 1 = 0"),
        None => LIVE_CHUNKS.to_owned(),
    }
}

/// The words of a free-text query, lower-cased, punctuation dropped: safe to
/// put into an FTS5 or tsquery expression (no operators get through).
pub(crate) fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> =
        query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    terms.dedup();
    terms.truncate(64);
    terms
}

/// English function words: they match most chunks, and BM25 gives them next
/// to no weight, so an OR query over them only makes the engine score rows
/// (PostgreSQL's `english` configuration drops the same kind of words).
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "during", "each", "for", "from", "further",
    "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "i", "if", "in", "into", "is", "it",
    "its", "itself", "just", "me", "more", "most", "my", "myself", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "very", "was", "we", "were", "what", "which", "while", "who", "whom", "will", "with", "would", "you", "your",
    "yours", "yourself",
];

/// [`query_terms`] without English function words, for a full-text OR query;
/// a query of nothing but function words keeps them all.
pub(crate) fn content_terms(query: &str) -> Vec<String> {
    let terms = query_terms(query);
    let content: Vec<String> = terms.iter().filter(|t| !STOP_WORDS.contains(&t.as_str())).cloned().collect();
    if content.is_empty() { terms } else { content }
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Keeps the `k` best of `(score, item)` pairs, best first.
pub(crate) fn top_k<T>(mut scored: Vec<(f64, T)>, k: usize) -> Vec<(f64, T)> {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.truncate(k);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_terms_drop_operators_and_punctuation() {
        assert_eq!(query_terms("Refund? \"NEAR\" (ÉTÉ) a-b*"), ["refund", "near", "été", "a", "b"]);
        assert!(query_terms("?!").is_empty());
    }

    #[test]
    fn content_terms_drop_function_words_unless_nothing_else_is_left() {
        assert_eq!(content_terms("How do I return a damaged item?"), ["how", "return", "damaged", "item"]);
        assert_eq!(content_terms("Who are you"), ["who", "are", "you"]);
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    }

    #[test]
    fn top_k_orders_best_first() {
        assert_eq!(top_k(vec![(0.1, 'a'), (0.9, 'b'), (0.5, 'c')], 2), vec![(0.9, 'b'), (0.5, 'c')]);
    }
}
