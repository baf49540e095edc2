-- Knowledge collections and the durable job queue.

CREATE TABLE collections (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    embedding_model TEXT NOT NULL,  -- e.g. local:all-MiniLM-L6-v2
    embedding_dim   INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX collections_org ON collections (org_id, id);

-- Background work (ingestion, re-embedding, re-crawls). A worker claims a due
-- job by taking a lease; a job whose lease ran out (its process died) is due
-- again. `attempts` counts claims, so a job that kills its worker every time
-- still ends `failed` after `max_attempts`.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,         -- JSON
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after    BIGINT NOT NULL,
    lease_until  BIGINT,
    leased_by    TEXT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_after);
CREATE INDEX jobs_org ON jobs (org_id, id);
