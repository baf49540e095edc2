//! Web crawls through the v1 contract, against loopback web sites the tests
//! run: robots.txt, sitemaps, redirects, caps, boilerplate, SSRF attempts
//! (with a canary listener standing in for the internal target), re-crawls
//! that version changed pages and remove vanished ones, and a worker killed
//! mid-crawl.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use switchboard_server::knowledge::worker::{Outcome, execute_job};
use switchboard_store::now_millis;

use crate::helpers::*;

/// What a test site serves; `content` may change between crawls.
type Handler = Arc<dyn Fn(&SiteState, &str) -> Response + Send + Sync>;

#[derive(Clone)]
struct SiteState {
    addr: Arc<Mutex<Option<SocketAddr>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Pages whose content the test changes: path -> HTML main text.
    content: Arc<Mutex<HashMap<String, String>>>,
    gone: Arc<Mutex<Vec<String>>>,
    /// A path whose requests hang (until `open`), announcing each arrival.
    hold: Arc<Mutex<Option<Hold>>>,
    handler: Handler,
}

#[derive(Clone)]
struct Hold {
    path: String,
    arrived: Arc<tokio::sync::Notify>,
    open: Arc<AtomicBool>,
}

struct Site {
    addr: SocketAddr,
    state: SiteState,
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    fn hits(&self, path: &str) -> usize {
        self.state.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
    fn hits_where(&self, f: impl Fn(&str) -> bool) -> usize {
        self.state.hits.lock().unwrap().iter().filter(|(p, _)| f(p)).map(|(_, n)| n).sum()
    }
    fn set(&self, path: &str, text: &str) {
        self.state.content.lock().unwrap().insert(path.to_owned(), text.to_owned());
    }
    fn vanish(&self, path: &str) {
        self.state.gone.lock().unwrap().push(path.to_owned());
    }
}

async fn serve(state: State<SiteState>, request: Request) -> Response {
    let path = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    if state.gone.lock().unwrap().contains(&path) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let hold = state.hold.lock().unwrap().clone();
    if let Some(hold) = hold.filter(|h| h.path == path && !h.open.load(Ordering::SeqCst)) {
        hold.arrived.notify_one();
        std::future::pending::<()>().await;
    }
    (state.handler)(&state, &path)
}

async fn site(handler: impl Fn(&SiteState, &str) -> Response + Send + Sync + 'static) -> Site {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = SiteState {
        addr: Arc::new(Mutex::new(Some(addr))),
        hits: Default::default(),
        content: Default::default(),
        gone: Default::default(),
        hold: Default::default(),
        handler: Arc::new(handler),
    };
    let app = Router::new().fallback(serve).with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Site { addr, state }
}

/// A page with the navigation and footer every page of a real site repeats.
fn page(title: &str, main: &str, links: &[&str]) -> Response {
    let links: String = links.iter().map(|l| format!("<li><a href=\"{l}\">{l}</a></li>")).collect();
    let html = format!(
        "<!doctype html><html><head><title>{title}</title></head><body>\
         <nav><a href=\"/\">Home</a> | Shop | Cart | Sign in</nav>\
         <main><h1>{title}</h1><p>{main}</p><ul>{links}</ul></main>\
         <footer>Copyright Acme Corporation. All rights reserved.</footer></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn collection(app: &TestApp, name: &str) -> String {
    let c: Value = app.post("/v1/collections", &app.a.key, &json!({"name": name})).await.json().await.unwrap();
    c["id"].as_str().unwrap().to_owned()
}

async fn add_url(app: &TestApp, kb: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/collections/{kb}/documents"), &app.a.key, &body).await
}

/// Every document of the collection, by URL.
async fn documents_by_url(app: &TestApp, kb: &str) -> HashMap<String, Value> {
    let list: Value =
        app.get(&format!("/v1/collections/{kb}/documents?limit=100"), &app.a.key).await.json().await.unwrap();
    assert!(list["next_cursor"].is_null(), "fewer than 100 documents expected");
    list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["url"].as_str().expect("crawled documents have a url").to_owned(), d.clone()))
        .collect()
}

async fn source(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/v1/crawl-sources/{id}"), &app.a.key).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn search(app: &TestApp, kb: &str, body: Value) -> Value {
    let r = app.post(&format!("/v1/collections/{kb}/search"), &app.a.key, &body).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn all_succeeded(outcomes: &[Outcome]) {
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Succeeded { .. })), "{outcomes:?}");
}

