//! The SQLite backend: one database file in the data dir, WAL journal.
//!
//! Durability is a deliberate choice: `synchronous=FULL` by default, so a
//! commit acknowledged to a client survives power loss, not only a crashed
//! process (WAL + NORMAL can lose the last commits on power loss). `NORMAL` is
//! offered for throwaway data and benchmarks. Write transactions start with
//! `BEGIN IMMEDIATE` so that two writers queue on the busy timeout instead of
//! failing a read-to-write upgrade with "database is locked".

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::changes::*;
use crate::conversations::*;
use crate::crawl_model::*;
use crate::model::*;
use crate::vector_index::VectorIndex;
use crate::widget::*;
use crate::{Backend, Result, Store, StoreError, search};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteDurability {
    /// fsync on every commit: acknowledged writes survive power loss.
    Full,
    /// fsync at checkpoints only: survives a process crash, may lose the last
    /// commits on power loss.
    Normal,
}

impl FromStr for SqliteDurability {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!("unknown SQLite durability `{other}` (full or normal)")),
        }
    }
}

pub struct SqliteStore {
    pool: SqlitePool,
    changes: Changes,
    vectors: VectorIndex,
}

impl SqliteStore {
    pub async fn open(path: &Path, durability: SqliteDurability, max_connections: u32) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                SqliteDurability::Full => SqliteSynchronous::Full,
                SqliteDurability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            // A ping before every checkout doubles the round trips to SQLite's worker thread.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let store = Self { pool, changes: Changes::default(), vectors: VectorIndex::default() };
        // Refuse to run with weaker durability than was asked for (a file on a
        // filesystem without WAL support would silently fall back).
        let (mode, sync) = store.durability_report().await?;
        let want_sync = match durability {
            SqliteDurability::Full => 2,
            SqliteDurability::Normal => 1,
        };
        anyhow::ensure!(
            mode.eq_ignore_ascii_case("wal") && sync == want_sync,
            "SQLite at {} runs journal_mode={mode} synchronous={sync}; expected wal and {want_sync}",
            path.display()
        );
        crate::migrations::migrator(crate::migrations::SQLITE).await?.run(&store.pool).await?;
        Ok(store)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// One process owns the file's writers that matter (the server), so a
    /// change is broadcast in-process, after its commit.
    async fn announce_in(
        &self,
        _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        _change: &ConversationChange,
    ) -> Result<()> {
        Ok(())
    }

    fn announced(&self, change: ConversationChange) {
        self.changes.publish(change);
    }

    async fn subscribe_backend(&self) -> Result<tokio::sync::broadcast::Receiver<ConversationChange>> {
        Ok(self.changes.subscribe())
    }

    /// The journal mode and synchronous level in force, for startup checks.
    pub async fn durability_report(&self) -> anyhow::Result<(String, i64)> {
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&self.pool).await?;
        let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(&self.pool).await?;
        Ok((mode, sync))
    }
}

