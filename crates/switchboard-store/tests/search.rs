//! Search stays exact and fresh on both backends. Dense: new versions replace
//! old ones, deleted documents vanish, another tenant's vectors are never
//! returned, and on SQLite a write through another handle on the same file
//! (another process, such as the CLI ingesting while a server runs) is seen by
//! the next search of a handle whose in-process index already holds the
//! collection. Full text: ranked by BM25 (rare words count more, repeats
//! saturate, long chunks count less), and on PostgreSQL the statistics BM25
//! reads follow live knowledge exactly.

use std::sync::Arc;

use switchboard_store::*;

async fn open_at(url: &str) -> Arc<dyn Store> {
    open(url, 4, SqliteDurability::Full).await.unwrap()
}

mod common;

use common::tenant;

async fn url(dir: &tempfile::TempDir) -> String {
    common::fresh_url(dir).await
}

/// A unit vector pointing mostly along `axis` of 4.
fn unit(axis: usize, lean: f32) -> Vec<f32> {
    let mut v = [lean; 4];
    v[axis] = 1.0;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

/// Uploads `source` as a new version whose chunks carry `vectors`, and publishes it.
async fn put(s: &dyn Store, t: &Tenant, collection: &str, source: &str, vectors: &[Vec<f32>]) -> String {
    let chunks: Vec<(String, Option<Vec<f32>>)> =
        vectors.iter().enumerate().map(|(i, v)| (format!("{source} chunk {i}"), Some(v.clone()))).collect();
    put_chunks(s, t, collection, source, &chunks).await
}

/// Uploads `source` as a new version of these chunks (text, vector) and publishes it.
async fn put_chunks(
    s: &dyn Store,
    t: &Tenant,
    collection: &str,
    source: &str,
    chunks: &[(String, Option<Vec<f32>>)],
) -> String {
    let a = AuditCtx::system("test");
    let added = s
        .add_document_version(
            t,
            &a,
            collection,
            &NewDocumentVersion {
                source_key: format!("text:{source}"),
                source_kind: "text".into(),
                title: source.into(),
                url: None,
                content_hash: uuid::Uuid::new_v4().to_string(),
                media_type: Some("text/markdown".into()),
                content: source.as_bytes().to_vec(),
                metadata: Default::default(),
            },
            3,
        )
        .await
        .unwrap();
    let chunks: Vec<NewChunk> = chunks
        .iter()
        .enumerate()
        .map(|(i, (text, embedding))| NewChunk {
            ordinal: i as i32,
            heading_path: source.into(),
            page: None,
            text: text.clone(),
            content_hash: uuid::Uuid::new_v4().to_string(),
            token_count: 3,
            embedding: embedding.clone(),
        })
        .collect();
    s.publish_version(t, added.version_id.as_deref().unwrap(), &chunks, Some("local:test")).await.unwrap();
    added.document.id
}

async fn nearest(s: &dyn Store, t: &Tenant, collection: &str, query: &[f32]) -> Vec<String> {
    let scope = SearchScope {
        collection_ids: vec![collection.to_owned()],
        limit: 3,
        pinned_to: None,
        filter: Default::default(),
    };
    s.search_vector(t, &scope, query).await.unwrap().into_iter().map(|h| h.text).collect()
}

async fn collection(s: &dyn Store, t: &Tenant) -> String {
    let new = NewCollection {
        name: format!("c{}", uuid::Uuid::new_v4().simple()),
        description: String::new(),
        embedding_model: "local:test".into(),
        embedding_dim: 4,
        embedding_endpoint: None,
    };
    s.create_collection(t, &AuditCtx::system("test"), &new).await.unwrap().id
}

#[tokio::test]
async fn dense_search_follows_versions_deletes_and_other_writers() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(&dir).await;
    let reader = open_at(&url).await;
    let writer = open_at(&url).await;
    let t = tenant(reader.as_ref(), "A").await;
    let other = tenant(reader.as_ref(), "B").await;
    let c = collection(reader.as_ref(), &t).await;
    let c_other = collection(reader.as_ref(), &other).await;

    let returns = put(reader.as_ref(), &t, &c, "returns", &[unit(0, 0.1), unit(1, 0.1)]).await;
    put(reader.as_ref(), &other, &c_other, "secret", &[unit(0, 0.0)]).await;
    assert_eq!(nearest(reader.as_ref(), &t, &c, &unit(0, 0.0)).await, ["returns chunk 0", "returns chunk 1"]);

    // Another handle adds a document and replaces `returns` with a new version.
    put(writer.as_ref(), &t, &c, "shipping", &[unit(2, 0.0)]).await;
    put(writer.as_ref(), &t, &c, "returns", &[unit(3, 0.0)]).await;
    assert_eq!(nearest(reader.as_ref(), &t, &c, &unit(2, 0.0)).await[0], "shipping chunk 0");
    let found = nearest(reader.as_ref(), &t, &c, &unit(3, 0.0)).await;
    assert_eq!(found.len(), 2, "only live chunks: {found:?}");
    assert_eq!(found[0], "returns chunk 0");
    assert!(!found.contains(&"returns chunk 1".to_owned()), "the replaced version's chunks are gone: {found:?}");

    // Deleted through the other handle: gone from this one's next search.
    writer.delete_document(&t, &AuditCtx::system("test"), &returns).await.unwrap();
    assert_eq!(nearest(reader.as_ref(), &t, &c, &unit(3, 0.0)).await, ["shipping chunk 0"]);

    // Another tenant asking for this tenant's collection sees nothing, and vice versa.
    assert!(nearest(reader.as_ref(), &other, &c, &unit(2, 0.0)).await.is_empty());
    assert!(nearest(reader.as_ref(), &t, &c_other, &unit(0, 0.0)).await.is_empty());
    assert_eq!(nearest(reader.as_ref(), &other, &c_other, &unit(0, 0.0)).await, ["secret chunk 0"]);
}

