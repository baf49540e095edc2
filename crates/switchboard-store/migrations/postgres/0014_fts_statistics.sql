-- BM25 for full-text search. PostgreSQL's ts_rank functions know nothing of
-- how rare a word is in a collection, so the search ranks with BM25 itself:
-- per collection, the number of live chunks and their total length, and per
-- word (lexeme) the number of live chunks holding it. Triggers keep these in
-- step with what search sees (the live version of each document), so every
-- path that publishes, replaces or deletes knowledge maintains them.

-- The length of a text in indexed words (positions), as BM25's document length.
CREATE FUNCTION fts_length(v tsvector) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0)::integer FROM unnest(v) u $$;

-- A generated column cannot read another one (tsv), so this one tokenizes
-- again; the same configuration gives the same words.
ALTER TABLE chunks ADD COLUMN tsv_len integer GENERATED ALWAYS AS (
    fts_length(to_tsvector('english', heading_path)) + fts_length(to_tsvector('english', text))
) STORED;

CREATE TABLE fts_collection_stats (
    collection_id TEXT PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    chunks        BIGINT NOT NULL,
    tokens        BIGINT NOT NULL
);

CREATE TABLE fts_term_stats (
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    term          TEXT NOT NULL,
    org_id        TEXT NOT NULL,
    df            BIGINT NOT NULL,
    PRIMARY KEY (collection_id, term)
);

-- Moves a document's contribution from one version's chunks to another's
-- (either may be NULL: first publication, deletion). The collection's row is
-- locked first, so concurrent publications in one collection take their
-- locks in the same order and never deadlock; words are applied sorted.
-- Taking a contribution away only updates rows, never inserts: a collection
-- being deleted may already have lost its rows.
CREATE FUNCTION fts_stats_shift(p_org TEXT, p_collection TEXT, p_old TEXT, p_new TEXT) RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF p_new IS NOT NULL THEN
        INSERT INTO fts_collection_stats AS s (collection_id, org_id, chunks, tokens)
        SELECT p_collection, p_org,
               count(*) FILTER (WHERE c.version_id = p_new) - count(*) FILTER (WHERE c.version_id = p_old),
               coalesce(sum(c.tsv_len) FILTER (WHERE c.version_id = p_new), 0)
                   - coalesce(sum(c.tsv_len) FILTER (WHERE c.version_id = p_old), 0)
        FROM chunks c WHERE c.version_id IN (p_old, p_new)
        ON CONFLICT (collection_id) DO UPDATE SET chunks = s.chunks + EXCLUDED.chunks, tokens = s.tokens + EXCLUDED.tokens;

        INSERT INTO fts_term_stats AS s (collection_id, term, org_id, df)
        SELECT p_collection, d.term, p_org, d.delta
        FROM (SELECT u.lexeme AS term, sum(CASE WHEN c.version_id = p_new THEN 1 ELSE -1 END) AS delta
              FROM chunks c, unnest(c.tsv) u WHERE c.version_id IN (p_old, p_new) GROUP BY u.lexeme) d
        WHERE d.delta <> 0
        ORDER BY d.term
        ON CONFLICT (collection_id, term) DO UPDATE SET df = s.df + EXCLUDED.df;
    ELSIF p_old IS NOT NULL THEN
        UPDATE fts_collection_stats s SET chunks = s.chunks - x.n, tokens = s.tokens - x.len
        FROM (SELECT count(*) AS n, coalesce(sum(c.tsv_len), 0) AS len FROM chunks c WHERE c.version_id = p_old) x
        WHERE s.collection_id = p_collection;

        UPDATE fts_term_stats s SET df = s.df - x.n
        FROM (SELECT u.lexeme AS term, count(*) AS n FROM chunks c, unnest(c.tsv) u
              WHERE c.version_id = p_old GROUP BY u.lexeme) x
        WHERE s.collection_id = p_collection AND s.term = x.term;
    END IF;
END $$;

-- A document's live version changes (publication, a newer version) ...
CREATE FUNCTION fts_documents_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fts_stats_shift(NEW.org_id, NEW.collection_id, OLD.live_version_id, NEW.live_version_id);
    RETURN NULL;
END $$;
CREATE TRIGGER fts_documents_live AFTER UPDATE OF live_version_id ON documents
    FOR EACH ROW WHEN (OLD.live_version_id IS DISTINCT FROM NEW.live_version_id)
    EXECUTE FUNCTION fts_documents_live();

-- ... or the document goes (before its chunks are cascaded away).
CREATE FUNCTION fts_documents_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fts_stats_shift(OLD.org_id, OLD.collection_id, OLD.live_version_id, NULL);
    RETURN OLD;
END $$;
CREATE TRIGGER fts_documents_gone BEFORE DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION fts_documents_gone();

-- Chunks of a version that is already live written again (a publication
-- retried after it committed): counted like any change to live knowledge.
CREATE FUNCTION fts_live_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r chunks%ROWTYPE;
BEGIN
    IF TG_OP = 'INSERT' THEN r := NEW; ELSE r := OLD; END IF;
    IF NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = r.document_id AND d.live_version_id = r.version_id) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO fts_collection_stats AS s (collection_id, org_id, chunks, tokens)
        VALUES (r.collection_id, r.org_id, 1, r.tsv_len)
        ON CONFLICT (collection_id) DO UPDATE SET chunks = s.chunks + EXCLUDED.chunks, tokens = s.tokens + EXCLUDED.tokens;
        INSERT INTO fts_term_stats AS s (collection_id, term, org_id, df)
        SELECT r.collection_id, u.lexeme, r.org_id, 1 FROM unnest(r.tsv) u ORDER BY u.lexeme
        ON CONFLICT (collection_id, term) DO UPDATE SET df = s.df + EXCLUDED.df;
    ELSE
        UPDATE fts_collection_stats s SET chunks = s.chunks - 1, tokens = s.tokens - r.tsv_len
        WHERE s.collection_id = r.collection_id;
        UPDATE fts_term_stats s SET df = s.df - 1
        WHERE s.collection_id = r.collection_id AND s.term IN (SELECT u.lexeme FROM unnest(r.tsv) u);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER fts_live_chunks AFTER INSERT OR DELETE ON chunks
    FOR EACH ROW EXECUTE FUNCTION fts_live_chunks();

-- What is live already.
INSERT INTO fts_collection_stats (collection_id, org_id, chunks, tokens)
SELECT c.collection_id, min(c.org_id), count(*), coalesce(sum(c.tsv_len), 0)
FROM chunks c JOIN documents d ON d.id = c.document_id AND d.live_version_id = c.version_id
GROUP BY c.collection_id;

INSERT INTO fts_term_stats (collection_id, term, org_id, df)
SELECT c.collection_id, u.lexeme, min(c.org_id), count(*)
FROM chunks c JOIN documents d ON d.id = c.document_id AND d.live_version_id = c.version_id, unnest(c.tsv) u
GROUP BY c.collection_id, u.lexeme;
