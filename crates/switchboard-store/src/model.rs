//! Domain types the store hands out. They carry no database or wire concerns:
//! the server maps them to its DTOs, each backend maps its rows to them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch. Both backends store times as BIGINT so
/// that ordering and arithmetic behave the same everywhere.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// A new time-ordered identifier (UUIDv7, as text). Time order makes the id a
/// stable cursor for pagination.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The tenant scope every store call takes first. Only the auth layer builds one
/// from a verified credential; nothing reads across tenants without it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(String);

impl Tenant {
    pub fn new(org_id: impl Into<String>) -> Self {
        Self(org_id.into())
    }
    pub fn org_id(&self) -> &str {
        &self.0
    }
}

/// A member's role in an organization, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    /// A human support agent: reads everything, works conversations.
    Agent,
    /// Read-only.
    Analyst,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Agent, Role::Analyst];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Analyst => "analyst",
        }
    }

    /// Rank for "at most as powerful as" comparisons (owner = 0).
    pub fn rank(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// What an API key may do, on top of its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read product data.
    Read,
    /// Change product data (knowledge, agents, conversations).
    Write,
    /// Manage the organization: users, API keys, billing, audit log.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown scope `{s}`"))
    }
}

pub fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

pub fn scopes_from_text(text: &str) -> Vec<Scope> {
    text.split_whitespace().filter_map(|s| s.parse().ok()).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billing {
    pub billing_email: Option<String>,
    /// Tokens the organization may spend on LLM calls per calendar month; `None` = unlimited.
    pub monthly_token_budget: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub created_at: Millis,
}

/// A user with the password hash, for login only.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org: Org,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub org_id: String,
    pub name: String,
    /// The visible start of the key, e.g. `sb_4f9a2c1d`.
    pub prefix: String,
    pub role: Role,
    pub scopes: Vec<Scope>,
    pub created_by: Option<String>,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub prefix: String,
    /// SHA-256 of the whole secret key, hex.
    pub key_hash: String,
    pub role: Role,
    pub scopes: Vec<Scope>,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub org: Org,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie value, hex.
    pub token_hash: String,
    pub user_id: String,
    pub org_id: String,
    pub csrf_token: String,
    pub expires_at: Millis,
}

/// Who did something, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    ApiKey(String),
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ApiKey(_) => "api_key",
            Actor::System => "system",
        }
    }
    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::User(id) | Actor::ApiKey(id) => Some(id),
            Actor::System => None,
        }
    }
    pub fn from_parts(kind: &str, id: Option<String>) -> Self {
        match (kind, id) {
            ("user", Some(id)) => Actor::User(id),
            ("api_key", Some(id)) => Actor::ApiKey(id),
            _ => Actor::System,
        }
    }
}

/// Context every mutation carries so that the store writes its audit entry in
/// the same transaction as the change itself.
#[derive(Debug, Clone)]
pub struct AuditCtx {
    pub actor: Actor,
    pub request_id: String,
}

impl AuditCtx {
    pub fn system(request_id: impl Into<String>) -> Self {
        Self { actor: Actor::System, request_id: request_id.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    pub actor: Actor,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: String,
    pub details: serde_json::Value,
    pub created_at: Millis,
}

/// One page of a list, with the cursor to fetch the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Cursor pagination: items come in id order; `after` is the last id seen.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 100;
    pub const DEFAULT_LIMIT: u32 = 20;

    pub fn new(after: Option<String>, limit: Option<u32>) -> Self {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT).clamp(1, Self::MAX_LIMIT);
        Self { after, limit }
    }

    /// Trim the `limit + 1` rows fetched into a page and its next cursor.
    pub fn finish<T>(&self, mut rows: Vec<T>, id_of: impl Fn(&T) -> &str) -> Page<T> {
        let next_cursor = if rows.len() > self.limit as usize {
            rows.truncate(self.limit as usize);
            rows.last().map(|r| id_of(r).to_owned())
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }
}

/// A response stored for an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new: the caller runs the request and then completes or aborts it.
    Started,
    /// A request with this key is still running.
    InFlight,
    /// The key was used with a different request.
    Mismatch,
    /// The key was used with this very request: replay the stored response.
    Completed(StoredResponse),
}

/// The identity an idempotency key is scoped to, within its tenant.
#[derive(Debug, Clone)]
pub struct IdempotencyScope {
    /// The credential the request came with (API key id or user id).
    pub principal: String,
    pub key: String,
    /// SHA-256 over method, path and body.
    pub request_hash: String,
}

#[derive(Debug, Clone)]
pub struct BootstrapOrg {
    pub org_name: String,
    pub owner_email: String,
    pub owner_name: String,
    pub owner_password_hash: String,
    pub first_key: NewApiKey,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
}

/// A named set of documents an agent answers from. Each collection records the
/// embedding model its vectors come from, so that vectors of different models
/// are never compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: String,
    pub name: String,
    pub description: String,
    pub embedding_model: String,
    pub embedding_dim: i32,
    /// Where the vectors come from when the model is not the local one.
    pub embedding_endpoint: Option<EmbeddingEndpoint>,
    /// Chunks (of any version) without a vector from the collection's model
    /// yet: re-embedding after a model change, or a model that is not loaded.
    pub vectors_pending: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// An OpenAI-compatible Embeddings endpoint a collection's vectors come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingEndpoint {
    /// E.g. `https://api.openai.com/v1`; `/embeddings` is appended.
    pub base_url: String,
    /// The name of the tenant secret holding the API key, if one is sent.
    #[serde(default)]
    pub api_key_secret: Option<String>,
    /// Whether requests carry `dimensions` (a model that can shorten its vectors).
    #[serde(default)]
    pub request_dimensions: bool,
}

