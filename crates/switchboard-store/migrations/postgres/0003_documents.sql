-- Documents, their versions (the raw upload kept with each) and chunks, with
-- full-text search (tsvector + GIN) and vectors (pgvector, HNSW per dimension).

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE documents (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    collection_id   TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    source_key      TEXT NOT NULL,
    source_kind     TEXT NOT NULL CHECK (source_kind IN ('file', 'text', 'faq', 'url')),
    title           TEXT NOT NULL,
    url             TEXT,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
    error           TEXT,
    latest_version  INTEGER NOT NULL,
    live_version_id TEXT,
    chunk_count     INTEGER NOT NULL DEFAULT 0,
    content_hash    TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (collection_id, source_key)
);
CREATE INDEX documents_collection ON documents (org_id, collection_id, id);

CREATE TABLE document_versions (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    document_id  TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
    error        TEXT,
    content_hash TEXT NOT NULL,
    media_type   TEXT,
    byte_size    BIGINT NOT NULL,
    content      BYTEA NOT NULL,
    chunk_count  INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (document_id, version)
);

CREATE TABLE chunks (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    version_id    TEXT NOT NULL REFERENCES document_versions(id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    heading_path  TEXT NOT NULL,
    page          INTEGER,
    text          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    token_count   INTEGER NOT NULL,
    embedding     vector,
    embedding_dim INTEGER,
    tsv           tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', heading_path), 'A') || to_tsvector('english', text)
    ) STORED,
    UNIQUE (version_id, ordinal)
);
CREATE INDEX chunks_version ON chunks (version_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
-- HNSW needs a fixed dimension: one partial index per model dimension in use.
CREATE INDEX chunks_embedding_384 ON chunks USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE embedding_dim = 384;
