-- Nothing to do on SQLite: FTS5 keeps BM25's statistics itself. (PostgreSQL's
-- migration 14 adds them for its full-text search; the numbers are kept in step.)
SELECT 1;
