//! Switchboard's storage: one [`Store`] interface with two real backends,
//! SQLite (the default, a file in the data dir) and PostgreSQL (selected by a
//! `postgres://` URL). Both run the same embedded migrations and the same story
//! tests.
//!
//! Invariants:
//! - every tenant-owned read or write takes a [`Tenant`] first; the only calls
//!   without one are the credential look-ups that *produce* a tenant;
//! - every mutation of tenant data made on a person's behalf takes an [`AuditCtx`]
//!   and writes its audit entry in the same transaction as the change (jobs are
//!   machinery, not tenant data, and are not audited).

mod actions;
mod changes;
mod conversations;
mod crawl_model;
mod crawl_sql;
mod error;
mod metadata;
mod migrations;
pub mod model;
mod postgres;
mod search;
mod secrets;
mod shared;
mod sqlite;
mod usage;
mod vector_index;
mod widget;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

pub use actions::{ActionStore, ApprovalStatus, NewTicket, NewToolApproval, Ticket, ToolApproval};
pub use changes::{ChangeKind, ConversationChange};
pub use conversations::*;
pub use crawl_model::*;
pub use error::StoreError;
pub use metadata::*;
pub use model::*;
pub use postgres::PgStore;
pub use secrets::{NewTenantSecret, SecretStore, TenantSecret};
pub use sqlite::{SqliteDurability, SqliteStore};
pub use usage::{TokenUsage, UsageStore};
pub use widget::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[async_trait]
pub trait Store:
    ConversationStore + WidgetStore + SecretStore + UsageStore + ActionStore + Send + Sync + 'static
{
    fn backend(&self) -> Backend;

    /// Cheap round trip to the database, for readiness.
    async fn ping(&self) -> Result<()>;

    // ---- organizations ----

    /// Creates an organization with its owner (a new user, or the existing user
    /// with that email) and the owner's first API key, in one transaction.
    async fn bootstrap_org(&self, req: BootstrapOrg) -> Result<(Org, User, ApiKey)>;
    /// Operator look-up for the command-line tools on a data dir: the oldest
    /// organizations first. Not tenant-scoped: it is how a tool finds a tenant.
    async fn first_orgs(&self, limit: u32) -> Result<Vec<Org>>;
    async fn get_org(&self, t: &Tenant) -> Result<Org>;
    async fn rename_org(&self, t: &Tenant, a: &AuditCtx, name: &str) -> Result<Org>;
    async fn get_billing(&self, t: &Tenant) -> Result<Billing>;
    async fn update_billing(&self, t: &Tenant, a: &AuditCtx, billing: &Billing) -> Result<Billing>;

    // ---- users and memberships ----

    /// Credential look-up for login: not tenant-scoped, it yields the tenants.
    async fn find_user_credentials(&self, email: &str) -> Result<Option<UserCredentials>>;
    async fn memberships_of(&self, user_id: &str) -> Result<Vec<Membership>>;
    async fn list_members(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Member>>;
    async fn get_member(&self, t: &Tenant, user_id: &str) -> Result<Member>;
    /// Adds a member, creating the user when the email is new.
    async fn add_member(&self, t: &Tenant, a: &AuditCtx, new: &NewMember) -> Result<Member>;
    async fn set_member_role(&self, t: &Tenant, a: &AuditCtx, user_id: &str, role: Role) -> Result<Member>;
    /// Removes the membership and ends the user's sessions in this organization.
    async fn remove_member(&self, t: &Tenant, a: &AuditCtx, user_id: &str) -> Result<()>;

    // ---- API keys ----

    async fn create_api_key(&self, t: &Tenant, a: &AuditCtx, new: &NewApiKey) -> Result<ApiKey>;
    async fn list_api_keys(&self, t: &Tenant, page: &PageRequest) -> Result<Page<ApiKey>>;
    async fn get_api_key(&self, t: &Tenant, id: &str) -> Result<ApiKey>;
    async fn revoke_api_key(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<ApiKey>;
    /// Credential look-up: the live (not revoked) key with this hash.
    async fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    async fn touch_api_key(&self, t: &Tenant, id: &str, at: Millis) -> Result<()>;

    // ---- browser sessions ----

    /// Starts a session; audited as `session.login` in the session's organization.
    async fn create_session(&self, a: &AuditCtx, new: &NewSession) -> Result<()>;
    /// Credential look-up: the unexpired session with this token hash, with a live membership.
    async fn find_session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    // ---- audit log ----

    async fn list_audit(&self, t: &Tenant, page: &PageRequest) -> Result<Page<AuditEntry>>;

    // ---- idempotency ----

    async fn idempotency_begin(&self, t: &Tenant, scope: &IdempotencyScope, now: Millis) -> Result<IdempotencyBegin>;
    async fn idempotency_complete(&self, t: &Tenant, scope: &IdempotencyScope, response: &StoredResponse)
    -> Result<()>;
    /// Forgets an in-flight key so that the request may be retried with it.
    async fn idempotency_abort(&self, t: &Tenant, scope: &IdempotencyScope) -> Result<()>;
    /// Deletes keys created before `before`; returns how many.
    async fn idempotency_purge(&self, before: Millis) -> Result<u64>;

    // ---- knowledge collections ----

    async fn create_collection(&self, t: &Tenant, a: &AuditCtx, new: &NewCollection) -> Result<Collection>;
    async fn list_collections(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Collection>>;
    async fn get_collection(&self, t: &Tenant, id: &str) -> Result<Collection>;
    async fn update_collection(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        id: &str,
        patch: &CollectionPatch,
    ) -> Result<Collection>;
    async fn delete_collection(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()>;

    // ---- background jobs ----

    async fn enqueue_job(&self, t: &Tenant, new: &NewJob) -> Result<Job>;
    async fn get_job(&self, t: &Tenant, id: &str) -> Result<Job>;
    /// Claims the next due job for `worker` with a lease until `now + lease_ms`.
    /// Due: queued and `run_after <= now`, or running with an expired lease
    /// (its worker died). Jobs that used up their attempts that way are failed
    /// instead. Not tenant-scoped: workers serve every tenant.
    async fn claim_job(&self, worker: &str, now: Millis, lease_ms: i64) -> Result<Option<Job>>;
    /// Claims this tenant's job `id` if it is due (as [`Store::claim_job`] would
    /// take it); `None` when it is not (done, held by a live lease, or waiting
    /// for its retry time). The command-line tools run their own jobs this way.
    async fn claim_job_by_id(
        &self,
        t: &Tenant,
        id: &str,
        worker: &str,
        now: Millis,
        lease_ms: i64,
    ) -> Result<Option<Job>>;
    /// Extends a held lease; false when the lease was lost (expired and re-claimed).
    async fn renew_job_lease(&self, job: &Job, until: Millis) -> Result<bool>;
    /// Marks a held job succeeded; false when the lease was lost.
    async fn complete_job(&self, job: &Job) -> Result<bool>;
    /// Records a failure of a held job: queued again at `retry_at`, or failed
    /// for good when `retry_at` is `None`. False when the lease was lost.
    async fn fail_job(&self, job: &Job, error: &str, retry_at: Option<Millis>) -> Result<bool>;

    // ---- documents ----

    /// Records an upload as the next version of its source (by `source_key`)
    /// and queues its ingestion job in the same transaction, so a document is
    /// never queued without work to do. An upload identical to the latest
    /// version that did not fail queues nothing.
    async fn add_document_version(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        collection_id: &str,
        new: &NewDocumentVersion,
        job_max_attempts: i32,
    ) -> Result<AddedDocument>;
    async fn get_document(&self, t: &Tenant, id: &str) -> Result<Document>;
    async fn list_documents(&self, t: &Tenant, collection_id: &str, page: &PageRequest) -> Result<Page<Document>>;
    /// Deletes the document with every version, chunk, vector and stored file.
    async fn delete_document(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()>;
    async fn version_to_ingest(&self, t: &Tenant, version_id: &str) -> Result<VersionToIngest>;
    async fn set_version_processing(&self, t: &Tenant, version_id: &str) -> Result<()>;
    /// Replaces the version's chunks (a retried job never duplicates them) and,
    /// if it is newer than the live one, makes it live, all in one transaction.
    ///
    /// `embedded_with` names the model the chunks' vectors come from; vectors
    /// are stored only if it is still the collection's model (one that changed
    /// while they were computed leaves the chunks without, and queues an
    /// `embed` job for them).
    async fn publish_version(
        &self,
        t: &Tenant,
        version_id: &str,
        chunks: &[NewChunk],
        embedded_with: Option<&str>,
    ) -> Result<Document>;
    async fn fail_version(&self, t: &Tenant, version_id: &str, error: &str) -> Result<()>;
    async fn count_chunks(&self, t: &Tenant, document_id: &str) -> Result<i64>;

    // ---- web crawls ----

    /// Adds a crawl source for `new.start_url` to the collection (or updates
    /// the caps and interval of the one there), makes the start page's
    /// document, and queues a run unless one is queued or running: one
    /// transaction.
    async fn add_crawl_source(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        collection_id: &str,
        new: &NewCrawlSource,
        job_max_attempts: i32,
    ) -> Result<AddedCrawl>;
    async fn get_crawl_source(&self, t: &Tenant, id: &str) -> Result<CrawlSource>;
    /// The start URLs of the crawl sources of these collections, each once (a crawl stays on
    /// its start URL's host, so these name the web sites the collections hold).
    async fn crawl_start_urls(&self, t: &Tenant, collection_ids: &[String]) -> Result<Vec<String>>;
    /// Queues a run now unless one is queued or running.
    async fn start_crawl(&self, t: &Tenant, a: &AuditCtx, id: &str, job_max_attempts: i32) -> Result<CrawlSource>;
    /// Maintenance: queues a run for every source whose re-crawl time has come
    /// (and frees sources whose job ended without finishing its run). Not
    /// tenant-scoped, like `claim_job`. Returns how many runs were queued.
    async fn start_due_crawls(&self, now: Millis, job_max_attempts: i32) -> Result<u64>;
    /// The crawl job's first step: marks the run crawling and its start time
    /// (kept across restarts, the time budget counts from it). `NotFound` when
    /// that run is over.
    async fn begin_crawl_run(&self, t: &Tenant, id: &str, run: i32) -> Result<CrawlSource>;
    /// Adds URLs (from sitemaps) to the run's frontier within the page cap.
    async fn queue_crawl_pages(&self, t: &Tenant, id: &str, run: i32, urls: &[String], depth: i32) -> Result<usize>;
    /// The run's next pending pages, shallowest first.
    async fn crawl_frontier(&self, t: &Tenant, id: &str, run: i32, limit: u32) -> Result<Vec<CrawlPage>>;
    /// Records one page in one transaction: its document version (through the
    /// same dedupe as uploads), its state, its redirect aliases and the links it
    /// adds to the frontier.
    async fn record_crawl_page(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        id: &str,
        run: i32,
        page: &CrawledPage,
        job_max_attempts: i32,
    ) -> Result<RecordedPage>;
    /// Ends the run: removes the documents of pages that are gone, skipped, or
    /// (when the run was `complete` and not truncated) no longer reached, and
    /// schedules the next run.
    async fn finish_crawl_run(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        id: &str,
        run: i32,
        complete: bool,
        error: Option<&str>,
    ) -> Result<FinishedCrawl>;

    // ---- search (live versions only) ----

    /// Full-text search, best first.
    async fn search_text(&self, t: &Tenant, scope: &SearchScope, query: &str) -> Result<Vec<ChunkHit>>;
    /// Nearest chunks by cosine similarity, best first.
    async fn search_vector(&self, t: &Tenant, scope: &SearchScope, embedding: &[f32]) -> Result<Vec<ChunkHit>>;
    /// The stored vectors of these chunks (those that have one), by chunk id.
    async fn chunk_embeddings(&self, t: &Tenant, chunk_ids: &[String]) -> Result<HashMap<String, Vec<f32>>>;

    // ---- vectors computed apart from ingestion ----

    /// The embedding model of each of these collections of the tenant (those that exist), in order.
    async fn collection_embeddings(&self, t: &Tenant, collection_ids: &[String]) -> Result<Vec<CollectionEmbedding>>;
    /// Queues an `embed` job for every collection on the local model (any
    /// tenant) that has chunks without a vector and no such job waiting:
    /// knowledge ingested while the model was not loaded gets its vectors once
    /// it is. How many were queued.
    async fn queue_missing_vectors(&self, model: &str, job_max_attempts: i32) -> Result<u64>;
    /// Makes vectors of `dim` dimensions searchable by an index (PostgreSQL:
    /// an HNSW index for that dimension, built without blocking writes; SQLite's
    /// in-process index needs nothing). Idempotent; call before storing vectors
    /// of a dimension that may be new.
    async fn prepare_vector_index(&self, dim: i32) -> Result<()>;
    /// Up to `limit` chunks of the collection (any version) without a vector.
    async fn chunks_without_vectors(&self, t: &Tenant, collection_id: &str, limit: u32) -> Result<Vec<ChunkToEmbed>>;
    /// Stores vectors from `model` for chunks that have none; `None` (nothing
    /// written) when `model` is no longer the collection's. Otherwise how many
    /// were written (a chunk deleted meanwhile, or given a vector by its
    /// ingestion, is skipped).
    async fn store_chunk_vectors(
        &self,
        t: &Tenant,
        collection_id: &str,
        model: &str,
        vectors: &[(String, Vec<f32>)],
    ) -> Result<Option<u64>>;
}

/// Opens the store a URL names: `postgres://…` or `postgresql://…` selects
/// PostgreSQL, `sqlite://PATH` or a plain path selects SQLite. Runs migrations.
pub async fn open(url: &str, max_connections: u32, durability: SqliteDurability) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, max_connections).await?))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(Arc::new(SqliteStore::open(path.as_ref(), durability, max_connections).await?))
    }
}
