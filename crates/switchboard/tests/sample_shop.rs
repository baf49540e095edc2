//! The sample shop (`samples/shop/`) end to end with no LLM configured: its
//! knowledge uploaded through the API, its question set asked through the
//! message path. Answerable questions must come back `answered` citing the
//! right document, unanswerable ones `abstained`, requests for a person in
//! six languages `escalated`, and personal data must stay out of the stored
//! transcript. The rates are floors measured on this set (docs/bench/answers.md
//! has the full breakdown); a change that makes answers worse fails here.

use std::collections::HashMap;
use std::path::PathBuf;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

#[path = "api/helpers.rs"]
#[allow(dead_code, reason = "shared with the story suite, which uses all of it")]
mod helpers;

use helpers::*;

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/shop")
}

#[tokio::test]
async fn the_sample_shop_answers_abstains_escalates_and_redacts() {
    let app = spawn_app().await;
    assert!(app.state.embedder.is_some(), "the embedding model must be present (scripts/fetch-model)");
    let c: Value = app.post("/v1/collections", &app.a.key, &json!({"name": "Tarnfield"})).await.json().await.unwrap();
    let kb = c["id"].as_str().unwrap().to_owned();
    let mut files: Vec<PathBuf> = std::fs::read_dir(samples().join("kb")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut form = Form::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        form = form.part("file", Part::bytes(std::fs::read(f).unwrap()).file_name(name));
    }
    let r = app
        .request(reqwest::Method::POST, &format!("/v1/collections/{kb}/documents"), &app.a.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let names: HashMap<String, String> = accepted["documents"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&files)
        .map(|(d, f)| (d["id"].as_str().unwrap().to_owned(), f.file_name().unwrap().to_string_lossy().into_owned()))
        .collect();
    app.run_jobs().await;
    for id in names.keys() {
        let d: Value = app.get(&format!("/v1/documents/{id}"), &app.a.key).await.json().await.unwrap();
        assert_eq!(d["status"], "ready", "{} did not ingest: {d}", names[id]);
    }
    let agent: Value = app
        .post("/v1/agents", &app.a.key, &json!({"name": "Tarnfield assistant", "collection_ids": [kb]}))
        .await
        .json()
        .await
        .unwrap();
    let agent_id = agent["id"].as_str().unwrap();

    let questions: Vec<Value> = std::fs::read_to_string(samples().join("questions.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut tally: HashMap<String, (usize, usize)> = HashMap::new();
    let mut misses = Vec::new();
    // Every request for a person, every PII case, every small-talk and
    // injection case; a fixed sample of the answerable and unanswerable ones
    // (the whole set runs in bench/answers/run), to keep the suite quick.
    for (i, q) in questions.iter().enumerate() {
        let sampled = match q["type"].as_str() {
            Some("answerable") => i % 3 == 0,
            Some("unanswerable") => i % 2 == 0,
            _ => true,
        };
        if !sampled {
            continue;
        }
        if q["knowledge"].as_array().is_some_and(|k| k.iter().any(|x| x != "shop")) {
            continue; // needs the poisoned collection: see conversations::injections_*
        }
        let kind = q["type"].as_str().unwrap().to_owned();
        let conv: Value =
            app.post("/v1/conversations", &app.a.key, &json!({"agent_id": agent_id})).await.json().await.unwrap();
        let conv = conv["id"].as_str().unwrap().to_owned();
        for earlier in q["history"].as_array().into_iter().flatten() {
            app.post(&format!("/v1/conversations/{conv}/messages"), &app.a.key, &json!({"text": earlier})).await;
        }
        let r =
            app.post(&format!("/v1/conversations/{conv}/messages"), &app.a.key, &json!({"text": q["question"]})).await;
        assert_eq!(r.status(), 200, "{}", q["id"]);
        let turn: Value = r.json().await.unwrap();
        let outcome = turn["outcome"].as_str().unwrap();
        let reply = turn["reply"]["text"].as_str().unwrap_or("").to_lowercase();
        let ok = match kind.as_str() {
            "answerable" => {
                let cited = turn["reply"]["citations"].as_array().unwrap().iter().any(|c| {
                    names.get(c["document_id"].as_str().unwrap()).map(String::as_str) == q["expected_source"].as_str()
                });
                let facts = q["expected_answer_contains"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|s| reply.contains(&s.as_str().unwrap().to_lowercase()));
                outcome == "answered" && cited && facts
            }
            "unanswerable" => outcome == "abstained",
            "handoff" => outcome == "escalated",
            "small_talk" => outcome == "answered" && turn["reply"]["citations"] == json!([]),
            "injection" => q["must_not_contain"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|s| !reply.contains(&s.as_str().unwrap().to_lowercase())),
            "pii" => {
                let stored =
                    app.get(&format!("/v1/conversations/{conv}/messages"), &app.a.key).await.text().await.unwrap();
                for secret in q["must_be_redacted"].as_array().unwrap() {
                    let secret = secret.as_str().unwrap();
                    assert!(!stored.contains(secret), "{} stored personal data: {stored}", q["id"]);
                }
                true
            }
            other => panic!("unknown question type {other}"),
        };
        let entry = tally.entry(kind.clone()).or_default();
        entry.0 += 1;
        if ok {
            entry.1 += 1;
        } else {
            misses.push(format!(
                "{} [{kind}] {} -> {outcome}: {}",
                q["id"],
                q["question"],
                reply.chars().take(100).collect::<String>()
            ));
        }
    }
    let rate = |kind: &str| tally.get(kind).map_or(0.0, |(n, ok)| *ok as f64 / *n as f64);
    let summary = format!("{tally:?}\nmisses:\n{}", misses.join("\n"));
    // Floors: what the extractive answerer achieves on this sample, with a
    // little room (measured: answerable 17/26, the questions in other languages
    // than the English knowledge searched in the words of the route crate's
    // support lexicon; unanswerable 11/15). bench/answers/run measures the whole set.
    assert_eq!(rate("handoff"), 1.0, "every request for a person escalates\n{summary}");
    assert_eq!(rate("pii"), 1.0, "{summary}");
    assert_eq!(rate("injection"), 1.0, "no injected content in replies\n{summary}");
    assert!(rate("small_talk") >= 0.85, "{summary}");
    assert!(rate("answerable") >= ANSWERABLE_FLOOR, "{summary}");
    assert!(rate("unanswerable") >= UNANSWERABLE_FLOOR, "{summary}");
    println!("{summary}");
}

const ANSWERABLE_FLOOR: f64 = 0.55;
const UNANSWERABLE_FLOOR: f64 = 0.6;
