-- Document metadata: a flat map of string keys to string values given at
-- upload (crawled pages take their crawl source's). `documents.metadata` is the
-- JSON object as the latest upload gave it, for reading back; the rows of
-- `document_metadata` are the same pairs, one per key, for search filters (a
-- filter is one correlated lookup per key on the primary key).

ALTER TABLE documents ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE crawl_sources ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

CREATE TABLE document_metadata (
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    value       TEXT NOT NULL,
    PRIMARY KEY (document_id, key)
);
