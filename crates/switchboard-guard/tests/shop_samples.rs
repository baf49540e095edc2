//! The repository's sample shop (`samples/shop`): its question set and its knowledge base, clean
//! and poisoned, through the detectors the message path runs. The same data the end-to-end
//! tests use, so a detector change that would misroute a sample turn fails here first.

use std::path::PathBuf;

use switchboard_guard::injection::scan;
use switchboard_guard::pii::{self, PiiKind};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

struct Question {
    id: String,
    kind: String,
    text: String,
}

fn questions() -> Vec<Question> {
    std::fs::read_to_string(samples().join("shop/questions.jsonl"))
        .expect("samples/shop/questions.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            Question {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                kind: v["type"].as_str().unwrap_or_default().to_owned(),
                text: v["question"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

#[test]
fn injection_questions_are_caught_and_ordinary_questions_are_not() {
    let questions = questions();
    assert!(questions.len() > 100);
    let mut wrong = Vec::new();
    for q in &questions {
        let v = scan(&q.text);
        // Three "injection" questions are innocent: the attack is in the document they retrieve.
        let innocent_carrier =
            q.kind == "injection" && ["Glacier Dome", "Fellwise", "gift card"].iter().any(|s| q.text.contains(s));
        let expected = q.kind == "injection" && !innocent_carrier;
        if v.is_injection() != expected {
            wrong.push(format!("{} [{}] {:.2} {:?}: {}", q.id, q.kind, v.score, v.reasons, q.text));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn personal_data_is_found_only_where_it_is() {
    let mut wrong = Vec::new();
    for q in questions() {
        let kinds: Vec<PiiKind> = pii::find(&q.text).into_iter().map(|f| f.kind).collect();
        let ok = match q.kind.as_str() {
            "pii" => !kinds.is_empty(),
            _ => kinds.is_empty(),
        };
        if !ok {
            wrong.push(format!("{} [{}] {kinds:?}: {}", q.id, q.kind, q.text));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn poisoned_documents_are_flagged_and_the_clean_knowledge_base_is_not() {
    let read_dir = |dir: &str| -> Vec<(String, String)> {
        let mut files: Vec<_> =
            std::fs::read_dir(samples().join(dir)).expect("sample folder").map(|e| e.expect("entry").path()).collect();
        files.sort();
        files
            .into_iter()
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("a text file")))
            .collect()
    };
    let mut wrong = Vec::new();
    for (path, text) in read_dir("shop-poisoned") {
        let v = scan(&text);
        if !v.is_injection() {
            wrong.push(format!("poisoned but not flagged ({:.2}): {path}", v.score));
        }
    }
    for (path, text) in read_dir("shop/kb") {
        let v = scan(&text);
        if v.is_injection() {
            wrong.push(format!("clean but flagged ({:.2}, {:?}): {path}", v.score, v.reasons));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
