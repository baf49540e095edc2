//! Browser sessions with CSRF, API keys (hashed, revocable at once), login throttling.

use serde_json::{Value, json};

use crate::helpers::*;

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn cookie_of(r: &reqwest::Response) -> String {
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Lax"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_browser_session_works_with_its_csrf_token_and_ends_at_logout() {
    let app = spawn_app().await;
    let r = login(&app, &app.a.email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = cookie_of(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["org"]["id"], app.a.org_id);
    assert_eq!(body["role"], "owner");
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    let me: Value =
        app.client.get(app.url("/v1/me")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["credential"], "session");
    assert_eq!(me["csrf_token"], csrf);

    // A write without the token (what a cross-site form would send) is refused...
    let r = app
        .client
        .patch(app.url("/v1/org"))
        .header("cookie", &cookie)
        .json(&json!({"name": "Hacked"}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 403, "csrf-failed").await;
    let r = app
        .client
        .patch(app.url("/v1/org"))
        .header("cookie", &cookie)
        .header("x-csrf-token", "wrong")
        .json(&json!({"name": "Hacked"}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 403, "csrf-failed").await;
    // ...and accepted with it.
    let r = app
        .client
        .patch(app.url("/v1/org"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let org: Value = app.get("/v1/org", &app.a.key).await.json().await.unwrap();
    assert_eq!(org["name"], "Renamed");

    let r = app
        .client
        .post(app.url("/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app.client.get(app.url("/v1/me")).header("cookie", &cookie).send().await.unwrap();
    assert_problem(r, 401, "unauthorized").await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_401() {
    let app = spawn_app().await;
    let a = assert_problem(login(&app, &app.a.email, "wrong password!").await, 401, "unauthorized").await;
    let b = assert_problem(login(&app, "nobody@example.com", PASSWORD).await, 401, "unauthorized").await;
    assert_eq!(a["detail"], b["detail"]);
}

#[tokio::test]
async fn login_attempts_are_throttled_per_address() {
    let app = spawn_app().await;
    // Sent together, so the limiter sees them well inside its 20-second window
    // whatever the machine's load (the check comes before the password hash).
    let attempts = (0..8).map(|_| login(&app, "nobody@example.com", "whatever-password"));
    let responses = futures::future::join_all(attempts).await;
    let limited: Vec<_> = responses.into_iter().filter(|r| r.status() == 429).collect();
    assert!(limited.len() >= 3, "5 attempts per 20 s from one address, then 429 ({} limited)", limited.len());
    let r = limited.into_iter().next().unwrap();
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_problem(r, 429, "rate-limited").await;
}

#[tokio::test]
async fn removing_a_member_ends_their_sessions() {
    let app = spawn_app().await;
    let (user_id, _) = app.member_with_key(&app.a, "agent").await;
    let users: Value = app.get(&format!("/v1/users/{user_id}"), &app.a.key).await.json().await.unwrap();
    let r = login(&app, users["email"].as_str().unwrap(), PASSWORD).await;
    let cookie = cookie_of(&r);
    assert_eq!(app.client.get(app.url("/v1/org")).header("cookie", &cookie).send().await.unwrap().status(), 200);
    assert_eq!(app.delete(&format!("/v1/users/{user_id}"), &app.a.key).await.status(), 204);
    let r = app.client.get(app.url("/v1/org")).header("cookie", &cookie).send().await.unwrap();
    assert_problem(r, 401, "unauthorized").await;
}

#[tokio::test]
async fn api_keys_are_shown_once_stored_hashed_and_revoked_at_once() {
    let app = spawn_app().await;
    let r = app.post("/v1/api-keys", &app.a.key, &json!({"name": "CI", "scopes": ["read"]})).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(created["scopes"], json!(["read"]));

    // Later reads never show the secret.
    let listed = app.get("/v1/api-keys", &app.a.key).await.text().await.unwrap();
    assert!(!listed.contains(&secret));
    let one = app.get(&format!("/v1/api-keys/{id}"), &app.a.key).await.text().await.unwrap();
    assert!(!one.contains(&secret) && !one.contains("hash"));

    // The database holds no plaintext key.
    let dump = dump_api_keys(&app).await;
    assert!(!dump.contains(&secret) && !dump.contains(&app.a.key), "plaintext key stored");

    // The key works, records its use, and its scope holds.
    assert_eq!(app.get("/v1/org", &secret).await.status(), 200);
    let one: Value = app.get(&format!("/v1/api-keys/{id}"), &app.a.key).await.json().await.unwrap();
    assert!(one["last_used_at"].is_string());
    assert_problem(app.patch("/v1/org", &secret, &json!({"name": "x"})).await, 403, "forbidden").await;

    // Revocation takes effect on the very next request.
    let r = app.delete(&format!("/v1/api-keys/{id}"), &app.a.key).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap()["revoked_at"].is_string());
    assert_problem(app.get("/v1/org", &secret).await, 401, "unauthorized").await;
}

async fn dump_api_keys(app: &TestApp) -> String {
    use sqlx::{Connection, Row};
    let url = &app.database_url;
    let rows: Vec<String> = if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query("SELECT id || prefix || key_hash || name AS t FROM api_keys")
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("t"))
            .collect()
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query("SELECT id || prefix || key_hash || name AS t FROM api_keys")
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("t"))
            .collect()
    };
    assert!(!rows.is_empty());
    rows.join("\n")
}

#[tokio::test]
async fn a_key_cannot_outrank_its_creator_or_hold_scopes_beyond_its_role() {
    let app = spawn_app().await;
    let (_, admin_key) = app.member_with_key(&app.a, "admin").await;
    let r = app.post("/v1/api-keys", &admin_key, &json!({"name": "escalate", "role": "owner"})).await;
    assert_problem(r, 403, "forbidden").await;
    let r = app.post("/v1/api-keys", &app.a.key, &json!({"name": "bad", "role": "analyst", "scopes": ["write"]})).await;
    assert_problem(r, 422, "invalid-request").await;
    // An admin cannot make anyone an owner.
    let r = app
        .post(
            "/v1/users",
            &admin_key,
            &json!({"email": "o@example.com", "name": "o", "password": PASSWORD, "role": "owner"}),
        )
        .await;
    assert_problem(r, 403, "forbidden").await;
}
