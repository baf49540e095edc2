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
    fn top_k_orders_best_first() {
        assert_eq!(top_k(vec![(0.1, 'a'), (0.9, 'b'), (0.5, 'c')], 2), vec![(0.9, 'b'), (0.5, 'c')]);
    }
}
