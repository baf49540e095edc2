//! The chat widget's server side: deployments (roles, audit, the identity
//! secret shown once and sealed at rest), the visitor API from allowed origins
//! only (W3), identity verification (W1), visitor tokens that reach only their
//! own conversation over HTTP, SSE and WebSocket, answers streamed with
//! citations from the sample shop's knowledge, a human taking over live,
//! CSAT, attachments, the WebSocket frame cap and per-visitor rate limits.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;

const ORIGIN: &str = "https://shop.example";
const OTHER: &str = "https://evil.example";
/// How long a live event may take to arrive before the test fails (a bound, not a wait).
const LIVE: Duration = Duration::from_secs(20);
const SAMPLE_FILES: &[&str] = &["returns-and-refunds.md", "shipping.md", "payment-methods.md"];

struct Shop {
    app: TestApp,
    agent: String,
    deployment: String,
    secret: String,
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../samples/shop/kb/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// An agent on a few documents of the sample shop, and a deployment allowing `ORIGIN`.
async fn shop_with(app: TestApp, identity_verification: bool) -> Shop {
    let c: Value = app.post("/v1/collections", &app.a.key, &json!({"name": "Shop"})).await.json().await.unwrap();
    let kb = c["id"].as_str().unwrap().to_owned();
    let mut form = reqwest::multipart::Form::new();
    for name in SAMPLE_FILES {
        form = form.part("file", reqwest::multipart::Part::bytes(sample(name)).file_name(name.to_string()));
    }
    let r = app
        .request(Method::POST, &format!("/v1/collections/{kb}/documents"), &app.a.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    app.run_jobs().await;
    let agent: Value = app
        .post("/v1/agents", &app.a.key, &json!({"name": "Shop assistant", "collection_ids": [kb]}))
        .await
        .json()
        .await
        .unwrap();
    let agent = agent["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/v1/deployments",
            &app.a.key,
            &json!({"name": "Shop site", "agent_id": agent, "allowed_origins": [ORIGIN],
                    "identity_verification": identity_verification,
                    "appearance": {"color": "#14532D", "position": "left", "greeting": "Hi!"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let d: Value = r.json().await.unwrap();
    Shop {
        app,
        agent,
        deployment: d["id"].as_str().unwrap().to_owned(),
        secret: d["identity_secret"].as_str().unwrap().to_owned(),
    }
}

async fn shop(identity_verification: bool) -> Shop {
    shop_with(spawn_app().await, identity_verification).await
}

fn user_hash(secret: &str, user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

impl Shop {
    /// A visitor API request from `origin`.
    fn visitor(&self, method: Method, path: &str, origin: &str) -> reqwest::RequestBuilder {
        self.app.client.request(method, self.app.url(path)).header("origin", origin)
    }

    async fn session(&self, body: Value) -> reqwest::Response {
        self.visitor(Method::POST, &format!("/widget/v1/deployments/{}/sessions", self.deployment), ORIGIN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A new session: (token, conversation id).
    async fn new_visitor(&self, body: Value) -> (String, String) {
        let r = self.session(body).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let s: Value = r.json().await.unwrap();
        (s["visitor_token"].as_str().unwrap().to_owned(), s["conversation_id"].as_str().unwrap().to_owned())
    }

    async fn transcript(&self, token: &str) -> Value {
        let r = self.visitor(Method::GET, "/widget/v1/conversation", ORIGIN).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn say(&self, token: &str, text: &str) -> Value {
        let r = self
            .visitor(Method::POST, "/widget/v1/messages", ORIGIN)
            .bearer_auth(token)
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    async fn events(&self, token: &str) -> SseReader {
        let r = self.visitor(Method::GET, &format!("/widget/v1/events?token={token}"), ORIGIN).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
        SseReader::new(r)
    }

    async fn socket(&self, token: &str) -> Socket {
        let mut req = format!("ws://{}/widget/v1/ws?token={token}", self.app.addr).into_client_request().unwrap();
        req.headers_mut().insert("origin", ORIGIN.parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("WebSocket upgrade");
        ws
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Server-sent events read as they arrive.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug)]
struct SseEvent {
    event: String,
    id: Option<String>,
    data: Value,
}

impl SseReader {
    fn new(response: reqwest::Response) -> Self {
        Self { response, buffer: String::new() }
    }

    async fn next(&mut self) -> SseEvent {
        tokio::time::timeout(LIVE, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let data: String = block.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                    if data.is_empty() {
                        continue; // a heartbeat comment
                    }
                    return SseEvent {
                        event: block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("message").to_owned(),
                        id: block.lines().find_map(|l| l.strip_prefix("id: ")).map(str::to_owned),
                        data: serde_json::from_str(&data).unwrap(),
                    };
                }
                let chunk = self.response.chunk().await.unwrap().expect("the stream stays open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("a live event arrives")
    }

    /// The next event of this kind (others, like `typing`, are skipped).
    async fn next_of(&mut self, kind: &str) -> SseEvent {
        loop {
            let e = self.next().await;
            if e.event == kind {
                return e;
            }
        }
    }
}

/// The next JSON frame of this type from a socket (pings and other types skipped).
async fn next_frame(ws: &mut Socket, kind: &str) -> Value {
    tokio::time::timeout(LIVE, async {
        loop {
            match ws.next().await.expect("the socket stays open").expect("a frame") {
                Ws::Text(text) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap();
                    if v["type"] == kind {
                        return v["data"].clone();
                    }
                }
                Ws::Close(frame) => panic!("closed while waiting for `{kind}`: {frame:?}"),
                _ => {}
            }
        }
    })
    .await
    .expect("a frame arrives")
}

/// Logs in a new agent-role member named `name`: (user id, cookie, csrf token).
async fn agent_session(app: &TestApp, name: &str) -> (String, String, String) {
    let email = format!("{}-{}@example.com", name.to_lowercase(), uuid::Uuid::new_v4().simple());
    let r = app
        .post("/v1/users", &app.a.key, &json!({"email": email, "name": name, "password": PASSWORD, "role": "agent"}))
        .await;
    assert_eq!(r.status(), 201);
    let user_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let r = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    (user_id, cookie, csrf)
}

async fn as_agent(app: &TestApp, session: &(String, String, String), path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", &session.1)
        .header("x-csrf-token", &session.2)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn deployments_are_written_by_admins_audited_and_their_secret_is_shown_once() {
    let s = shop(false).await;
    let app = &s.app;
    let path = format!("/v1/deployments/{}", s.deployment);
    assert!(s.secret.starts_with("sbid_") && s.secret.len() >= 40);

    let d: Value = app.get(&path, &app.a.key).await.json().await.unwrap();
    assert_eq!(d["allowed_origins"], json!([ORIGIN]));
    assert_eq!(d["appearance"]["color"], "#14532d", "colours are normalised");
    assert_eq!(d["appearance"]["position"], "left");
    assert!(d.get("identity_secret").is_none());
    let snippet: Value = app.get(&format!("{path}/snippet"), &app.a.key).await.json().await.unwrap();
    assert_eq!(
        snippet["html"],
        format!("<script src=\"http://{}/widget.js\" data-deployment=\"{}\" async></script>", app.addr, s.deployment)
    );

    // Reads for every role; writes for owners and admins only.
    let (_, analyst) = app.member_with_key(&app.a, "analyst").await;
    let (_, agent) = app.member_with_key(&app.a, "agent").await;
    let (_, admin) = app.member_with_key(&app.a, "admin").await;
    for key in [&analyst, &agent] {
        assert_eq!(app.get("/v1/deployments", key).await.status(), 200);
        let body = json!({"name": "x", "agent_id": s.agent, "allowed_origins": []});
        assert_problem(app.post("/v1/deployments", key, &body).await, 403, "forbidden").await;
        assert_problem(app.patch(&path, key, &json!({"name": "x"})).await, 403, "forbidden").await;
        assert_problem(app.post(&format!("{path}/rotate-secret"), key, &json!({})).await, 403, "forbidden").await;
        assert_problem(app.delete(&path, key).await, 403, "forbidden").await;
    }
    let r = app.patch(&path, &admin, &json!({"allowed_origins": [ORIGIN, "https://Second.example:443/"]})).await;
    assert_eq!(r.status(), 200);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["allowed_origins"], json!(["https://second.example", ORIGIN]));

    // Bad input changes nothing.
    for (body, why) in [
        (json!({"allowed_origins": ["*"]}), "wildcard"),
        (json!({"allowed_origins": ["null"]}), "null"),
        (json!({"allowed_origins": ["https://shop.example/page"]}), "a path"),
        (json!({"allowed_origins": ["javascript:alert(1)"]}), "a script URL"),
        (json!({"appearance": {"color": "red"}}), "colour"),
        (json!({"appearance": {"logo_url": "javascript:alert(1)"}}), "logo"),
        (json!({"identity_secret": "mine"}), "the secret is not writable"),
        (json!({"agent_id": uuid::Uuid::now_v7().to_string()}), "an unknown agent"),
    ] {
        let r = app.patch(&path, &app.a.key, &body).await;
        assert_eq!(r.status(), 422, "{why}: {}", r.text().await.unwrap());
    }

    // Rotation: a new secret, the old one stops verifying.
    let r = app.post(&format!("{path}/rotate-secret"), &admin, &json!({})).await;
    assert_eq!(r.status(), 200);
    let rotated = r.json::<Value>().await.unwrap()["identity_secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, s.secret);
    let old = s.session(json!({"user_id": "u1", "user_hash": user_hash(&s.secret, "u1")})).await;
    assert_problem(old, 403, "forbidden").await;
    assert_eq!(s.session(json!({"user_id": "u1", "user_hash": user_hash(&rotated, "u1")})).await.status(), 201);

    // Every response after creation lacks both secrets; the database holds neither in clear.
    let mut seen = String::new();
    for p in ["/v1/deployments", path.as_str(), &format!("{path}/snippet"), "/v1/audit-log?limit=100"] {
        seen.push_str(&app.get(p, &app.a.key).await.text().await.unwrap());
    }
    let config = s
        .visitor(Method::GET, &format!("/widget/v1/deployments/{}/config", s.deployment), ORIGIN)
        .send()
        .await
        .unwrap();
    seen.push_str(&config.text().await.unwrap());
    for secret in [&s.secret, &rotated] {
        assert!(!seen.contains(secret.as_str()), "a secret leaked into a response");
    }
    assert!(seen.contains("deployment.create") && seen.contains("deployment.rotate_secret"), "audited: {seen}");
    let dump = database_text(app).await;
    for secret in [&s.secret, &rotated] {
        assert!(!dump.contains(secret.as_str()), "a secret is stored in clear");
        assert!(!dump.contains(&hex::encode(secret.as_bytes())), "a secret is stored in clear (as bytes)");
    }

    assert_eq!(app.delete(&path, &admin).await.status(), 200);
    assert_problem(app.get(&path, &app.a.key).await, 404, "not-found").await;
    let audit = app.get("/v1/audit-log?limit=100", &app.a.key).await.text().await.unwrap();
    assert!(audit.contains("deployment.delete") && audit.contains("deployment.update"));
}

/// Everything the database holds that could be a secret: the deployments' and visitors' columns as text.
async fn database_text(app: &TestApp) -> String {
    use sqlx::Row;
    let mut out = String::new();
    let queries = ["SELECT * FROM deployments", "SELECT * FROM visitors", "SELECT * FROM audit_log"];
    if app.database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        for q in queries {
            for row in sqlx::query(&format!("SELECT CAST(t AS TEXT) AS t FROM ({q}) t")).fetch_all(&pool).await.unwrap()
            {
                out.push_str(&row.get::<String, _>("t"));
            }
        }
    } else {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        for q in queries {
            for row in sqlx::query(q).fetch_all(&pool).await.unwrap() {
                for i in 0..row.len() {
                    if let Ok(v) = row.try_get::<String, _>(i) {
                        out.push_str(&v);
                    } else if let Ok(v) = row.try_get::<Vec<u8>, _>(i) {
                        out.push_str(&String::from_utf8_lossy(&v));
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn the_visitor_api_answers_pages_on_allowed_origins_only() {
    let s = shop(false).await;
    let config = format!("/widget/v1/deployments/{}/config", s.deployment);

    let ok = s.visitor(Method::GET, &config, ORIGIN).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-origin"], ORIGIN, "exactly the origin, never *");
    assert!(ok.headers().get("access-control-allow-credentials").is_none());
    assert!(ok.headers().get_all("vary").iter().any(|v| v.to_str().unwrap().contains("Origin")));
    let c: Value = ok.json().await.unwrap();
    assert_eq!(
        c,
        json!({"id": s.deployment, "identity_verification": false,
        "appearance": {"color": "#14532d", "position": "left", "greeting": "Hi!"}})
    );

    for origin in [OTHER, "null", "https://shop.example.evil.example", "http://shop.example"] {
        let r = s.visitor(Method::GET, &config, origin).send().await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none(), "{origin}");
        assert_problem(r, 403, "forbidden").await;
        let r = s.session(json!({})).await;
        assert_eq!(r.status(), 201, "the allowed origin still works");
    }
    let r = s.app.client.get(s.app.url(&config)).send().await.unwrap();
    assert_problem(r, 403, "forbidden").await;

    // Preflights: the exact origin, for the deployment's paths and for token paths.
    let preflight = |path: String, origin: &'static str| {
        s.app
            .client
            .request(Method::OPTIONS, s.app.url(&path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    for path in [format!("/widget/v1/deployments/{}/sessions", s.deployment), "/widget/v1/messages".into()] {
        let r = preflight(path.clone(), ORIGIN).await.unwrap();
        assert_eq!(r.status(), 204, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
        let headers = r.headers()["access-control-allow-headers"].to_str().unwrap().to_owned();
        assert!(headers.contains("authorization") && headers.contains("content-type"));
        assert!(r.headers().get("access-control-allow-credentials").is_none());
        for origin in [OTHER, "null"] {
            let r = preflight(path.clone(), origin).await.unwrap();
            assert!(r.headers().get("access-control-allow-origin").is_none());
            assert_problem(r, 403, "forbidden").await;
        }
    }

    // A token works only from its deployment's origins, and WebSocket upgrades are checked too.
    let (token, _) = s.new_visitor(json!({})).await;
    let r = s.visitor(Method::GET, "/widget/v1/conversation", OTHER).bearer_auth(&token).send().await.unwrap();
    assert_problem(r, 403, "forbidden").await;
    for origin in [OTHER, "null"] {
        let mut req = format!("ws://{}/widget/v1/ws?token={token}", s.app.addr).into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403, "{origin}"),
            other => panic!("a WebSocket from {origin} was not refused: {other:?}"),
        }
    }
    let r = s.visitor(Method::GET, &format!("/widget/v1/events?token={token}"), OTHER).send().await.unwrap();
    assert_problem(r, 403, "forbidden").await;

    // A page served by switchboard itself sends no Origin on same-origin GETs; the
    // browser's Sec-Fetch-Site marks it, and it counts as the server's own origin.
    let own = format!("http://{}", s.app.addr);
    let r = s.app.client.get(s.app.url(&config)).header("sec-fetch-site", "same-origin").send().await.unwrap();
    assert_problem(r, 403, "forbidden").await;
    let path = format!("/v1/deployments/{}", s.deployment);
    s.app.patch(&path, &s.app.a.key, &json!({"allowed_origins": [ORIGIN, own]})).await;
    let r = s.app.client.get(s.app.url(&config)).header("sec-fetch-site", "same-origin").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn identity_verification_binds_a_visitor_to_the_user_it_signs() {
    let s = shop(true).await;
    let mut responses = String::new();

    // setUser(X, H(Y)) is refused, and so is X without a hash.
    let r = s.session(json!({"user_id": "user-x", "user_hash": user_hash(&s.secret, "user-y")})).await;
    responses.push_str(&assert_problem(r, 403, "forbidden").await.to_string());
    let r = s.session(json!({"user_id": "user-x"})).await;
    responses.push_str(&assert_problem(r, 403, "forbidden").await.to_string());
    let r = s.session(json!({"user_id": "user-x", "user_hash": "00"})).await;
    assert_problem(r, 403, "forbidden").await;
    let r = s.session(json!({"user_hash": user_hash(&s.secret, "user-x")})).await;
    assert_problem(r, 422, "invalid-request").await;

    // X, properly signed, talks; the history is X's.
    let signed = json!({"user_id": "user-x", "user_hash": user_hash(&s.secret, "user-x"), "name": "Xavier"});
    let (x_token, x_conversation) = s.new_visitor(signed.clone()).await;
    s.say(&x_token, "How long do I have to return an item? CANARY-X-HISTORY").await;

    // Anonymous visitors are allowed but attach to nobody.
    let (anon, anon_conversation) = s.new_visitor(json!({"name": "Xavier", "email": "x@example.com"})).await;
    assert_ne!(anon_conversation, x_conversation);
    let seen = s.transcript(&anon).await;
    responses.push_str(&seen.to_string());
    assert!(!seen.to_string().contains("CANARY-X-HISTORY"), "an anonymous visitor read X's history");
    // Operators see who each conversation is with: X's verified contact, and a
    // separate one for the anonymous visitor who only gave the same name.
    let x: Value = s.app.get(&format!("/v1/conversations/{x_conversation}"), &s.app.a.key).await.json().await.unwrap();
    assert_eq!((x["contact"]["external_id"].as_str(), x["contact"]["name"].as_str()), (Some("user-x"), Some("Xavier")));
    assert_eq!(x["contact"]["id"], x["contact_id"]);
    let a: Value =
        s.app.get(&format!("/v1/conversations/{anon_conversation}"), &s.app.a.key).await.json().await.unwrap();
    assert_eq!(a["contact"]["name"], "Xavier");
    assert_eq!(a["contact"]["email"], "x@example.com");
    assert_eq!(a["contact"]["external_id"], Value::Null);
    assert_ne!(a["contact"]["id"], x["contact"]["id"]);

    // X again, on another device: the signed id resumes X's conversation with its history.
    let (x_again, resumed) = s.new_visitor(signed).await;
    assert_ne!(x_again, x_token, "a new token per session");
    assert_eq!(resumed, x_conversation);
    let history = s.transcript(&x_again).await;
    assert!(history.to_string().contains("CANARY-X-HISTORY"));
    responses.push_str(&history.to_string());

    // A token does not carry over to another identity.
    let y = json!({"visitor_token": x_token, "user_id": "user-y", "user_hash": user_hash(&s.secret, "user-y")});
    let r = s.session(y).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_ne!(body["conversation_id"], x_conversation);
    assert_ne!(body["visitor_token"], x_token);
    responses.push_str(&body.to_string());

    // Without enforcement an unsigned id is accepted but attaches to nobody.
    let path = format!("/v1/deployments/{}", s.deployment);
    assert_eq!(s.app.patch(&path, &s.app.a.key, &json!({"identity_verification": false})).await.status(), 200);
    let (unsigned, conversation) = s.new_visitor(json!({"user_id": "user-x"})).await;
    assert_ne!(conversation, x_conversation);
    let seen = s.transcript(&unsigned).await;
    assert!(!seen.to_string().contains("CANARY-X-HISTORY"));
    // ...while a wrong hash is refused all the same.
    let r = s.session(json!({"user_id": "user-x", "user_hash": user_hash(&s.secret, "user-y")})).await;
    assert_problem(r, 403, "forbidden").await;

    assert!(!responses.contains(&s.secret), "the identity secret reached a visitor");
}

#[tokio::test]
async fn a_visitor_token_reaches_only_its_own_conversation() {
    let s = shop(false).await;
    let (one, one_conversation) = s.new_visitor(json!({})).await;
    let (two, two_conversation) = s.new_visitor(json!({})).await;
    assert!(one.starts_with("sbv_") && one.len() >= 4 + 43, "at least 128 random bits: {one}");
    s.say(&one, "CANARY-ONE where is my parcel").await;

    // HTTP: the token names the conversation; there is no way to ask for another.
    let seen = s.transcript(&two).await;
    assert_eq!(seen["id"], two_conversation);
    assert!(!seen.to_string().contains("CANARY-ONE"));
    let r = s
        .visitor(Method::GET, &format!("/widget/v1/conversation?conversation_id={one_conversation}"), ORIGIN)
        .bearer_auth(&two)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "query parameters are ignored here");
    assert!(!r.text().await.unwrap().contains("CANARY-ONE"));
    let r = s
        .visitor(Method::GET, &format!("/widget/v1/events?token={two}&conversation_id={one_conversation}"), ORIGIN)
        .send()
        .await
        .unwrap();
    assert_problem(r, 422, "invalid-request").await;
    for bad in [format!("{two}x"), "sbv_guess".into(), s.app.a.key.clone()] {
        let r = s.visitor(Method::GET, "/widget/v1/conversation", ORIGIN).bearer_auth(&bad).send().await.unwrap();
        assert_problem(r, 401, "unauthorized").await;
    }
    let png = b"\x89PNG\r\n\x1a\n-one's picture".to_vec();
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(png).file_name("one.png"));
    let r = s
        .visitor(Method::POST, "/widget/v1/attachments", ORIGIN)
        .bearer_auth(&one)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let attachment = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let r = s
        .visitor(Method::GET, &format!("/widget/v1/attachments/{attachment}"), ORIGIN)
        .bearer_auth(&two)
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not-found").await;

    // SSE and WebSocket: two's streams carry two's conversation only.
    let mut two_events = s.events(&two).await;
    let mut two_socket = s.socket(&two).await;
    assert_eq!(two_events.next_of("status").await.data["status"], "ai");
    next_frame(&mut two_socket, "status").await;
    s.say(&one, "CANARY-ONE-LIVE do you ship to Canada").await;
    s.app.post(&format!("/v1/conversations/{one_conversation}/escalate"), &s.app.a.key, &json!({})).await;
    s.say(&two, "CANARY-TWO hello there").await;
    let first = two_events.next_of("message").await;
    assert!(first.data["text"].as_str().unwrap().contains("CANARY-TWO"), "{first:?}");
    let frame = next_frame(&mut two_socket, "message").await;
    assert!(frame["text"].as_str().unwrap().contains("CANARY-TWO"), "{frame}");
    // Two's own reply comes next; one's changes never show up.
    let reply = two_events.next_of("message").await;
    assert_eq!(reply.data["role"], "assistant");
    assert_eq!(reply.id.as_deref(), reply.data["id"].as_str());
}

/// Moves every visitor token's last renewal `minutes` into the past.
async fn age_visitor_tokens(app: &TestApp, minutes: i64) {
    let sql = format!("UPDATE visitors SET renewed_at = renewed_at - {}", minutes * 60_000);
    if app.database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::query(&sql).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
}

#[tokio::test]
async fn visitor_tokens_expire_unless_a_returning_visit_renews_them() {
    let s = shop_with(spawn_app_with(|st| st.web.visitor_token_ttl_hours = 1).await, false).await;
    let (token, conversation) = s.new_visitor(json!({})).await;
    age_visitor_tokens(&s.app, 50).await;
    assert_eq!(s.transcript(&token).await["id"], conversation);

    // A returning visit renews the token: same token, same conversation, a new hour.
    let r = s.session(json!({"visitor_token": token})).await;
    assert_eq!(r.status(), 201);
    let resumed: Value = r.json().await.unwrap();
    assert_eq!(resumed["visitor_token"], token.as_str());
    assert_eq!(resumed["conversation_id"], conversation.as_str());
    age_visitor_tokens(&s.app, 50).await;
    assert_eq!(s.transcript(&token).await["id"], conversation, "100 minutes after issue, 50 after renewal");

    // Past its hour the token opens nothing, with a problem the widget can read.
    age_visitor_tokens(&s.app, 20).await;
    let r = s.visitor(Method::GET, "/widget/v1/conversation", ORIGIN).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    let problem = assert_problem(r, 401, "visitor-token-expired").await;
    assert!(problem["detail"].as_str().unwrap().contains("new session"), "{problem}");
    let r = s
        .visitor(Method::POST, "/widget/v1/messages", ORIGIN)
        .bearer_auth(&token)
        .json(&json!({"text": "still there?"}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "visitor-token-expired").await;
    let r = s.visitor(Method::GET, &format!("/widget/v1/events?token={token}"), ORIGIN).send().await.unwrap();
    assert_problem(r, 401, "visitor-token-expired").await;
    // Nor does it resume or renew: the anonymous visitor starts afresh.
    assert_problem(s.session(json!({"visitor_token": token})).await, 401, "visitor-token-expired").await;
    let (fresh, fresh_conversation) = s.new_visitor(json!({})).await;
    assert_ne!(fresh_conversation, conversation);
    assert_eq!(s.transcript(&fresh).await["messages"], json!([]));

    // A verified user's expired token gives way to their identity: their conversation, a new token.
    let user = json!({"user_id": "u-42", "user_hash": user_hash(&s.secret, "u-42")});
    let (old, theirs) = s.new_visitor(user.clone()).await;
    age_visitor_tokens(&s.app, 61).await;
    let mut body = user.clone();
    body["visitor_token"] = json!(old);
    let (renewed, resumed) = s.new_visitor(body).await;
    assert_eq!(resumed, theirs);
    assert_ne!(renewed, old);
    assert_eq!(s.transcript(&renewed).await["id"], theirs);
}

#[tokio::test]
async fn a_widget_question_streams_an_answer_with_a_citation_from_the_shop_knowledge() {
    let s = shop(false).await;
    assert!(s.app.state.embedder.is_some(), "the embedding model must be present (scripts/fetch-model)");
    let (token, conversation) = s.new_visitor(json!({})).await;
    let r = s
        .visitor(Method::POST, "/widget/v1/messages", ORIGIN)
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({"text": "How long do I have to return an item in the UK?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut events = SseReader::new(r);
    let mut deltas = String::new();
    let turn = loop {
        let e = events.next().await;
        match e.event.as_str() {
            "delta" => deltas.push_str(e.data["text"].as_str().unwrap()),
            "message" => break e.data,
            other => panic!("unexpected {other}: {:?}", e.data),
        }
    };
    assert_eq!(turn["outcome"], "answered", "{turn}");
    assert_eq!(deltas, turn["reply"]["text"].as_str().unwrap(), "the deltas add up to the reply");
    let citation = &turn["reply"]["citations"][0];
    assert_eq!(citation["title"], "returns-and-refunds.md", "{turn}");
    assert!(turn["reply"]["text"].as_str().unwrap().contains("30 days"), "{turn}");

    // The transcript shows both messages, the reply with its citation.
    let t = s.transcript(&token).await;
    assert_eq!(t["id"], conversation);
    let messages = t["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["citations"][0]["title"], "returns-and-refunds.md");

    // And the overview counts it.
    let o: Value = s.app.get("/v1/stats/overview", &s.app.a.key).await.json().await.unwrap();
    assert_eq!(o["totals"]["conversations"], 1, "{o}");
    assert_eq!(o["totals"]["answered"], 1);
    assert!(o["totals"]["p95_ms"].as_f64().unwrap() > 0.0);
    let today = o["series"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((today["conversations"].as_i64(), today["answered"].as_i64()), (Some(1), Some(1)), "{o}");
    assert_eq!(o["series"].as_array().unwrap().len(), 31, "30 days back from now, by day");
    let r = s.app.get("/v1/stats/overview?bucket=week", &s.app.a.key).await;
    assert_problem(r, 422, "invalid-request").await;
    let r = s.app.get("/v1/stats/overview?from=2020-01-01&to=2024-01-01", &s.app.a.key).await;
    assert_problem(r, 422, "invalid-request").await;
}

#[tokio::test]
async fn a_person_takes_over_and_their_reply_reaches_the_visitor_live() {
    let s = shop(false).await;
    let app = &s.app;
    let (token, conversation) = s.new_visitor(json!({"name": "Ada"})).await;
    s.say(&token, "Do you ship to Canada?").await;
    let mut events = s.events(&token).await;
    let mut socket = s.socket(&token).await;
    assert_eq!(events.next_of("status").await.data, json!({"status": "ai", "assignee_name": null}));
    assert_eq!(next_frame(&mut socket, "status").await["status"], "ai");
    let operator = app
        .client
        .get(app.url(&format!("/v1/conversations/{conversation}/stream")))
        .bearer_auth(&app.a.key)
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status(), 200);
    let mut operator = SseReader::new(operator);
    assert_eq!(operator.next_of("status").await.data["status"], "ai");

    // "Talk to a human".
    let r = s.visitor(Method::POST, "/widget/v1/handoff", ORIGIN).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "pending_human");
    assert_eq!(events.next_of("status").await.data["status"], "pending_human");
    assert_eq!(next_frame(&mut socket, "status").await["status"], "pending_human");
    assert_eq!(operator.next_of("status").await.data["status"], "pending_human");
    let queue: Value = app.get("/v1/escalations?status=open", &app.a.key).await.json().await.unwrap();
    assert_eq!(queue["escalations"][0]["conversation_id"], conversation);

    // A person takes over from the dashboard and replies.
    let sam = agent_session(app, "Sam").await;
    let r = as_agent(app, &sam, &format!("/v1/conversations/{conversation}/takeover"), json!({})).await;
    assert_eq!(r.status(), 200);
    let joined = events.next_of("status").await.data;
    assert_eq!(joined, json!({"status": "human", "assignee_name": "Sam"}));
    assert_eq!(next_frame(&mut socket, "status").await, json!({"status": "human", "assignee_name": "Sam"}));
    let r = as_agent(
        app,
        &sam,
        &format!("/v1/conversations/{conversation}/replies"),
        json!({"text": "Hi Ada, Sam here. Yes, we ship to Canada."}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let reply = events.next_of("message").await;
    assert_eq!(reply.data["role"], "human");
    assert_eq!(reply.data["author_name"], "Sam");
    assert_eq!(reply.data["text"], "Hi Ada, Sam here. Yes, we ship to Canada.");
    let frame = next_frame(&mut socket, "message").await;
    assert_eq!(frame, reply.data, "the WebSocket carries the same event");

    // The visitor answers over the WebSocket; the AI stays silent while Sam has it.
    socket.send(Ws::Text(json!({"type": "message", "text": "Great, thanks Sam"}).to_string().into())).await.unwrap();
    let turn = next_frame(&mut socket, "turn").await;
    assert_eq!((turn["reply"].clone(), turn["status"].clone()), (Value::Null, json!("human")), "{turn}");
    let mine = events.next_of("message").await;
    assert_eq!((mine.data["role"].as_str(), mine.data["text"].as_str()), (Some("customer"), Some("Great, thanks Sam")));
    let seen = operator.next_of("message").await;
    assert_eq!(seen.data["role"], "human");
    let seen = operator.next_of("message").await;
    assert_eq!(seen.data["text"], "Great, thanks Sam", "the operator's stream shows the customer live");

    // Reconnecting with Last-Event-ID replays what came after it.
    let r = s
        .visitor(Method::GET, "/widget/v1/events", ORIGIN)
        .bearer_auth(&token)
        .header("last-event-id", reply.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut again = SseReader::new(r);
    assert_eq!(again.next_of("status").await.data["status"], "human");
    assert_eq!(again.next_of("message").await.data["text"], "Great, thanks Sam");
}

#[tokio::test]
async fn csat_is_taken_once_the_conversation_is_resolved() {
    let s = shop(false).await;
    let (token, conversation) = s.new_visitor(json!({})).await;
    s.say(&token, "What payment methods do you accept?").await;
    let rate = |rating: i64| {
        s.visitor(Method::POST, "/widget/v1/csat", ORIGIN)
            .bearer_auth(&token)
            .json(&json!({"rating": rating, "comment": "quick and right, mail me at ada@example.com"}))
            .send()
    };
    assert_problem(rate(5).await.unwrap(), 409, "conflict").await;
    let mut events = s.events(&token).await;
    events.next_of("status").await;
    let r = s.app.post(&format!("/v1/conversations/{conversation}/resolve"), &s.app.a.key, &json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(events.next_of("status").await.data["status"], "resolved");
    for bad in [0, 6] {
        assert_problem(rate(bad).await.unwrap(), 422, "invalid-request").await;
    }
    let r = rate(4).await.unwrap();
    assert_eq!(r.status(), 201);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["rating"], 4);
    assert!(!saved.to_string().contains("ada@example.com"), "personal data is redacted: {saved}");
    assert_eq!(s.transcript(&token).await["csat"]["rating"], 4);
    let o: Value = s.app.get("/v1/stats/overview", &s.app.a.key).await.json().await.unwrap();
    assert_eq!((o["totals"]["csat_count"].as_i64(), o["totals"]["csat_average"].as_f64()), (Some(1), Some(4.0)));
}

#[tokio::test]
async fn attachments_are_capped_and_typed_by_their_bytes() {
    let s = shop_with(spawn_app_with(|s| s.web.max_attachment_bytes = 4096).await, false).await;
    let (token, conversation) = s.new_visitor(json!({})).await;
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        s.visitor(Method::POST, "/widget/v1/attachments", ORIGIN).bearer_auth(&token).multipart(form).send()
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(std::iter::repeat_n(7u8, 1000));
    let r = upload("../../etc/receipt\u{202e}gnp.png", png.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let a: Value = r.json().await.unwrap();
    assert_eq!((a["size"].as_i64(), a["content_type"].as_str()), (Some(1008), Some("image/png")));
    assert!(!a["name"].as_str().unwrap().contains('/') && !a["name"].as_str().unwrap().contains('\u{202e}'));

    for (name, bytes, status) in [
        ("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(), 415),
        ("page.pdf", b"<html><script>alert(1)</script></html>".to_vec(), 415),
        ("big.png", [&png[..], &vec![0u8; 4096]].concat(), 413),
        ("empty.png", Vec::new(), 422),
    ] {
        let r = upload(name, bytes).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{name}: {}", r.text().await.unwrap());
    }

    // The transcript shows the file once; the operator and the visitor download it, never rendered.
    let t = s.transcript(&token).await;
    let messages = t["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "refused files leave nothing: {t}");
    assert_eq!(messages[0]["attachment"]["id"], a["id"]);
    for r in [
        s.app.get(&format!("/v1/attachments/{}", a["id"].as_str().unwrap()), &s.app.a.key).await,
        s.visitor(Method::GET, a["url"].as_str().unwrap(), ORIGIN).bearer_auth(&token).send().await.unwrap(),
    ] {
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
        assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    }
    let m: Value =
        s.app.get(&format!("/v1/conversations/{conversation}/messages"), &s.app.a.key).await.json().await.unwrap();
    assert_eq!(m["messages"][0]["role"], "customer");
}

#[tokio::test]
async fn websocket_frames_over_64_kib_are_refused_and_normal_ones_answered() {
    let s = shop(false).await;
    let (token, conversation) = s.new_visitor(json!({})).await;
    let mut ws = s.socket(&token).await;
    next_frame(&mut ws, "status").await;
    let huge = json!({"type": "message", "text": "x".repeat(70 * 1024)}).to_string();
    ws.send(Ws::Text(huge.into())).await.unwrap();
    let closed = tokio::time::timeout(LIVE, async {
        loop {
            match ws.next().await {
                Some(Ok(Ws::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the server hangs up");
    assert!(closed.is_none_or(|code| code == 1009), "closed with {closed:?}");
    let stored: Value =
        s.app.get(&format!("/v1/conversations/{conversation}/messages"), &s.app.a.key).await.json().await.unwrap();
    assert_eq!(stored["messages"], json!([]), "nothing of the oversized frame was stored");

    // A normal frame on a new connection streams the reply.
    let mut ws = s.socket(&token).await;
    next_frame(&mut ws, "status").await;
    ws.send(Ws::Text(json!({"type": "message", "text": "Which cards do you take?"}).to_string().into())).await.unwrap();
    let delta = next_frame(&mut ws, "delta").await;
    assert!(!delta["text"].as_str().unwrap().is_empty());
    let turn = next_frame(&mut ws, "turn").await;
    assert!(turn["reply"]["text"].as_str().is_some(), "{turn}");
    ws.send(Ws::Text("not json".into())).await.unwrap();
    assert_eq!(next_frame(&mut ws, "error").await["status"], 422);
}

#[tokio::test]
async fn visitors_are_rate_limited_before_the_message_path() {
    let app = spawn_app_with(|s| {
        s.rate_limit.visitor_messages_per_minute = 2;
        s.rate_limit.widget_sessions_per_ip_per_minute = 3;
    })
    .await;
    let s = shop_with(app, false).await;
    let (token, conversation) = s.new_visitor(json!({})).await;
    s.say(&token, "hello").await;
    s.say(&token, "hello again").await;
    let r = s
        .visitor(Method::POST, "/widget/v1/messages", ORIGIN)
        .bearer_auth(&token)
        .json(&json!({"text": "and again"}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN, "the widget can read why");
    assert_problem(r, 429, "rate-limited").await;
    let mut ws = s.socket(&token).await;
    next_frame(&mut ws, "status").await;
    ws.send(Ws::Text(json!({"type": "message", "text": "over the socket"}).to_string().into())).await.unwrap();
    assert_eq!(next_frame(&mut ws, "error").await["status"], 429);
    let stored: Value =
        s.app.get(&format!("/v1/conversations/{conversation}/messages"), &s.app.a.key).await.json().await.unwrap();
    assert_eq!(stored["messages"].as_array().unwrap().len(), 4, "refused messages are never stored");

    // New sessions per address.
    s.new_visitor(json!({})).await;
    s.new_visitor(json!({})).await;
    assert_problem(s.session(json!({})).await, 429, "rate-limited").await;
}

#[tokio::test]
async fn the_web_apps_are_served_with_a_nonce_policy_or_explained_when_not_built() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let missing = spawn_app_with(|s| s.web.dist_dir = Some(dist.clone())).await;
    for path in ["/widget.js", "/app/", "/app/conversations", "/demo"] {
        let body = assert_problem(missing.client.get(missing.url(path)).send().await.unwrap(), 404, "not-found").await;
        assert!(body["detail"].as_str().unwrap().contains("npm run build"), "{path}: {body}");
    }
    assert_eq!(missing.get("/v1/org", &missing.a.key).await.status(), 200, "the API works without them");

    std::fs::create_dir_all(dist.join("app/assets")).unwrap();
    std::fs::write(dist.join("widget.js"), "console.log('widget')").unwrap();
    std::fs::write(
        dist.join("app/index.html"),
        "<!doctype html><html><head><meta property=\"csp-nonce\" nonce=\"__CSP_NONCE__\">\
         <script type=\"module\" nonce=\"__CSP_NONCE__\" src=\"/app/assets/index-abc.js\"></script></head><body></body></html>",
    )
    .unwrap();
    std::fs::write(dist.join("app/assets/index-abc.js"), "export {}").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "CANARY-OUTSIDE-DIST").unwrap();
    let s = shop_with(spawn_app_with(|s| s.web.dist_dir = Some(dist.clone())).await, false).await;
    let app = &s.app;

    let js = app.client.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(js.headers()["cross-origin-resource-policy"], "cross-origin");
    assert!(js.headers().get("access-control-allow-origin").is_none());

    let mut nonces = Vec::new();
    for path in ["/app/", "/app/conversations/42", "/app/index.html"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
        for part in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "'strict-dynamic'"] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_owned();
        let html = r.text().await.unwrap();
        assert!(!html.contains("__CSP_NONCE__") && html.contains(&format!("nonce=\"{nonce}\"")), "{html}");
        nonces.push(nonce);
    }
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce for every response");
    let asset = app.client.get(app.url("/app/assets/index-abc.js")).send().await.unwrap();
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(asset.text().await.unwrap(), "export {}");
    for path in ["/app/../secret.txt", "/app/%2e%2e/secret.txt", "/app/..%2fsecret.txt"] {
        let text = app.client.get(app.url(path)).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains("CANARY-OUTSIDE-DIST"), "{path} escaped the build folder");
    }
    let r = app.client.get(app.url("/app")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (308, "/app/"));

    assert_problem(app.client.get(app.url("/demo")).send().await.unwrap(), 404, "not-found").await;
    let r = app.client.get(app.url("/demo?deployment=\"><script>alert(1)</script>")).send().await.unwrap();
    assert_problem(r, 404, "not-found").await;
    let r = app.client.get(app.url(&format!("/demo?deployment={}", s.deployment))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("object-src 'none'"));
    assert!(r.text().await.unwrap().contains(&format!("data-deployment=\"{}\"", s.deployment)));
    assert_problem(app.client.get(app.url("/nothing-here")).send().await.unwrap(), 404, "not-found").await;
}
