//! The PostgreSQL backend, selected by a `postgres://` URL. Stateless server
//! nodes share it; it holds everything the SQLite file holds.

use std::time::Duration;

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

    /// Full-text search with `ts_rank_cd` over an English tsvector (headings
    /// weigh more); any query word may match.
    async fn search_text_backend(&self, t: &Tenant, scope: &SearchScope, query: &str) -> Result<Vec<ChunkHit>> {
        let terms = search::query_terms(query);
        if terms.is_empty() || scope.collection_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {HIT}, ts_rank_cd(c.tsv, q)::float8 AS score \
             FROM {LIVE}, \
             to_tsquery('english', $1) q \
             WHERE c.tsv @@ q AND c.org_id = $2 AND c.collection_id IN ({}) ORDER BY score DESC LIMIT {}",
            search::placeholders(3, scope.collection_ids.len()),
            scope.limit,
            HIT = search::HIT_COLUMNS,
            LIVE = search::chunk_source(scope)
        );
        let mut q = sqlx::query(&sql).bind(terms.join(" | ")).bind(t.org_id());
        for id in &scope.collection_ids {
            q = q.bind(id);
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
                  AND c.version_id = (SELECT d.live_version_id FROM documents d WHERE d.id = c.document_id) \
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
             WHERE c.embedding_dim = {dim} AND c.org_id = $2 AND c.collection_id IN ({}) \
             ORDER BY c.embedding::vector({dim}) <=> $1::vector({dim}) LIMIT {}",
                search::placeholders(3, scope.collection_ids.len()),
                scope.limit,
                HIT = search::HIT_COLUMNS,
                LIVE = search::chunk_source(scope)
            )
        };
        let mut q = sqlx::query(&sql).bind(vector_literal(embedding)).bind(t.org_id());
        for id in &scope.collection_ids {
            q = q.bind(id);
        }
        let found = q.fetch_all(&self.pool).await?;
        Ok(found.iter().map(rows::hit).collect::<Result<Vec<_>, _>>()?)
    }
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
