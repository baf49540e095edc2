//! The repository's sample question set (`samples/shop/questions.jsonl`) through the route
//! stage: handoff requests and small talk are recognised, and nothing else is taken for either.

use switchboard_route::{SmallTalk, small_talk, wants_human};

fn questions() -> Vec<(String, String, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/shop/questions.jsonl");
    std::fs::read_to_string(path)
        .expect("samples/shop/questions.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (field("id"), field("type"), field("lang"), field("question"))
        })
        .collect()
}

#[test]
fn handoff_and_small_talk_are_recognised_exactly_where_the_set_says() {
    let questions = questions();
    assert!(questions.len() > 100);
    let mut wrong = Vec::new();
    for (id, kind, lang, text) in &questions {
        let handoff = wants_human(text);
        if handoff.is_some() != (kind == "handoff") {
            wrong.push(format!("{id} [{kind}] wants_human = {handoff:?}: {text}"));
        }
        let talk: Option<SmallTalk> = small_talk(text, lang);
        if talk.is_some() != (kind == "small_talk") {
            wrong.push(format!("{id} [{kind}] small_talk = {talk:?}: {text}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn questions_get_the_language_they_are_written_in() {
    // A question taken for another language is answered with that language's
    // lead-in and searched in the wrong words (see the support lexicon).
    let wrong: Vec<String> = questions()
        .iter()
        .filter(|(_, kind, _, _)| kind == "answerable" || kind == "unanswerable")
        .filter_map(|(id, _, lang, text)| {
            let got = switchboard_route::detect_language(text, "en");
            (got != *lang).then(|| format!("{id} [{lang}] detected {got}: {text}"))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
