//! The organization's secrets and the agents' LLM settings that name them:
//! values sealed at rest and never shown again, owners and admins only,
//! audited without the value; agents refer to a secret by name and are
//! refused (problem+json) when the name, URL or model settings are wrong.

use serde_json::{Value, json};
use switchboard_store::Tenant as StoreTenant;

use crate::helpers::*;

const VALUE: &str = "sk-test-CREDENTIAL-4f1c9d2e7a";

async fn add_secret(app: &TestApp, key: &str, name: &str, value: &str) -> reqwest::Response {
    app.post("/v1/secrets", key, &json!({"name": name, "value": value})).await
}

#[tokio::test]
async fn secrets_are_sealed_listed_by_name_and_never_shown_again() {
    let app = spawn_app().await;
    let r = add_secret(&app, &app.a.key, "openai", VALUE).await;
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(!text.contains(VALUE), "the value is not echoed: {text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "openai");
    assert!(created.get("value").is_none());

    // Stored sealed: the plaintext is nowhere in what the store holds.
    let sealed = app.store.sealed_secret(&StoreTenant::new(app.a.org_id.clone()), &id).await.unwrap();
    assert!(!sealed.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()));

    for path in ["/v1/secrets", &format!("/v1/secrets/{id}"), "/v1/audit-log?limit=100"] {
        let r = app.get(path, &app.a.key).await;
        assert_eq!(r.status(), 200, "{path}");
        let text = r.text().await.unwrap();
        assert!(text.contains("openai") && !text.contains(VALUE), "{path}: {text}");
    }
    let log: Value = app.get("/v1/audit-log?limit=100", &app.a.key).await.json().await.unwrap();
    assert!(log["entries"].as_array().unwrap().iter().any(|e| e["action"] == "secret.create" && e["target_id"] == id));

    assert_problem(add_secret(&app, &app.a.key, "openai", "other").await, 409, "conflict").await;
    for (name, value) in [
        ("has space", "v"),
        ("", "v"),
        ("-leading-dash", "v"),
        ("ok", ""),
        ("ok", "line\r\nX-Injected: 1"),
        ("ok", &"x".repeat(8193)),
    ] {
        assert_problem(add_secret(&app, &app.a.key, name, value).await, 422, "invalid-request").await;
    }
    let r = app.post("/v1/secrets", &app.a.key, &json!({"name": "x", "value": "v", "owner": "me"})).await;
    assert_problem(r, 422, "invalid-request").await;

    // Only owners and admins manage secrets.
    let (_, admin) = app.member_with_key(&app.a, "admin").await;
    assert_eq!(add_secret(&app, &admin, "by-admin", "v").await.status(), 201);
    for role in ["agent", "analyst"] {
        let (_, key) = app.member_with_key(&app.a, role).await;
        assert_problem(add_secret(&app, &key, "nope", "v").await, 403, "forbidden").await;
        assert_problem(app.get("/v1/secrets", &key).await, 403, "forbidden").await;
    }

    let r = app.delete(&format!("/v1/secrets/{id}"), &app.a.key).await;
    assert_eq!(r.status(), 200);
    assert_problem(app.get(&format!("/v1/secrets/{id}"), &app.a.key).await, 404, "not-found").await;
    let log: Value = app.get("/v1/audit-log?limit=100", &app.a.key).await.json().await.unwrap();
    assert!(log["entries"].as_array().unwrap().iter().any(|e| e["action"] == "secret.delete" && e["target_id"] == id));
}

fn llm(secret: &str) -> Value {
    json!({"base_url": "https://llm.example/v1/", "model": "gpt-4o-mini", "api_key_secret": secret,
           "temperature": 0.2, "max_tokens": 300,
           "fallback": {"base_url": "http://ollama.example:11434/v1", "model": "llama3.1:8b"}})
}

#[tokio::test]
async fn agents_name_their_llm_key_by_secret_and_bad_settings_are_refused() {
    let app = spawn_app().await;
    let r =
        app.post("/v1/agents", &app.a.key, &json!({"name": "Bot", "collection_ids": [], "llm": llm("openai")})).await;
    let problem = assert_problem(r, 422, "invalid-request").await;
    assert!(problem["detail"].as_str().unwrap().contains("no secret named `openai`"), "{problem}");

    assert_eq!(add_secret(&app, &app.a.key, "openai", VALUE).await.status(), 201);
    let r =
        app.post("/v1/agents", &app.a.key, &json!({"name": "Bot", "collection_ids": [], "llm": llm("openai")})).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["config"]["llm"]["base_url"], "https://llm.example/v1", "trailing slash trimmed");
    assert_eq!(created["config"]["llm"]["provider"], "openai");
    assert_eq!(created["config"]["llm"]["fallback"]["model"], "llama3.1:8b");
    let agent = app.get(&format!("/v1/agents/{id}"), &app.a.key).await.text().await.unwrap();
    assert!(!agent.contains(VALUE));

    let bad = [
        json!({"provider": "anthropic", "base_url": "https://x.example/v1", "model": "m"}),
        json!({"base_url": "ftp://x.example/v1", "model": "m"}),
        json!({"base_url": "https://user:pw@x.example/v1", "model": "m"}),
        json!({"base_url": "https://x.example/v1", "model": " "}),
        json!({"base_url": "https://x.example/v1", "model": "m", "temperature": 3.0}),
        json!({"base_url": "https://x.example/v1", "model": "m", "max_tokens": 0}),
        json!({"base_url": "https://x.example/v1", "model": "m", "token_budget": 10}),
        json!({"base_url": "https://x.example/v1", "model": "m", "api_key": "sk-inline"}),
        json!({"base_url": "https://x.example/v1", "model": "m", "api_key_secret": "no such"}),
        json!({"base_url": "https://x.example/v1", "model": "m", "fallback": {"base_url": "https://y.example", "model": "m", "fallback": null}}),
    ];
    for llm in bad {
        let r = app.patch(&format!("/v1/agents/{id}"), &app.a.key, &json!({"llm": llm})).await;
        assert_problem(r, 422, "invalid-request").await;
    }
    // null goes back to the extractive answerer (a new draft version).
    let r = app.patch(&format!("/v1/agents/{id}"), &app.a.key, &json!({"llm": null})).await;
    assert_eq!(r.status(), 200);
    let v2: Value = r.json().await.unwrap();
    assert!(v2["config"].get("llm").is_none(), "{v2}");

    // Another tenant's secret of the same name does not count.
    let b = app.new_tenant("Tenant B").await;
    let r = app.post("/v1/agents", &b.key, &json!({"name": "B", "collection_ids": [], "llm": llm("openai")})).await;
    assert_problem(r, 422, "invalid-request").await;
}