#[derive(Debug, Clone)]
pub struct NewCollection {
    pub name: String,
    pub description: String,
    pub embedding_model: String,
    pub embedding_dim: i32,
    pub embedding_endpoint: Option<EmbeddingEndpoint>,
}

#[derive(Debug, Clone, Default)]
pub struct CollectionPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// A new embedding model (or a new endpoint for the same one). A different
    /// model or dimension drops every vector of the collection and queues an
    /// `embed` job that computes them again.
    pub embedding: Option<EmbeddingChoice>,
}

/// A collection's embedding model, its dimension and where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingChoice {
    pub model: String,
    pub dim: i32,
    pub endpoint: Option<EmbeddingEndpoint>,
    /// Attempts of the `embed` job queued if the vectors must be computed again.
    pub job_max_attempts: i32,
}

/// A chunk whose vector is missing, with what is embedded for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkToEmbed {
    pub chunk_id: String,
    /// `Returns > EU`, or empty.
    pub heading_path: String,
    pub text: String,
}

impl ChunkToEmbed {
    /// What ingestion embeds: the heading path, a line break, the text
    /// (`switchboard_ingest::Chunk::contextual_text`), so a re-embedded chunk
    /// gets the vector ingestion would have given it.
    pub fn contextual_text(&self) -> String {
        if self.heading_path.is_empty() { self.text.clone() } else { format!("{}\n{}", self.heading_path, self.text) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed]
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| format!("unknown job status `{s}`"))
    }
}

/// A unit of background work. The tenant travels with the job: a worker
/// serves every tenant, and scopes its store calls with `tenant()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub org_id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    /// How many times a worker has claimed it (a claim by a worker that died counts).
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_after: Millis,
    pub lease_until: Option<Millis>,
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Job {
    pub fn tenant(&self) -> Tenant {
        Tenant::new(self.org_id.clone())
    }
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub max_attempts: i32,
    pub run_after: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Queued,
    Processing,
    Ready,
    Failed,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Queued => "queued",
            DocumentStatus::Processing => "processing",
            DocumentStatus::Ready => "ready",
            DocumentStatus::Failed => "failed",
        }
    }
}

impl FromStr for DocumentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [DocumentStatus::Queued, DocumentStatus::Processing, DocumentStatus::Ready, DocumentStatus::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown document status `{s}`"))
    }
}

/// One source in a collection (a file, a text, an FAQ list, a web page). Each
/// upload of the same source is a new version; `live_version_id` is the one
/// search answers from, switched atomically when a new version is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub collection_id: String,
    pub source_key: String,
    /// `file`, `text`, `faq` or `url`.
    pub source_kind: String,
    pub title: String,
    pub url: Option<String>,
    /// The state of the latest version.
    pub status: DocumentStatus,
    pub error: Option<String>,
    pub latest_version: i32,
    pub live_version_id: Option<String>,
    pub chunk_count: i32,
    pub content_hash: String,
    /// What the latest upload of the source said.
    pub metadata: crate::Metadata,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A new upload of a source.
#[derive(Debug, Clone)]
pub struct NewDocumentVersion {
    pub source_key: String,
    pub source_kind: String,
    pub title: String,
    pub url: Option<String>,
    pub content_hash: String,
    pub media_type: Option<String>,
    pub content: Vec<u8>,
    /// Replaces the document's metadata, also when the content is unchanged.
    pub metadata: crate::Metadata,
}

/// What [`Store::add_document_version`] did.
#[derive(Debug, Clone)]
pub struct AddedDocument {
    pub document: Document,
    /// The version to process, or `None` when the upload was identical to the
    /// latest version (document-level dedupe) and nothing new was queued.
    pub version_id: Option<String>,
    /// The ingestion job queued for that version.
    pub job_id: Option<String>,
}

/// A version with its raw content, for the ingestion worker.
#[derive(Debug, Clone)]
pub struct VersionToIngest {
    pub version_id: String,
    pub version: i32,
    pub document: Document,
    pub media_type: Option<String>,
    pub content: Vec<u8>,
    /// The collection's embedding model at the time it was read.
    pub embedding: CollectionEmbedding,
}

/// The embedding model a collection's vectors come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionEmbedding {
    pub collection_id: String,
    /// `local:all-MiniLM-L6-v2`, or `openai:MODEL` on an endpoint.
    pub model: String,
    pub dim: i32,
    pub endpoint: Option<EmbeddingEndpoint>,
}

#[derive(Debug, Clone)]
pub struct NewChunk {
    pub ordinal: i32,
    /// Headings from the top, e.g. `["Returns", "EU"]`, stored as `Returns > EU`.
    pub heading_path: String,
    pub page: Option<i32>,
    pub text: String,
    pub content_hash: String,
    pub token_count: i32,
    pub embedding: Option<Vec<f32>>,
}

/// A chunk found by search, with the document it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkHit {
    pub chunk_id: String,
    pub document_id: String,
    pub collection_id: String,
    pub title: String,
    pub url: Option<String>,
    pub heading_path: String,
    pub page: Option<i32>,
    pub text: String,
    /// The signal's own score (BM25 relevance, or cosine similarity).
    pub score: f64,
}

/// Where a search looks: collections of one tenant, their live versions.
#[derive(Debug, Clone)]
pub struct SearchScope {
    pub collection_ids: Vec<String>,
    pub limit: u32,
    /// Search the knowledge snapshot this agent version was released with
    /// instead of the live versions.
    pub pinned_to: Option<String>,
    /// Which documents' chunks may be returned (none filtered out when empty).
    pub filter: crate::SearchFilter,
}

pub fn embedding_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn embedding_from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}
