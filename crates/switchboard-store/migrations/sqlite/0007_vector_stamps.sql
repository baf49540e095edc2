-- The in-process vector index (src/vector_index.rs) keeps each collection's
-- live vectors in memory. A collection's stamp changes whenever the set of its
-- live chunks may have changed (chunks written or removed, a document's live
-- version switched or the document removed), whichever process wrote it; the
-- index compares stamps before every search and reloads what is stale.
CREATE TABLE vector_stamps (
    collection_id TEXT PRIMARY KEY,
    stamp         INTEGER NOT NULL
);

CREATE TRIGGER vector_stamps_chunk_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO vector_stamps (collection_id, stamp) VALUES (new.collection_id, 1)
    ON CONFLICT (collection_id) DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER vector_stamps_chunk_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO vector_stamps (collection_id, stamp) VALUES (old.collection_id, 1)
    ON CONFLICT (collection_id) DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER vector_stamps_chunk_update AFTER UPDATE OF embedding ON chunks BEGIN
    INSERT INTO vector_stamps (collection_id, stamp) VALUES (new.collection_id, 1)
    ON CONFLICT (collection_id) DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER vector_stamps_live_version AFTER UPDATE OF live_version_id ON documents BEGIN
    INSERT INTO vector_stamps (collection_id, stamp) VALUES (new.collection_id, 1)
    ON CONFLICT (collection_id) DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER vector_stamps_document_delete AFTER DELETE ON documents BEGIN
    INSERT INTO vector_stamps (collection_id, stamp) VALUES (old.collection_id, 1)
    ON CONFLICT (collection_id) DO UPDATE SET stamp = stamp + 1;
END;
