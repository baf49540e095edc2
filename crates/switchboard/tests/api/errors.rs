//! Bad input gets a problem+json with the right 4xx, and changes nothing.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/v1/nothing-here", &app.a.key).await, 404, "not-found").await;
    let r = app.client.put(app.url("/v1/org")).bearer_auth(&app.a.key).send().await.unwrap();
    assert_problem(r, 405, "method-not-allowed").await;
}

#[tokio::test]
async fn missing_and_bad_credentials_are_401() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/v1/org")).send().await.unwrap();
    assert_problem(r, 401, "unauthorized").await;
    assert_problem(app.get("/v1/org", "sb_not-a-real-key").await, 401, "unauthorized").await;
    let r = app.client.get(app.url("/v1/org")).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
    assert_problem(r, 401, "unauthorized").await;
}

#[tokio::test]
async fn malformed_json_wrong_types_missing_and_unknown_fields() {
    let app = spawn_app().await;
    let send = |body: &'static str| {
        app.client
            .post(app.url("/v1/api-keys"))
            .bearer_auth(&app.a.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_problem(send("{\"name\": ").await.unwrap(), 400, "malformed-json").await;
    assert_problem(send("{\"name\": 42}").await.unwrap(), 422, "invalid-request").await;
    assert_problem(send("{}").await.unwrap(), 422, "invalid-request").await;
    let body =
        assert_problem(send("{\"name\": \"k\", \"tenant_id\": \"other\"}").await.unwrap(), 422, "invalid-request")
            .await;
    assert!(body["detail"].as_str().unwrap().contains("unknown field"), "{body}");
    assert_problem(send("[1, 2]").await.unwrap(), 422, "invalid-request").await;
    // Mass assignment through PATCH is refused as well.
    let r =
        app.patch(&format!("/v1/users/{}", app.a.user_id), &app.a.key, &json!({"role": "admin", "org_id": "x"})).await;
    assert_problem(r, 422, "invalid-request").await;
    let r =
        app.client.post(app.url("/v1/api-keys")).bearer_auth(&app.a.key).body("{\"name\":\"k\"}").send().await.unwrap();
    assert_problem(r, 415, "unsupported-media-type").await;
    // Semantic validation.
    assert_problem(app.post("/v1/api-keys", &app.a.key, &json!({"name": "  "})).await, 422, "invalid-request").await;
    let r = app
        .post("/v1/users", &app.a.key, &json!({"email": "nope", "name": "x", "password": PASSWORD, "role": "agent"}))
        .await;
    assert_problem(r, 422, "invalid-request").await;
    let r = app
        .post("/v1/users", &app.a.key, &json!({"email": "a@b.co", "name": "x", "password": PASSWORD, "role": "king"}))
        .await;
    assert_problem(r, 422, "invalid-request").await;

    // Nothing was written by any of that: the owner's init key is still the only key.
    let keys: Value = app.get("/v1/api-keys", &app.a.key).await.json().await.unwrap();
    assert_eq!(keys["api_keys"].as_array().unwrap().len(), 1);
    let users: Value = app.get("/v1/users", &app.a.key).await.json().await.unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn oversize_bodies_are_413_and_nothing_is_written() {
    let app = spawn_app_with(|s| s.server.body_limit_bytes = 64 * 1024).await;
    let big = "x".repeat(200 * 1024);
    let r = app.post("/v1/api-keys", &app.a.key, &json!({"name": big})).await;
    assert_problem(r, 413, "payload-too-large").await;
    // Also with an Idempotency-Key (that path buffers the body itself).
    let r = app
        .request(reqwest::Method::POST, "/v1/api-keys", &app.a.key)
        .header("idempotency-key", "big-1")
        .json(&json!({"name": big}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 413, "payload-too-large").await;
    let keys: Value = app.get("/v1/api-keys", &app.a.key).await.json().await.unwrap();
    assert_eq!(keys["api_keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_query_parameters_422() {
    let app = spawn_app().await;
    assert_problem(app.get("/v1/users/does-not-exist", &app.a.key).await, 404, "not-found").await;
    assert_problem(app.get("/v1/api-keys/does-not-exist", &app.a.key).await, 404, "not-found").await;
    assert_problem(app.delete("/v1/api-keys/does-not-exist", &app.a.key).await, 404, "not-found").await;
    let r = app.patch("/v1/users/does-not-exist", &app.a.key, &json!({"role": "agent"})).await;
    assert_problem(r, 404, "not-found").await;
    assert_problem(app.get("/v1/users?limit=abc", &app.a.key).await, 422, "invalid-request").await;
    assert_problem(app.get("/v1/users?colour=red", &app.a.key).await, 422, "invalid-request").await;
}

#[tokio::test]
async fn error_bodies_leak_no_internals() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/api-keys"))
        .bearer_auth(&app.a.key)
        .header("content-type", "application/json")
        .body("{\"name\": \u{0}")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    for leak in ["sqlx", "SELECT", "panicked", "src/", "backtrace"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_or_removed() {
    let app = spawn_app().await;
    let r = app.patch(&format!("/v1/users/{}", app.a.user_id), &app.a.key, &json!({"role": "admin"})).await;
    assert_problem(r, 409, "conflict").await;
    assert_problem(app.delete(&format!("/v1/users/{}", app.a.user_id), &app.a.key).await, 409, "conflict").await;
    let me: Value = app.get(&format!("/v1/users/{}", app.a.user_id), &app.a.key).await.json().await.unwrap();
    assert_eq!(me["role"], "owner");
}

/// Generated from the API document: every operation that takes a JSON body
/// answers malformed JSON, the wrong shape, a missing content type and an
/// oversize body with the right problem, whatever the route.
#[tokio::test]
async fn every_json_operation_refuses_bad_bodies_with_problems() {
    let app = spawn_app_with(|s| {
        s.server.body_limit_bytes = 4096;
        s.knowledge.max_upload_bytes = 2048;
    })
    .await;
    let spec: Value = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    // The widget's visitor API is called from a deployment's site with a visitor token.
    let origin = "https://shop.example";
    let agent: Value =
        app.post("/v1/agents", &app.a.key, &json!({"name": "A", "collection_ids": []})).await.json().await.unwrap();
    let body = json!({"name": "Site", "agent_id": agent["id"], "allowed_origins": [origin]});
    let deployment: Value = app.post("/v1/deployments", &app.a.key, &body).await.json().await.unwrap();
    let deployment = deployment["id"].as_str().unwrap().to_owned();
    let session: Value = app
        .client
        .post(app.url(&format!("/widget/v1/deployments/{deployment}/sessions")))
        .header("origin", origin)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let visitor = session["visitor_token"].as_str().unwrap().to_owned();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"]["content"].get("application/json").is_none() {
                continue; // no body, or files only
            }
            let widget = path.starts_with("/widget/");
            let id = if widget { deployment.as_str() } else { "00000000-0000-7000-8000-000000000000" };
            let concrete = path.replace("{id}", id);
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let send = |body: Vec<u8>, json: bool| {
                let mut req = if widget {
                    app.client.request(m.clone(), app.url(&concrete)).header("origin", origin).bearer_auth(&visitor)
                } else {
                    app.request(m.clone(), &concrete, &app.a.key)
                }
                .body(body);
                if json {
                    req = req.header("content-type", "application/json");
                }
                req.send()
            };
            let what = format!("{method} {path}");
            let r = send(b"{]".to_vec(), true).await.unwrap();
            assert_eq!(r.status(), 400, "{what}: malformed JSON");
            assert_problem(r, 400, "malformed-json").await;
            let r = send(b"[1,2,3]".to_vec(), true).await.unwrap();
            assert_eq!(r.status(), 422, "{what}: wrong shape");
            assert_problem(r, 422, "invalid-request").await;
            assert_problem(send(b"{\"zzz_unknown\": 1}".to_vec(), true).await.unwrap(), 422, "invalid-request").await;
            assert_problem(send(b"{}".to_vec(), false).await.unwrap(), 415, "unsupported-media-type").await;
            let big = format!("{{\"name\": \"{}\"}}", "x".repeat(200 * 1024)).into_bytes();
            assert_problem(send(big, true).await.unwrap(), 413, "payload-too-large").await;
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked} operations with bodies");
    let keys: Value = app.get("/v1/api-keys", &app.a.key).await.json().await.unwrap();
    assert_eq!(keys["api_keys"].as_array().unwrap().len(), 1, "nothing was created");
}

/// NUL cannot be stored by PostgreSQL: it must be refused at the edge, the
/// same way on both backends, never reach a query as a 500.
#[tokio::test]
async fn nul_characters_and_malformed_ids_are_refused_before_any_query() {
    let app = spawn_app().await;
    let r = app.post("/v1/collections", &app.a.key, &json!({"name": "ok", "description": "a\u{0}b"})).await;
    assert_problem(r, 422, "invalid-request").await;
    let r = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": "a\u{0}@b.co", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 422, "invalid-request").await;
    for path in ["/v1/users/a%00b", "/v1/collections/a%00b", "/v1/api-keys/not-an-id", "/v1/users/..%2F..%2Fetc"] {
        assert_problem(app.get(path, &app.a.key).await, 404, "not-found").await;
    }
    assert_problem(app.get("/v1/users?after=a%00b", &app.a.key).await, 422, "invalid-request").await;
    // A wrong type for an enum is a 422 like any other wrong type, not a syntax error.
    let r = app.patch(&format!("/v1/users/{}", app.a.user_id), &app.a.key, &json!({"role": 5})).await;
    assert_problem(r, 422, "invalid-request").await;
}

#[tokio::test]
async fn every_documented_error_is_problem_json() {
    let app = spawn_app().await;
    let spec: Value = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for code in ["400", "403", "404", "422", "429"] {
                let content = &responses.get(code).unwrap_or_else(|| panic!("{method} {path} lacks {code}"))["content"];
                assert!(content.get("application/problem+json").is_some(), "{method} {path} {code}: {content}");
            }
            for (code, r) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    assert!(
                        r["content"].get("application/json").is_none(),
                        "{method} {path} {code} says application/json"
                    );
                }
            }
        }
    }
    assert_eq!(spec["paths"]["/healthz"]["get"]["security"], json!([{}]));
}
