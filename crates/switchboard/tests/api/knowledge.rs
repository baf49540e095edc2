//! Knowledge through the v1 contract: uploads of every kind, the job that
//! ingests them, versions, deletion, failures that stay alone, and hybrid
//! search with per-signal scores.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use switchboard_server::knowledge::worker::Outcome;

use crate::helpers::*;

const RETURNS_MD: &str = "# Returns\n\n## EU\n\n### Time limits\n\nCustomers in the EU may return any item within 30 days of delivery for a full refund.\n\n## US\n\nUS customers have 14 days to send items back.\n";
const SHIPPING_HTML: &str = "<html><head><title>Shipping</title></head><body><nav>Home | Shop | Cart</nav><main><h1>Shipping</h1><p>Standard shipping takes three to five business days. Express delivery arrives the next day.</p></main><footer>Copyright Acme</footer></body></html>";
const FAQ_CSV: &str = "question,answer\nDo you ship to Norway?,Yes we ship to Norway with DHL.\nCan I pay with PayPal?,Yes PayPal and all major credit cards are accepted.\n";

pub(crate) async fn collection(app: &TestApp, key: &str, name: &str) -> String {
    let c: Value = app.post("/v1/collections", key, &json!({"name": name})).await.json().await.unwrap();
    c["id"].as_str().unwrap().to_owned()
}

pub(crate) fn file(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec()).file_name(name.to_owned())
}

pub(crate) async fn upload(app: &TestApp, collection: &str, form: Form) -> reqwest::Response {
    app.request(reqwest::Method::POST, &format!("/v1/collections/{collection}/documents"), &app.a.key)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn document(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/documents/{id}"), &app.a.key).await.json().await.unwrap()
}

pub(crate) async fn search(app: &TestApp, collection: &str, body: Value) -> Value {
    let r = app.post(&format!("/v1/collections/{collection}/search"), &app.a.key, &body).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn files_text_and_faq_are_ingested_and_found_with_their_headings() {
    let app = spawn_app().await;
    assert!(app.state.embedder.is_some(), "the embedding model must be present (scripts/fetch-model)");
    let kb = collection(&app, &app.a.key, "Help").await;
    let form = Form::new()
        .part("file", file("returns.md", RETURNS_MD.as_bytes()))
        .part("file", file("shipping.html", SHIPPING_HTML.as_bytes()))
        .part("file", file("faq.csv", FAQ_CSV.as_bytes()))
        .part("file", file("notes.txt", b"Our store opens at nine in the morning.\n\nWe close at six."));
    let r = upload(&app, &kb, form).await;
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let ids: Vec<String> =
        accepted["documents"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 4);
    assert!(accepted["documents"].as_array().unwrap().iter().all(|d| d["status"] == "queued"));

    let text = app
        .post(
            &format!("/v1/collections/{kb}/documents"),
            &app.a.key,
            &json!({"title": "Warranty", "text": "Every device has a two year warranty."}),
        )
        .await;
    assert_eq!(text.status(), 202);
    let faq = app
        .post(
            &format!("/v1/collections/{kb}/documents"),
            &app.a.key,
            &json!({"faq": [{"question": "How do I reset my password?", "answer": "Use the Forgot password link on the login page."}]}),
        )
        .await;
    assert_eq!(faq.status(), 202);

    let outcomes = app.run_jobs().await;
    assert_eq!(outcomes.len(), 6);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Succeeded { .. })), "{outcomes:?}");
    for id in &ids {
        let d = document(&app, id).await;
        assert_eq!(d["status"], "ready", "{d}");
        assert!(d["chunk_count"].as_i64().unwrap() >= 1, "{d}");
        assert_eq!(d["version"], 1);
        assert_eq!(d["collection_id"], kb.as_str());
        assert_eq!(d["content_hash"].as_str().unwrap().len(), 64);
    }
    let faq_doc = document(&app, &ids[2]).await;
    assert_eq!(faq_doc["chunk_count"], 2, "one chunk per question");

    let found =
        search(&app, &kb, json!({"query": "how many days do EU customers have to return an item?", "top_k": 3})).await;
    assert_eq!(found["mode"], "hybrid");
    let top = &found["results"][0];
    assert_eq!(top["document_id"], ids[0].as_str(), "{found}");
    assert_eq!(top["heading_path"], "Returns > EU > Time limits");
    assert!(top["text"].as_str().unwrap().contains("30 days"));
    assert!(top["scores"]["bm25"]["rank"].is_number() && top["scores"]["dense"]["rank"].is_number(), "{top}");

    // Navigation and footer were not indexed.
    let nav = search(&app, &kb, json!({"query": "Copyright Acme Home Shop Cart", "mode": "bm25"})).await;
    assert!(
        nav["results"].as_array().unwrap().iter().all(|r| !r["text"].as_str().unwrap().contains("Copyright")),
        "{nav}"
    );

    // Semantic match without shared words.
    let dense =
        search(&app, &kb, json!({"query": "which payment methods are accepted", "mode": "dense", "top_k": 1})).await;
    assert!(dense["results"][0]["text"].as_str().unwrap().contains("PayPal"), "{dense}");
}

