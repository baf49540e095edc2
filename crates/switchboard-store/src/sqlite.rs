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

use crate::model::*;
use crate::{Backend, Result, Store, StoreError};

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
        let pool = SqlitePoolOptions::new().max_connections(max_connections.max(1)).connect_with(options).await?;
        let store = Self { pool };
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

    /// The journal mode and synchronous level in force, for startup checks.
    pub async fn durability_report(&self) -> anyhow::Result<(String, i64)> {
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&self.pool).await?;
        let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(&self.pool).await?;
        Ok((mode, sync))
    }
}

crate::shared::impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite, "");

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