fn private_networks_allowed(s: &mut switchboard_server::Settings) {
    s.knowledge.crawl.allow_private_networks = true;
}

/// The site of the first story: a help centre with everything a crawler trips on.
fn help_centre(s: &SiteState, path: &str) -> Response {
    let me = s.addr.lock().unwrap().unwrap();
    match path {
        "/robots.txt" => text(
            "text/plain",
            format!("User-agent: *\nDisallow: /private/\n\nSitemap: http://{me}/sitemap_index.xml\n"),
        ),
        "/sitemap_index.xml" => text(
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                 <sitemap><loc>http://{me}/sitemap_pages.xml</loc></sitemap></sitemapindex>"
            ),
        ),
        "/sitemap_pages.xml" => text(
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                 <url><loc>http://{me}/orphan</loc></url><url><loc>http://{me}/private/listed</loc></url>\
                 <url><loc>http://other.invalid/elsewhere</loc></url></urlset>"
            ),
        ),
        "/" => page(
            "Acme help centre",
            "Welcome to the Acme help centre. Find answers about shipping and returns.",
            &[
                "/shipping",
                "/shipping#tracking",
                "/private/secret",
                "/redirect/3",
                "/loop/0",
                "/to-metadata",
                "/big",
                "/many-links",
                "/logo.png",
                "/data",
                "mailto:help@acme.test",
                "http://elsewhere.invalid/page",
            ],
        ),
        "/shipping" => page("Shipping", "Standard shipping to Norway takes four business days.", &["/"]),
        "/orphan" => page("Gift cards", "Gift cards never expire and can be used in every store.", &[]),
        "/landing" => page("Warranty", "Every blender comes with a seven year warranty.", &[]),
        "/data" => text("application/json", "{\"not\": \"a document\"}".into()),
        "/to-metadata" => Redirect::temporary("http://169.254.169.254/latest/meta-data/").into_response(),
        "/big" => {
            let paragraph = "<p>The enormous page repeats this sentence about nothing in particular.</p>";
            page("Enormous", &paragraph.repeat(20_000), &[])
        }
        "/many-links" => {
            // Ten thousand links in a navigation block: followed (up to the cap), not indexed.
            let links: String = (0..10_000).map(|i| format!("<a href=\"/many/{i}\">{i}</a> ")).collect();
            let html = format!(
                "<html><head><title>Everything</title></head><body><nav>{links}</nav>\
                 <main><p>An index of every product page.</p></main></body></html>"
            );
            ([(header::CONTENT_TYPE, "text/html")], html).into_response()
        }
        p if p.starts_with("/many/") => page("One of many", &format!("Page {p} of many."), &[]),
        p if p.starts_with("/redirect/") => {
            let n: u32 = p["/redirect/".len()..].parse().unwrap();
            let next = if n == 0 { "/landing".to_owned() } else { format!("/redirect/{}", n - 1) };
            Redirect::to(&next).into_response()
        }
        p if p.starts_with("/loop/") => {
            let n: u32 = p["/loop/".len()..].parse().unwrap();
            Redirect::to(&format!("/loop/{}", n + 1)).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::test]
