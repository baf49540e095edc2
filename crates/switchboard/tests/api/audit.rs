//! Every mutation lands in the audit log with actor, action, target, time and request id.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn mutations_are_audited_with_actor_target_and_request_id() {
    let app = spawn_app().await;
    let me: Value = app.get("/v1/me", &app.a.key).await.json().await.unwrap();
    let key_id = me["api_key_id"].as_str().unwrap().to_owned();

    let send = |method: reqwest::Method, path: String, body: Value, rid: &'static str| {
        app.request(method, &path, &app.a.key).header("x-request-id", rid).json(&body).send()
    };
    send(reqwest::Method::PATCH, "/v1/org".into(), json!({"name": "Acme GmbH"}), "req-org").await.unwrap();
    let created: Value = send(reqwest::Method::POST, "/v1/api-keys".into(), json!({"name": "ci"}), "req-key")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_key = created["id"].as_str().unwrap().to_owned();
    app.request(reqwest::Method::DELETE, &format!("/v1/api-keys/{new_key}"), &app.a.key)
        .header("x-request-id", "req-revoke")
        .send()
        .await
        .unwrap();
    let email = format!("m-{}@example.com", uuid::Uuid::new_v4().simple());
    let member: Value = send(
        reqwest::Method::POST,
        "/v1/users".into(),
        json!({"email": email, "name": "M", "password": PASSWORD, "role": "agent"}),
        "req-member",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let member_id = member["id"].as_str().unwrap().to_owned();
    send(reqwest::Method::PATCH, format!("/v1/users/{member_id}"), json!({"role": "analyst"}), "req-role")
        .await
        .unwrap();
    send(reqwest::Method::PATCH, "/v1/org/billing".into(), json!({"monthly_token_budget": 5000}), "req-bill")
        .await
        .unwrap();

    let log: Value = app.get("/v1/audit-log", &app.a.key).await.json().await.unwrap();
    let entries = log["entries"].as_array().unwrap();
    let find = |action: &str| {
        entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{action} missing in {log}"))
    };
    for (action, rid, target) in [
        ("org.update", "req-org", app.a.org_id.as_str()),
        ("api_key.create", "req-key", new_key.as_str()),
        ("api_key.revoke", "req-revoke", new_key.as_str()),
        ("member.add", "req-member", member_id.as_str()),
        ("member.update_role", "req-role", member_id.as_str()),
        ("billing.update", "req-bill", app.a.org_id.as_str()),
    ] {
        let e = find(action);
        assert_eq!(e["request_id"], rid, "{e}");
        assert_eq!(e["target_id"], target, "{e}");
        assert_eq!(e["actor_type"], "api_key");
        assert_eq!(e["actor_id"], key_id.as_str());
        assert!(e["created_at"].as_str().unwrap().ends_with('Z'));
    }
    // Newest first, and the init entries from bootstrap are there too.
    assert_eq!(entries[0]["action"], "billing.update");
    assert!(entries.iter().any(|e| e["action"] == "org.create" && e["actor_type"] == "system"));
    // Nothing secret in the log.
    assert!(!log.to_string().contains(&app.a.key) && !log.to_string().contains(PASSWORD));
}

#[tokio::test]
async fn dashboard_logins_are_audited() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": app.a.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log: Value = app.get("/v1/audit-log", &app.a.key).await.json().await.unwrap();
    let e = &log["entries"][0];
    assert_eq!(e["action"], "session.login");
    assert_eq!(e["actor_type"], "user");
    assert_eq!(e["actor_id"], app.a.user_id.as_str());
}

#[tokio::test]
async fn only_owners_and_admins_read_the_audit_log() {
    let app = spawn_app().await;
    let (_, agent) = app.member_with_key(&app.a, "agent").await;
    assert_problem(app.get("/v1/audit-log", &agent).await, 403, "forbidden").await;
    let (_, admin) = app.member_with_key(&app.a, "admin").await;
    assert_eq!(app.get("/v1/audit-log", &admin).await.status(), 200);
}
