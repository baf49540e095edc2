//! Cursor pagination: every item once, in order, pages capped at 100.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn paging_through_a_list_returns_every_item_once() {
    let app = spawn_app().await;
    for i in 0..11 {
        let r = app.post("/v1/api-keys", &app.a.key, &serde_json::json!({"name": format!("k{i}")})).await;
        assert_eq!(r.status(), 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/api-keys?limit=5&after={c}"),
            None => "/v1/api-keys?limit=5".to_owned(),
        };
        let page: Value = app.get(&path, &app.a.key).await.json().await.unwrap();
        let items = page["api_keys"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(items.iter().map(|k| k["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 12);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 12, "no duplicates");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "stable order");
}

#[tokio::test]
async fn huge_limits_are_capped_not_refused() {
    let app = spawn_app().await;
    for i in 0..101 {
        app.post("/v1/api-keys", &app.a.key, &serde_json::json!({"name": format!("k{i}")})).await;
    }
    let page: Value = app.get("/v1/api-keys?limit=1000000000", &app.a.key).await.json().await.unwrap();
    assert_eq!(page["api_keys"].as_array().unwrap().len(), 100);
    assert!(page["next_cursor"].is_string());
    assert_problem(app.get("/v1/api-keys?limit=0", &app.a.key).await, 422, "invalid-request").await;
    assert_problem(app.get("/v1/api-keys?after=zzz", &app.a.key).await, 422, "invalid-request").await;
}