async fn a_site_is_crawled_within_robots_sitemaps_redirects_and_caps() {
    let app = spawn_app_with(|s| {
        private_networks_allowed(s);
        s.knowledge.crawl.max_page_bytes = 1024 * 1024;
    })
    .await;
    let web = site(help_centre).await;
    let kb = collection(&app, "Help centre").await;

    let r = add_url(&app, &kb, json!({"url": web.url("/#top"), "crawl": {"max_pages": 25, "max_depth": 2}})).await;
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let start_id = accepted["documents"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["documents"].as_array().unwrap().len(), 1);
    assert_eq!(accepted["documents"][0]["status"], "queued");
    let source_id = accepted["crawl_source_id"].as_str().unwrap().to_owned();
    let queued = source(&app, &source_id).await;
    assert_eq!((queued["status"].as_str(), queued["run"].as_i64()), (Some("queued"), Some(1)));
    assert_eq!(queued["start_url"], web.url("/"), "the fragment is dropped");

    all_succeeded(&app.run_jobs().await);
    let crawled = source(&app, &source_id).await;
    assert_eq!(crawled["status"], "idle", "{crawled}");
    assert_eq!(crawled["truncated"], true, "the 10k-link page overflowed the page cap: {crawled}");
    assert!(crawled["next_crawl_at"].is_null(), "no interval, no schedule");

    // Caps: pages fetched (robots.txt, sitemaps and redirect hops aside) stay within max_pages.
    let pages = web
        .state
        .hits
        .lock()
        .unwrap()
        .keys()
        .filter(|p| !["/robots.txt", "/sitemap", "/redirect/", "/loop/"].iter().any(|skip| p.starts_with(skip)))
        .count();
    assert!(pages <= 25, "{pages} pages fetched");
    assert!(web.state.hits.lock().unwrap().values().all(|n| *n == 1), "no page fetched twice");
    let many = web.hits_where(|p| p.starts_with("/many/"));
    assert!(many > 0 && many < 25, "{many} of the 10k links were fetched");
    let docs = documents_by_url(&app, &kb).await;
    assert!(docs.len() <= 25, "{}", docs.len());

    // robots.txt: disallowed pages were never requested, linked or listed.
    assert_eq!(web.hits("/private/secret"), 0);
    assert_eq!(web.hits("/private/listed"), 0);
    assert_eq!(web.hits("/robots.txt"), 1);
    // The sitemap index led to a page nothing links to.
    assert!(docs.contains_key(&web.url("/orphan")), "{:?}", docs.keys());
    // A redirect chain on the site: one document, under the URL it landed on.
    assert!(docs.contains_key(&web.url("/landing")));
    assert!(!docs.keys().any(|u| u.contains("/redirect/")));
    // More than five hops: given up, nothing indexed.
    assert_eq!(web.hits_where(|p| p.starts_with("/loop/")), 6, "the first request and five redirects");
    assert!(!docs.keys().any(|u| u.contains("/loop/")));
    // Over the byte cap, not a document type, off site: skipped.
    assert_eq!(web.hits("/big"), 1);
    assert!(!docs.contains_key(&web.url("/big")));
    assert_eq!(web.hits("/data"), 1);
    assert!(!docs.contains_key(&web.url("/data")));
    assert_eq!(web.hits("/logo.png"), 0, "images are not fetched at all");
    // The fragment link is the same page, fetched once.
    assert_eq!(web.hits("/shipping"), 1);
    // The metadata redirect was refused: a failed page, no document.
    assert!(!docs.keys().any(|u| u.contains("169.254")));
    assert!(crawled["pages"]["failed"].as_i64().unwrap() >= 2, "the loop and the metadata redirect: {crawled}");

    // The start page's document is the one the 202 named.
    let start = &docs[&web.url("/")];
    assert_eq!(start["id"], start_id.as_str());
    for d in docs.values() {
        assert_eq!(d["status"], "ready", "{d}");
        assert_eq!(d["source"], "url");
        assert_eq!(d["version"], 1);
    }

    // Search answers from crawled pages and says where they came from.
    let found = search(&app, &kb, json!({"query": "how long does shipping to Norway take", "top_k": 3})).await;
    let top = &found["results"][0];
    assert!(top["text"].as_str().unwrap().contains("four business days"), "{found}");
    assert_eq!(top["url"], web.url("/shipping"));
    // Navigation and footer boilerplate were not indexed.
    let boiler =
        search(&app, &kb, json!({"query": "Copyright Acme Corporation rights reserved", "mode": "bm25"})).await;
    assert!(
        boiler["results"].as_array().unwrap().iter().all(|r| !r["text"].as_str().unwrap().contains("Copyright")),
        "{boiler}"
    );
}