#[tokio::test]
async fn a_broken_document_fails_alone_with_a_clear_error() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Mixed").await;
    let form = Form::new()
        .part("file", file("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without xref"))
        .part("file", file("good.md", b"# Hours\n\nWe are open on Sundays."));
    let accepted: Value = upload(&app, &kb, form).await.json().await.unwrap();
    let broken = accepted["documents"][0]["id"].as_str().unwrap().to_owned();
    let good = accepted["documents"][1]["id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    let b = document(&app, &broken).await;
    assert_eq!(b["status"], "failed", "{b}");
    assert!(!b["error"].as_str().unwrap().is_empty());
    assert_eq!(document(&app, &good).await["status"], "ready");

    // Refused at the door: empty files, unknown types, disguised binaries.
    for (name, bytes) in [
        ("empty.txt", b"".as_slice()),
        ("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        ("fake.pdf", b"plain words, not a PDF"),
    ] {
        let r = upload(&app, &kb, Form::new().part("file", file(name, bytes))).await;
        assert_problem(r, 422, "invalid-request").await;
    }
    let list: Value = app.get(&format!("/v1/collections/{kb}/documents"), &app.a.key).await.json().await.unwrap();
    assert_eq!(list["documents"].as_array().unwrap().len(), 2, "refused uploads left nothing behind");
}

#[tokio::test]
async fn a_reupload_is_a_new_version_that_replaces_the_old_chunks() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Versions").await;
    let first: Value =
        upload(&app, &kb, Form::new().part("file", file("policy.md", b"# Policy\n\nRefunds take 10 days.")))
            .await
            .json()
            .await
            .unwrap();
    let id = first["documents"][0]["id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    // The same bytes again: nothing new.
    let again: Value =
        upload(&app, &kb, Form::new().part("file", file("policy.md", b"# Policy\n\nRefunds take 10 days.")))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(again["documents"][0]["id"], id.as_str());
    assert!(app.run_jobs().await.is_empty(), "an identical upload queues no work");
    // New content under the same name: version 2, same document.
    let second: Value =
        upload(&app, &kb, Form::new().part("file", file("policy.md", b"# Policy\n\nRefunds take 3 days.")))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(second["documents"][0]["id"], id.as_str());
    // Until version 2 is ready, search answers from version 1.
    let before = search(&app, &kb, json!({"query": "refunds days", "mode": "bm25"})).await;
    assert!(before["results"][0]["text"].as_str().unwrap().contains("10 days"));
    app.run_jobs().await;
    let d = document(&app, &id).await;
    assert_eq!((d["version"].as_i64(), d["status"].as_str()), (Some(2), Some("ready")));
    let after = search(&app, &kb, json!({"query": "refunds days", "mode": "bm25"})).await;
    let texts: Vec<&str> = after["results"].as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.contains("3 days")) && !texts.iter().any(|t| t.contains("10 days")), "{texts:?}");
}

