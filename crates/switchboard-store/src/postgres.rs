//! The PostgreSQL backend, selected by a `postgres://` URL. Stateless server
//! nodes share it; it holds everything the SQLite file holds.

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::changes::*;
use crate::conversations::*;
use crate::crawl_model::*;
use crate::model::*;
use crate::widget::*;
use crate::{Backend, Result, Store, StoreError, search};

pub struct PgStore {
    pool: PgPool,
    changes: Changes,
    /// Set once the `LISTEN` connection is up (started by the first subscriber).
    listening: tokio::sync::OnceCell<()>,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            // A ping before every checkout doubles the round trips; broken connections still fail and are replaced.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            // pgvector: an HNSW scan whose rows are filtered (tenant, collection,
            // live version) goes on until the LIMIT is met, instead of stopping
            // at `hnsw.ef_search` candidates.
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(&mut *conn, "SET hnsw.iterative_scan = relaxed_order").await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let store = Self { pool, changes: Changes::default(), listening: tokio::sync::OnceCell::new() };
        // The migrator takes an advisory lock, so nodes starting together migrate once.
        crate::migrations::migrator(crate::migrations::POSTGRES).await?.run(&store.pool).await?;
        Ok(store)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Sent inside the transaction: PostgreSQL delivers it to every listening
    /// node (this one too) only if and when the transaction commits.
    async fn announce_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        change: &ConversationChange,
    ) -> Result<()> {
        let payload = serde_json::to_string(change).map_err(anyhow::Error::from)?;
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&mut **tx).await?;
        Ok(())
    }

    /// Nothing to do after the commit: the change comes back through `LISTEN`.
    fn announced(&self, _change: ConversationChange) {}

    /// The first subscriber starts the `LISTEN` connection and waits until it
    /// listens, so no change committed after this returns is missed.
    /// Notifications sent while the connection is being re-established after a
    /// drop are lost (readers resynchronise from the database when they lag).
    async fn subscribe_backend(&self) -> Result<tokio::sync::broadcast::Receiver<ConversationChange>> {
        self.listening
            .get_or_try_init(|| async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                listener.listen(CHANNEL).await?;
                let tx = self.changes.sender();
                tokio::spawn(async move {
                    loop {
                        match listener.recv().await {
                            Ok(n) => match serde_json::from_str::<ConversationChange>(n.payload()) {
                                Ok(change) => {
                                    let _ = tx.send(change);
                                }
                                Err(e) => tracing::warn!(error = %e, "unreadable conversation change notification"),
                            },
                            Err(e) => {
                                tracing::warn!(error = %e, "conversation change listener lost its connection; retrying");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                });
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(self.changes.subscribe())
    }
}

/// pgvector's text form, `[0.1,0.2,…]`, bound as text and cast in SQL, which
/// spares a client-side vector type.
fn vector_literal(v: &[f32]) -> String {
    let inner: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", inner.join(","))
}

impl PgStore {
    async fn insert_chunk(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        t: &Tenant,
        document: &Document,
        version_id: &str,
        chunk: &NewChunk,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO chunks (id, org_id, collection_id, document_id, version_id, ordinal, heading_path, page, text, \
             content_hash, token_count, embedding, embedding_dim) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::vector, $13)",
        )
        .bind(new_id())
        .bind(t.org_id())
        .bind(&document.collection_id)
        .bind(&document.id)
        .bind(version_id)
        .bind(chunk.ordinal)
        .bind(&chunk.heading_path)
        .bind(chunk.page)
        .bind(&chunk.text)
        .bind(&chunk.content_hash)
        .bind(chunk.token_count)
        .bind(chunk.embedding.as_deref().map(vector_literal))
        .bind(chunk.embedding.as_ref().map(|e| e.len() as i32))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// HNSW needs a fixed dimension, so each dimension in use has its own partial
    /// index on the same expression dense search orders by (migration 3 made the
    /// 384 one). Built concurrently: a collection moving to a new model never
    /// blocks other tenants' writes. Dimensions beyond pgvector's HNSW limit
    /// (2,000) are searched exactly.
    async fn prepare_vector_index_backend(&self, dim: i32) -> Result<()> {
        if !(1..=2000).contains(&dim) {
            return Ok(());
        }
        // `dim` is an integer: safe to inline (an index expression takes no parameters).
        let sql = format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS chunks_embedding_{dim} ON chunks \
             USING hnsw ((embedding::vector({dim})) vector_cosine_ops) WHERE embedding_dim = {dim}"
        );
        sqlx::query(&sql).execute(&self.pool).await?;
        Ok(())
    }

    /// A model change (which takes the collection row's update lock) waits
    /// for a publication or vector write that read the model, and vice versa.
    const SHARE_LOCK: &str = " FOR SHARE";

    /// Drops every vector of a collection (its model changed).
    async fn clear_vectors(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        t: &Tenant,
        collection_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE chunks SET embedding = NULL, embedding_dim = NULL \
             WHERE org_id = $1 AND collection_id = $2 AND embedding IS NOT NULL",
        )
        .bind(t.org_id())
        .bind(collection_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Gives a chunk without a vector this one; 1 if it was written.
    async fn write_vector(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        t: &Tenant,
        collection_id: &str,
        chunk_id: &str,
        vector: &[f32],
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE chunks SET embedding = $1::vector, embedding_dim = $2 \
             WHERE org_id = $3 AND collection_id = $4 AND id = $5 AND embedding IS NULL",
        )
        .bind(vector_literal(vector))
        .bind(vector.len() as i32)
        .bind(t.org_id())
        .bind(collection_id)
        .bind(chunk_id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Full-text search ranked by BM25 (k1 1.2, b 0.75, heading words counted
    /// twice, as on SQLite), from per-collection statistics that migration
    /// 14's triggers keep equal to the live chunks.
    ///
    /// Scoring every chunk that holds any query word costs seconds at 100k
    /// chunks (common words match most of them), so candidates come from the
    /// rarest words first, MaxScore-style: a chunk holding none of them can
    /// score at most the sum of the other words' upper bounds, so once the
    /// k-th best score found reaches that sum, the ranking is exact; otherwise
    /// the next rarest words join and the query runs again.
    async fn search_text_backend(&self, t: &Tenant, scope: &SearchScope, query: &str) -> Result<Vec<ChunkHit>> {
        let words = search::query_terms(query);
        if words.is_empty() || scope.collection_ids.is_empty() {
            return Ok(Vec::new());
        }
        let (mut terms, n, avgdl) = self.bm25_terms(t, scope, &words).await?;
        if terms.is_empty() {
            return Ok(Vec::new()); // nothing but words the configuration drops
        }
        terms.sort_by(|a, b| a.df.total_cmp(&b.df).then_with(|| a.lexeme.cmp(&b.lexeme)));
        let mut taken = search::bm25_first_candidates(&terms, n);
        loop {
            let hits = self.bm25_score(t, scope, &terms, taken, avgdl).await?;
            let reached = if hits.len() >= scope.limit as usize { hits[hits.len() - 1].score } else { 0.0 };
            match search::bm25_more_candidates(&terms, taken, reached) {
                Some(more) => taken = more,
                None => return Ok(hits),
            }
        }
    }

    /// The query words' lexemes (as the `english` configuration makes them)
    /// with how many live chunks of the scope hold each and its IDF; the
    /// number of chunks and their mean length in lexemes.
    async fn bm25_terms(
        &self,
        t: &Tenant,
        scope: &SearchScope,
        words: &[String],
    ) -> Result<(Vec<search::Bm25Term>, f64, f64)> {
        let collections = search::placeholders(3, scope.collection_ids.len());
        let sql = format!(
            "WITH st AS (SELECT greatest(coalesce(sum(s.chunks), 0), 1)::float8 AS n, \
                                greatest(coalesce(sum(s.tokens), 0)::float8 / greatest(coalesce(sum(s.chunks), 0), 1), 1) AS avgdl \
                         FROM fts_collection_stats s WHERE s.org_id = $2 AND s.collection_id IN ({collections})) \
             SELECT u.lexeme, array_agg(DISTINCT w.word) AS words, greatest(coalesce(sum(f.df), 0), 0)::float8 AS df, \
                    max(st.n) AS n, max(st.avgdl) AS avgdl \
             FROM st, unnest($1::text[]) w(word) CROSS JOIN LATERAL unnest(to_tsvector('english', w.word)) u \
             LEFT JOIN fts_term_stats f ON f.term = u.lexeme AND f.org_id = $2 AND f.collection_id IN ({collections}) \
             GROUP BY u.lexeme"
        );
        let mut q = sqlx::query(&sql).bind(words).bind(t.org_id());
        for id in &scope.collection_ids {
            q = q.bind(id);
        }
        let found = q.fetch_all(&self.pool).await?;
        let (mut n, mut avgdl) = (1.0, 1.0);
        let mut terms = Vec::with_capacity(found.len());
        for r in &found {
            let df: f64 = r.try_get("df")?;
            (n, avgdl) = (r.try_get("n")?, r.try_get("avgdl")?);
            terms.push(search::Bm25Term {
                lexeme: r.try_get("lexeme")?,
                words: r.try_get("words")?,
                df,
                idf: search::idf(n, df),
            });
        }
        Ok((terms, n, avgdl))
    }

    /// BM25 over all `terms` of every live chunk holding one of the first
    /// `candidates` of them, best `scope.limit` first.
    async fn bm25_score(
        &self,
        t: &Tenant,
        scope: &SearchScope,
        terms: &[search::Bm25Term],
        candidates: usize,
        avgdl: f64,
    ) -> Result<Vec<ChunkHit>> {
        let lexemes: Vec<&str> = terms.iter().map(|term| term.lexeme.as_str()).collect();
        let idfs: Vec<f64> = terms.iter().map(|term| term.idf).collect();
        let candidate_words: Vec<&str> =
            terms[..candidates].iter().flat_map(|term| term.words.iter().map(String::as_str)).collect();
        let (filter, filter_binds) = search::filter_sql(&scope.filter, 6 + scope.collection_ids.len());
        // Per chunk: the query's lexemes keep their positions (every other
        // lexeme is filtered out by weight), the heading's positions are added
        // once more, and each lexeme's BM25 term is summed.
        let sql = format!(
            "WITH idf AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::float8[]) AS i(term, idf)) \
             SELECT {HIT}, coalesce((\
                 SELECT sum(i.idf * x.tf * ({k1} + 1) / (x.tf + {k1} * (1 - {b} + {b} * c.tsv_len / $5))) \
                 FROM (SELECT y.lexeme, sum(y.n)::float8 AS tf FROM (\
                         SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1) AS n \
                         FROM unnest(ts_filter(setweight(setweight(c.tsv, 'D'), 'A', $1::text[]), '{{a}}')) u \
                         UNION ALL \
                         SELECT h.lexeme, coalesce(array_length(h.positions, 1), 1) FROM unnest(ts_filter(c.tsv, '{{a}}')) h) y \
                       GROUP BY y.lexeme) x \
                 JOIN idf i ON i.term = x.lexeme), 0)::float8 AS score \
             FROM {LIVE}, to_tsquery('english', $3) q \
             WHERE c.tsv @@ q AND c.org_id = $4 AND c.collection_id IN ({}){filter} ORDER BY score DESC LIMIT {}",
            search::placeholders(6, scope.collection_ids.len()),
            scope.limit,
            HIT = search::HIT_COLUMNS,
            LIVE = search::chunk_source(scope),
            k1 = search::BM25_K1,
            b = search::BM25_B,
        );
        let mut q =
            sqlx::query(&sql).bind(&lexemes).bind(&idfs).bind(candidate_words.join(" | ")).bind(t.org_id()).bind(avgdl);
        for value in scope.collection_ids.iter().chain(&filter_binds) {
            q = q.bind(value);
        }
        let found = q.fetch_all(&self.pool).await?;
        Ok(found.iter().map(rows::hit).collect::<Result<Vec<_>, _>>()?)
    }

    /// Nearest neighbours through the HNSW index of the vectors' dimension.
    async fn search_vector_backend(&self, t: &Tenant, scope: &SearchScope, embedding: &[f32]) -> Result<Vec<ChunkHit>> {
        if scope.collection_ids.is_empty() || embedding.is_empty() {
            return Ok(Vec::new());
        }
        // The dimension is a number we computed, safe to inline; the cast must
        // match the partial index expression for the index to be used.
        let dim = embedding.len();
        // The filter's metadata lookups are correlated scalar subqueries too.
        let (filter, filter_binds) = search::filter_sql(&scope.filter, 3 + scope.collection_ids.len());
        let sql = if scope.pinned_to.is_none() {
            // Live chunks: the liveness test is a correlated scalar subquery, so
            // it stays a filter of the HNSW index scan; a join (or EXISTS, which
            // the planner turns into one) misestimates and sorts every vector.
            // With `hnsw.iterative_scan` (set per connection) the scan goes on
            // until `limit` rows pass the filters.
            format!(
                "SELECT {HIT}, (1 - c.distance)::float8 AS score FROM \
                 (SELECT c.*, c.embedding::vector({dim}) <=> $1::vector({dim}) AS distance FROM chunks c \
                  WHERE c.embedding_dim = {dim} AND c.org_id = $2 AND c.collection_id IN ({}) \
                  AND c.version_id = (SELECT d.live_version_id FROM documents d WHERE d.id = c.document_id){filter} \
                  ORDER BY c.embedding::vector({dim}) <=> $1::vector({dim}) LIMIT {limit}) c \
                 JOIN documents d ON d.id = c.document_id ORDER BY c.distance LIMIT {limit}",
                search::placeholders(3, scope.collection_ids.len()),
                limit = scope.limit,
                HIT = search::HIT_COLUMNS,
            )
        } else {
            format!(
                "SELECT {HIT}, (1 - (c.embedding::vector({dim}) <=> $1::vector({dim})))::float8 AS score \
             FROM {LIVE} \
             WHERE c.embedding_dim = {dim} AND c.org_id = $2 AND c.collection_id IN ({}){filter} \
             ORDER BY c.embedding::vector({dim}) <=> $1::vector({dim}) LIMIT {}",
                search::placeholders(3, scope.collection_ids.len()),
                scope.limit,
                HIT = search::HIT_COLUMNS,
                LIVE = search::chunk_source(scope)
            )
        };
        let mut q = sqlx::query(&sql).bind(vector_literal(embedding)).bind(t.org_id());
        for value in scope.collection_ids.iter().chain(&filter_binds) {
            q = q.bind(value);
        }
        let found = q.fetch_all(&self.pool).await?;
        Ok(found.iter().map(rows::hit).collect::<Result<Vec<_>, _>>()?)
    }
}

impl PgStore {
    async fn chunk_embeddings_backend(
        &self,
        t: &Tenant,
        chunk_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<f32>>> {
        let sql = search::chunk_embeddings_sql("embedding::text", chunk_ids.len());
        let mut q = sqlx::query_as::<_, (String, String)>(&sql).bind(t.org_id());
        for id in chunk_ids {
            q = q.bind(id);
        }
        let found = q.fetch_all(&self.pool).await?;
        Ok(found.into_iter().map(|(id, text)| (id, parse_vector_literal(&text))).collect())
    }
}

/// Reads pgvector's text form back (what [`vector_literal`] writes).
fn parse_vector_literal(text: &str) -> Vec<f32> {
    text.trim_matches(['[', ']']).split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

crate::shared::impl_store!(PgStore, sqlx::Postgres, Backend::Postgres, " FOR UPDATE SKIP LOCKED");
crate::conversations::impl_conversation_store!(PgStore, sqlx::Postgres);
crate::secrets::impl_secret_store!(PgStore, sqlx::Postgres);
crate::actions::impl_action_store!(PgStore, sqlx::Postgres);
crate::usage::impl_usage_store!(PgStore, sqlx::Postgres);
crate::widget::impl_widget_store!(
    PgStore,
    sqlx::Postgres,
    "CAST(details::jsonb #>> '{timings,total}' AS DOUBLE PRECISION)",
    "CAST(details::jsonb #>> '{usage,cost_usd}' AS DOUBLE PRECISION)"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_literals_read_back() {
        let v = [0.25f32, -1.5, 3.0e-7];
        assert_eq!(parse_vector_literal(&vector_literal(&v)), v);
        assert!(parse_vector_literal("[]").is_empty());
    }
}