/// Publishes `text` as the single chunk of document `source` (no vector).
/// A model change drops every vector of the collection and queues the `embed`
/// job; vectors are written only from the collection's current model, only to
/// chunks without one, and only within the tenant.
#[tokio::test]
async fn vectors_follow_the_collection_s_model_through_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_at(&url(&dir).await).await;
    let t = tenant(s.as_ref(), "A").await;
    let other = tenant(s.as_ref(), "B").await;
    let c = collection(s.as_ref(), &t).await;
    put(s.as_ref(), &t, &c, "returns", &[unit(0, 0.1), unit(1, 0.1)]).await;
    assert!(s.chunks_without_vectors(&t, &c, 10).await.unwrap().is_empty());
    assert_eq!(nearest(s.as_ref(), &t, &c, &unit(0, 0.0)).await.len(), 2);

    let a = AuditCtx::system("test");
    let choice = EmbeddingChoice {
        model: "openai:m".into(),
        dim: 2,
        endpoint: Some(EmbeddingEndpoint {
            base_url: "http://127.0.0.1:9/v1".into(),
            api_key_secret: None,
            request_dimensions: true,
        }),
        job_max_attempts: 3,
    };
    let changed = s
        .update_collection(&t, &a, &c, &CollectionPatch { embedding: Some(choice.clone()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((changed.embedding_model.as_str(), changed.embedding_dim), ("openai:m", 2));
    assert_eq!(changed.embedding_endpoint, choice.endpoint);
    assert_eq!(changed.vectors_pending, 2);
    assert!(nearest(s.as_ref(), &t, &c, &unit(0, 0.0)).await.is_empty(), "old vectors are gone");
    let embed = queued(s.as_ref(), "embed").await;
    assert_eq!(embed.len(), 1, "one embed job is queued");
    assert_eq!(embed[0].payload["collection_id"], c.as_str());
    assert_eq!(embed[0].payload["model"], "openai:m");

    let pending = s.chunks_without_vectors(&t, &c, 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].contextual_text(), format!("returns\n{}", pending[0].text));
    assert!(s.chunks_without_vectors(&other, &c, 10).await.unwrap().is_empty(), "another tenant sees none");
    let vectors: Vec<(String, Vec<f32>)> =
        pending.iter().zip([[1.0, 0.0], [0.0, 1.0]]).map(|(p, v)| (p.chunk_id.clone(), v.to_vec())).collect();
    assert_eq!(s.store_chunk_vectors(&t, &c, "local:test", &vectors).await.unwrap(), None, "not the model now");
    assert_eq!(s.store_chunk_vectors(&other, &c, "openai:m", &vectors).await.unwrap_err().to_string(), "not found");
    assert!(s.store_chunk_vectors(&t, &c, "openai:m", &[(vectors[0].0.clone(), vec![1.0; 3])]).await.is_err());
    assert_eq!(s.store_chunk_vectors(&t, &c, "openai:m", &vectors).await.unwrap(), Some(2));
    assert_eq!(s.store_chunk_vectors(&t, &c, "openai:m", &vectors).await.unwrap(), Some(0), "never twice");
    assert_eq!(s.get_collection(&t, &c).await.unwrap().vectors_pending, 0);
    assert_eq!(nearest(s.as_ref(), &t, &c, &[0.0, 1.0]).await[0], pending[1].text);

    // An ingestion that embedded with the model the collection has left stores no vectors.
    put(s.as_ref(), &t, &c, "late", &[vec![0.6, 0.8]]).await; // `put` says "local:test"
    assert_eq!(s.chunks_without_vectors(&t, &c, 10).await.unwrap().len(), 1);
    let late = queued(s.as_ref(), "embed").await;
    assert_eq!(late.len(), 1, "the publication queues an embed job for what it could not keep");
    assert_eq!(late[0].payload["model"], "openai:m");
    // The same model on another endpoint keeps every vector and queues nothing.
    let moved = EmbeddingChoice {
        endpoint: Some(EmbeddingEndpoint {
            base_url: "http://127.0.0.1:10/v1".into(),
            ..choice.endpoint.clone().unwrap()
        }),
        ..choice
    };
    let patch = CollectionPatch { embedding: Some(moved), ..Default::default() };
    assert_eq!(s.update_collection(&t, &a, &c, &patch).await.unwrap().vectors_pending, 1);
    assert!(queued(s.as_ref(), "embed").await.is_empty());
}

/// On PostgreSQL a dimension other than the local model's gets its own HNSW
/// index (the same expression and predicate dense search uses), once.
#[tokio::test]
async fn a_new_vector_dimension_gets_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(&dir).await;
    let s = open_at(&url).await;
    s.prepare_vector_index(48).await.unwrap();
    s.prepare_vector_index(48).await.unwrap();
    s.prepare_vector_index(3000).await.unwrap(); // beyond HNSW's limit: searched exactly
    if s.backend() != Backend::Postgres {
        return;
    }
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    let defs: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chunks' AND indexdef LIKE '%hnsw%'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let names: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2, "{defs:?}");
    assert!(names.contains(&"chunks_embedding_384") && names.contains(&"chunks_embedding_48"), "{defs:?}");
    let def = &defs.iter().find(|(n, _)| n == "chunks_embedding_48").unwrap().1;
    assert!(def.contains("vector(48)") && def.contains("embedding_dim = 48"), "{def}");
}

