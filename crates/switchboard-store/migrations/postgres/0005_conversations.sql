-- Agents with immutable versions, contacts, conversations with an ownership
-- state machine (every transition kept), messages with everything a turn
-- produced, and the human escalation queue. JSON documents are stored as text.

CREATE TABLE agents (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    live_version_id TEXT,            -- the version new conversations are served by
    latest_version  INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX agents_org ON agents (org_id, id);

CREATE TABLE agent_versions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    agent_id    TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    config      TEXT NOT NULL,       -- the agent's whole configuration (JSON), never changed
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    released_at BIGINT,              -- first time it went live
    released_by TEXT,
    UNIQUE (agent_id, version)
);

-- The knowledge a version was released with: the document versions live at
-- that moment. A pinned agent answers from exactly these.
CREATE TABLE agent_version_knowledge (
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    agent_version_id    TEXT NOT NULL REFERENCES agent_versions(id) ON DELETE CASCADE,
    document_version_id TEXT NOT NULL REFERENCES document_versions(id) ON DELETE CASCADE,
    PRIMARY KEY (agent_version_id, document_version_id)
);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    external_id TEXT,
    name        TEXT,
    email       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (org_id, external_id)
);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    agent_id         TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    agent_version_id TEXT NOT NULL REFERENCES agent_versions(id),
    contact_id       TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    status           TEXT NOT NULL CHECK (status IN ('ai', 'pending_human', 'human', 'resolved')),
    assignee_id      TEXT,
    language         TEXT,
    last_outcome     TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX conversations_org ON conversations (org_id, id);

CREATE TABLE conversation_events (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    reason          TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX conversation_events_conv ON conversation_events (conversation_id, id);

CREATE TABLE messages (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role             TEXT NOT NULL CHECK (role IN ('customer', 'assistant', 'human', 'system')),
    text             TEXT NOT NULL,  -- as stored: PII redacted
    author_id        TEXT,
    agent_version_id TEXT,
    outcome          TEXT CHECK (outcome IN ('answered', 'abstained', 'escalated', 'refused', 'draft')),
    confidence       DOUBLE PRECISION,
    details          TEXT NOT NULL,  -- JSON: citations, usage, timings, guard verdicts, route, tool calls
    created_at       BIGINT NOT NULL
);
CREATE INDEX messages_conv ON messages (conversation_id, id);

CREATE TABLE escalations (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    reason          TEXT NOT NULL,
    priority        TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status          TEXT NOT NULL CHECK (status IN ('open', 'taken', 'closed')),
    taken_by        TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX escalations_org ON escalations (org_id, status, id);
