//! The tenant-isolation matrix: every route of the API document that takes an
//! id, called by another tenant's credentials on tenant A's object, answers 404
//! and changes nothing. A new `{id}` route without a fixture here fails the test.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Tenant A's objects, by the path template that addresses them, with a
/// request body that would be valid for each method.
struct Fixture {
    id: String,
    bodies: BTreeMap<&'static str, Value>,
}

async fn fixtures(app: &TestApp) -> BTreeMap<&'static str, Fixture> {
    let (user_id, _) = app.member_with_key(&app.a, "agent").await;
    let key: Value = app.post("/v1/api-keys", &app.a.key, &json!({"name": "A's key"})).await.json().await.unwrap();
    let mut map = BTreeMap::new();
    map.insert(
        "/v1/users/{id}",
        Fixture { id: user_id, bodies: BTreeMap::from([("patch", json!({"role": "admin"}))]) },
    );
    map.insert("/v1/api-keys/{id}", Fixture { id: key["id"].as_str().unwrap().to_owned(), bodies: BTreeMap::new() });
    let secret: Value = app
        .post("/v1/secrets", &app.a.key, &json!({"name": "a-llm-key", "value": "sk-A-only"}))
        .await
        .json()
        .await
        .unwrap();
    map.insert("/v1/secrets/{id}", Fixture { id: secret["id"].as_str().unwrap().to_owned(), bodies: BTreeMap::new() });
    let collection: Value =
        app.post("/v1/collections", &app.a.key, &json!({"name": "A's FAQ"})).await.json().await.unwrap();
    let collection_id = collection["id"].as_str().unwrap().to_owned();
    map.insert(
        "/v1/collections/{id}",
        Fixture { id: collection_id.clone(), bodies: BTreeMap::from([("patch", json!({"name": "renamed by B"}))]) },
    );
    map.insert(
        "/v1/collections/{id}/documents",
        Fixture {
            id: collection_id.clone(),
            bodies: BTreeMap::from([("post", json!({"title": "B", "text": "planted"}))]),
        },
    );
    map.insert(
        "/v1/collections/{id}/search",
        Fixture { id: collection_id.clone(), bodies: BTreeMap::from([("post", json!({"query": "secret"}))]) },
    );
    let doc: Value = app
        .post(
            &format!("/v1/collections/{collection_id}/documents"),
            &app.a.key,
            &json!({"title": "A secret", "text": "A's secret text"}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.run_jobs().await;
    map.insert(
        "/v1/documents/{id}",
        Fixture { id: doc["documents"][0]["id"].as_str().unwrap().to_owned(), bodies: BTreeMap::new() },
    );
    map.insert(
        "/v1/documents/{id}/events",
        Fixture { id: doc["documents"][0]["id"].as_str().unwrap().to_owned(), bodies: BTreeMap::new() },
    );
    let agent: Value = app
        .post("/v1/agents", &app.a.key, &json!({"name": "A's agent", "collection_ids": [collection_id]}))
        .await
        .json()
        .await
        .unwrap();
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/v1/agents/{agent_id}"), &app.a.key, &json!({"persona": "draft"})).await;
    let agent_fixture = |bodies: BTreeMap<&'static str, Value>| Fixture { id: agent_id.clone(), bodies };
    map.insert("/v1/agents/{id}", agent_fixture(BTreeMap::from([("patch", json!({"persona": "changed by B"}))])));
    for path in ["/v1/agents/{id}/versions", "/v1/agents/{id}/versions/{version}", "/v1/agents/{id}/diff"] {
        map.insert(path, agent_fixture(BTreeMap::new()));
    }
    map.insert("/v1/agents/{id}/versions/{version}/release", agent_fixture(BTreeMap::from([("post", json!({}))])));
    map.insert("/v1/agents/{id}/rollback", agent_fixture(BTreeMap::from([("post", json!({"version": 1}))])));
    let conversation: Value =
        app.post("/v1/conversations", &app.a.key, &json!({"agent_id": agent_id})).await.json().await.unwrap();
    let conversation_id = conversation["id"].as_str().unwrap().to_owned();
    app.post(&format!("/v1/conversations/{conversation_id}/messages"), &app.a.key, &json!({"text": "A's question"}))
        .await;
    let conversation_fixture = |bodies: BTreeMap<&'static str, Value>| Fixture { id: conversation_id.clone(), bodies };
    map.insert("/v1/conversations/{id}", conversation_fixture(BTreeMap::new()));
    map.insert("/v1/conversations/{id}/events", conversation_fixture(BTreeMap::new()));
    map.insert(
        "/v1/conversations/{id}/messages",
        conversation_fixture(BTreeMap::from([("post", json!({"text": "planted by B"}))])),
    );
    map.insert(
        "/v1/conversations/{id}/replies",
        conversation_fixture(BTreeMap::from([("post", json!({"text": "planted by B"}))])),
    );
    for path in [
        "/v1/conversations/{id}/takeover",
        "/v1/conversations/{id}/handback",
        "/v1/conversations/{id}/resolve",
        "/v1/conversations/{id}/escalate",
    ] {
        map.insert(path, conversation_fixture(BTreeMap::from([("post", json!({}))])));
    }
    map.insert("/v1/conversations/{id}/stream", conversation_fixture(BTreeMap::new()));
    // A tool call waiting for approval and a ticket, as a turn would leave them.
    let t = switchboard_store::Tenant::new(app.a.org_id.clone());
    let live = app.store.get_agent(&t, &agent_id).await.unwrap().live_version_id.unwrap();
    let approval = app
        .store
        .request_approval(
            &t,
            &switchboard_store::NewToolApproval {
                conversation_id: conversation_id.clone(),
                agent_version_id: live,
                tool: "refund".into(),
                arguments: "{\"amount\": 9999}".into(),
            },
        )
        .await
        .unwrap();
    let approval_fixture = || Fixture { id: approval.id.clone(), bodies: BTreeMap::from([("post", json!({}))]) };
    for path in ["/v1/approvals/{id}", "/v1/approvals/{id}/approve", "/v1/approvals/{id}/deny"] {
        map.insert(path, approval_fixture());
    }
    let ticket = app
        .store
        .create_ticket(
            &t,
            &switchboard_store::NewTicket {
                conversation_id: Some(conversation_id.clone()),
                subject: "A's ticket".into(),
                description: String::new(),
                priority: "normal".into(),
                created_by: "assistant".into(),
            },
        )
        .await
        .unwrap();
    map.insert(
        "/v1/tickets/{id}",
        Fixture { id: ticket.id.clone(), bodies: BTreeMap::from([("patch", json!({"status": "closed"}))]) },
    );
    let deployment: Value = app
        .post(
            "/v1/deployments",
            &app.a.key,
            &json!({"name": "A's site", "agent_id": agent_id, "allowed_origins": [A_ORIGIN]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let deployment_id = deployment["id"].as_str().unwrap().to_owned();
    let deployment_fixture = |bodies: BTreeMap<&'static str, Value>| Fixture { id: deployment_id.clone(), bodies };
    map.insert(
        "/v1/deployments/{id}",
        deployment_fixture(BTreeMap::from([("patch", json!({"name": "renamed by B"}))])),
    );
    map.insert("/v1/deployments/{id}/rotate-secret", deployment_fixture(BTreeMap::new()));
    map.insert("/v1/deployments/{id}/snippet", deployment_fixture(BTreeMap::new()));
    map.insert("/widget/v1/deployments/{id}/config", deployment_fixture(BTreeMap::new()));
    map.insert("/widget/v1/deployments/{id}/sessions", deployment_fixture(BTreeMap::from([("post", json!({}))])));
    let session: Value = app
        .client
        .post(app.url(&format!("/widget/v1/deployments/{deployment_id}/sessions")))
        .header("origin", A_ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4 A's file".to_vec()).file_name("a.pdf"));
    let attachment: Value = app
        .client
        .post(app.url("/widget/v1/attachments"))
        .header("origin", A_ORIGIN)
        .bearer_auth(session["visitor_token"].as_str().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attachment_id = attachment["id"].as_str().unwrap().to_owned();
    map.insert("/v1/attachments/{id}", Fixture { id: attachment_id.clone(), bodies: BTreeMap::new() });
    map.insert("/widget/v1/attachments/{id}", Fixture { id: attachment_id, bodies: BTreeMap::new() });
    // After `run_jobs`: the crawl stays queued (and `.invalid` never resolves anyway).
    let crawl: Value = app
        .post(
            &format!("/v1/collections/{collection_id}/documents"),
            &app.a.key,
            &json!({"url": "https://docs.example.invalid/"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let crawl_id = crawl["crawl_source_id"].as_str().unwrap().to_owned();
    map.insert("/v1/crawl-sources/{id}", Fixture { id: crawl_id.clone(), bodies: BTreeMap::new() });
    map.insert("/v1/crawl-sources/{id}/recrawl", Fixture { id: crawl_id, bodies: BTreeMap::new() });
    map
}

const A_ORIGIN: &str = "https://a.example";
const B_ORIGIN: &str = "https://b.example";

/// What A sees at `path` (for paths that can be read; a live stream is not read).
async fn snapshot(app: &TestApp, path: &str) -> Option<String> {
    let r = app.get(path, &app.a.key).await;
    let streaming = r.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if r.status() != 200 || streaming {
        return None;
    }
    Some(r.text().await.unwrap())
}

/// B's visitor: a visitor token of B's own deployment, from B's allowed origin.
async fn b_visitor(app: &TestApp, b: &Tenant) -> Vec<(&'static str, reqwest::header::HeaderMap)> {
    let agent: Value =
        app.post("/v1/agents", &b.key, &json!({"name": "B's agent", "collection_ids": []})).await.json().await.unwrap();
    let body = json!({"name": "B's site", "agent_id": agent["id"], "allowed_origins": [B_ORIGIN]});
    let deployment: Value = app.post("/v1/deployments", &b.key, &body).await.json().await.unwrap();
    let session: Value = app
        .client
        .post(app.url(&format!("/widget/v1/deployments/{}/sessions", deployment["id"].as_str().unwrap())))
        .header("origin", B_ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", B_ORIGIN.parse().unwrap());
    headers.insert("authorization", format!("Bearer {}", session["visitor_token"].as_str().unwrap()).parse().unwrap());
    vec![("tenant B visitor", headers)]
}

async fn spec(app: &TestApp) -> Value {
    app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap()
}

/// B's credentials: the owner's API key, and a logged-in owner session.
async fn b_credentials(app: &TestApp, b: &Tenant) -> Vec<(&'static str, reqwest::header::HeaderMap)> {
    let mut bearer = reqwest::header::HeaderMap::new();
    bearer.insert("authorization", format!("Bearer {}", b.key).parse().unwrap());
    let r = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": b.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let mut session = reqwest::header::HeaderMap::new();
    session.insert("cookie", cookie.parse().unwrap());
    session.insert("x-csrf-token", csrf.parse().unwrap());
    vec![("tenant B api key", bearer), ("tenant B session", session)]
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_route_that_takes_an_id() {
    let app = &spawn_app().await;
    let b = app.new_tenant("Tenant B").await;
    let fixtures = fixtures(app).await;
    let spec = spec(app).await;
    let creds = b_credentials(app, &b).await;
    let visitor = b_visitor(app, &b).await;
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.contains("{id}") {
            continue;
        }
        let fixture = fixtures.get(path.as_str()).unwrap_or_else(|| panic!("no isolation fixture for {path}: add one"));
        let concrete = path.replace("{id}", &fixture.id).replace("{version}", "1");
        for method in item.as_object().unwrap().keys() {
            let before = snapshot(app, &concrete).await;
            // The visitor API is reached with a visitor's token from its site; a
            // deployment's public paths refuse other sites' pages with 403.
            let (creds, refused) = match path.strip_prefix("/widget/") {
                Some(rest) if rest.starts_with("v1/deployments/") => (&visitor, 403),
                Some(_) => (&visitor, 404),
                None => (&creds, 404),
            };
            for (who, headers) in creds {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut req = app.client.request(m, app.url(&concrete)).headers(headers.clone());
                if let Some(body) = fixture.bodies.get(method.as_str()) {
                    req = req.json(body);
                }
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                assert_eq!(status, refused, "{who}: {method} {path} -> {status} {text}");
                assert!(!text.contains(&fixture.id) || text.contains("no such object"), "{who} saw A's data: {text}");
                checked += 1;
            }
            let after = snapshot(app, &concrete).await;
            assert_eq!(before, after, "{method} {path} by tenant B changed A's object");
        }
    }
    assert!(checked >= 10, "the matrix covered {checked} cases");
}

#[tokio::test]
async fn lists_never_show_another_tenants_objects() {
    let app = spawn_app().await;
    let b = app.new_tenant("Tenant B").await;
    let fixtures = fixtures(&app).await;
    let spec = spec(&app).await;
    let mut lists = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if path.contains('{') || item.get("get").is_none() || path == "/v1/openapi.json" {
            continue;
        }
        let text = app.get(path, &b.key).await.text().await.unwrap();
        for fixture in fixtures.values() {
            assert!(!text.contains(&fixture.id), "GET {path} as B shows A's {}", fixture.id);
        }
        assert!(!text.contains(&app.a.org_id) && !text.contains(&app.a.user_id), "GET {path} as B shows tenant A");
        lists += 1;
    }
    assert!(lists >= 5);
}
