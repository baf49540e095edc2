use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer_without_auth() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["checks"][0]["name"], "database");
    assert_eq!(body["checks"][0]["ok"], true);
    let expected = if backend_url_base().is_some() { "postgres" } else { "sqlite" };
    assert_eq!(body["checks"][0]["detail"], expected);
    assert_eq!(body["checks"][2]["name"], "embeddings");
    assert_eq!(body["checks"][2]["detail"], "local:all-MiniLM-L6-v2");
}

#[tokio::test]
async fn without_a_model_the_server_is_ready_and_says_search_is_full_text_only() {
    let app = spawn_app_with(|s| s.knowledge.model_dir = Some("/nonexistent/model".into())).await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["checks"][2]["detail"].as_str().unwrap().contains("full-text only"), "{body}");
    let kb: Value =
        app.post("/v1/collections", &app.a.key, &serde_json::json!({"name": "kb"})).await.json().await.unwrap();
    let kb = kb["id"].as_str().unwrap();
    let path = format!("/v1/collections/{kb}/documents");
    app.post(&path, &app.a.key, &serde_json::json!({"title": "Hours", "text": "We open at nine."})).await;
    app.run_jobs().await;
    let found: Value = app
        .post(&format!("/v1/collections/{kb}/search"), &app.a.key, &serde_json::json!({"query": "when do you open"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["mode"], "bm25");
    assert_eq!(found["dense_available"], false);
    assert!(found["results"][0]["text"].as_str().unwrap().contains("nine"), "{found}");
}

/// `knowledge.model_precision = "int8"`: readiness names the quantized
/// model, and dense search with it finds a paraphrase no word of which is in
/// the text.
#[tokio::test]
async fn the_int8_model_serves_dense_search() {
    let app =
        spawn_app_with(|s| s.knowledge.model_precision = switchboard_server::settings::ModelPrecision::Int8).await;
    let body: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["checks"][2]["detail"], "local:all-MiniLM-L6-v2+int8", "{body}");
    let kb: Value =
        app.post("/v1/collections", &app.a.key, &serde_json::json!({"name": "kb"})).await.json().await.unwrap();
    let kb = kb["id"].as_str().unwrap();
    let path = format!("/v1/collections/{kb}/documents");
    for (title, text) in [
        ("Hours", "Our shops open at nine in the morning and close at six."),
        ("Returns", "Unworn items can be sent back within thirty days for a refund."),
        ("Gift cards", "Gift cards are valid for two years from purchase."),
    ] {
        app.post(&path, &app.a.key, &serde_json::json!({"title": title, "text": text})).await;
    }
    app.run_jobs().await;
    let found: Value = app
        .post(
            &format!("/v1/collections/{kb}/search"),
            &app.a.key,
            &serde_json::json!({"query": "can I get my money back for a jacket", "mode": "dense"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["mode"], "dense", "{found}");
    assert!(found["results"][0]["text"].as_str().unwrap().contains("refund"), "{found}");
}

#[tokio::test]
async fn responses_carry_security_headers_and_request_ids() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/v1/org"))
        .bearer_auth(&app.a.key)
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["x-request-id"], "trace-123", "an incoming request id is echoed");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["strict-transport-security"].to_str().unwrap().contains("max-age="));
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");

    // A hostile request id is replaced, not echoed into logs and headers.
    let r = app.client.get(app.url("/healthz")).header("x-request-id", "a b<script>").send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!id.contains("script") && !id.is_empty());
    // Without one, one is generated, different per request.
    let r2 = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(r2.headers()["x-request-id"].to_str().unwrap(), id);
}

#[tokio::test]
async fn openapi_document_is_3_1_and_every_operation_is_routed() {
    let app = spawn_app().await;
    let spec: Value = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1");
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "the document lists the routes");
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.client.request(method.clone(), app.url(&concrete)).send().await.unwrap();
            // The fallback answers unrouted paths; a documented operation must not reach it.
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert!(
                !(status == 404 && body["detail"] == "no such route") && status != 405,
                "{method} {path} is documented but not routed ({status})"
            );
        }
    }
}

/// Routes may only be added through `utoipa_axum::routes!`, which documents
/// them as it adds them; this guards against a plain `.route(` sneaking in.
#[test]
fn routes_are_registered_only_through_the_documenting_macro() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../switchboard-server/src");
    let mut offenders = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for (n, line) in text.lines().enumerate() {
                let undocumented = line.contains(".route(") || line.contains(".nest(") || line.contains("routing::");
                // /metrics is the one route outside the API document: it may live on a private listener.
                if undocumented && !line.contains("\"/metrics\"") {
                    offenders.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "undocumented route registrations:\n{}", offenders.join("\n"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/v1/org", &app.a.key).await;
    app.get("/v1/users/nope", &app.a.key).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"switchboard_http_requests_total{method="GET",route="/v1/org",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"route="/v1/users/{id}",status="404""#), "{text}");
    assert!(text.contains("switchboard_http_request_duration_seconds_bucket"), "{text}");
}

#[tokio::test]
async fn metrics_can_live_on_a_private_listener() {
    let app = spawn_app_with(|s| s.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    // Off the main listener...
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // ...and on its own.
    app.get("/v1/org", &app.a.key).await;
    let private = format!("http://{}/metrics", app.metrics_addr.unwrap());
    let text = app.client.get(private).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"route="/v1/org""#), "{text}");
}

#[tokio::test]
async fn cors_allows_only_configured_origins_and_never_a_wildcard() {
    let app = spawn_app_with(|s| s.server.cors_allowed_origins = vec!["https://app.example.com".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/org"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let evil = preflight("https://evil.example.net").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let r = app.client.get(app.url("/v1/org")).bearer_auth(&app.a.key).header("origin", "null").send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none_or(|v| v != "*"));
}
