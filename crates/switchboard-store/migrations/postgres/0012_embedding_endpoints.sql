-- Collections on a remote embedding model (an OpenAI-compatible Embeddings
-- endpoint): its base URL, the tenant secret with its key, whether requests
-- ask for a dimension. JSON; NULL for the local model.
ALTER TABLE collections ADD COLUMN embedding_endpoint TEXT;

-- Chunks still waiting for a vector from their collection's model (after a
-- model change, or ingested while no model was loaded): what the `embed` job
-- reads, and what a collection counts as `vectors_pending`.
CREATE INDEX chunks_without_vectors ON chunks (collection_id) WHERE embedding IS NULL;