/// Claims every due job and returns those of `kind` (`put` queues ingest jobs it never runs).
async fn queued(s: &dyn Store, kind: &str) -> Vec<Job> {
    let mut found = Vec::new();
    while let Some(job) = s.claim_job("w", now_millis(), 60_000).await.unwrap() {
        if job.kind == kind {
            found.push(job);
        }
    }
    found
}

async fn put_text(s: &dyn Store, t: &Tenant, collection: &str, source: &str, text: &str) -> String {
    put_chunks(s, t, collection, source, &[(text.to_owned(), None)]).await
}

async fn full_text(s: &dyn Store, t: &Tenant, collection: &str, query: &str) -> Vec<ChunkHit> {
    let scope = SearchScope {
        collection_ids: vec![collection.to_owned()],
        limit: 10,
        pinned_to: None,
        filter: Default::default(),
    };
    s.search_text(t, &scope, query).await.unwrap()
}

fn titles(hits: &[ChunkHit]) -> Vec<&str> {
    hits.iter().map(|h| h.title.as_str()).collect()
}

#[tokio::test]
async fn full_text_ranks_by_bm25_rare_words_weigh_more_repeats_saturate_long_chunks_weigh_less() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_at(&url(&dir).await).await;
    let t = tenant(s.as_ref(), "A").await;
    let c = collection(s.as_ref(), &t).await;
    for city in ["berlin", "madrid", "paris", "rome", "vienna", "prague", "lisbon", "oslo"] {
        put_text(s.as_ref(), &t, &c, city, &format!("Parcel delivery to {city} takes three working days.")).await;
    }
    put_text(s.as_ref(), &t, &c, "repeats", "Delivery delivery delivery: delivery updates for every delivery.").await;
    put_text(s.as_ref(), &t, &c, "warranty", "The warranty covers delivery damage.").await;
    // One rare word beats many repeats of a word most chunks hold.
    let hits = full_text(s.as_ref(), &t, &c, "delivery warranty").await;
    assert_eq!(titles(&hits)[0], "warranty", "{hits:?}");
    assert!(hits.iter().all(|h| h.score > 0.0), "{hits:?}");

    // The same single mention in a short chunk and in a long one: the short one first.
    let filler = "Opening hours, store locations, gift cards and newsletter sign-up are described here in detail. ";
    put_text(s.as_ref(), &t, &c, "long", &format!("{}Refunds go back to the card used.", filler.repeat(6))).await;
    put_text(s.as_ref(), &t, &c, "short", "Refunds go back to the card used.").await;
    assert_eq!(titles(&full_text(s.as_ref(), &t, &c, "refunds").await), ["short", "long"]);
}

