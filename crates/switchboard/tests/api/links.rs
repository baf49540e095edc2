//! Links in replies go only where the business sends its customers (RELIABILITY L1, L6): a help
//! page crawled from the shop's own site carries links to that site and to a host nobody
//! listed; both answerers keep the first and reduce the second to text, by default (the crawled
//! site's host and the widget's origins) and with an explicit `guardrails.link_hosts`.

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use switchboard_llm::mock::{MockLlm, Script};

use crate::helpers::*;

/// The help site on loopback, reached by a name: personal-data redaction would turn an IP
/// address in a reply into `[ip]`.
async fn help_site() -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let site = format!("http://localhost:{port}");
    let returns = format!(
        "<!doctype html><html><head><title>Returns</title></head><body><main><h1>Returns</h1>\
         <p>Returns are free within 30 days of delivery.</p>\
         <p>Print the return label at {site}/label, read https://shop.example/returns or order a return box \
         from https://partner.example/box today.</p></main></body></html>"
    );
    let app = Router::new().fallback(move |request: Request| {
        let returns = returns.clone();
        async move {
            let html = |body: String| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
            match request.uri().path() {
                "/" => html(
                    "<!doctype html><html><head><title>Help</title></head><body><main><h1>Help</h1>\
                     <p>Answers about our shop.</p><a href=\"/returns\">Returns</a></main></body></html>"
                        .to_owned(),
                ),
                "/returns" => html(returns),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    site
}

/// An app with the help site crawled into a collection; returns the app, the collection and the site.
async fn crawled() -> (TestApp, String, String) {
    let app = spawn_app_with(|s| {
        s.llm.allow_private_networks = true; // the mock listens on 127.0.0.1
        s.knowledge.crawl.allow_private_networks = true; // so does the help site
    })
    .await;
    let site = help_site().await;
    let c: Value = app.post("/v1/collections", &app.a.key, &json!({"name": "Help"})).await.json().await.unwrap();
    let kb = c["id"].as_str().unwrap().to_owned();
    let body = json!({"url": format!("{site}/"), "crawl": {"max_pages": 5, "max_depth": 1}});
    let r = app.post(&format!("/v1/collections/{kb}/documents"), &app.a.key, &body).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    app.run_jobs().await;
    let list: Value = app.get(&format!("/v1/collections/{kb}/documents"), &app.a.key).await.json().await.unwrap();
    let ready = list["documents"].as_array().unwrap().iter().filter(|d| d["status"] == "ready").count();
    assert_eq!(ready, 2, "{list}");
    (app, kb, site)
}

async fn agent(app: &TestApp, body: Value) -> String {
    let r = app.post("/v1/agents", &app.a.key, &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// One question in a new conversation: the reply as stored.
async fn ask(app: &TestApp, agent: &str, text: &str) -> Value {
    let r = app.post("/v1/conversations", &app.a.key, &json!({"agent_id": agent})).await;
    let conversation = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/conversations/{conversation}/messages");
    let r = app.post(&path, &app.a.key, &json!({"text": text})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let all: Value = app.get(&format!("{path}?limit=10"), &app.a.key).await.json().await.unwrap();
    all["messages"].as_array().unwrap().last().unwrap().clone()
}

const QUESTION: &str = "Where do I print the return label?";

#[tokio::test]
async fn the_extractive_answer_keeps_links_to_the_crawled_site_and_the_widget_origins_only() {
    let (app, kb, site) = crawled().await;
    let id = agent(&app, json!({"name": "Helper", "collection_ids": [kb], "guardrails": {"min_confidence": 0}})).await;
    let r = app
        .post(
            "/v1/deployments",
            &app.a.key,
            &json!({"name": "Shop site", "agent_id": id, "allowed_origins": ["https://shop.example"]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let reply = ask(&app, &id, QUESTION).await;
    let text = reply["text"].as_str().unwrap();
    assert_eq!(reply["outcome"], "answered", "{reply}");
    // Quoted from the page: its own site and the widget's origin stay links, the partner does not.
    assert!(text.contains(&format!("{site}/label")), "{text}");
    assert!(text.contains("https://shop.example/returns"), "{text}");
    assert!(text.contains("order a return box from [link removed] today"), "{text}");
    assert!(!text.contains("partner.example"), "{text}");
    assert_eq!(reply["details"]["guard"]["links_removed"], 1, "{reply}");

    // A listed host replaces the default: now only the partner is linked.
    let r = app
        .patch(&format!("/v1/agents/{id}"), &app.a.key, &json!({"guardrails": {"link_hosts": ["Partner.Example"]}}))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = app.post(&format!("/v1/agents/{id}/versions/2/release"), &app.a.key, &json!({})).await;
    assert_eq!(r.status(), 200);
    let a: Value = app.get(&format!("/v1/agents/{id}"), &app.a.key).await.json().await.unwrap();
    assert_eq!(a["config"]["guardrails"]["link_hosts"], json!(["partner.example"]), "{a}");
    let reply = ask(&app, &id, QUESTION).await;
    let text = reply["text"].as_str().unwrap();
    assert!(text.contains("https://partner.example/box"), "{text}");
    assert!(!text.contains("localhost") && !text.contains("shop.example"), "{text}");
    assert_eq!(reply["details"]["guard"]["links_removed"], 2, "{reply}");
}

#[tokio::test]
async fn a_model_repeating_a_sources_link_to_an_unlisted_host_links_only_to_the_crawled_site() {
    let (app, kb, site) = crawled().await;
    let mock = MockLlm::start().await;
    let id = agent(
        &app,
        json!({"name": "Bot", "collection_ids": [kb], "llm": {"base_url": mock.base_url(), "model": "gpt-4o-mini"}}),
    )
    .await;
    // Every URL is written in the source word for word: only the host check can tell them apart.
    mock.push(Script::reply(format!(
        "Print the return label at [the label page]({site}/label) or order a return box from \
         [our partner](https://partner.example/box), also https://partner.example/box, today [1]."
    )));
    let reply = ask(&app, &id, QUESTION).await;
    let text = reply["text"].as_str().unwrap();
    assert_eq!(reply["outcome"], "answered", "{reply}");
    assert!(text.contains(&format!("[the label page]({site}/label)")), "{text}");
    assert!(text.contains("from our partner, also [link removed], today [1]."), "{text}");
    assert!(!text.contains("partner.example"), "{text}");
    assert_eq!(reply["details"]["guard"]["links_removed"], 2, "{reply}");
    assert_eq!(reply["details"]["evidence"]["grounding"]["links_removed"], false, "the material wrote them all");
}

#[tokio::test]
async fn link_hosts_must_be_host_names_and_a_bad_one_changes_nothing() {
    let app = spawn_app().await;
    let id = agent(&app, json!({"name": "Helper", "collection_ids": []})).await;
    let too_many = vec!["shop.example"; 101];
    for bad in [
        json!({"guardrails": {"link_hosts": ["https://shop.example"]}}),
        json!({"guardrails": {"link_hosts": ["shop.example/returns"]}}),
        json!({"guardrails": {"link_hosts": ["shop.example:8443"]}}),
        json!({"guardrails": {"link_hosts": ["*"]}}),
        json!({"guardrails": {"link_hosts": ["*.example"]}}),
        json!({"guardrails": {"link_hosts": [""]}}),
        json!({"guardrails": {"link_hosts": "shop.example"}}),
        json!({"guardrails": {"link_hosts": too_many}}),
    ] {
        let r = app.patch(&format!("/v1/agents/{id}"), &app.a.key, &bad).await;
        assert_problem(r, 422, "invalid-request").await;
    }
    let body = json!({"name": "Other", "collection_ids": [], "guardrails": {"link_hosts": ["https://shop.example"]}});
    assert_problem(app.post("/v1/agents", &app.a.key, &body).await, 422, "invalid-request").await;
    let a: Value = app.get(&format!("/v1/agents/{id}"), &app.a.key).await.json().await.unwrap();
    assert_eq!(a["latest_version"], 1, "no version was written: {a}");
    let list: Value = app.get("/v1/agents", &app.a.key).await.json().await.unwrap();
    assert_eq!(list["agents"].as_array().unwrap().len(), 1, "{list}");
}
