//! Idempotency-Key with Stripe's semantics.

use serde_json::{Value, json};
use switchboard_store::{IdempotencyBegin, IdempotencyScope, Tenant as StoreTenant};

use crate::helpers::*;

async fn create_key(app: &TestApp, api_key: &str, idem: &str, name: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/v1/api-keys", api_key)
        .header("idempotency-key", idem)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap()
}

async fn key_count(app: &TestApp, api_key: &str) -> usize {
    let keys: Value = app.get("/v1/api-keys?limit=100", api_key).await.json().await.unwrap();
    keys["api_keys"].as_array().unwrap().len()
}

#[tokio::test]
async fn the_same_key_and_body_replays_the_first_response_byte_for_byte() {
    let app = spawn_app().await;
    let first = create_key(&app, &app.a.key, "k-1", "deploy").await;
    assert_eq!(first.status(), 201);
    let first_body = first.bytes().await.unwrap();
    let second = create_key(&app, &app.a.key, "k-1", "deploy").await;
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.bytes().await.unwrap(), first_body);
    assert_eq!(key_count(&app, &app.a.key).await, 2, "one key created, not two");
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_422() {
    let app = spawn_app().await;
    assert_eq!(create_key(&app, &app.a.key, "k-2", "one").await.status(), 201);
    let r = create_key(&app, &app.a.key, "k-2", "two").await;
    assert_problem(r, 422, "idempotency-key-reused").await;
    assert_eq!(key_count(&app, &app.a.key).await, 2);
}

#[tokio::test]
async fn a_key_in_flight_is_409() {
    let app = spawn_app().await;
    // Begin the request the way the middleware does, and leave it running.
    let body = serde_json::to_vec(&json!({"name": "slow"})).unwrap();
    let hash = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update("POST");
        h.update([0]);
        h.update("/v1/api-keys");
        h.update([0]);
        h.update(&body);
        hex::encode(h.finalize())
    };
    let me: Value = app.get("/v1/me", &app.a.key).await.json().await.unwrap();
    let scope = IdempotencyScope {
        principal: format!("key:{}", me["api_key_id"].as_str().unwrap()),
        key: "k-3".into(),
        request_hash: hash,
    };
    let t = StoreTenant::new(app.a.org_id.clone());
    assert_eq!(
        app.store.idempotency_begin(&t, &scope, switchboard_store::now_millis()).await.unwrap(),
        IdempotencyBegin::Started
    );
    let r = app
        .request(reqwest::Method::POST, "/v1/api-keys", &app.a.key)
        .header("idempotency-key", "k-3")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(r, 409, "idempotency-in-flight").await;
    assert_eq!(key_count(&app, &app.a.key).await, 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_object() {
    let app = spawn_app().await;
    let (a, b) = tokio::join!(create_key(&app, &app.a.key, "k-4", "race"), create_key(&app, &app.a.key, "k-4", "race"));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    // Either the second waited for nothing and was told the first is in flight,
    // or it arrived after and got the replay: never two creations.
    assert!(statuses == [201, 409] || statuses == [201, 201], "{statuses:?}");
    assert_eq!(key_count(&app, &app.a.key).await, 2);
}

#[tokio::test]
async fn refused_requests_are_not_stored_so_the_key_can_be_reused() {
    let app = spawn_app().await;
    let r = create_key(&app, &app.a.key, "k-5", "  ").await;
    assert_problem(r, 422, "invalid-request").await;
    let r = create_key(&app, &app.a.key, "k-5", "fixed").await;
    assert_eq!(r.status(), 201, "a 4xx validation failure does not burn the key");
}

#[tokio::test]
async fn keys_are_scoped_per_tenant_and_validated() {
    let app = spawn_app().await;
    let b = app.new_tenant("Tenant B").await;
    assert_eq!(create_key(&app, &app.a.key, "shared", "same").await.status(), 201);
    let r = create_key(&app, &b.key, "shared", "same").await;
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("idempotent-replayed").is_none_or(|v| v == "false"), "B must not see A's response");
    let created: Value = r.json().await.unwrap();
    let listed: Value =
        app.get(&format!("/v1/api-keys/{}", created["id"].as_str().unwrap()), &b.key).await.json().await.unwrap();
    assert_eq!(listed["name"], "same");
    assert_eq!(key_count(&app, &b.key).await, 2);

    let long = "x".repeat(256);
    let r = create_key(&app, &app.a.key, &long, "too long").await;
    assert_problem(r, 400, "bad-request").await;
}

#[tokio::test]
async fn stored_keys_expire_after_a_day() {
    let app = spawn_app().await;
    assert_eq!(create_key(&app, &app.a.key, "k-6", "old").await.status(), 201);
    let now = switchboard_store::now_millis();
    assert_eq!(app.store.idempotency_purge(now - 24 * 3_600_000).await.unwrap(), 0, "kept for 24 h");
    assert_eq!(app.store.idempotency_purge(now + 1).await.unwrap(), 1);
    let r = create_key(&app, &app.a.key, "k-6", "new body after expiry").await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn a_key_abandoned_by_a_dead_process_can_be_retried() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&json!({"name": "after crash"})).unwrap();
    let me: Value = app.get("/v1/me", &app.a.key).await.json().await.unwrap();
    let hash = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [b"POST".as_slice(), &[0], b"/v1/api-keys", &[0], &body] {
            h.update(part);
        }
        hex::encode(h.finalize())
    };
    let scope = IdempotencyScope {
        principal: format!("key:{}", me["api_key_id"].as_str().unwrap()),
        key: "k-7".into(),
        request_hash: hash,
    };
    let t = StoreTenant::new(app.a.org_id.clone());
    let ten_minutes_ago = switchboard_store::now_millis() - 10 * 60 * 1000;
    app.store.idempotency_begin(&t, &scope, ten_minutes_ago).await.unwrap();
    let r = app
        .request(reqwest::Method::POST, "/v1/api-keys", &app.a.key)
        .header("idempotency-key", "k-7")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}
