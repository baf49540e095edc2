-- Nothing to do on PostgreSQL: its vectors are searched by pgvector's HNSW
-- index in the database. (The SQLite backend's migration 7 adds the stamps its
-- in-process vector index needs; the numbers are kept in step.)
SELECT 1;
