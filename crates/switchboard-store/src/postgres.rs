//! The PostgreSQL backend, selected by a `postgres://` URL. Stateless server
//! nodes share it; it holds everything the SQLite file holds.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::model::*;
use crate::{Backend, Result, Store, StoreError};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        let store = Self { pool };
        // The migrator takes an advisory lock, so nodes starting together migrate once.
        crate::migrations::migrator(crate::migrations::POSTGRES).await?.run(&store.pool).await?;
        Ok(store)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

crate::shared::impl_store!(PgStore, sqlx::Postgres, Backend::Postgres, " FOR UPDATE SKIP LOCKED");
