//! `spawn_app()`: the real server on port 0 with a fresh database of the
//! backend the environment names. `SWITCHBOARD_TEST_DATABASE_URL` (a
//! PostgreSQL server URL) selects PostgreSQL, a new database per test;
//! otherwise each test gets its own SQLite file.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use switchboard_server::domain::{Email, Name, Password, bootstrap_org};
use switchboard_server::{Application, Settings};
use switchboard_store::{SqliteDurability, Store};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub state: switchboard_server::state::AppState,
    /// The first tenant, made by `spawn_app`.
    pub a: Tenant,
    pub database_url: String,
    _dir: tempfile::TempDir,
    /// Dropping the app drops this sender, which shuts the server down.
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// An organization with its owner and the owner's API key.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub org_id: String,
    pub user_id: String,
    pub key: String,
    pub email: String,
}

pub fn backend_url_base() -> Option<String> {
    std::env::var("SWITCHBOARD_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// A fresh, empty database: a new PostgreSQL database, or a SQLite file in `dir`.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match backend_url_base() {
        Some(base) => {
            use sqlx::Connection;
            let name = format!("sbt_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
            let (prefix, _) = base.rsplit_once('/').expect("a database URL has a path");
            format!("{prefix}/{name}")
        }
        None => format!("sqlite://{}", dir.join("switchboard.db").display()),
    }
}

pub fn test_settings() -> Settings {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.log.level = std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into());
    // Tests drive the workers themselves (`run_jobs`), so nothing runs behind their back.
    settings.knowledge.workers = 0;
    settings.knowledge.model_dir = Some(model_dir());
    // Documents are parsed the way `serve` parses them: in a confined child process.
    settings.knowledge.extractor = Some(env!("CARGO_BIN_EXE_switchboard").into());
    settings
}

/// The embedding model scripts/test fetches. Tests that need vectors assert
/// it loaded rather than silently testing less.
pub fn model_dir() -> std::path::PathBuf {
    std::env::var_os("SWITCHBOARD_MODEL_DIR")
        .map(Into::into)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache/models/all-MiniLM-L6-v2").into())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings.data_dir = dir.path().to_path_buf();
    configure(&mut settings);
    switchboard_server::telemetry::init(&settings.log);
    let database_url = fresh_database(dir.path()).await;
    let store = switchboard_store::open(&database_url, 8, SqliteDurability::Full).await.expect("open store");
    let app = Application::build(settings, store.clone()).await.expect("build app");
    let addr = app.local_addr();
    let metrics_addr = app.metrics_addr();
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let a = new_tenant_in(store.as_ref(), "Tenant A").await;
    TestApp { addr, metrics_addr, client, store, state, a, database_url, _dir: dir, _shutdown: tx }
}

pub async fn new_tenant_in(store: &dyn Store, name: &str) -> Tenant {
    let email = format!("owner-{}@example.com", uuid::Uuid::new_v4().simple());
    let done = bootstrap_org(
        store,
        &Name::parse("org", name).unwrap(),
        &Email::parse(&email).unwrap(),
        &Password::parse(PASSWORD).unwrap(),
    )
    .await
    .expect("bootstrap org");
    Tenant { org_id: done.org.id, user_id: done.user.id, key: done.api_key, email }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Runs background jobs until none is due, the way a worker would.
    pub async fn run_jobs(&self) -> Vec<switchboard_server::knowledge::worker::Outcome> {
        use switchboard_server::knowledge::worker::{Outcome, try_execute_job};
        let mut outcomes = Vec::new();
        loop {
            match try_execute_job(&self.state, "test-worker").await.expect("worker step") {
                Outcome::Idle => return outcomes,
                other => outcomes.push(other),
            }
        }
    }

    pub async fn new_tenant(&self, name: &str) -> Tenant {
        new_tenant_in(self.store.as_ref(), name).await
    }

    pub fn request(&self, method: Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(key)
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, key).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Response {
        self.request(Method::POST, path, key).json(body).send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, key: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, key).json(body).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, key: &str) -> Response {
        self.request(Method::DELETE, path, key).send().await.unwrap()
    }

    /// Adds a member with `role` to the tenant and returns (user id, an API key with that role).
    pub async fn member_with_key(&self, t: &Tenant, role: &str) -> (String, String) {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let r = self
            .post("/v1/users", &t.key, &json!({"email": email, "name": role, "password": PASSWORD, "role": role}))
            .await;
        assert_eq!(r.status(), 201, "create member");
        let user_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let r = self.post("/v1/api-keys", &t.key, &json!({"name": format!("{role} key"), "role": role})).await;
        assert_eq!(r.status(), 201, "create key");
        let key = r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
        (user_id, key)
    }
}

/// Asserts a problem+json response with the given status and type code, and returns its body.
pub async fn assert_problem(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], format!("urn:switchboard:problem:{code}"), "problem type in {body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string(), "title and detail in {body}");
    assert!(body["request_id"].is_string(), "request id in {body}");
    body
}

/// A listener standing in for an internal service (on `ip`, a loopback
/// address): counts connections and never answers. SSRF tests assert it got none.
pub struct Canary {
    pub addr: SocketAddr,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl Canary {
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

pub async fn canary(ip: &str) -> Canary {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    Canary { addr, hits }
}

/// The tool messages the scripted model got back in its request `n`.
pub fn tool_results(mock: &switchboard_llm::mock::MockLlm, n: usize) -> Vec<String> {
    let body = mock.requests()[n].json.clone().unwrap();
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}
