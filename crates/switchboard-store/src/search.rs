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

/// BM25's saturation (k1) and length normalisation (b), FTS5's defaults.
pub(crate) const BM25_K1: f64 = 1.2;
pub(crate) const BM25_B: f64 = 0.75;

/// A query lexeme for BM25 computed by the store (PostgreSQL): the query
/// words it came from, how many live chunks hold it and its IDF.
#[derive(Debug, Clone)]
pub(crate) struct Bm25Term {
    pub lexeme: String,
    pub words: Vec<String>,
    pub df: f64,
    pub idf: f64,
}

impl Bm25Term {
    /// The most one chunk can gain from this lexeme: its saturation limit.
    fn bound(&self) -> f64 {
        self.idf * (BM25_K1 + 1.0)
    }
}

/// BM25's IDF (Lucene's form, never negative) of a lexeme held by `df` of `n` chunks.
pub(crate) fn idf(n: f64, df: f64) -> f64 {
    (1.0 + ((n - df).max(0.0) + 0.5) / (df + 0.5)).ln()
}

/// How many chunks the first candidate query may reach (the sum of its
/// lexemes' document frequencies; scoring a chunk is the cost): a tenth of
/// the `n` chunks searched, at most this many.
const FIRST_CANDIDATES: f64 = 1000.0;

/// Of `terms` sorted rarest first, how many make the first candidate query
/// over `n` chunks: the rarest, and the next ones while the chunks they reach
/// stay few.
pub(crate) fn bm25_first_candidates(terms: &[Bm25Term], n: f64) -> usize {
    let budget = (n / 10.0).min(FIRST_CANDIDATES);
    let mut reach = 0.0;
    let mut take = 0;
    for term in terms {
        reach += term.df;
        if take > 0 && reach > budget {
            break;
        }
        take += 1;
    }
    take
}

/// After a query over the rarest `taken` of `terms` (sorted rarest first)
/// whose k-th best score is `reached` (0 when fewer than k were found):
/// `None` when no chunk outside the candidates can beat it (each one's score
/// is at most the sum of the other lexemes' bounds), else how many lexemes
/// the next query needs for that to hold.
pub(crate) fn bm25_more_candidates(terms: &[Bm25Term], taken: usize, reached: f64) -> Option<usize> {
    let mut outside: f64 = terms[taken..].iter().map(Bm25Term::bound).sum();
    if taken >= terms.len() || outside <= reached {
        return None;
    }
    let mut take = taken;
    while take < terms.len() && outside > reached {
        outside -= terms[take].bound();
        take += 1;
    }
    Some(take)
}

/// A search's filter as SQL: ` AND …` conditions on `c` (a chunks row) with
/// placeholders from `$first`, and the values to bind to them in order. Each
/// metadata key is one correlated scalar lookup on `document_metadata`'s
/// primary key rather than a join or `EXISTS`: PostgreSQL keeps a scalar
/// subquery a filter of the HNSW index scan (see `postgres.rs`), and the same
/// text serves both backends' full-text and vector queries.
pub(crate) fn filter_sql(filter: &crate::SearchFilter, first: usize) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut binds: Vec<String> = Vec::new();
    for (key, values) in filter.metadata() {
        let at = first + binds.len();
        sql.push_str(&format!(
            " AND (SELECT true FROM document_metadata m WHERE m.document_id = c.document_id \
             AND m.key = ${at} AND m.value IN ({}))",
            placeholders(at + 1, values.len())
        ));
        binds.push(key.clone());
        binds.extend(values.iter().cloned());
    }
    if let Some(ids) = filter.document_ids() {
        sql.push_str(&format!(" AND c.document_id IN ({})", placeholders(first + binds.len(), ids.len())));
        binds.extend(ids.iter().cloned());
    }
    (sql, binds)
}

/// The stored vectors of `n` chunks of the tenant (`$1`) by id (`$2…`), read
/// as `vector` (the backend's own form of the `embedding` column).
pub(crate) fn chunk_embeddings_sql(vector: &str, n: usize) -> String {
    format!(
        "SELECT id, {vector} FROM chunks WHERE org_id = $1 AND embedding IS NOT NULL AND id IN ({})",
        placeholders(2, n)
    )
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

    fn term(lexeme: &str, df: f64, n: f64) -> Bm25Term {
        Bm25Term { lexeme: lexeme.into(), words: vec![lexeme.into()], df, idf: idf(n, df) }
    }

    #[test]
    fn bm25_candidates_start_from_the_rarest_words_and_grow_until_nothing_outside_can_win() {
        let n = 100_000.0;
        let terms = [
            term("warranty", 40.0, n),
            term("cracked", 900.0, n),
            term("screen", 5000.0, n),
            term("phone", 30000.0, n),
        ];
        assert!(terms.windows(2).all(|w| w[0].idf > w[1].idf));
        assert_eq!(bm25_first_candidates(&terms, n), 2, "40 + 900 chunks reached, the next would pass 1000");
        assert_eq!(bm25_first_candidates(&terms, 5000.0), 1, "a tenth of a small collection");
        assert_eq!(bm25_first_candidates(&terms[3..], n), 1, "the rarest always, however common");

        // Outside the first two: screen's and phone's bounds.
        let outside = terms[2].bound() + terms[3].bound();
        assert_eq!(bm25_more_candidates(&terms, 2, outside), None);
        assert_eq!(bm25_more_candidates(&terms, 2, outside + 1.0), None);
        // A k-th score below that: screen joins, and phone's bound alone is then below it.
        assert_eq!(bm25_more_candidates(&terms, 2, terms[3].bound() + 0.1), Some(3));
        // Fewer than k found: every word must be a candidate word.
        assert_eq!(bm25_more_candidates(&terms, 2, 0.0), Some(4));
        assert_eq!(bm25_more_candidates(&terms, 4, 0.0), None);
    }

    #[test]
    fn idf_is_never_negative_and_falls_as_more_chunks_hold_the_word() {
        assert!(idf(10.0, 10.0) > 0.0);
        assert!(idf(10.0, 12.0) > 0.0, "statistics a little behind never turn it negative");
        assert!(idf(1000.0, 1.0) > idf(1000.0, 10.0));
    }

    #[test]
    fn filter_sql_numbers_its_placeholders_after_the_caller_s() {
        let none = filter_sql(&crate::SearchFilter::default(), 3);
        assert_eq!(none, (String::new(), Vec::new()));
        let filter = crate::SearchFilter::parse(
            [("lang".to_owned(), vec!["de".to_owned(), "en".to_owned()]), ("tier".to_owned(), vec!["pro".to_owned()])]
                .into(),
            Some(vec!["doc".to_owned()]),
        )
        .unwrap();
        let (sql, binds) = filter_sql(&filter, 3);
        assert_eq!(binds, ["lang", "de", "en", "tier", "pro", "doc"]);
        assert!(sql.contains("m.key = $3 AND m.value IN ($4, $5)"), "{sql}");
        assert!(sql.contains("m.key = $6 AND m.value IN ($7)"), "{sql}");
        assert!(sql.ends_with(" AND c.document_id IN ($8)"), "{sql}");
    }

    #[test]
    fn top_k_orders_best_first() {
        assert_eq!(top_k(vec![(0.1, 'a'), (0.9, 'b'), (0.5, 'c')], 2), vec![(0.9, 'b'), (0.5, 'c')]);
    }
}