#[tokio::test]
async fn full_text_finds_the_best_chunks_even_when_the_rarest_word_alone_is_not_enough() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_at(&url(&dir).await).await;
    let t = tenant(s.as_ref(), "A").await;
    let c = collection(s.as_ref(), &t).await;
    // 40 chunks: "zeppelin" in one, "parcel" in 10, "delivery" in 20. PostgreSQL
    // first scores only the chunks holding the rarest words; with fewer than
    // top_k found there, the common words must bring in the rest.
    for i in 0..40 {
        let text = match i {
            0 => "Zeppelin models ship in a crate.".to_owned(),
            1..=3 => format!("Parcel delivery option {i}: a parcel with tracked delivery."),
            4..=10 => format!("Parcel {i} and gift wrapping."),
            11..=26 => format!("Delivery note {i} for store pickup."),
            _ => format!("Opening hours of store {i}."),
        };
        put_text(s.as_ref(), &t, &c, &format!("d{i:02}"), &text).await;
    }
    let scope = SearchScope { collection_ids: vec![c.clone()], limit: 4, pinned_to: None, filter: Default::default() };
    let hits = s.search_text(&t, &scope, "zeppelin parcel delivery").await.unwrap();
    let mut top = titles(&hits);
    assert_eq!(top.remove(0), "d00", "the rare word first: {hits:?}");
    top.sort_unstable();
    assert_eq!(top, ["d01", "d02", "d03"], "then the chunks with both common words: {hits:?}");
}

