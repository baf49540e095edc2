//! Document metadata and what search does with it: metadata given at upload
//! (JSON bodies and multipart), read back and replaced by a new upload;
//! searches filtered by metadata or document ids inside every signal; tenant
//! scope; and maximal-marginal-relevance re-ranking.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::knowledge::{collection, document, file, search, upload};

fn documents_path(kb: &str) -> String {
    format!("/v1/collections/{kb}/documents")
}

/// Adds `{title, text, metadata}` and returns the document id.
async fn add_text(app: &TestApp, key: &str, kb: &str, title: &str, text: &str, metadata: Value) -> String {
    let body = json!({"title": title, "text": text, "metadata": metadata});
    let r = app.post(&documents_path(kb), key, &body).await;
    assert_eq!(r.status(), 202, "{title}");
    r.json::<Value>().await.unwrap()["documents"][0]["id"].as_str().unwrap().to_owned()
}

async fn list(app: &TestApp, kb: &str) -> Vec<Value> {
    let r = app.get(&format!("{}?limit=100", documents_path(kb)), &app.a.key).await;
    r.json::<Value>().await.unwrap()["documents"].as_array().unwrap().clone()
}

fn ids_of(found: &Value, field: &str) -> Vec<String> {
    found["results"].as_array().unwrap().iter().map(|r| r[field].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn metadata_given_at_upload_is_read_back_and_replaced_by_a_new_upload() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Tagged").await;
    let text = add_text(&app, &app.a.key, &kb, "Returns", "Returns within 30 days.", json!({"lang": "en"})).await;
    let body =
        json!({"faq": [{"question": "Do you ship?", "answer": "Yes."}], "metadata": {"lang": "de", "tier": "pro"}});
    let r = app.post(&documents_path(&kb), &app.a.key, &body).await;
    assert_eq!(r.status(), 202);
    let faq = r.json::<Value>().await.unwrap()["documents"][0]["id"].as_str().unwrap().to_owned();
    let form = Form::new()
        .part("file", file("a.md", b"# A\n\nAlpha."))
        .text("metadata", r#"{"source": "manual", "product.line": "x-1"}"#)
        .part("file", file("b.md", b"# B\n\nBeta."));
    let r = upload(&app, &kb, form).await;
    assert_eq!(r.status(), 202);
    let files: Vec<String> = r.json::<Value>().await.unwrap()["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let untagged = add_text(&app, &app.a.key, &kb, "Plain", "No metadata here.", Value::Null).await;
    app.run_jobs().await;

    assert_eq!(document(&app, &text).await["metadata"], json!({"lang": "en"}));
    assert_eq!(document(&app, &faq).await["metadata"], json!({"lang": "de", "tier": "pro"}));
    for id in &files {
        assert_eq!(document(&app, id).await["metadata"], json!({"source": "manual", "product.line": "x-1"}));
    }
    assert_eq!(document(&app, &untagged).await["metadata"], json!({}));
    let listed = list(&app, &kb).await;
    assert_eq!(listed.len(), 5);
    assert!(listed.iter().all(|d| d["metadata"].is_object()), "{listed:?}");

    // The same text with new metadata: no new version, the metadata changes at once.
    let again = add_text(&app, &app.a.key, &kb, "Returns", "Returns within 30 days.", json!({"lang": "fr"})).await;
    assert_eq!(again, text);
    assert!(app.run_jobs().await.is_empty(), "no new version to ingest");
    let d = document(&app, &text).await;
    assert_eq!((d["metadata"].clone(), d["version"].as_i64()), (json!({"lang": "fr"}), Some(1)));
    let in_lang = |lang: &str| json!({"query": "returns days", "mode": "bm25", "filter": {"metadata": {"lang": lang}}});
    assert_eq!(ids_of(&search(&app, &kb, in_lang("fr")).await, "document_id"), vec![text.clone()]);
    assert!(search(&app, &kb, in_lang("en")).await["results"].as_array().unwrap().is_empty());
    // New text and new metadata: version 2 carries the new metadata.
    add_text(&app, &app.a.key, &kb, "Returns", "Returns within 60 days.", json!({"lang": "nl"})).await;
    app.run_jobs().await;
    let d = document(&app, &text).await;
    assert_eq!((d["metadata"].clone(), d["version"].as_i64()), (json!({"lang": "nl"}), Some(2)));
}

#[tokio::test]
async fn metadata_out_of_bounds_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Strict").await;
    let many: serde_json::Map<String, Value> = (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    for metadata in [
        json!({"Lang": "de"}),
        json!({"": "x"}),
        json!({"a b": "x"}),
        json!({"k".repeat(65): "x"}),
        json!({"lang": "x".repeat(513)}),
        json!({"lang": 5}),
        json!({"lang": ["de"]}),
        json!({"nested": {"a": "b"}}),
        json!(["lang"]),
        Value::Object(many),
    ] {
        let body = json!({"title": "T", "text": "Some text.", "metadata": metadata});
        assert_problem(app.post(&documents_path(&kb), &app.a.key, &body).await, 422, "invalid-request").await;
    }
    let faq = json!({"faq": [{"question": "q?", "answer": "a"}], "metadata": {"Bad": "x"}});
    assert_problem(app.post(&documents_path(&kb), &app.a.key, &faq).await, 422, "invalid-request").await;
    let crawl = json!({"url": "https://example.com/", "metadata": {"bad key": "x"}});
    assert_problem(app.post(&documents_path(&kb), &app.a.key, &crawl).await, 422, "invalid-request").await;
    for metadata in ["not json", r#"{"Lang": "de"}"#, r#"{"a": 1}"#, "[]"] {
        let form = Form::new().part("file", file("a.md", b"# A\n\nAlpha.")).text("metadata", metadata);
        assert_problem(upload(&app, &kb, form).await, 422, "invalid-request").await;
    }
    let twice = Form::new()
        .text("metadata", "{}")
        .text("metadata", "{}")
        .part("file", Part::bytes(b"# A\n\nAlpha.".to_vec()).file_name("a.md"));
    assert_problem(upload(&app, &kb, twice).await, 422, "invalid-request").await;
    assert!(list(&app, &kb).await.is_empty(), "nothing was stored");
    assert!(app.run_jobs().await.is_empty(), "nothing was queued");
}

/// Many English documents that answer the query well, a few German ones that
/// answer it less well: more non-matching chunks than either signal looks at
/// for a small `top_k`, so a filter applied after the signals would come back
/// (nearly) empty.
async fn mixed_languages(app: &TestApp, kb: &str) -> (Vec<String>, Vec<String>) {
    let mut english = Vec::new();
    for i in 0..25 {
        let text = format!("How do refunds work? A refund for order {i} is paid back to your card within {i} days.");
        english.push(add_text(app, &app.a.key, kb, &format!("Refunds {i}"), &text, json!({"lang": "en"})).await);
    }
    let mut german = Vec::new();
    for (i, tier) in ["pro", "pro", "basic"].iter().enumerate() {
        let text = format!("Rückerstattung (refund) Nummer {i}: das Geld kommt nach zwei Wochen zurück.");
        let metadata = json!({"lang": "de", "tier": tier});
        german.push(add_text(app, &app.a.key, kb, &format!("Erstattung {i}"), &text, metadata).await);
    }
    app.run_jobs().await;
    (english, german)
}

#[tokio::test]
async fn a_filter_applies_inside_every_signal_and_still_fills_top_k() {
    let app = spawn_app().await;
    assert!(app.state.embedder.is_some(), "the embedding model must be present (scripts/fetch-model)");
    let kb = collection(&app, &app.a.key, "Languages").await;
    let (english, german) = mixed_languages(&app, &kb).await;
    let query = "how do refunds work";
    for mode in ["bm25", "dense", "hybrid"] {
        let unfiltered = search(&app, &kb, json!({"query": query, "mode": mode, "top_k": 3})).await;
        assert!(
            ids_of(&unfiltered, "document_id").iter().all(|d| english.contains(d)),
            "{mode}: unfiltered, the English documents lead: {unfiltered}"
        );
        let body = json!({"query": query, "mode": mode, "top_k": 3, "filter": {"metadata": {"lang": "de"}}});
        let mut found = ids_of(&search(&app, &kb, body).await, "document_id");
        found.sort();
        let mut want = german.clone();
        want.sort();
        assert_eq!(found, want, "{mode}: all three German documents, none of the English ones");

        // Every key must match; a list accepts any of its values.
        let both = json!({"metadata": {"lang": ["de", "fr"], "tier": "pro"}});
        let found = search(&app, &kb, json!({"query": query, "mode": mode, "top_k": 5, "filter": both})).await;
        let mut found = ids_of(&found, "document_id");
        found.sort();
        let mut pro = german[..2].to_vec();
        pro.sort();
        assert_eq!(found, pro, "{mode}: fewer match than top_k");

        let one = json!({"document_ids": [english[7]]});
        let found = search(&app, &kb, json!({"query": query, "mode": mode, "top_k": 5, "filter": one})).await;
        assert_eq!(ids_of(&found, "document_id"), [english[7].clone()], "{mode}");

        let nothing = json!({"metadata": {"lang": "sv"}});
        let found = search(&app, &kb, json!({"query": query, "mode": mode, "filter": nothing})).await;
        assert!(found["results"].as_array().unwrap().is_empty(), "{mode}: {found}");
    }
}

#[tokio::test]
async fn bad_filters_and_mmr_options_are_refused() {
    let app = spawn_app().await;
    let kb = collection(&app, &app.a.key, "Strict search").await;
    let path = format!("/v1/collections/{kb}/search");
    for extra in [
        json!({"filter": {"meta": {"lang": "de"}}}),
        json!({"filter": {"metadata": {"lang": "de"}, "tags": ["x"]}}),
        json!({"filter": {"metadata": {"Lang": "de"}}}),
        json!({"filter": {"metadata": {"lang": []}}}),
        json!({"filter": {"metadata": {"lang": 5}}}),
        json!({"filter": {"metadata": {"lang": {"in": ["de"]}}}}),
        json!({"filter": {"document_ids": []}}),
        json!({"filter": {"document_ids": vec!["d"; 101]}}),
        json!({"filter": "lang=de"}),
        json!({"mmr": {"lambda": 1.5}}),
        json!({"mmr": {"lambda": -0.1}}),
        json!({"mmr": {}}),
        json!({"mmr": {"lambda": 0.5, "fetch": 40}}),
    ] {
        let mut body = json!({"query": "refunds"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        assert_problem(app.post(&path, &app.a.key, &body).await, 422, "invalid-request").await;
    }
}

#[tokio::test]
async fn a_filter_cannot_reach_another_tenant_s_documents() {
    let app = spawn_app().await;
    let b = app.new_tenant("Tenant B").await;
    let theirs = collection(&app, &b.key, "B's knowledge").await;
    let text = "The vault code for refunds is 4711.";
    let their_doc = add_text(&app, &b.key, &theirs, "Vault", text, json!({"lang": "de"})).await;
    let ours = collection(&app, &app.a.key, "A's knowledge").await;
    add_text(&app, &app.a.key, &ours, "Refunds", "Refunds take ten days.", json!({"lang": "en"})).await;
    app.run_jobs().await;

    for mode in ["bm25", "dense", "hybrid"] {
        for filter in [json!({"document_ids": [their_doc]}), json!({"metadata": {"lang": "de"}})] {
            let body = json!({"query": "vault code refunds", "mode": mode, "filter": filter});
            let found = search(&app, &ours, body).await;
            assert!(found["results"].as_array().unwrap().is_empty(), "{mode}: {found}");
        }
    }
    let body = json!({"query": "vault code", "filter": {"document_ids": [their_doc]}});
    let r = app.post(&format!("/v1/collections/{theirs}/search"), &app.a.key, &body).await;
    assert_problem(r, 404, "not-found").await;
    // B itself finds it with the same filter.
    let r = app.post(&format!("/v1/collections/{theirs}/search"), &b.key, &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(ids_of(&r.json::<Value>().await.unwrap(), "document_id"), [their_doc]);
}

#[tokio::test]
async fn mmr_lets_a_different_relevant_chunk_past_near_duplicates() {
    let app = spawn_app().await;
    assert!(app.state.embedder.is_some(), "the embedding model must be present (scripts/fetch-model)");
    let kb = collection(&app, &app.a.key, "Refunds").await;
    let duplicates = [
        "Refunds are paid back to the original card within 14 days of receiving the return.",
        "Refunds are paid back to the original card within 14 days of receiving your return.",
        "Refunds are paid back to your original card within 14 days of receiving the return.",
    ];
    let mut copies = Vec::new();
    for (i, text) in duplicates.iter().enumerate() {
        copies.push(add_text(&app, &app.a.key, &kb, &format!("Card refunds {i}"), text, Value::Null).await);
    }
    let text = "Orders paid by bank transfer are refunded to the bank account you name on the return form.";
    let different = add_text(&app, &app.a.key, &kb, "Bank transfer refunds", text, Value::Null).await;
    // Other knowledge: two documents share a query word, the rest none (so
    // that in full text the query's words are rare enough to weigh).
    for (title, text) in [
        ("Shipping", "Shipping is paid by the customer and takes five business days."),
        ("Gift wrap", "Gift wrapping is paid at checkout and costs two euros."),
        ("Opening hours", "Our store opens at nine in the morning."),
        ("Countries", "We ship to Norway, Sweden and Denmark with DHL."),
        ("Warranty", "Every blender comes with a seven year warranty."),
        ("Gift cards", "Gift cards never expire and work in every store."),
        ("Phone", "Customer service answers the phone on weekdays."),
        ("Plans", "The premium plan costs twenty euros per month."),
    ] {
        add_text(&app, &app.a.key, &kb, title, text, Value::Null).await;
    }
    app.run_jobs().await;

    let query = "how are refunds paid back";
    let plain = search(&app, &kb, json!({"query": query, "top_k": 2})).await;
    let top = ids_of(&plain, "document_id");
    assert!(top.iter().all(|d| copies.contains(d)), "without MMR two near-duplicates lead: {plain}");
    let same = search(&app, &kb, json!({"query": query, "top_k": 2, "mmr": {"lambda": 1.0}})).await;
    assert_eq!(ids_of(&same, "chunk_id"), ids_of(&plain, "chunk_id"), "lambda 1 keeps the ranking");

    let diverse = search(&app, &kb, json!({"query": query, "top_k": 2, "mmr": {"lambda": 0.5}})).await;
    let top = ids_of(&diverse, "document_id");
    assert!(top.contains(&different), "with lambda 0.5 the different answer enters the top 2: {diverse}");
    assert!(copies.contains(&top[0]) || copies.contains(&top[1]), "{diverse}");
    let first = &diverse["results"][0];
    assert!(first["scores"]["bm25"].is_object() && first["scores"]["dense"].is_object(), "signals kept: {diverse}");
}