impl SqliteStore {
    async fn insert_chunk(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        t: &Tenant,
        document: &Document,
        version_id: &str,
        chunk: &NewChunk,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO chunks (id, org_id, collection_id, document_id, version_id, ordinal, heading_path, page, text, \
             content_hash, token_count, embedding) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        .bind(chunk.embedding.as_deref().map(embedding_to_bytes))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The in-process vector index takes any dimension.
    async fn prepare_vector_index_backend(&self, _dim: i32) -> Result<()> {
        Ok(())
    }

    /// No row lock needed: SQLite serialises writing transactions.
    const SHARE_LOCK: &str = "";

    /// Drops every vector of a collection (its model changed).
    async fn clear_vectors(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        t: &Tenant,
        collection_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE chunks SET embedding = NULL WHERE org_id = $1 AND collection_id = $2 AND embedding IS NOT NULL",
        )
        .bind(t.org_id())
        .bind(collection_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Gives a chunk without a vector this one; 1 if it was written.
    async fn write_vector(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        t: &Tenant,
        collection_id: &str,
        chunk_id: &str,
        vector: &[f32],
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE chunks SET embedding = $1 \
             WHERE org_id = $2 AND collection_id = $3 AND id = $4 AND embedding IS NULL",
        )
        .bind(embedding_to_bytes(vector))
        .bind(t.org_id())
        .bind(collection_id)
        .bind(chunk_id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// BM25 over FTS5 (headings weigh double); any query word may match.
    async fn search_text_backend(&self, t: &Tenant, scope: &SearchScope, query: &str) -> Result<Vec<ChunkHit>> {
        let terms = search::content_terms(query);
        if terms.is_empty() || scope.collection_ids.is_empty() {
            return Ok(Vec::new());
        }
        let fts_query = terms.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" OR ");
        let (filter, filter_binds) = search::filter_sql(&scope.filter, 3 + scope.collection_ids.len());
        let sql = format!(
            "SELECT {HIT}, -bm25(chunks_fts, 2.0, 1.0) AS score \
             FROM {LIVE} JOIN chunks_fts ON chunks_fts.rowid = c.rowid \
             WHERE chunks_fts MATCH $1 AND c.org_id = $2 AND c.collection_id IN ({}){filter} \
             ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT {}",
            search::placeholders(3, scope.collection_ids.len()),
            scope.limit,
            HIT = search::HIT_COLUMNS,
            LIVE = search::chunk_source(scope)
        );
        let mut q = sqlx::query(&sql).bind(fts_query).bind(t.org_id());
        for value in scope.collection_ids.iter().chain(&filter_binds) {
            q = q.bind(value);
        }
        let found = q.fetch_all(&self.pool).await?;
        Ok(found.iter().map(rows::hit).collect::<Result<Vec<_>, _>>()?)
    }

    /// Exact nearest neighbours: live chunks through the in-process index
    /// (`vector_index`), a pinned snapshot by a scan of its stored vectors.
    async fn search_vector_backend(&self, t: &Tenant, scope: &SearchScope, embedding: &[f32]) -> Result<Vec<ChunkHit>> {
        if scope.collection_ids.is_empty() {
            return Ok(Vec::new());
        }
        if scope.pinned_to.is_some() {
            return self.scan_vectors(t, scope, embedding).await;
        }
        let allowed = if scope.filter.is_empty() { None } else { Some(self.filtered_rowids(t, scope).await?) };
        let nearest = self
            .vectors
            .nearest(&self.pool, t.org_id(), &scope.collection_ids, embedding, scope.limit as usize, allowed)
            .await?;
        if nearest.is_empty() {
            return Ok(Vec::new());
        }
        // The rows of the hits, read with the same tenant and liveness filter:
        // a chunk replaced or deleted since the index loaded is dropped.
        let sql = format!(
            "SELECT {HIT}, 0.0 AS score, c.rowid AS rowid FROM {LIVE} WHERE c.org_id = $1 AND c.rowid IN ({})",
            search::placeholders(2, nearest.len()),
            HIT = search::HIT_COLUMNS,
            LIVE = search::LIVE_CHUNKS
        );
        let mut q = sqlx::query(&sql).bind(t.org_id());
        for (_, rowid) in &nearest {
            q = q.bind(rowid);
        }
        let found = q.fetch_all(&self.pool).await?;
        let mut by_rowid = std::collections::HashMap::with_capacity(found.len());
        for row in &found {
            use sqlx::Row;
            by_rowid.insert(row.try_get::<i64, _>("rowid")?, row);
        }
        nearest
            .iter()
            .filter_map(|(score, rowid)| by_rowid.get(rowid).map(|row| (*score, *row)))
            .map(|(score, row)| Ok(ChunkHit { score, ..rows::hit(row)? }))
            .collect()
    }

    /// The live chunks of the scope that its filter lets through, for the
    /// vector index to scan only those.
    async fn filtered_rowids(&self, t: &Tenant, scope: &SearchScope) -> Result<std::collections::HashSet<i64>> {
        let (filter, filter_binds) = search::filter_sql(&scope.filter, 2 + scope.collection_ids.len());
        let sql = format!(
            "SELECT c.rowid FROM {LIVE} WHERE c.org_id = $1 AND c.embedding IS NOT NULL \
             AND c.collection_id IN ({}){filter}",
            search::placeholders(2, scope.collection_ids.len()),
            LIVE = search::LIVE_CHUNKS
        );
        let mut q = sqlx::query_scalar(&sql).bind(t.org_id());
        for value in scope.collection_ids.iter().chain(&filter_binds) {
            q = q.bind(value);
        }
        Ok(q.fetch_all(&self.pool).await?.into_iter().collect())
    }

    /// Nearest neighbours by reading every stored vector of the scope.
    async fn scan_vectors(&self, t: &Tenant, scope: &SearchScope, embedding: &[f32]) -> Result<Vec<ChunkHit>> {
        use sqlx::Row;
        let (filter, filter_binds) = search::filter_sql(&scope.filter, 2 + scope.collection_ids.len());
        let sql = format!(
            "SELECT {HIT}, 0.0 AS score, c.embedding FROM {LIVE} \
             WHERE c.org_id = $1 AND c.embedding IS NOT NULL AND c.collection_id IN ({}){filter}",
            search::placeholders(2, scope.collection_ids.len()),
            HIT = search::HIT_COLUMNS,
            LIVE = search::chunk_source(scope)
        );
        let mut q = sqlx::query(&sql).bind(t.org_id());
        for value in scope.collection_ids.iter().chain(&filter_binds) {
            q = q.bind(value);
        }
        let found = q.fetch_all(&self.pool).await?;
        let mut scored = Vec::with_capacity(found.len());
        for row in &found {
            let bytes: Vec<u8> = row.try_get("embedding")?;
            let v = embedding_from_bytes(&bytes);
            if v.len() != embedding.len() {
                continue;
            }
            let cosine: f32 = v.iter().zip(embedding).map(|(a, b)| a * b).sum();
            scored.push((f64::from(cosine), row));
        }
        search::top_k(scored, scope.limit as usize)
            .into_iter()
            .map(|(score, row)| Ok(ChunkHit { score, ..rows::hit(row)? }))
            .collect()
    }
}

impl SqliteStore {
    async fn chunk_embeddings_backend(
        &self,
        t: &Tenant,
        chunk_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<f32>>> {
        let sql = search::chunk_embeddings_sql("embedding", chunk_ids.len());
        let mut q = sqlx::query_as::<_, (String, Vec<u8>)>(&sql).bind(t.org_id());
        for id in chunk_ids {
            q = q.bind(id);
        }
        let found = q.fetch_all(&self.pool).await?;
        Ok(found.into_iter().map(|(id, bytes)| (id, embedding_from_bytes(&bytes))).collect())
    }
}

crate::shared::impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite, "");
crate::conversations::impl_conversation_store!(SqliteStore, sqlx::Sqlite);
crate::secrets::impl_secret_store!(SqliteStore, sqlx::Sqlite);
crate::actions::impl_action_store!(SqliteStore, sqlx::Sqlite);
crate::usage::impl_usage_store!(SqliteStore, sqlx::Sqlite);
crate::widget::impl_widget_store!(
    SqliteStore,
    sqlx::Sqlite,
    "CAST(json_extract(details, '$.timings.total') AS REAL)",
    "CAST(json_extract(details, '$.usage.cost_usd') AS REAL)"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_in_wal_with_the_durability_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let full = SqliteStore::open(&dir.path().join("full.db"), SqliteDurability::Full, 2).await.unwrap();
        assert_eq!(full.durability_report().await.unwrap(), ("wal".to_owned(), 2));
        let normal = SqliteStore::open(&dir.path().join("normal.db"), SqliteDurability::Normal, 2).await.unwrap();
        assert_eq!(normal.durability_report().await.unwrap(), ("wal".to_owned(), 1));
    }

    #[tokio::test]
    async fn migrations_are_idempotent_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(SqliteStore::open(&path, SqliteDurability::Full, 1).await.unwrap());
        let again = SqliteStore::open(&path, SqliteDurability::Full, 1).await.unwrap();
        again.ping().await.unwrap();
    }
}
