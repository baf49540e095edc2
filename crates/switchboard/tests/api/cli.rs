//! The binary itself: `init` (also while a server runs), `serve` with graceful
//! shutdown on SIGTERM, `default-config`, `version`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment that points the binary at this run's backend.
pub(crate) async fn backend_env(dir: &std::path::Path) -> Vec<(String, String)> {
    let url = fresh_database(dir).await;
    let mut env = vec![("SWITCHBOARD__LOG__LEVEL".to_owned(), "warn".to_owned())];
    if url.starts_with("postgres") {
        env.push(("DATABASE_URL".to_owned(), url));
    }
    env
}

pub(crate) fn init(dir: &std::path::Path, env: &[(String, String)], org: &str, email: &str) -> Value {
    let out = Command::new(BIN)
        .args([
            "init",
            "--data",
            dir.to_str().unwrap(),
            "--org",
            org,
            "--email",
            email,
            "--password",
            PASSWORD,
            "--json",
        ])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("init --json prints JSON");
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["api_key", "org_id", "user_id"]);
    v
}

pub(crate) fn serve(dir: &std::path::Path, env: &[(String, String)], extra: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--data", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .envs(env.iter().cloned())
        .envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("serve prints its URL").to_owned();
    Server { child, url }
}

#[tokio::test]
async fn init_adds_organizations_even_while_a_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let env = backend_env(dir.path()).await;
    let first = init(dir.path(), &env, "First", "one@example.com");
    let server = serve(dir.path(), &env, &[]);
    let second = init(dir.path(), &env, "Second", "two@example.com");
    assert_ne!(first["org_id"], second["org_id"]);
    let client = reqwest::Client::new();
    for (who, expected) in [(&first, "First"), (&second, "Second")] {
        let org: Value = client
            .get(format!("{}/v1/org", server.url))
            .bearer_auth(who["api_key"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(org["name"], expected);
        assert_eq!(org["id"], who["org_id"]);
    }
    for path in ["/healthz", "/readyz", "/v1/openapi.json"] {
        assert_eq!(client.get(format!("{}{path}", server.url)).send().await.unwrap().status(), 200, "{path}");
    }
}

#[tokio::test]
async fn sigterm_stops_accepting_lets_in_flight_requests_finish_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let env = backend_env(dir.path()).await;
    let owner = init(dir.path(), &env, "Acme", "owner@example.com");
    let mut server = serve(dir.path(), &env, &[("SWITCHBOARD__SERVER__SHUTDOWN_GRACE_SECS", "20")]);
    let addr = server.url.trim_start_matches("http://").to_owned();

    // A request in flight. `Expect: 100-continue` makes the server say when
    // its handler starts reading the body, so the signal below provably
    // arrives while the request is being served (not while the connection is
    // merely accepted, which a graceful shutdown may close).
    let body = r#"{"name":"made during shutdown"}"#;
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /v1/api-keys HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{}",
        owner["api_key"].as_str().unwrap(),
        body.len(),
        &body[..10]
    )
    .unwrap();
    conn.flush().unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).unwrap();
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();

    // New connections are refused once shutdown has begun.
    let refused = async {
        while tokio::net::TcpStream::connect(&addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), refused).await.expect("the listener still accepts after SIGTERM");
    assert!(server.child.try_wait().unwrap().is_none(), "exited before the in-flight request finished");

    // The in-flight request completes normally.
    conn.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("made during shutdown"));

    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn default_config_prints_the_documented_defaults_and_version_prints_the_version() {
    let out = Command::new(BIN).arg("default-config").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, &text).unwrap();
    let parsed = switchboard_server::Settings::load_from(Some(&file), Vec::new()).unwrap();
    assert_eq!(parsed, switchboard_server::Settings::default(), "the example is the defaults");

    let out = Command::new(BIN).arg("version").output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), format!("switchboard {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn init_refuses_bad_input_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "init",
            "--data",
            dir.path().to_str().unwrap(),
            "--org",
            "X",
            "--email",
            "not-an-email",
            "--password",
            PASSWORD,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("email"));
}

#[tokio::test]
async fn the_committed_openapi_snapshot_is_the_document_the_server_serves() {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/openapi.json")).unwrap_or_default();
    assert!(
        committed == printed,
        "web/openapi.json is not the server's API document (the web client is generated from it): \
         regenerate it with `cargo run -p switchboard -- openapi > web/openapi.json`"
    );
    let app = spawn_app().await;
    let served: Value = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, serde_json::from_str::<Value>(&printed).unwrap());
    // Client generators name a call by its operationId.
    let mut ids = std::collections::BTreeSet::new();
    for item in served["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operationId `{id}` is used twice");
        }
    }
}

#[tokio::test]
async fn demo_setup_gives_an_organization_the_sample_shop_an_agent_and_a_widget() {
    let dir = tempfile::tempdir().unwrap();
    let env = backend_env(dir.path()).await;
    let owner = init(dir.path(), &env, "Demo Shop", "owner@demo.test");
    let kb = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/shop/kb");
    let out = Command::new(BIN)
        .args(["demo-setup", "--data", dir.path().to_str().unwrap(), "--org-id", owner["org_id"].as_str().unwrap()])
        .args(["--knowledge", kb, "--origin", "https://demo.example", "--origin", "http://localhost:8080", "--json"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(out.status.success(), "demo-setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let demo: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = std::fs::read_dir(kb).unwrap().count();
    assert_eq!(demo["documents"], files);

    // A built front-end stand-in, so /demo can be served.
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("widget.js"), "/* widget */").unwrap();
    let deployment = demo["deployment_id"].as_str().unwrap();
    let server = serve(
        dir.path(),
        &env,
        &[
            ("SWITCHBOARD__WEB__DEMO_DEPLOYMENT_ID", deployment),
            ("SWITCHBOARD__WEB__DIST_DIR", dist.to_str().unwrap()),
            ("SWITCHBOARD__KNOWLEDGE__WORKERS", "0"),
        ],
    );
    let client = reqwest::Client::new();
    let key = owner["api_key"].as_str().unwrap();
    let d: Value = client
        .get(format!("{}/v1/deployments/{deployment}", server.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["agent_id"], demo["agent_id"]);
    assert_eq!(d["allowed_origins"], serde_json::json!(["http://localhost:8080", "https://demo.example"]));
    let docs: Value = client
        .get(format!("{}/v1/collections/{}/documents?limit=100", server.url, demo["collection_id"].as_str().unwrap()))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(docs["documents"].as_array().unwrap().len(), files, "every sample document is queued");
    let page = client.get(format!("{}/demo", server.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("data-deployment=\"{deployment}\"")), "{html}");
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(html.contains(&format!("<script nonce=\"{nonce}\" src=\"/widget.js\"")), "{html}");
    let r = client
        .post(format!("{}/widget/v1/deployments/{deployment}/sessions", server.url))
        .header("origin", "https://demo.example")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "a visitor of the demo origin starts a session");
}
