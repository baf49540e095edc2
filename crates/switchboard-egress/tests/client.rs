//! The client against real loopback servers: redirects, byte caps, and every
//! SSRF spelling we know, with a canary listener that must never see a
//! connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use switchboard_egress::{AddressClass, AddressPolicy, Client, EgressConfig, EgressError};
use url::Url;

/// A listener that counts connections and never answers.
struct Canary {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn canary(ip: &str) -> Canary {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    Canary { addr, hits }
}

/// A site on 127.0.0.1 with redirect chains and a large body.
async fn site(canary: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/page", get(|| async { "hello" }))
        .route(
            "/chain/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    Redirect::to("/page").into_response()
                } else {
                    Redirect::to(&format!("/chain/{}", n - 1)).into_response()
                }
            }),
        )
        .route("/to-canary", get(move || async move { Redirect::to(&format!("http://{canary}/secret")) }))
        .route(
            "/to-canary-decimal",
            get(move || async move {
                let ip: u32 = match canary.ip() {
                    std::net::IpAddr::V4(v4) => v4.into(),
                    _ => unreachable!(),
                };
                Redirect::to(&format!("http://{ip}:{}/secret", canary.port()))
            }),
        )
        .route("/to-metadata", get(|| async { Redirect::to("http://169.254.169.254/latest/meta-data/") }))
        .route("/to-file", get(|| async { Redirect::to("file:///etc/passwd") }))
        .route("/big-declared", get(|| async { "x".repeat(2_000) }))
        .route(
            "/big-chunked",
            get(|| async {
                // A stream has no Content-Length: the cap must hold while reading.
                let chunks = (0..100).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 100]));
                Response::builder()
                    .header(header::CONTENT_TYPE, "text/plain")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap()
            }),
        )
        .route("/post-303", axum::routing::post(|| async { Redirect::to("/method") }))
        .route("/post-307", axum::routing::post(|| async { Redirect::temporary("/method") }))
        .route("/method", get(|| async { "GET" }).post(|body: String| async move { format!("POST {body}") }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn client(policy: AddressPolicy, max_body: u64) -> Client {
    let mut config = EgressConfig::new("SwitchboardBot-test");
    config.addresses = policy;
    config.max_body_bytes = max_body;
    Client::new(config).unwrap()
}

/// The site's address allowed, every other private address refused.
fn only(addr: SocketAddr) -> AddressPolicy {
    AddressPolicy {
        allow_private_networks: false,
        allowed_networks: vec![format!("{}/32", addr.ip()).parse().unwrap()],
    }
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

#[tokio::test]
async fn redirects_are_followed_on_site_up_to_five_hops() {
    let trap = canary("127.0.0.2").await;
    let site = site(trap.addr).await;
    let c = client(only(site), 1_000);
    let r = c.get(&url(&format!("http://{site}/chain/4"))).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], b"hello");
    assert_eq!(r.url.path(), "/page");
    assert_eq!(r.redirected_from.len(), 5);

    let e = c.get(&url(&format!("http://{site}/chain/5"))).await.unwrap_err();
    assert!(matches!(e, EgressError::TooManyRedirects { max: 5 }), "{e}");

    let missing = c.get(&url(&format!("http://{site}/missing"))).await.unwrap();
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "a status is a response, not an error");
}

