//! Dense search stays exact and fresh: new versions replace old ones, deleted
//! documents vanish, another tenant's vectors are never returned, and on
//! SQLite a write through another handle on the same file (another process,
//! such as the CLI ingesting while a server runs) is seen by the next search
//! of a handle whose in-process index already holds the collection.

use std::sync::Arc;

use switchboard_store::*;

async fn open_at(url: &str) -> Arc<dyn Store> {
    open(url, 4, SqliteDurability::Full).await.unwrap()
}

async fn url(dir: &tempfile::TempDir) -> String {
    match std::env::var("SWITCHBOARD_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) => {
            use sqlx::Connection;
            let name = format!("sbv_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
            format!("{}/{name}", base.rsplit_once('/').unwrap().0)
        }
        None => format!("sqlite://{}", dir.path().join("v.db").display()),
    }
}

async fn tenant(store: &dyn Store, name: &str) -> Tenant {
    let (org, _, _) = store
        .bootstrap_org(BootstrapOrg {
            org_name: name.into(),
            owner_email: format!("{}@example.com", uuid::Uuid::new_v4().simple()),
            owner_name: "o".into(),
            owner_password_hash: "x".into(),
            first_key: NewApiKey {
                name: "k".into(),
                prefix: "sb_x".into(),
                key_hash: uuid::Uuid::new_v4().to_string(),
                role: Role::Owner,
                scopes: vec![Scope::Read],
                created_by: None,
            },
        })
        .await
        .unwrap();
    Tenant::new(org.id)
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
            },
            3,
        )
        .await
        .unwrap();
    let chunks: Vec<NewChunk> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| NewChunk {
            ordinal: i as i32,
            heading_path: source.into(),
            page: None,
            text: format!("{source} chunk {i}"),
            content_hash: uuid::Uuid::new_v4().to_string(),
            token_count: 3,
            embedding: Some(v.clone()),
        })
        .collect();
    s.publish_version(t, added.version_id.as_deref().unwrap(), &chunks).await.unwrap();
    added.document.id
}

async fn nearest(s: &dyn Store, t: &Tenant, collection: &str, query: &[f32]) -> Vec<String> {
    let scope = SearchScope { collection_ids: vec![collection.to_owned()], limit: 3, pinned_to: None };
    s.search_vector(t, &scope, query).await.unwrap().into_iter().map(|h| h.text).collect()
}

async fn collection(s: &dyn Store, t: &Tenant) -> String {
    let new = NewCollection {
        name: format!("c{}", uuid::Uuid::new_v4().simple()),
        description: String::new(),
        embedding_model: "local:test".into(),
        embedding_dim: 4,
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
