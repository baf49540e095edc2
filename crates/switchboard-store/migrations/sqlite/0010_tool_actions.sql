-- What agents' tools leave behind: calls of tools marked as having side
-- effects wait here for a person's approval (the call runs only when it is
-- approved, at most once), and tickets the assistant files with create_ticket.

CREATE TABLE tool_approvals (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_version_id TEXT NOT NULL REFERENCES agent_versions(id),
    tool             TEXT NOT NULL,
    arguments        TEXT NOT NULL,   -- JSON object, as validated against the tool's schema
    status           TEXT NOT NULL,   -- pending | denied | approved | succeeded | failed
    result           TEXT,            -- what the call returned (capped), or why it failed or was denied
    requested_at     BIGINT NOT NULL,
    decided_by       TEXT,
    decided_at       BIGINT,
    finished_at      BIGINT
);
CREATE INDEX tool_approvals_org ON tool_approvals (org_id, status, id);
CREATE INDEX tool_approvals_conversation ON tool_approvals (conversation_id);

CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
    subject         TEXT NOT NULL,
    description     TEXT NOT NULL,
    priority        TEXT NOT NULL,    -- low | normal | high | urgent
    status          TEXT NOT NULL,    -- open | closed
    created_by      TEXT NOT NULL,    -- `assistant`, or the user or API key
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX tickets_org ON tickets (org_id, status, id);
