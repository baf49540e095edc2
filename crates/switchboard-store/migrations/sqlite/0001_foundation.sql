-- Foundation: organizations, users, memberships, API keys, sessions, audit log,
-- idempotency keys. Times are BIGINT milliseconds since the Unix epoch; ids are
-- UUIDv7 text (time-ordered, so they double as pagination cursors).

CREATE TABLE orgs (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    billing_email        TEXT,
    monthly_token_budget BIGINT,
    created_at           BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE, -- stored lower-cased
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,        -- argon2id PHC string
    created_at    BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent', 'analyst')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE, -- SHA-256 of the secret, hex; the secret is never stored
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent', 'analyst')),
    scopes       TEXT NOT NULL,        -- space-separated
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,       -- SHA-256 of the cookie value, hex
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, org_id);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    details     TEXT NOT NULL,         -- JSON
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

CREATE TABLE idempotency_keys (
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
    status       INTEGER,
    content_type TEXT,
    body         BLOB,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
