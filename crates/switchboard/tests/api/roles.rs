//! The role matrix: what owners, admins, agents and analysts may do.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: &'static [&'static str],
}

fn case(method: Method, path: impl Into<String>, body: Option<Value>, allowed: &'static [&'static str]) -> Case {
    Case { method, path: path.into(), body, allowed }
}

const EVERYONE: &[&str] = &["owner", "admin", "agent", "analyst"];
const MANAGERS: &[&str] = &["owner", "admin"];

#[tokio::test]
async fn each_role_can_do_exactly_what_the_matrix_says() {
    let app = spawn_app().await;
    let mut keys = vec![("owner", app.a.key.clone())];
    for role in ["admin", "agent", "analyst"] {
        keys.push((role, app.member_with_key(&app.a, role).await.1));
    }
    for (role, key) in &keys {
        // Targets made fresh for each caller, so that a refused delete by one
        // role doesn't hide a wrongly allowed one by another.
        let (victim, _) = app.member_with_key(&app.a, "analyst").await;
        let spare: Value = app.post("/v1/api-keys", &app.a.key, &json!({"name": "spare"})).await.json().await.unwrap();
        let spare = spare["id"].as_str().unwrap();
        let email = format!("new-{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let collection: Value = app
            .post("/v1/collections", &app.a.key, &json!({"name": format!("kb for {role}")}))
            .await
            .json()
            .await
            .unwrap();
        let collection = collection["id"].as_str().unwrap();
        let cases = [
            case(Method::GET, "/v1/org", None, EVERYONE),
            case(Method::GET, "/v1/me", None, EVERYONE),
            case(Method::GET, "/v1/users", None, EVERYONE),
            case(Method::GET, format!("/v1/users/{victim}"), None, EVERYONE),
            case(Method::PATCH, "/v1/org", Some(json!({"name": "Acme"})), MANAGERS),
            case(Method::GET, "/v1/org/billing", None, MANAGERS),
            case(Method::PATCH, "/v1/org/billing", Some(json!({"monthly_token_budget": 1000})), MANAGERS),
            case(Method::GET, "/v1/audit-log", None, MANAGERS),
            case(Method::GET, "/v1/secrets", None, MANAGERS),
            case(Method::POST, "/v1/secrets", Some(json!({"name": format!("key-{role}"), "value": "v"})), MANAGERS),
            case(Method::GET, "/v1/api-keys", None, MANAGERS),
            case(Method::GET, format!("/v1/api-keys/{spare}"), None, MANAGERS),
            case(Method::POST, "/v1/api-keys", Some(json!({"name": "x", "role": "analyst"})), MANAGERS),
            case(Method::DELETE, format!("/v1/api-keys/{spare}"), None, MANAGERS),
            case(
                Method::POST,
                "/v1/users",
                Some(json!({"email": email, "name": "n", "password": PASSWORD, "role": "analyst"})),
                MANAGERS,
            ),
            case(Method::PATCH, format!("/v1/users/{victim}"), Some(json!({"role": "agent"})), MANAGERS),
            case(Method::DELETE, format!("/v1/users/{victim}"), None, MANAGERS),
            case(Method::GET, "/v1/collections", None, EVERYONE),
            case(Method::GET, "/v1/approvals?status=pending", None, EVERYONE),
            case(Method::GET, "/v1/tickets", None, EVERYONE),
            case(Method::GET, format!("/v1/collections/{collection}"), None, EVERYONE),
            case(Method::POST, "/v1/collections", Some(json!({"name": format!("new kb by {role}")})), MANAGERS),
            case(Method::PATCH, format!("/v1/collections/{collection}"), Some(json!({"description": "d"})), MANAGERS),
            case(Method::DELETE, format!("/v1/collections/{collection}"), None, MANAGERS),
        ];
        for c in cases {
            let mut req = app.request(c.method.clone(), &c.path, key);
            if let Some(body) = &c.body {
                req = req.json(body);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            if c.allowed.contains(role) {
                assert!((200..300).contains(&status), "{role} {} {} -> {status}", c.method, c.path);
            } else {
                assert_eq!(status, 403, "{role} {} {} should be refused", c.method, c.path);
            }
        }
    }
}

/// Whatever routes exist, an analyst's mutation is refused: generated from the API document.
#[tokio::test]
async fn an_analyst_cannot_mutate_anything() {
    let app = spawn_app().await;
    let (_, analyst) = app.member_with_key(&app.a, "analyst").await;
    let (victim, _) = app.member_with_key(&app.a, "agent").await;
    let spec: Value = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if path.starts_with("/v1/auth/") {
            continue; // logging in and out is not a mutation of tenant data
        }
        for method in
            item.as_object().unwrap().keys().filter(|m| ["post", "patch", "put", "delete"].contains(&m.as_str()))
        {
            let concrete = path.replace("{id}", &victim);
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.request(m, &concrete, &analyst).json(&json!({})).send().await.unwrap();
            let status = r.status().as_u16();
            // 403 from the role check, or 422 when the body is rejected first; never a success.
            assert!(status == 403 || status == 422, "analyst {method} {path} -> {status}");
            checked += 1;
        }
    }
    assert!(checked >= 6);
    let me: Value = app.get("/v1/me", &analyst).await.json().await.unwrap();
    let audit: Value = app.get("/v1/audit-log?limit=100", &app.a.key).await.json().await.unwrap();
    let by_analyst = audit["entries"].as_array().unwrap().iter().filter(|e| e["actor_id"] == me["api_key_id"]).count();
    assert_eq!(by_analyst, 0, "the analyst changed nothing");
}