/// A small site whose pages change between crawls.
fn changing_site(s: &SiteState, path: &str) -> Response {
    let content = s.content.lock().unwrap().clone();
    let links: Vec<&str> = content.get("links").map(|l| l.split(' ').collect()).unwrap_or_default();
    match path {
        "/robots.txt" => StatusCode::NOT_FOUND.into_response(),
        "/sitemap.xml" => StatusCode::NOT_FOUND.into_response(),
        "/" => page("Acme support", "Answers about plans and prices.", &links),
        "/pricing" => page("Pricing", content.get("/pricing").map(String::as_str).unwrap_or_default(), &[]),
        "/old-page" => page("Discontinued toaster", "The model T1 toaster manual.", &[]),
        "/faq" => page("Questions", "Orders ship from the Oslo warehouse.", &[]),
        "/deep/1" => page("Deep one", "First level.", &["/deep/2"]),
        "/deep/2" => page("Deep two", "Second level.", &["/deep/3"]),
        "/deep/3" => page("Deep three", "Too deep to reach.", &[]),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::test]
async fn every_crawled_page_takes_the_crawl_s_metadata() {
    let app = spawn_app_with(private_networks_allowed).await;
    let web = site(changing_site).await;
    web.set("links", "/pricing /faq");
    web.set("/pricing", "The premium plan costs 20 euros per month.");
    let kb = collection(&app, "Tagged site").await;
    let body = json!({"url": web.url("/"), "crawl": {"max_depth": 1}, "metadata": {"section": "support"}});
    let accepted: Value = add_url(&app, &kb, body).await.json().await.unwrap();
    let source_id = accepted["crawl_source_id"].as_str().unwrap().to_owned();
    all_succeeded(&app.run_jobs().await);
    assert_eq!(source(&app, &source_id).await["metadata"], json!({"section": "support"}));
    let documents = documents_by_url(&app, &kb).await;
    assert_eq!(documents.len(), 3);
    for (url, d) in &documents {
        assert_eq!(d["metadata"], json!({"section": "support"}), "{url}");
    }
    let filtered = |section: &str| json!({"query": "premium plan", "filter": {"metadata": {"section": section}}});
    let found = search(&app, &kb, filtered("support")).await;
    assert_eq!(found["results"][0]["url"], web.url("/pricing"), "{found}");
    assert!(search(&app, &kb, filtered("sales")).await["results"].as_array().unwrap().is_empty());

    // Added again with other metadata: the unchanged pages take it without a new version.
    let body = json!({"url": web.url("/"), "crawl": {"max_depth": 1}, "metadata": {"section": "sales"}});
    assert_eq!(add_url(&app, &kb, body).await.status(), 202);
    all_succeeded(&app.run_jobs().await);
    for (url, d) in &documents_by_url(&app, &kb).await {
        assert_eq!((d["metadata"].clone(), d["version"].as_i64()), (json!({"section": "sales"}), Some(1)), "{url}");
    }
    assert_eq!(search(&app, &kb, filtered("sales")).await["results"][0]["url"], web.url("/pricing"));
}

#[tokio::test]
async fn a_recrawl_versions_changed_pages_and_removes_vanished_ones() {
    let app = spawn_app_with(private_networks_allowed).await;
    let web = site(changing_site).await;
    web.set("links", "/pricing /old-page /faq /deep/1");
    web.set("/pricing", "The premium plan costs 20 euros per month.");
    let kb = collection(&app, "Support site").await;
    let interval = 3600;
    let body = json!({"url": web.url("/"), "crawl": {"max_depth": 2, "recrawl_interval_secs": interval}});
    let accepted: Value = add_url(&app, &kb, body).await.json().await.unwrap();
    let source_id = accepted["crawl_source_id"].as_str().unwrap().to_owned();
    all_succeeded(&app.run_jobs().await);

    let first = documents_by_url(&app, &kb).await;
    let mut urls: Vec<&String> = first.keys().collect();
    urls.sort();
    let want: Vec<String> =
        ["/", "/deep/1", "/deep/2", "/faq", "/old-page", "/pricing"].iter().map(|p| web.url(p)).collect();
    assert_eq!(urls, want.iter().collect::<Vec<_>>(), "depth 2 stops before /deep/3");
    assert_eq!(web.hits("/deep/3"), 0);
    let crawled = source(&app, &source_id).await;
    assert_eq!(crawled["truncated"], false);
    assert_eq!(crawled["pages"]["indexed"], 6, "{crawled}");
    assert!(crawled["next_crawl_at"].is_string());
    let pricing_id = first[&web.url("/pricing")]["id"].as_str().unwrap().to_owned();
    let found = search(&app, &kb, json!({"query": "premium plan price per month", "top_k": 1})).await;
    assert_eq!(found["results"][0]["url"], web.url("/pricing"), "{found}");
    assert!(found["results"][0]["text"].as_str().unwrap().contains("20 euros"));

    // The site changes: a new price, a page that now answers 404, a page no longer linked.
    web.set("/pricing", "The premium plan costs 25 euros per month from March.");
    web.vanish("/old-page");
    web.set("links", "/pricing /old-page /deep/1");

    // Not due yet: nothing starts. Once the interval has passed, the scheduler starts a run.
    let t = switchboard_store::Tenant::new(app.a.org_id.clone());
    assert_eq!(app.store.start_due_crawls(now_millis(), 5).await.unwrap(), 0);
    let later = now_millis() + (interval + 1) * 1000;
    assert_eq!(app.store.start_due_crawls(later, 5).await.unwrap(), 1);
    assert_eq!(app.store.start_due_crawls(later, 5).await.unwrap(), 0, "a run already queued is not queued twice");
    assert_eq!(source(&app, &source_id).await["status"], "queued");
    all_succeeded(&app.run_jobs().await);

    let second = documents_by_url(&app, &kb).await;
    assert!(!second.contains_key(&web.url("/old-page")), "404: removed");
    assert!(!second.contains_key(&web.url("/faq")), "no longer linked: removed");
    for gone in [&first[&web.url("/old-page")], &first[&web.url("/faq")]] {
        let r = app.get(&format!("/v1/documents/{}", gone["id"].as_str().unwrap()), &app.a.key).await;
        assert_problem(r, 404, "not-found").await;
        assert_eq!(app.store.count_chunks(&t, gone["id"].as_str().unwrap()).await.unwrap(), 0);
    }
    let pricing = &second[&web.url("/pricing")];
    assert_eq!(pricing["id"], pricing_id.as_str(), "the same document");
    assert_eq!((pricing["version"].as_i64(), pricing["status"].as_str()), (Some(2), Some("ready")));
    assert_eq!(second[&web.url("/")]["version"], 2, "its links changed");
    for unchanged in ["/deep/1", "/deep/2"] {
        assert_eq!(second[&web.url(unchanged)]["version"], 1, "{unchanged} did not change: no new version");
    }
    let recrawled = source(&app, &source_id).await;
    assert_eq!(recrawled["run"], 2);
    assert_eq!(recrawled["pages"]["indexed"], 2, "{recrawled}");
    assert_eq!(recrawled["pages"]["unchanged"], 2);
    assert_eq!(recrawled["pages"]["gone"], 1);
    let found = search(&app, &kb, json!({"query": "premium plan price per month", "top_k": 3, "mode": "bm25"})).await;
    let texts: Vec<&str> = found["results"].as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.contains("25 euros")) && !texts.iter().any(|t| t.contains("20 euros")), "{texts:?}");
    let discontinued = search(&app, &kb, json!({"query": "toaster manual", "mode": "bm25"})).await;
    assert!(discontinued["results"].as_array().unwrap().is_empty(), "{discontinued}");

    // A re-crawl on request, with nothing changed, adds no version.
    let r = app.post(&format!("/v1/crawl-sources/{source_id}/recrawl"), &app.a.key, &json!({})).await;
    assert_eq!(r.status(), 202);
    all_succeeded(&app.run_jobs().await);
    let third = documents_by_url(&app, &kb).await;
    assert_eq!(third.len(), 4);
    assert!(third.values().all(|d| d["version"] == second[d["url"].as_str().unwrap()]["version"]));
}

