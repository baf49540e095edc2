-- Web crawl sources. A source is a start URL in a collection, crawled into one
-- document per page (source_key = the page's canonical URL) and re-crawled on
-- its interval. Each crawl is a numbered run; a page row carries the run that
-- last reached it, so the pages a run did not reach are the ones that vanished.

CREATE TABLE crawl_sources (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    collection_id         TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    start_url             TEXT NOT NULL,
    start_document_id     TEXT NOT NULL,
    max_pages             INTEGER NOT NULL,
    max_depth             INTEGER NOT NULL,
    recrawl_interval_secs BIGINT,          -- NULL: crawled when asked only
    status                TEXT NOT NULL CHECK (status IN ('queued', 'crawling', 'idle')),
    run                   INTEGER NOT NULL DEFAULT 0,
    job_id                TEXT,            -- the job of the current run
    run_started_at        BIGINT,          -- the time budget counts from here, across restarts
    run_truncated         INTEGER NOT NULL DEFAULT 0,  -- 1: links were dropped at the page cap
    next_crawl_at         BIGINT,
    last_crawled_at       BIGINT,
    last_error            TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (collection_id, start_url)
);
CREATE INDEX crawl_sources_org ON crawl_sources (org_id, id);
CREATE INDEX crawl_sources_due ON crawl_sources (status, next_crawl_at);

-- The frontier and the record of a run: `pending` pages are still to fetch.
CREATE TABLE crawl_pages (
    source_id  TEXT NOT NULL REFERENCES crawl_sources(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    run        INTEGER NOT NULL,
    depth      INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'indexed', 'unchanged', 'skipped', 'gone', 'failed')),
    detail     TEXT,                       -- why it was skipped or failed
    discovered BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (source_id, url)
);
CREATE INDEX crawl_pages_frontier ON crawl_pages (source_id, run, state, depth, discovered);

-- The source that owns a crawled page's document (the first to reach it).
ALTER TABLE documents ADD COLUMN crawl_source_id TEXT REFERENCES crawl_sources(id) ON DELETE SET NULL;
CREATE INDEX documents_crawl_source ON documents (crawl_source_id);
