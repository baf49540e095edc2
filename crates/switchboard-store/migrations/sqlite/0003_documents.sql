-- Documents, their versions (the raw upload kept with each) and chunks, with
-- full-text search through FTS5. Vectors are stored as little-endian f32 blobs
-- and searched in process.

CREATE TABLE documents (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    collection_id   TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    source_key      TEXT NOT NULL,   -- file name, URL, or title: a re-upload of the same source is a new version
    source_kind     TEXT NOT NULL CHECK (source_kind IN ('file', 'text', 'faq', 'url')),
    title           TEXT NOT NULL,
    url             TEXT,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
    error           TEXT,
    latest_version  INTEGER NOT NULL,
    live_version_id TEXT,            -- the version search answers from
    chunk_count     INTEGER NOT NULL DEFAULT 0,
    content_hash    TEXT NOT NULL,   -- of the latest version
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
    content      BLOB NOT NULL,
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
    embedding     BLOB,
    UNIQUE (version_id, ordinal)
);
CREATE INDEX chunks_version ON chunks (version_id);

CREATE VIRTUAL TABLE chunks_fts USING fts5(
    heading_path, text,
    content = 'chunks', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, heading_path, text) VALUES (new.rowid, new.heading_path, new.text);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, heading_path, text) VALUES ('delete', old.rowid, old.heading_path, old.text);
END;
