#!/usr/bin/env python3
"""Grows a collection to a target number of live chunks for the query-latency
benchmark, by copying its live documents, versions and chunks (text, heading
path, vector) under new ids, in SQL, on SQLite or PostgreSQL.

Embedding 100,000 fresh chunks would take the bench half an hour of model
time that says nothing about search; copies give the indexes the same sizes
(postings per term, rows scanned, graph nodes). On PostgreSQL each copied
vector is nudged by noise of +-0.01 per component so HNSW indexes distinct
points; the SQLite index scans every vector exactly, so copies cost the same as
distinct vectors there.

Copy r of a document gets the ids `ID-rR` and the source key `KEY#rR`;
copies made for an earlier, smaller target are kept and found by their tags.

PostgreSQL keeps BM25 statistics per collection (migration 14): triggers count
every chunk that becomes live. Fired once per copied chunk inside one
transaction they update the same statistics rows ~100,000 times each, every
update leaving a row version the next one has to step over, and growing never
finishes. So the copies are made in one transaction with the per-chunk trigger
(`fts_live_chunks`) disabled, and the collection's statistics are then counted
again from its live chunks, the way the migration's backfill does;
`fts_documents_live` fires on updates of a document's live version only, and
the copies are inserted live. Before printing, the statistics are checked
against a recount of the live chunks, and any difference fails the run.

Usage: grow.py sqlite DB_PATH COLLECTION_ID TARGET_CHUNKS
       grow.py postgres URL COLLECTION_ID TARGET_CHUNKS      (runs psql)
Prints the live chunk count reached.
"""
import subprocess
import sys

LIVE = "chunks c JOIN documents d ON d.id = c.document_id AND d.live_version_id = c.version_id"


def originals(collection):
    return f"d.collection_id = '{collection}' AND d.source_key NOT LIKE '%#r%'"


def statements(backend, collection, copy):
    tag = f"-r{copy}"
    mine = originals(collection)
    vector = (
        "(SELECT array_agg(x + ((random() - 0.5) * 0.02)::real ORDER BY o) "
        "FROM unnest(c.embedding::real[]) WITH ORDINALITY AS u(x, o))::vector"
        if backend == "postgres" else "c.embedding"
    )
    dim_col = ", embedding_dim" if backend == "postgres" else ""
    dim_val = ", c.embedding_dim" if backend == "postgres" else ""
    return [
        f"""INSERT INTO documents (id, org_id, collection_id, source_key, source_kind, title, url, status, error,
                latest_version, live_version_id, chunk_count, content_hash, created_at, updated_at)
            SELECT d.id || '{tag}', d.org_id, d.collection_id, d.source_key || '#r{copy}', d.source_kind, d.title, d.url,
                d.status, d.error, d.latest_version, d.live_version_id || '{tag}', d.chunk_count, d.content_hash,
                d.created_at, d.updated_at
            FROM documents d WHERE {mine} AND d.live_version_id IS NOT NULL""",
        f"""INSERT INTO document_versions (id, org_id, document_id, version, status, error, content_hash, media_type,
                byte_size, content, chunk_count, created_at, updated_at)
            SELECT v.id || '{tag}', v.org_id, v.document_id || '{tag}', v.version, v.status, v.error, v.content_hash,
                v.media_type, v.byte_size, v.content, v.chunk_count, v.created_at, v.updated_at
            FROM document_versions v JOIN documents d ON d.live_version_id = v.id WHERE {mine}""",
        f"""INSERT INTO chunks (id, org_id, collection_id, document_id, version_id, ordinal, heading_path, page, text,
                content_hash, token_count, embedding{dim_col})
            SELECT c.id || '{tag}', c.org_id, c.collection_id, c.document_id || '{tag}', c.version_id || '{tag}',
                c.ordinal, c.heading_path, c.page, c.text, c.content_hash, c.token_count, {vector}{dim_val}
            FROM {LIVE} WHERE {mine}""",
    ]


