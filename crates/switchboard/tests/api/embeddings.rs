//! Collections on a remote embedding model: an OpenAI-compatible Embeddings
//! endpoint (the scriptable loopback server, whose vectors are hashed bags of
//! words), and model changes that compute every vector again through jobs
//! while full-text search keeps working.

use serde_json::{Value, json};
use switchboard_llm::mock::{MockLlm, RecordedRequest, Script};
use switchboard_server::knowledge::worker::{Outcome, execute_job};

use crate::helpers::*;

const KEY: &str = "sk-test-EMBEDKEY-0a1b2c3d4e5f6a7b";

/// An app allowed to reach the mock on 127.0.0.1, with the endpoint's key as a secret.
async fn remote_app() -> TestApp {
    let app = spawn_app_with(|s| s.llm.allow_private_networks = true).await;
    let r = app.post("/v1/secrets", &app.a.key, &json!({"name": "embeddings", "value": KEY})).await;
    assert_eq!(r.status(), 201);
    app
}

fn remote(mock: &MockLlm, model: &str, dimensions: Option<u32>) -> Value {
    let mut e =
        json!({"provider": "openai", "base_url": mock.base_url(), "model": model, "api_key_secret": "embeddings"});
    if let Some(d) = dimensions {
        e["dimensions"] = d.into();
    }
    e
}