#[tokio::test]
async fn ssrf_attempts_are_refused_and_the_internal_target_sees_nothing() {
    let internal = canary("127.0.0.2").await;
    let app = spawn_app_with(|s| {
        // Private networks stay closed; only the test site's address is let through.
        s.knowledge.crawl.allowed_networks = vec!["127.0.0.1/32".into()];
    })
    .await;
    let target = internal.addr;
    let web = site(move |s, path| {
        let _ = s;
        match path {
            "/robots.txt" | "/sitemap.xml" => StatusCode::NOT_FOUND.into_response(),
            "/" => page(
                "Links",
                "A page that links to internal places.",
                &["/ok", "/to-internal", "/to-decimal", "/to-metadata"],
            ),
            "/ok" => page("Fine", "A public page about opening hours.", &[]),
            "/to-internal" => Redirect::temporary(&format!("http://{target}/admin")).into_response(),
            "/to-decimal" => {
                let ip: u32 = match target.ip() {
                    std::net::IpAddr::V4(v4) => v4.into(),
                    std::net::IpAddr::V6(_) => unreachable!(),
                };
                Redirect::temporary(&format!("http://{ip}:{}/admin", target.port())).into_response()
            }
            "/to-metadata" => Redirect::temporary("http://169.254.169.254/latest/meta-data/").into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    })
    .await;
    let kb = collection(&app, "Guarded").await;
    let port = target.port();

    // Refused at the door: internal addresses in any spelling, other schemes.
    for url in [
        format!("http://{target}/"),
        format!("http://2130706434:{port}/"),
        format!("http://0x7f.0.0.2:{port}/"),
        format!("http://[::ffff:127.0.0.2]:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_owned(),
        "file:///etc/passwd".to_owned(),
        "gopher://127.0.0.1:70/".to_owned(),
    ] {
        let body = assert_problem(add_url(&app, &kb, json!({"url": url})).await, 422, "invalid-request").await;
        assert!(body["detail"].as_str().unwrap().contains("url"), "{body}");
    }

    // Redirects into the internal network are refused hop by hop.
    let accepted: Value = add_url(&app, &kb, json!({"url": web.url("/")})).await.json().await.unwrap();
    let source_id = accepted["crawl_source_id"].as_str().unwrap().to_owned();
    all_succeeded(&app.run_jobs().await);
    let docs = documents_by_url(&app, &kb).await;
    let mut urls: Vec<&String> = docs.keys().collect();
    urls.sort();
    assert_eq!(urls, vec![&web.url("/"), &web.url("/ok")]);
    let crawled = source(&app, &source_id).await;
    assert_eq!(crawled["pages"]["failed"], 3, "{crawled}");
    assert_eq!(internal.hits.load(Ordering::SeqCst), 0, "the internal target saw a connection");
}

#[tokio::test]
async fn with_private_networks_closed_a_loopback_site_is_not_fetched_even_by_name() {
    let app = spawn_app().await;
    let web = site(|_, _| page("Internal wiki", "Secret plans.", &[])).await;
    let kb = collection(&app, "Closed").await;
    assert_problem(add_url(&app, &kb, json!({"url": web.url("/")})).await, 422, "invalid-request").await;

    // A name is checked when it resolves: localhost is loopback.
    let by_name = format!("http://localhost:{}/", web.addr.port());
    let r = add_url(&app, &kb, json!({"url": by_name})).await;
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let start = accepted["documents"][0]["id"].as_str().unwrap().to_owned();
    let source_id = accepted["crawl_source_id"].as_str().unwrap().to_owned();
    all_succeeded(&app.run_jobs().await);
    let d: Value = app.get(&format!("/v1/documents/{start}"), &app.a.key).await.json().await.unwrap();
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("loopback"), "{d}");
    let s = source(&app, &source_id).await;
    assert!(s["last_error"].as_str().unwrap().contains("loopback"), "{s}");
    assert_eq!(web.hits_where(|_| true), 0, "the site saw no request");
}

#[tokio::test]
async fn a_worker_killed_mid_crawl_resumes_without_losing_or_repeating_work() {
    let app = spawn_app_with(|s| {
        private_networks_allowed(s);
        // One page at a time, so what was done before the kill is exact.
        s.knowledge.crawl.concurrency_per_host = 1;
    })
    .await;
    let web = site(|_, path| match path {
        "/robots.txt" | "/sitemap.xml" => StatusCode::NOT_FOUND.into_response(),
        "/" => page("Start", "The start of the manual.", &["/a", "/b", "/c", "/slow"]),
        p => page(&format!("Chapter {p}"), &format!("The text of chapter {p}."), &[]),
    })
    .await;
    // The worker is killed while it waits for /slow.
    let hold = Hold { path: "/slow".into(), arrived: Default::default(), open: Default::default() };
    *web.state.hold.lock().unwrap() = Some(hold.clone());
    let kb = collection(&app, "Manual").await;
    let accepted: Value = add_url(&app, &kb, json!({"url": web.url("/")})).await.json().await.unwrap();
    let source_id = accepted["crawl_source_id"].as_str().unwrap().to_owned();

    // A worker takes the crawl job and dies when it reaches /slow.
    let state = app.state.clone();
    let doomed =
        tokio::spawn(async move { switchboard_server::knowledge::worker::try_execute_job(&state, "doomed").await });
    hold.arrived.notified().await;
    doomed.abort();
    assert!(doomed.await.unwrap_err().is_cancelled());
    hold.open.store(true, Ordering::SeqCst);
    for done in ["/", "/a", "/b", "/c"] {
        assert_eq!(web.hits(done), 1, "{done} was fetched before the kill");
    }

    // Its lease runs out; another worker takes the job over and finishes the run.
    let lease_ms = (app.state.settings.knowledge.job_lease_secs * 1000) as i64;
    let job = app.store.claim_job("rescuer", now_millis() + lease_ms + 1, lease_ms).await.unwrap().unwrap();
    assert_eq!((job.kind.as_str(), job.attempts), ("crawl", 2));
    assert!(matches!(execute_job(&app.state, job).await.unwrap(), Outcome::Succeeded { .. }));
    all_succeeded(&app.run_jobs().await);

    for done in ["/", "/a", "/b", "/c"] {
        assert_eq!(web.hits(done), 1, "{done} was not fetched again");
    }
    assert_eq!(web.hits("/slow"), 2, "the page in flight was fetched again");
    let docs = documents_by_url(&app, &kb).await;
    assert_eq!(docs.len(), 5);
    let t = switchboard_store::Tenant::new(app.a.org_id.clone());
    for d in docs.values() {
        assert_eq!((d["version"].as_i64(), d["status"].as_str()), (Some(1), Some("ready")), "{d}");
        let id = d["id"].as_str().unwrap();
        assert_eq!(app.store.count_chunks(&t, id).await.unwrap(), d["chunk_count"].as_i64().unwrap(), "no chunk twice");
    }
    let s = source(&app, &source_id).await;
    assert_eq!((s["status"].as_str(), s["pages"]["indexed"].as_i64()), (Some("idle"), Some(5)), "{s}");
}

#[tokio::test]
async fn crawl_requests_are_validated() {
    let app = spawn_app_with(private_networks_allowed).await;
    let kb = collection(&app, "Rules").await;
    for body in [
        json!({"url": "not a url"}),
        json!({"url": "https://example.com/", "crawl": {"max_pages": 0}}),
        json!({"url": "https://example.com/", "crawl": {"max_pages": 100000}}),
        json!({"url": "https://example.com/", "crawl": {"max_depth": 99}}),
        json!({"url": "https://example.com/", "crawl": {"recrawl_interval_secs": 5}}),
        json!({"url": "https://example.com/", "crawl": {"max_pages": 5, "surprise": 1}}),
        json!({"url": "https://example.com/", "text": "both"}),
        json!({"title": "t", "text": "x", "crawl": {"max_pages": 5}}),
        json!({"url": format!("https://example.com/{}", "a".repeat(3000))}),
    ] {
        assert_problem(add_url(&app, &kb, body.clone()).await, 422, "invalid-request").await;
    }
    let other = app.new_tenant("Other").await;
    let missing = "/v1/crawl-sources/00000000-0000-7000-8000-000000000000";
    assert_problem(app.get(missing, &app.a.key).await, 404, "not-found").await;
    // Another tenant's source is indistinguishable from a missing one.
    let web = site(|_, _| StatusCode::NOT_FOUND.into_response()).await;
    let accepted: Value = add_url(&app, &kb, json!({"url": web.url("/")})).await.json().await.unwrap();
    let id = accepted["crawl_source_id"].as_str().unwrap();
    assert_problem(app.get(&format!("/v1/crawl-sources/{id}"), &other.key).await, 404, "not-found").await;
    let r = app.post(&format!("/v1/crawl-sources/{id}/recrawl"), &other.key, &json!({})).await;
    assert_problem(r, 404, "not-found").await;
    // Adding the same URL again is the same source and the same start document.
    let again: Value = add_url(&app, &kb, json!({"url": web.url("/")})).await.json().await.unwrap();
    assert_eq!(again["crawl_source_id"], id);
    assert_eq!(again["documents"][0]["id"], accepted["documents"][0]["id"]);
    // A start page that is gone fails its document with the reason.
    all_succeeded(&app.run_jobs().await);
    let start = accepted["documents"][0]["id"].as_str().unwrap();
    let d: Value = app.get(&format!("/v1/documents/{start}"), &app.a.key).await.json().await.unwrap();
    assert_eq!((d["status"].as_str(), d["error"].as_str()), (Some("failed"), Some("HTTP 404")), "{d}");
}