def postgres_recount(collection):
    """The collection's BM25 statistics counted again from its live chunks (migration 14's backfill, for one collection)."""
    return [
        f"DELETE FROM fts_term_stats WHERE collection_id = '{collection}'",
        f"DELETE FROM fts_collection_stats WHERE collection_id = '{collection}'",
        f"""INSERT INTO fts_collection_stats (collection_id, org_id, chunks, tokens)
            SELECT c.collection_id, min(c.org_id), count(*), coalesce(sum(c.tsv_len), 0)
            FROM {LIVE} WHERE c.collection_id = '{collection}' GROUP BY c.collection_id""",
        f"""INSERT INTO fts_term_stats (collection_id, term, org_id, df)
            SELECT c.collection_id, u.lexeme, min(c.org_id), count(*)
            FROM {LIVE}, unnest(c.tsv) u WHERE c.collection_id = '{collection}'
            GROUP BY c.collection_id, u.lexeme""",
    ]


def postgres_drift(collection):
    """Rows where the BM25 statistics and a recount of the live chunks differ (as the store's tests count)."""
    return f"""WITH live AS (SELECT c.* FROM {LIVE} WHERE c.collection_id = '{collection}'),
            truth AS (SELECT u.lexeme AS term, count(*) AS df FROM live, unnest(live.tsv) u GROUP BY u.lexeme)
        SELECT coalesce(t.term, f.term) || ': counted ' || coalesce(f.df, 0) || ', live ' || coalesce(t.df, 0)
        FROM truth t FULL JOIN (SELECT term, df FROM fts_term_stats WHERE collection_id = '{collection}' AND df <> 0) f
            ON f.term = t.term
        WHERE coalesce(f.df, 0) <> coalesce(t.df, 0)
        UNION ALL
        SELECT 'collection: counted ' || coalesce(max(s.chunks), 0) || '/' || coalesce(max(s.tokens), 0)
               || ', live ' || (SELECT count(*) FROM live) || '/' || (SELECT coalesce(sum(tsv_len), 0) FROM live)
        FROM fts_collection_stats s WHERE s.collection_id = '{collection}'
        HAVING coalesce(max(s.chunks), 0) <> (SELECT count(*) FROM live)
            OR coalesce(max(s.tokens), 0) <> (SELECT coalesce(sum(tsv_len), 0) FROM live)"""


def main():
    backend, where, collection, target = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if backend == "sqlite":
        import sqlite3
        db = sqlite3.connect(where, timeout=60)
        query = lambda sql: [row[0] for row in db.execute(sql).fetchall()]

        def run(sqls):
            with db:
                for sql in sqls:
                    db.execute(sql)
    elif backend == "postgres":
        def psql(sql):
            out = subprocess.run(["psql", where, "-XqAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                 check=True, capture_output=True, text=True).stdout
            return out.splitlines()
        query = psql

        def run(sqls):
            psql("BEGIN; " + "; ".join(sqls) + "; COMMIT;")
    else:
        sys.exit(f"unknown backend {backend}")

    base = int(query(f"SELECT count(*) FROM {LIVE} WHERE {originals(collection)}")[0])
    if base == 0:
        sys.exit(f"collection {collection} has no live chunks")
    tag = ("substring(source_key FROM '#r([0-9]+)$')" if backend == "postgres"
           else "substr(source_key, instr(source_key, '#r') + 2)")
    made = {int(r) for r in query(
        f"SELECT DISTINCT {tag} FROM documents WHERE collection_id = '{collection}' AND source_key LIKE '%#r%'")}
    # The originals and copies 1..n together reach the target.
    n = -(-target // base) - 1
    missing = [r for r in range(1, n + 1) if r not in made]
    sqls = [sql for r in missing for sql in statements(backend, collection, r)]
    if sqls and backend == "postgres":
        sqls = (["ALTER TABLE chunks DISABLE TRIGGER fts_live_chunks"] + sqls
                + ["ALTER TABLE chunks ENABLE TRIGGER fts_live_chunks"] + postgres_recount(collection))
    if sqls:
        run(sqls)
    if backend == "postgres":
        drift = query(postgres_drift(collection))
        if drift:
            sys.exit(f"BM25 statistics of {collection} differ from a recount of its live chunks:\n" + "\n".join(drift[:20]))
        print(f"BM25 statistics of {collection} equal a recount of its live chunks", file=sys.stderr)
    print(query(f"SELECT count(*) FROM {LIVE} WHERE c.collection_id = '{collection}'")[0])


if __name__ == "__main__":
    main()
