//! Collections through the v1 contract.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn create_list_get_rename_delete() {
    let app = spawn_app().await;
    let r = app.post("/v1/collections", &app.a.key, &json!({"name": "Help Center"})).await;
    assert_eq!(r.status(), 201);
    let c: Value = r.json().await.unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["name"], "Help Center");
    assert_eq!(c["embedding_model"], "local:all-MiniLM-L6-v2");
    assert_eq!(c["embedding_dim"], 384);

    assert_problem(app.post("/v1/collections", &app.a.key, &json!({"name": "Help Center"})).await, 409, "conflict")
        .await;
    let list: Value = app.get("/v1/collections", &app.a.key).await.json().await.unwrap();
    assert_eq!(list["collections"].as_array().unwrap().len(), 1);

    let r =
        app.patch(&format!("/v1/collections/{id}"), &app.a.key, &json!({"name": "FAQ", "description": "Public"})).await;
    assert_eq!(r.status(), 200);
    let got: Value = app.get(&format!("/v1/collections/{id}"), &app.a.key).await.json().await.unwrap();
    assert_eq!((got["name"].as_str(), got["description"].as_str()), (Some("FAQ"), Some("Public")));

    assert_eq!(app.delete(&format!("/v1/collections/{id}"), &app.a.key).await.status(), 204);
    assert_problem(app.get(&format!("/v1/collections/{id}"), &app.a.key).await, 404, "not-found").await;
    let log: Value = app.get("/v1/audit-log", &app.a.key).await.json().await.unwrap();
    let actions: Vec<_> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..3], ["collection.delete", "collection.update", "collection.create"]);
}

#[tokio::test]
async fn names_are_unique_per_tenant_only() {
    let app = spawn_app().await;
    let b = app.new_tenant("B").await;
    assert_eq!(app.post("/v1/collections", &app.a.key, &json!({"name": "Docs"})).await.status(), 201);
    assert_eq!(app.post("/v1/collections", &b.key, &json!({"name": "Docs"})).await.status(), 201);
}
