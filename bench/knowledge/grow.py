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

Usage: grow.py sqlite DB_PATH COLLECTION_ID TARGET_CHUNKS
       grow.py postgres URL COLLECTION_ID TARGET_CHUNKS      (runs psql)
Prints the live chunk count reached.
"""
import subprocess
import sys

LIVE = "chunks c JOIN documents d ON d.id = c.document_id AND d.live_version_id = c.version_id"


def statements(backend, collection, copy):
    tag = f"-r{copy}"
    originals = f"d.collection_id = '{collection}' AND d.source_key NOT LIKE '%#r%'"
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
            FROM documents d WHERE {originals} AND d.live_version_id IS NOT NULL""",
        f"""INSERT INTO document_versions (id, org_id, document_id, version, status, error, content_hash, media_type,
                byte_size, content, chunk_count, created_at, updated_at)
            SELECT v.id || '{tag}', v.org_id, v.document_id || '{tag}', v.version, v.status, v.error, v.content_hash,
                v.media_type, v.byte_size, v.content, v.chunk_count, v.created_at, v.updated_at
            FROM document_versions v JOIN documents d ON d.live_version_id = v.id WHERE {originals}""",
        f"""INSERT INTO chunks (id, org_id, collection_id, document_id, version_id, ordinal, heading_path, page, text,
                content_hash, token_count, embedding{dim_col})
            SELECT c.id || '{tag}', c.org_id, c.collection_id, c.document_id || '{tag}', c.version_id || '{tag}',
                c.ordinal, c.heading_path, c.page, c.text, c.content_hash, c.token_count, {vector}{dim_val}
            FROM {LIVE} WHERE {originals}""",
    ]


def count_sql(collection):
    return f"SELECT count(*) FROM {LIVE} WHERE c.collection_id = '{collection}'"


def main():
    backend, where, collection, target = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if backend == "sqlite":
        import sqlite3
        db = sqlite3.connect(where, timeout=60)
        count = lambda: db.execute(count_sql(collection)).fetchone()[0]

        def run(sqls):
            with db:
                for sql in sqls:
                    db.execute(sql)
    else:
        def psql(sql):
            return subprocess.run(["psql", where, "-XqAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                  check=True, capture_output=True, text=True).stdout.strip()
        count = lambda: int(psql(count_sql(collection)))

        def run(sqls):
            psql("BEGIN; " + "; ".join(sqls) + "; COMMIT;")
    base = count()
    if base == 0:
        sys.exit(f"collection {collection} has no live chunks")
    # Copies already made (for an earlier, smaller target) are found by their tags.
    copy, have = 1, base
    while have < target:
        if not copy_exists(backend, where, collection, copy):
            run(statements(backend, collection, copy))
            have = count()
        copy += 1
    print(have)


def copy_exists(backend, where, collection, copy):
    sql = f"SELECT count(*) FROM documents WHERE collection_id = '{collection}' AND source_key LIKE '%#r{copy}'"
    if backend == "sqlite":
        import sqlite3
        return sqlite3.connect(where).execute(sql).fetchone()[0] > 0
    out = subprocess.run(["psql", where, "-XqAt", "-c", sql], check=True, capture_output=True, text=True).stdout
    return int(out.strip()) > 0


if __name__ == "__main__":
    main()