#[tokio::test]
async fn every_redirect_hop_is_checked_and_the_internal_target_never_sees_a_connection() {
    let trap = canary("127.0.0.2").await;
    let site = site(trap.addr).await;
    let c = client(only(site), 1_000);
    for path in ["/to-canary", "/to-canary-decimal"] {
        let e = c.get(&url(&format!("http://{site}{path}"))).await.unwrap_err();
        assert!(matches!(e, EgressError::Refused { class: AddressClass::Loopback, .. }), "{path}: {e}");
        assert!(e.is_refusal());
    }
    let e = c.get(&url(&format!("http://{site}/to-metadata"))).await.unwrap_err();
    assert!(matches!(e, EgressError::Refused { class: AddressClass::LinkLocal, .. }), "{e}");
    let e = c.get(&url(&format!("http://{site}/to-file"))).await.unwrap_err();
    assert!(matches!(e, EgressError::Scheme(ref s) if s == "file"), "{e}");

    // Link-local stays refused even with private networks open.
    let open = client(AddressPolicy { allow_private_networks: true, ..Default::default() }, 1_000);
    let e = open.get(&url(&format!("http://{site}/to-metadata"))).await.unwrap_err();
    assert!(matches!(e, EgressError::Refused { class: AddressClass::LinkLocal, .. }), "{e}");
    assert_eq!(trap.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn loopback_in_every_spelling_is_refused_before_any_connection() {
    let trap = canary("127.0.0.1").await;
    let port = trap.addr.port();
    let c = client(AddressPolicy::public_only(), 1_000);
    let spellings = [
        format!("http://127.0.0.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://017700000001:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://127.0.0.1.:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::ffff:7f00:1]:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://0:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://LOCALHOST.:{port}/"),
    ];
    for spelling in &spellings {
        let parsed = url(spelling);
        let e = c.get(&parsed).await.unwrap_err();
        // `localhost.` (fully qualified) does not resolve everywhere; where it does, it is refused.
        let unresolved = matches!(e, EgressError::NotResolved { .. }) && spelling.contains("LOCALHOST.");
        assert!(e.is_refusal() || unresolved, "{spelling} (parsed as {parsed}): {e}");
    }
    for other in ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://example.com/"] {
        let e = c.get(&url(other)).await.unwrap_err();
        assert!(matches!(e, EgressError::Scheme(_)), "{other}: {e}");
    }
    assert_eq!(trap.hits.load(Ordering::SeqCst), 0, "the canary saw a connection");
}

#[tokio::test]
async fn the_url_parser_decodes_odd_ipv4_spellings_to_the_same_address() {
    // So that checking the parsed host is checking where the connection goes.
    for spelling in
        ["http://2130706433/", "http://0x7f.1/", "http://017700000001/", "http://127.1/", "http://0177.0.0.1/"]
    {
        assert_eq!(url(spelling).host_str(), Some("127.0.0.1"), "{spelling}");
    }
    assert_eq!(url("http://[::ffff:7f00:1]/").host_str(), Some("[::ffff:7f00:1]"));
    // And an allowed address is really reached under such a spelling.
    let trap = canary("127.0.0.2").await;
    let site = site(trap.addr).await;
    let c = client(only(site), 1_000);
    let r = c.get(&url(&format!("http://2130706433:{}/page", site.port()))).await.unwrap();
    assert_eq!(&r.body[..], b"hello");
}

#[tokio::test]
async fn bodies_are_capped_with_or_without_a_content_length() {
    let trap = canary("127.0.0.2").await;
    let site = site(trap.addr).await;
    let c = client(only(site), 1_000);
    for path in ["/big-declared", "/big-chunked"] {
        let e = c.get(&url(&format!("http://{site}{path}"))).await.unwrap_err();
        assert!(matches!(e, EgressError::TooLarge { limit: 1_000 }), "{path}: {e}");
    }
    let roomy = client(only(site), 20_000);
    let r = roomy.get(&url(&format!("http://{site}/big-chunked"))).await.unwrap();
    assert_eq!(r.body.len(), 10_000);
    assert_eq!(r.media_type().as_deref(), Some("text/plain"));
}

#[tokio::test]
async fn see_other_turns_a_post_into_a_get_and_307_repeats_it() {
    let trap = canary("127.0.0.2").await;
    let site = site(trap.addr).await;
    let c = client(only(site), 1_000);
    let post = |path: &str| switchboard_egress::Request {
        method: reqwest::Method::POST,
        url: url(&format!("http://{site}{path}")),
        headers: Default::default(),
        body: Some(bytes::Bytes::from_static(b"payload")),
        max_body_bytes: None,
    };
    assert_eq!(&c.send(post("/post-303")).await.unwrap().body[..], b"GET");
    assert_eq!(&c.send(post("/post-307")).await.unwrap().body[..], b"POST payload");
}
