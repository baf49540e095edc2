//! Migrations embedded in the binary, one list per backend, run through sqlx's
//! migrator (which records checksums and refuses edited migrations).

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

#[derive(Debug)]
pub(crate) struct Embedded(pub &'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) const SQLITE: Embedded = Embedded(&[
    (1, "foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, "collections and jobs", include_str!("../migrations/sqlite/0002_collections_jobs.sql")),
    (3, "documents and chunks", include_str!("../migrations/sqlite/0003_documents.sql")),
    (4, "web crawls", include_str!("../migrations/sqlite/0004_crawl.sql")),
    (5, "agents and conversations", include_str!("../migrations/sqlite/0005_conversations.sql")),
    (6, "deployments and the widget", include_str!("../migrations/sqlite/0006_widget.sql")),
    (7, "vector index stamps", include_str!("../migrations/sqlite/0007_vector_stamps.sql")),
    (8, "tenant secrets", include_str!("../migrations/sqlite/0008_secrets.sql")),
    (9, "token usage", include_str!("../migrations/sqlite/0009_token_usage.sql")),
    (10, "tool approvals and tickets", include_str!("../migrations/sqlite/0010_tool_actions.sql")),
    (11, "visitor token renewal", include_str!("../migrations/sqlite/0011_visitor_renewal.sql")),
    (12, "embedding endpoints", include_str!("../migrations/sqlite/0012_embedding_endpoints.sql")),
    (13, "document metadata", include_str!("../migrations/sqlite/0013_document_metadata.sql")),
    (14, "full-text statistics (PostgreSQL only)", include_str!("../migrations/sqlite/0014_fts_statistics.sql")),
]);

pub(crate) const POSTGRES: Embedded = Embedded(&[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "collections and jobs", include_str!("../migrations/postgres/0002_collections_jobs.sql")),
    (3, "documents and chunks", include_str!("../migrations/postgres/0003_documents.sql")),
    (4, "web crawls", include_str!("../migrations/postgres/0004_crawl.sql")),
    (5, "agents and conversations", include_str!("../migrations/postgres/0005_conversations.sql")),
    (6, "deployments and the widget", include_str!("../migrations/postgres/0006_widget.sql")),
    (7, "vector index stamps (SQLite only)", include_str!("../migrations/postgres/0007_vector_stamps.sql")),
    (8, "tenant secrets", include_str!("../migrations/postgres/0008_secrets.sql")),
    (9, "token usage", include_str!("../migrations/postgres/0009_token_usage.sql")),
    (10, "tool approvals and tickets", include_str!("../migrations/postgres/0010_tool_actions.sql")),
    (11, "visitor token renewal", include_str!("../migrations/postgres/0011_visitor_renewal.sql")),
    (12, "embedding endpoints", include_str!("../migrations/postgres/0012_embedding_endpoints.sql")),
    (13, "document metadata", include_str!("../migrations/postgres/0013_document_metadata.sql")),
    (14, "full-text statistics for BM25", include_str!("../migrations/postgres/0014_fts_statistics.sql")),
]);

pub(crate) async fn migrator(source: Embedded) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(source).await
}