/// The statistics rows of PostgreSQL's BM25 against a count of what is live.
async fn fts_statistics_drift(pool: &sqlx::PgPool, collection: &str) -> Vec<String> {
    use sqlx::Row;
    let drift = sqlx::query(
        "WITH live AS (SELECT c.* FROM chunks c JOIN documents d ON d.id = c.document_id AND d.live_version_id = c.version_id \
                       WHERE c.collection_id = $1), \
         truth AS (SELECT u.lexeme AS term, count(*) AS df FROM live, unnest(live.tsv) u GROUP BY u.lexeme) \
         SELECT coalesce(t.term, f.term) || ': counted ' || coalesce(f.df, 0) || ', live ' || coalesce(t.df, 0) AS line \
         FROM truth t FULL JOIN (SELECT term, df FROM fts_term_stats WHERE collection_id = $1 AND df <> 0) f ON f.term = t.term \
         WHERE coalesce(f.df, 0) <> coalesce(t.df, 0) \
         UNION ALL \
         SELECT 'collection: counted ' || coalesce(max(s.chunks), 0) || '/' || coalesce(max(s.tokens), 0) \
                || ', live ' || (SELECT count(*) FROM live) || '/' || (SELECT coalesce(sum(tsv_len), 0) FROM live) \
         FROM fts_collection_stats s WHERE s.collection_id = $1 \
         HAVING coalesce(max(s.chunks), 0) <> (SELECT count(*) FROM live) \
             OR coalesce(max(s.tokens), 0) <> (SELECT coalesce(sum(tsv_len), 0) FROM live)",
    )
    .bind(collection)
    .fetch_all(pool)
    .await
    .unwrap();
    drift.iter().map(|r| r.get("line")).collect()
}

#[tokio::test]
async fn postgres_bm25_statistics_follow_live_knowledge_and_stay_within_the_tenant() {
    let Some(_) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("PostgreSQL only (SQLite's FTS5 keeps its own statistics): set SWITCHBOARD_TEST_DATABASE_URL");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = url(&dir).await;
    let s = open_at(&url).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let t = tenant(s.as_ref(), "A").await;
    let other = tenant(s.as_ref(), "B").await;
    let c = collection(s.as_ref(), &t).await;
    let a = AuditCtx::system("test");

    put_text(s.as_ref(), &t, &c, "returns", "Returns are free within thirty days.").await;
    let shipping = put_chunks(
        s.as_ref(),
        &t,
        &c,
        "shipping",
        &[("Shipping takes three days.".into(), None), ("Express shipping takes one day.".into(), None)],
    )
    .await;
    assert_eq!(fts_statistics_drift(&pool, &c).await, Vec::<String>::new(), "after the first publications");
    let before = full_text(s.as_ref(), &t, &c, "returns shipping").await;

    // Another tenant's knowledge does not move this tenant's scores.
    let c_other = collection(s.as_ref(), &other).await;
    for i in 0..5 {
        put_text(
            s.as_ref(),
            &other,
            &c_other,
            &format!("o{i}"),
            "Returns returns returns, shipping and more shipping.",
        )
        .await;
    }
    let after = full_text(s.as_ref(), &t, &c, "returns shipping").await;
    let scores = |hits: &[ChunkHit]| hits.iter().map(|h| (h.chunk_id.clone(), h.score)).collect::<Vec<_>>();
    assert_eq!(scores(&after), scores(&before));

    // A new version replaces the old one's words; a deleted document takes its own away.
    put_text(s.as_ref(), &t, &c, "returns", "Refunds reach the card within five days.").await;
    assert_eq!(fts_statistics_drift(&pool, &c).await, Vec::<String>::new(), "after a new version");
    s.delete_document(&t, &a, &shipping).await.unwrap();
    assert_eq!(fts_statistics_drift(&pool, &c).await, Vec::<String>::new(), "after a deletion");
    assert!(full_text(s.as_ref(), &t, &c, "shipping").await.is_empty());

    // A collection goes with its statistics, and nothing else's.
    s.delete_collection(&t, &a, &c).await.unwrap();
    let (rows,): (i64,) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM fts_term_stats WHERE collection_id = $1) \
              + (SELECT count(*) FROM fts_collection_stats WHERE collection_id = $1)",
    )
    .bind(&c)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows, 0);
    assert_eq!(fts_statistics_drift(&pool, &c_other).await, Vec::<String>::new(), "the other tenant's");
}