async fn create(app: &TestApp, embedding: Value) -> Value {
    let name = format!("kb-{}", uuid::Uuid::new_v4().simple());
    let r = app.post("/v1/collections", &app.a.key, &json!({"name": name, "embedding": embedding})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn collection(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/collections/{id}"), &app.a.key).await.json().await.unwrap()
}

async fn change_model(app: &TestApp, id: &str, embedding: Value) -> Value {
    let r = app.patch(&format!("/v1/collections/{id}"), &app.a.key, &json!({"embedding": embedding})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn search(app: &TestApp, id: &str, query: &str, mode: &str) -> Value {
    let body = json!({"query": query, "mode": mode, "top_k": 3});
    let r = app.post(&format!("/v1/collections/{id}/search"), &app.a.key, &body).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// The embeddings requests the mock received for `model`, in order.
fn embedding_requests(mock: &MockLlm, model: &str) -> Vec<RecordedRequest> {
    mock.requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/embeddings") && r.json.as_ref().is_some_and(|j| j["model"] == model))
        .collect()
}

fn inputs(request: &RecordedRequest) -> Vec<String> {
    let input = &request.json.as_ref().unwrap()["input"];
    input.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

fn succeeded(outcomes: &[Outcome]) -> bool {
    !outcomes.is_empty() && outcomes.iter().all(|o| matches!(o, Outcome::Succeeded { .. }))
}

#[tokio::test]
async fn a_collection_on_a_remote_endpoint_is_embedded_and_searched_there() {
    let app = remote_app().await;
    let mock = MockLlm::start().await;
    let c = create(&app, remote(&mock, "mock-embed", None)).await;
    assert_eq!(c["embedding_model"], "openai:mock-embed");
    assert_eq!(c["embedding_dim"], 64, "learnt from a first call: {c}");
    assert_eq!(c["embedding"]["provider"], "openai");
    assert_eq!(c["embedding"]["model"], "mock-embed");
    assert_eq!(c["embedding"]["base_url"], mock.base_url());
    assert_eq!(c["embedding"]["api_key_secret"], "embeddings");
    assert!(!c.to_string().contains(KEY));
    let id = c["id"].as_str().unwrap();

    for (title, text) in [
        ("Returns", "Customers may return items within thirty days."),
        ("Shipping", "Parcels ship from Rotterdam by courier."),
        ("Warranty", "Every kettle has a two year warranty."),
    ] {
        let r = app
            .post(&format!("/v1/collections/{id}/documents"), &app.a.key, &json!({"title": title, "text": text}))
            .await;
        assert_eq!(r.status(), 202);
    }
    assert!(succeeded(&app.run_jobs().await));
    assert_eq!(collection(&app, id).await["vectors_pending"], 0);

    let requests = embedding_requests(&mock, "mock-embed");
    let embedded: Vec<String> = requests.iter().skip(1).flat_map(inputs).collect();
    assert_eq!(embedded.len(), 3, "one text per chunk, after the probe: {embedded:?}");
    assert!(embedded.iter().any(|t| t.contains("Parcels ship from Rotterdam by courier.")), "{embedded:?}");
    for r in &requests {
        assert_eq!(r.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert!(r.json.as_ref().unwrap().get("dimensions").is_none(), "no size asked for");
    }

    let found = search(&app, id, "courier parcels Rotterdam", "dense").await;
    assert_eq!(found["mode"], "dense");
    assert_eq!(found["dense_available"], true);
    assert_eq!(found["results"][0]["title"], "Shipping", "{found}");
    assert!(found["results"][0]["scores"]["dense"]["score"].as_f64().unwrap() > 0.5, "{found}");
    let last = mock.requests().pop().unwrap();
    assert_eq!(inputs(&last), ["courier parcels Rotterdam"], "the query is embedded by the collection's model");
}

#[tokio::test]
async fn a_model_change_re_embeds_every_chunk_once_through_a_job_that_survives_a_failure() {
    let app = remote_app().await;
    let mock = MockLlm::start().await;
    let c = create(&app, remote(&mock, "mock-a", Some(32))).await;
    assert_eq!(c["embedding_dim"], 32);
    let id = c["id"].as_str().unwrap();
    // 70 question-answer pairs: 70 chunks, more than one batch of the job.
    let faq: Vec<Value> = (0..70)
        .map(|n| json!({"question": format!("Where is parcel {n}?"), "answer": format!("Parcel {n} waits in depot {n}.")}))
        .collect();
    let r = app.post(&format!("/v1/collections/{id}/documents"), &app.a.key, &json!({"faq": faq})).await;
    assert_eq!(r.status(), 202);
    assert!(succeeded(&app.run_jobs().await));
    assert_eq!(collection(&app, id).await["vectors_pending"], 0);

    let changed = change_model(&app, id, remote(&mock, "mock-b", Some(48))).await;
    assert_eq!(changed["embedding_model"], "openai:mock-b");
    assert_eq!(changed["embedding_dim"], 48);
    assert_eq!(changed["vectors_pending"], 70, "every old vector is dropped: {changed}");

    // Before the job runs: no vectors to search, full text as before.
    assert_eq!(search(&app, id, "parcel 7 depot", "dense").await["results"], json!([]));
    let text = search(&app, id, "parcel 7 depot", "bm25").await;
    assert!(text["results"][0]["text"].as_str().unwrap().contains("Parcel 7 waits"), "{text}");

    // The job's first batch goes through; the second meets a server error.
    mock.push_embeddings(Script::reply(""));
    mock.push_embeddings(Script::status(500));
    let outcomes = app.run_jobs().await;
    assert!(matches!(outcomes[..], [Outcome::Retrying { .. }]), "{outcomes:?}");
    assert_eq!(collection(&app, id).await["vectors_pending"], 6, "the first batch of 64 is kept");
    // The retry, once due, finishes the rest.
    let later = switchboard_store::now_millis() + 3_600_000;
    let job = app.store.claim_job("restarted", later, 60_000).await.unwrap().expect("the embed job is due again");
    assert_eq!(job.kind, "embed");
    assert!(matches!(execute_job(&app.state, job).await.unwrap(), Outcome::Succeeded { .. }));
    assert_eq!(collection(&app, id).await["vectors_pending"], 0);

    let requests = embedding_requests(&mock, "mock-b");
    assert_eq!(requests.len(), 5, "probe, the dense query, batch, failed batch, retried batch");
    assert_eq!(inputs(&requests[3]).len(), 6, "the failed batch: the 6 left");
    let mut embedded: Vec<String> = [&requests[2], &requests[4]].into_iter().flat_map(inputs).collect();
    assert_eq!(embedded.len(), 70);
    embedded.sort();
    embedded.dedup();
    assert_eq!(embedded.len(), 70, "no chunk embedded twice");
    assert!(requests.iter().all(|r| r.json.as_ref().unwrap()["dimensions"] == 48));

    let found = search(&app, id, "Where is parcel 7?", "dense").await;
    assert!(found["results"][0]["text"].as_str().unwrap().contains("Parcel 7 waits"), "{found}");
    assert_eq!(inputs(&mock.requests().pop().unwrap()), ["Where is parcel 7?"]);
    assert_eq!(mock.requests().pop().unwrap().json.unwrap()["model"], "mock-b");
}

#[tokio::test]
async fn only_the_latest_model_change_embeds_and_the_local_model_can_come_back() {
    let app = remote_app().await;
    assert!(app.state.embedder.is_some(), "the embedding model must be present (scripts/fetch-model)");
    let mock = MockLlm::start().await;
    let c = create(&app, remote(&mock, "mock-a", None)).await;
    let id = c["id"].as_str().unwrap();
    for n in 0..3 {
        let body = json!({"title": format!("Note {n}"), "text": format!("Kettle model {n} boils water quickly.")});
        assert_eq!(app.post(&format!("/v1/collections/{id}/documents"), &app.a.key, &body).await.status(), 202);
    }
    assert!(succeeded(&app.run_jobs().await));

    // Two changes before any worker runs: the first one's job finds itself superseded.
    change_model(&app, id, remote(&mock, "mock-b", Some(16))).await;
    let changed = change_model(&app, id, remote(&mock, "mock-c", Some(24))).await;
    assert_eq!((changed["embedding_dim"].as_i64(), changed["vectors_pending"].as_i64()), (Some(24), Some(3)));
    assert!(succeeded(&app.run_jobs().await));
    assert_eq!(collection(&app, id).await["vectors_pending"], 0);
    assert_eq!(embedding_requests(&mock, "mock-b").len(), 1, "only the probe: mock-b's job did nothing");
    let by_c: Vec<String> = embedding_requests(&mock, "mock-c").iter().skip(1).flat_map(inputs).collect();
    assert_eq!(by_c.len(), 3, "{by_c:?}");

    // Only the endpoint changes (a new URL or key for the same model): the vectors stay.
    let same = change_model(&app, id, remote(&mock, "mock-c", Some(24))).await;
    assert_eq!(same["vectors_pending"], 0);

    // Back to the local model: its vectors, computed by the local model, in the background.
    let local = change_model(&app, id, json!({"provider": "local"})).await;
    assert_eq!(local["embedding_model"], "local:all-MiniLM-L6-v2");
    assert_eq!(local["embedding_dim"], 384);
    assert_eq!(local["embedding"], json!({"provider": "local", "model": "all-MiniLM-L6-v2", "dimensions": 384}));
    assert_eq!(local["vectors_pending"], 3);
    let before = mock.request_count();
    assert!(succeeded(&app.run_jobs().await));
    assert_eq!(collection(&app, id).await["vectors_pending"], 0);
    let found = search(&app, id, "which kettle heats water fast", "dense").await;
    assert_eq!(found["results"].as_array().unwrap().len(), 3, "{found}");
    assert_eq!(mock.request_count(), before, "the endpoint is no longer called");
}

#[tokio::test]
async fn an_embedding_endpoint_that_cannot_be_used_is_refused_and_changes_nothing() {
    let app = remote_app().await;
    let mock = MockLlm::start().await;
    let c = create(&app, json!({"provider": "local"})).await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/v1/collections/{id}");

    let no_secret = json!({"provider": "openai", "base_url": mock.base_url(), "model": "m", "api_key_secret": "nope"});
    let unauthorized = Script::Error {
        status: 401,
        headers: Vec::new(),
        body: json!({"error": {"message": format!("Incorrect API key provided: {KEY}."), "type": "invalid_request_error", "code": "invalid_api_key"}}).to_string(),
    };
    mock.push_embeddings(unauthorized);
    let cases = [
        (no_secret, "no secret named `nope`"),
        (remote(&mock, "m", None), "401"),
        (json!({"provider": "openai", "model": "m", "base_url": "ftp://example.com/v1"}), "http(s)"),
        (json!({"provider": "openai", "base_url": mock.base_url()}), "`model`"),
        (json!({"provider": "local", "model": "bge-small"}), "local provider"),
        (
            json!({"provider": "openai", "base_url": mock.base_url(), "model": "m", "dimensions": 0}),
            "between 1 and 4096",
        ),
        (json!({"provider": "cohere"}), "unknown variant `cohere`"),
    ];
    for (embedding, why) in cases {
        let r = app.patch(&path, &app.a.key, &json!({"embedding": embedding})).await;
        let problem = assert_problem(r, 422, "invalid-request").await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(why), "{embedding}: {problem}");
        assert!(!detail.contains(KEY), "the key never comes back: {detail}");
    }
    assert_eq!(collection(&app, id).await["embedding_model"], "local:all-MiniLM-L6-v2");

    // Without `llm.allow_private_networks`, a loopback endpoint is refused before any request.
    let strict = spawn_app().await;
    let r = strict
        .post(
            "/v1/collections",
            &strict.a.key,
            &json!({"name": "Strict", "embedding": {"provider": "openai", "base_url": mock.base_url(), "model": "m"}}),
        )
        .await;
    let problem = assert_problem(r, 422, "invalid-request").await;
    assert!(problem["detail"].as_str().unwrap().contains("loopback"), "{problem}");
    let calls = mock.requests().len();
    assert_eq!(calls, 1, "only the 401 probe reached the endpoint");
}

#[tokio::test]
async fn knowledge_ingested_without_the_model_gets_its_vectors_once_the_model_is_there() {
    let nothing = tempfile::tempdir().unwrap();
    let app = spawn_app_with(|s| s.knowledge.model_dir = Some(nothing.path().to_path_buf())).await;
    assert!(app.state.embedder.is_none());
    let c = create(&app, json!({"provider": "local"})).await;
    let id = c["id"].as_str().unwrap();
    for (title, text) in
        [("Returns", "Unused items go back within thirty days."), ("Kettles", "Every kettle boils fast.")]
    {
        let r = app
            .post(&format!("/v1/collections/{id}/documents"), &app.a.key, &json!({"title": title, "text": text}))
            .await;
        assert_eq!(r.status(), 202);
    }
    assert!(succeeded(&app.run_jobs().await));
    assert_eq!(collection(&app, id).await["vectors_pending"], 2, "published for full text only");

    // The same database served again, now with the model: its start queues the missing vectors.
    let mut settings = test_settings();
    settings.data_dir = nothing.path().to_path_buf();
    let restarted = switchboard_server::Application::build(settings.clone(), app.store.clone()).await.unwrap();
    let state = restarted.state().clone();
    let addr = restarted.local_addr();
    tokio::spawn(restarted.run_until(std::future::pending()));
    assert!(state.embedder.is_some(), "the embedding model must be present (scripts/fetch-model)");
    // Serving again before the job ran queues nothing twice.
    switchboard_server::Application::build(settings, app.store.clone()).await.unwrap();
    let mut outcomes = Vec::new();
    while let Outcome::Succeeded { job_id, .. } =
        switchboard_server::knowledge::worker::try_execute_job(&state, "restarted").await.unwrap()
    {
        outcomes.push(job_id);
    }
    assert_eq!(outcomes.len(), 1, "one embed job for the collection");
    assert_eq!(collection(&app, id).await["vectors_pending"], 0);
    let body = json!({"query": "how long to send back unused things", "mode": "dense", "top_k": 1});
    let r = app
        .client
        .post(format!("http://{addr}/v1/collections/{id}/search"))
        .bearer_auth(&app.a.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let found: Value = r.json().await.unwrap();
    assert_eq!(found["results"][0]["title"], "Returns", "{found}");
}