#[tokio::test]
async fn deleting_a_document_leaves_no_chunks_behind() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Delete").await;
    let r: Value = upload(&app, &kb, Form::new().part("file", file("gone.md", b"# Secret\n\nThe vault code is 4711.")))
        .await
        .json()
        .await
        .unwrap();
    let id = r["documents"][0]["id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    let t = switchboard_store::Tenant::new(app.a.org_id.clone());
    assert!(app.store.count_chunks(&t, &id).await.unwrap() > 0);
    assert_eq!(app.delete(&format!("/v1/documents/{id}"), &app.a.key).await.status(), 204);
    assert_eq!(app.store.count_chunks(&t, &id).await.unwrap(), 0);
    assert_problem(app.get(&format!("/v1/documents/{id}"), &app.a.key).await, 404, "not-found").await;
    let found = search(&app, &kb, json!({"query": "vault code 4711"})).await;
    assert!(found["results"].as_array().unwrap().is_empty(), "{found}");
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_and_duplicates_nothing() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Crash").await;
    let r: Value = upload(
        &app,
        &kb,
        Form::new().part("file", file("manual.md", b"# Manual\n\nPress the red button.\n\n## Safety\n\nWear gloves.")),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = r["documents"][0]["id"].as_str().unwrap().to_owned();
    let now = switchboard_store::now_millis();
    // A worker claims the job, ingests, and dies before recording success.
    let job = app.store.claim_job("doomed", now, 1).await.unwrap().unwrap();
    let t = job.tenant();
    let version_id = job.payload["version_id"].as_str().unwrap().to_owned();
    switchboard_server::knowledge::ingest::ingest_version(
        &app.state,
        &t,
        &version_id,
        &switchboard_server::knowledge::extractor::Parser::from_settings(&app.state.settings.knowledge),
    )
    .await
    .unwrap();
    let published = app.store.count_chunks(&t, &id).await.unwrap();
    assert!(published > 0);
    // Its lease runs out; the restarted worker takes the job over and finishes it.
    let outcomes = app.run_jobs().await;
    assert_eq!(outcomes.len(), 1);
    assert!(matches!(outcomes[0], Outcome::Succeeded { .. }));
    assert_eq!(app.store.count_chunks(&t, &id).await.unwrap(), published, "no chunk duplicated");
    let job = app.store.get_job(&t, &job.id).await.unwrap();
    assert_eq!((job.status, job.attempts), (switchboard_store::JobStatus::Succeeded, 2));
    assert_eq!(document(&app, &id).await["status"], "ready");
}

#[tokio::test]
async fn bad_document_requests_are_problems() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Bad").await;
    let path = format!("/v1/collections/{kb}/documents");
    for body in [
        json!({}),
        json!({"text": "no title"}),
        json!({"title": "t", "text": "x", "faq": []}),
        json!({"faq": []}),
        json!({"faq": [{"question": "q"}]}),
    ] {
        assert_problem(app.post(&path, &app.a.key, &body).await, 422, "invalid-request").await;
    }
    for url in ["ftp://example.com/help", "http://127.0.0.1/admin", "not a url"] {
        assert_problem(app.post(&path, &app.a.key, &json!({"url": url})).await, 422, "invalid-request").await;
    }
    let missing = "/v1/collections/00000000-0000-7000-8000-000000000000/documents";
    assert_problem(app.post(missing, &app.a.key, &json!({"title": "t", "text": "x"})).await, 404, "not-found").await;
    let s = format!("/v1/collections/{kb}/search");
    assert_problem(app.post(&s, &app.a.key, &json!({"query": ""})).await, 422, "invalid-request").await;
    assert_problem(app.post(&s, &app.a.key, &json!({"query": "x", "top_k": 500})).await, 422, "invalid-request").await;
    assert_problem(app.post(&s, &app.a.key, &json!({"query": "x", "mode": "magic"})).await, 422, "invalid-request")
        .await;
}
