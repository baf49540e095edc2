//! The overview figures (`GET /v1/stats/overview`), counted by the database:
//! turns stored at known times with known outcomes, latencies and costs give
//! the same totals and series on SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::helpers::*;

/// 2026-01-10T00:00:00Z.
const DAY0: i64 = 1_768_003_200_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

async fn execute(app: &TestApp, sql: &str) {
    if app.database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
}

/// A conversation started at `at`.
async fn conversation_at(app: &TestApp, agent: &str, at: i64) -> String {
    let r = app.post("/v1/conversations", &app.a.key, &json!({"agent_id": agent})).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    execute(app, &format!("UPDATE conversations SET created_at = {at} WHERE id = '{id}'")).await;
    id
}

/// A stored message, as the message path would have written it.
async fn message_at(app: &TestApp, conversation: &str, role: &str, outcome: Option<&str>, details: Value, at: i64) {
    let outcome = outcome.map_or("NULL".to_owned(), |o| format!("'{o}'"));
    let sql = format!(
        "INSERT INTO messages (id, org_id, conversation_id, role, text, outcome, details, created_at) \
         VALUES ('{}', '{}', '{conversation}', '{role}', 'text', {outcome}, '{details}', {at})",
        uuid::Uuid::now_v7(),
        app.a.org_id,
    );
    execute(app, &sql).await;
}

fn turn(ms: Option<f64>, cost: Option<f64>) -> Value {
    let mut d = json!({"citations": []});
    if let Some(ms) = ms {
        d["timings"] = json!({"retrieve": 1.0, "total": ms});
    }
    if let Some(cost) = cost {
        d["usage"] = json!({"prompt_tokens": 10, "completion_tokens": 5, "cost_usd": cost});
    }
    d
}

#[tokio::test]
async fn the_overview_counts_turns_per_day_and_outcome_in_the_database() {
    let app = spawn_app().await;
    let kb: Value = app.post("/v1/collections", &app.a.key, &json!({"name": "Kb"})).await.json().await.unwrap();
    let agent: Value = app
        .post("/v1/agents", &app.a.key, &json!({"name": "Helper", "collection_ids": [kb["id"]]}))
        .await
        .json()
        .await
        .unwrap();
    let agent = agent["id"].as_str().unwrap();
    let a = conversation_at(&app, agent, DAY0 + 10 * HOUR).await;
    let b = conversation_at(&app, agent, DAY0 + 12 * HOUR).await;
    let c = conversation_at(&app, agent, DAY0 + DAY + HOUR).await;
    // After the range (`to` is exclusive): counted nowhere.
    let late = conversation_at(&app, agent, DAY0 + 3 * DAY).await;

    // Day 0: five turns, four of them timed (100, 200, 300, 400 ms), one without usage.
    message_at(&app, &a, "customer", None, turn(Some(9999.0), Some(9.0)), DAY0 + 10 * HOUR).await;
    message_at(&app, &a, "assistant", Some("answered"), turn(Some(100.0), Some(0.001)), DAY0 + 10 * HOUR + 1).await;
    message_at(&app, &a, "assistant", Some("answered"), turn(Some(300.0), Some(0.002)), DAY0 + 11 * HOUR).await;
    message_at(&app, &b, "assistant", Some("abstained"), turn(Some(200.0), None), DAY0 + 12 * HOUR).await;
    message_at(&app, &b, "assistant", Some("refused"), turn(None, None), DAY0 + 13 * HOUR).await;
    message_at(&app, &b, "assistant", Some("escalated"), turn(Some(400.0), Some(0.0005)), DAY0 + 23 * HOUR).await;
    // Day 1: an answer and a draft (no outcome counted, its time and cost are).
    message_at(&app, &c, "assistant", Some("answered"), turn(Some(50.04), Some(0.1)), DAY0 + DAY + HOUR).await;
    message_at(&app, &c, "assistant", Some("draft"), turn(Some(1000.0), Some(0.2)), DAY0 + DAY + 2 * HOUR).await;
    message_at(&app, &c, "human", None, json!({}), DAY0 + DAY + 3 * HOUR).await;
    message_at(&app, &late, "assistant", Some("answered"), turn(Some(5.0), Some(1.0)), DAY0 + 3 * DAY).await;

    let r = app.get("/v1/stats/overview?from=2026-01-10&to=2026-01-13", &app.a.key).await;
    assert_eq!(r.status(), 200);
    let o: Value = r.json().await.unwrap();
    assert_eq!(
        o["totals"],
        json!({"conversations": 3, "answered": 3, "abstained": 1, "escalated": 1, "refused": 1, "cost_usd": 0.3035,
               "p50_ms": 200.0, "p95_ms": 1000.0, "csat_count": 0, "csat_average": null}),
        "{o}"
    );
    assert_eq!(
        o["series"],
        json!([
            {"t": "2026-01-10T00:00:00.000Z", "conversations": 2, "answered": 2, "abstained": 1, "escalated": 1,
             "refused": 1, "cost_usd": 0.0035, "p95_ms": 400.0},
            {"t": "2026-01-11T00:00:00.000Z", "conversations": 1, "answered": 1, "abstained": 0, "escalated": 0,
             "refused": 0, "cost_usd": 0.3, "p95_ms": 1000.0},
            {"t": "2026-01-12T00:00:00.000Z", "conversations": 0, "answered": 0, "abstained": 0, "escalated": 0,
             "refused": 0, "cost_usd": 0.0, "p95_ms": 0.0},
        ]),
        "{o}"
    );

    // By hour, the same turns land in their hours.
    let r =
        app.get("/v1/stats/overview?from=2026-01-10T10:00:00Z&to=2026-01-10T14:00:00Z&bucket=hour", &app.a.key).await;
    let o: Value = r.json().await.unwrap();
    let series = o["series"].as_array().unwrap();
    let hours: Vec<_> =
        series.iter().map(|p| (p["answered"].as_i64(), p["abstained"].as_i64(), p["p95_ms"].as_f64())).collect();
    assert_eq!(
        hours,
        [
            (Some(1), Some(0), Some(100.0)),
            (Some(1), Some(0), Some(300.0)),
            (Some(0), Some(1), Some(200.0)),
            (Some(0), Some(0), Some(0.0))
        ],
        "{o}"
    );
    assert_eq!((o["totals"]["p50_ms"].as_f64(), o["totals"]["refused"].as_i64()), (Some(200.0), Some(1)));

    // Another organization sees none of it.
    let b_key = app.new_tenant("Tenant B").await.key;
    let o: Value = app.get("/v1/stats/overview?from=2026-01-10&to=2026-01-13", &b_key).await.json().await.unwrap();
    assert_eq!((o["totals"]["conversations"].as_i64(), o["totals"]["answered"].as_i64()), (Some(0), Some(0)), "{o}");
}
