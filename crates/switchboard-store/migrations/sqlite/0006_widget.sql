-- Deployments of an agent on websites (the chat widget), the visitors who
-- talk through them, their attachments and satisfaction ratings.

CREATE TABLE deployments (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    agent_id              TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    allowed_origins       TEXT NOT NULL,  -- JSON array of normalised origins
    identity_verification BOOLEAN NOT NULL,
    appearance            TEXT NOT NULL,  -- JSON
    identity_secret       BLOB NOT NULL,  -- sealed (encrypted with the server's key), never returned
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX deployments_org ON deployments (org_id, id);

-- The origins again, one row each, so that a CORS preflight (which carries no
-- credentials) can be answered by one indexed look-up.
CREATE TABLE deployment_origins (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL,
    origin        TEXT NOT NULL,
    PRIMARY KEY (deployment_id, origin)
);
CREATE INDEX deployment_origins_origin ON deployment_origins (origin);

-- A visitor token (stored as its SHA-256) opens one conversation of one deployment.
CREATE TABLE visitors (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    deployment_id   TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    contact_id      TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    verified        BOOLEAN NOT NULL,  -- the contact was identified by a valid user_hash
    created_at      BIGINT NOT NULL
);
CREATE INDEX visitors_contact ON visitors (org_id, deployment_id, contact_id);
CREATE INDEX visitors_conversation ON visitors (conversation_id);

CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_id      TEXT NOT NULL,
    name            TEXT NOT NULL,   -- as the visitor named it, cleaned; never a storage path
    content_type    TEXT NOT NULL,   -- decided from the bytes
    size            BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    content         BLOB NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX attachments_conversation ON attachments (conversation_id, id);

CREATE TABLE csat_ratings (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    rating          INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment         TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX csat_ratings_org ON csat_ratings (org_id, updated_at);

-- The overview charts read assistant messages by time.
CREATE INDEX messages_org_time ON messages (org_id, created_at);
CREATE INDEX conversations_org_time ON conversations (org_id, created_at);
