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

crate::shared::impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite);
