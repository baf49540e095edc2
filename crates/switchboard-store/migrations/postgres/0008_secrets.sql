-- Tenant secrets: values an organization gives us to use on its behalf (an LLM
-- provider's API key, a header for one of its HTTP tools). The value is sealed
-- with the server's key and bound to its row; it is never returned.

CREATE TABLE tenant_secrets (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      BYTEA NOT NULL,  -- sealed (encrypted with the server's key)
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
