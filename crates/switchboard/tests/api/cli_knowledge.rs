//! The knowledge tools of the binary: `ingest` (files and directories through
//! the upload path, jobs run in-process), `search` (per-signal scores, heading
//! paths), `eval retrieval` (a labelled dataset) and `eval latency`. Each runs
//! the real binary on a data dir that a real server then serves.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli::{backend_env, init, serve};
use crate::helpers::model_dir;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

const RETURNS_MD: &str = "# Returns\n\n## EU\n\n### Time limits\n\nCustomers in the EU may return any item within 30 days of delivery for a full refund.\n\n## US\n\nUS customers have 14 days to send items back.\n";
const RATES_TXT: &str = "Standard shipping costs 4.95 euro and takes three to five business days.\n\nExpress delivery costs 12 euro and arrives the next day.";
const FAQ_CSV: &str = "question,answer\nDo you ship to Norway?,Yes we ship to Norway with DHL.\nCan I pay with PayPal?,Yes PayPal and all major credit cards are accepted.\n";

struct Tool {
    data: tempfile::TempDir,
    env: Vec<(String, String)>,
    owner: Value,
}

impl Tool {
    async fn new() -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut env = backend_env(data.path()).await;
        env.push(("SWITCHBOARD_MODEL_DIR".into(), model_dir().display().to_string()));
        let owner = init(data.path(), &env, "Acme", "owner@example.com");
        Tool { data, env, owner }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .args(["--data", self.data.path().to_str().unwrap()])
            .envs(self.env.iter().cloned())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        stdout(&out)
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} did not print JSON ({e}): {text}"))
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small help centre on disk: nested Markdown, text, an FAQ, and a picture.
fn knowledge_dir(root: &Path) -> std::path::PathBuf {
    let kb = root.join("kb");
    std::fs::create_dir_all(kb.join("shipping")).unwrap();
    std::fs::write(kb.join("returns.md"), RETURNS_MD).unwrap();
    std::fs::write(kb.join("shipping").join("rates.txt"), RATES_TXT).unwrap();
    std::fs::write(kb.join("faq.csv"), FAQ_CSV).unwrap();
    std::fs::write(kb.join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    std::fs::write(kb.join(".draft.md"), "# Draft\n\nNot for customers.").unwrap();
    kb
}

#[tokio::test]
async fn ingest_runs_files_and_directories_through_the_upload_path_and_a_server_serves_them() {
    let tool = Tool::new().await;
    let files = tempfile::tempdir().unwrap();
    let kb = knowledge_dir(files.path());
    let notes = files.path().join("opening-hours.md");
    std::fs::write(&notes, "# Opening hours\n\nThe store opens at nine and closes at six.").unwrap();

    let text = tool.ok(&["ingest", kb.to_str().unwrap(), notes.to_str().unwrap(), "--collection", "Help"]);
    for line in ["kb/returns.md", "kb/shipping/rates.txt", "kb/faq.csv", "opening-hours.md"] {
        let row = text.lines().find(|l| l.ends_with(line)).unwrap_or_else(|| panic!("no line for {line}: {text}"));
        assert!(row.starts_with("ready"), "{row}");
        assert!(row.contains("chunks") && row.contains("embed") && row.contains("total"), "{row}");
    }
    let skipped = text.lines().find(|l| l.contains("kb/logo.png")).unwrap();
    assert!(skipped.starts_with("skipped"), "a picture in a directory is skipped: {skipped}");
    assert!(!text.contains("draft"), "hidden files are not read: {text}");
    assert!(text.contains("4 ready") && text.contains("1 skipped"), "{text}");

    // The same files again: nothing new, every document unchanged.
    let again = tool.json(&["ingest", kb.to_str().unwrap(), notes.to_str().unwrap(), "--collection", "Help", "--json"]);
    assert_eq!(again["totals"]["unchanged"], 4, "{again}");
    assert_eq!(again["totals"]["ready"], 0);
    let documents = again["documents"].as_array().unwrap();
    let faq = documents.iter().find(|d| d["name"] == "kb/faq.csv").unwrap();
    assert_eq!((faq["status"].as_str(), faq["chunks"].as_i64()), (Some("unchanged"), Some(2)), "one chunk per pair");

    // A named file that is not a document is refused, and the command says so.
    let out = tool.run(&["ingest", kb.join("logo.png").to_str().unwrap(), "--collection", "Help"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("refused"), "{}", stdout(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 document(s) failed or were refused"));

    // A server on the same database serves what the tool ingested.
    let server = serve(tool.data.path(), &tool.env, &[]);
    let client = reqwest::Client::new();
    let key = tool.owner["api_key"].as_str().unwrap();
    let get = |path: String| client.get(format!("{}{path}", server.url)).bearer_auth(key).send();
    let collections: Value = get("/v1/collections".into()).await.unwrap().json().await.unwrap();
    let help = collections["collections"].as_array().unwrap().iter().find(|c| c["name"] == "Help").unwrap().clone();
    let listed: Value =
        get(format!("/v1/collections/{}/documents", help["id"].as_str().unwrap())).await.unwrap().json().await.unwrap();
    let mut titles: Vec<(String, String)> = listed["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["title"].as_str().unwrap().to_owned(), d["status"].as_str().unwrap().to_owned()))
        .collect();
    titles.sort();
    let ready = |t: &str| (t.to_owned(), "ready".to_owned());
    assert_eq!(
        titles,
        [ready("kb/faq.csv"), ready("kb/returns.md"), ready("kb/shipping/rates.txt"), ready("opening-hours.md")]
    );
    let found: Value = client
        .post(format!("{}/v1/collections/{}/search", server.url, help["id"].as_str().unwrap()))
        .bearer_auth(key)
        .json(&serde_json::json!({"query": "how much is express delivery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["results"][0]["title"], "kb/shipping/rates.txt", "{found}");
}

#[tokio::test]
async fn search_prints_each_signals_rank_and_score_with_the_heading_path() {
    let tool = Tool::new().await;
    let files = tempfile::tempdir().unwrap();
    let kb = knowledge_dir(files.path());
    tool.ok(&["ingest", kb.to_str().unwrap(), "--collection", "Help"]);

    let text = tool.ok(&["search", "How many days do I have to return an item in the EU?", "--collection", "Help"]);
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("1. "), "{text}");
    assert!(first.contains("kb/returns.md > Returns > EU > Time limits"), "{text}");
    assert!(first.contains("bm25 #") && first.contains("dense #"), "both signals found it: {text}");
    assert!(text.contains("within 30 days of delivery"), "the snippet is shown: {text}");

    let hybrid = tool.json(&["search", "return within 30 days", "--collection", "Help", "--json", "--top-k", "2"]);
    assert_eq!(hybrid["mode"], "hybrid");
    assert_eq!(hybrid["results"].as_array().unwrap().len(), 2);
    let top = &hybrid["results"][0];
    assert_eq!(top["heading_path"], "Returns > EU > Time limits", "{hybrid}");
    assert_eq!(top["scores"]["bm25"]["rank"], 1);
    assert_eq!(top["scores"]["dense"]["rank"], 1);

    let lexical = tool.json(&["search", "PayPal", "--collection", "Help", "--json", "--mode", "bm25"]);
    assert_eq!(lexical["mode"], "bm25");
    assert!(lexical["results"].as_array().unwrap().iter().all(|r| r["scores"]["dense"].is_null()));
    assert!(lexical["results"][0]["text"].as_str().unwrap().contains("PayPal"), "{lexical}");

    let semantic = tool.json(&[
        "search",
        "which countries do you deliver to",
        "--collection",
        "Help",
        "--json",
        "--mode",
        "dense",
    ]);
    assert!(semantic["results"].as_array().unwrap().iter().all(|r| r["scores"]["bm25"].is_null()));

    // Ingested files carry no metadata: a metadata filter leaves nothing; MMR keeps top_k.
    let filtered =
        tool.json(&["search", "return within 30 days", "--collection", "Help", "--json", "--filter", "lang=de"]);
    assert!(filtered["results"].as_array().unwrap().is_empty(), "{filtered}");
    let diverse = tool.json(&[
        "search",
        "return within 30 days",
        "--collection",
        "Help",
        "--json",
        "--top-k",
        "3",
        "--mmr",
        "0.5",
    ]);
    assert_eq!(diverse["results"].as_array().unwrap().len(), 3, "{diverse}");
    for bad in [&["--filter", "lang"][..], &["--filter", "Lang=de"], &["--mmr", "2"]] {
        let args = [&["search", "anything", "--collection", "Help"][..], bad].concat();
        assert!(!tool.run(&args).status.success(), "{bad:?} is refused");
    }

    let missing = tool.run(&["search", "anything", "--collection", "Nope"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no collection named `Nope`"));
    let bad = tool.run(&["search", "anything", "--collection", "Help", "--top-k", "500"]);
    assert!(!bad.status.success(), "top-k is checked");
    let other_org =
        tool.run(&["search", "anything", "--collection", "Help", "--org", "00000000-0000-7000-8000-000000000000"]);
    assert!(String::from_utf8_lossy(&other_org.stderr).contains("no organization"));
}

/// Six documents on separate topics; queries that share words with their
/// document (dev) or only its meaning (test).
const DATASET: &str = r#"{"type":"doc","id":"returns","title":"Returns","text":"Items may be returned within 30 days of delivery for a full refund."}
{"type":"doc","id":"shipping","title":"Shipping","text":"Parcels leave our warehouse within two working days and travel by courier."}
{"type":"doc","id":"password","title":"Account","text":"To reset your password, open the login page and choose 'Forgot password'."}
{"type":"doc","id":"warranty","title":"Warranty","text":"Every tent carries a two-year warranty against manufacturing defects."}
{"type":"doc","id":"payment","title":"Payment","text":"We accept Visa, Mastercard and PayPal; invoices are available for companies."}
{"type":"doc","id":"giftcards","title":"Gift cards","text":"Gift cards never expire and can be used online and in our shops."}
// lexical queries, tuned on
{"type":"query","id":"q1","text":"reset password","relevant":{"password":1},"split":"dev"}
{"type":"query","id":"q2","text":"gift cards expire","relevant":{"giftcards":1},"split":"dev"}
// paraphrases, reported on
{"type":"query","id":"q3","text":"I forgot my login credentials","relevant":{"password":1}}
{"type":"query","id":"q4","text":"can I send back something I bought and get my money?","relevant":{"returns":2,"payment":1}}
{"type":"query","id":"q5","text":"which credit cards do you take","relevant":{"payment":1},"exclude":["q5"]}
"#;

#[tokio::test]
async fn eval_retrieval_reports_each_mode_per_split_and_eval_latency_times_them() {
    let tool = Tool::new().await;
    let files = tempfile::tempdir().unwrap();
    let dataset = files.path().join("help.jsonl");
    std::fs::write(&dataset, DATASET).unwrap();

    let report = tool.json(&["eval", "retrieval", "--dataset", dataset.to_str().unwrap(), "--json"]);
    assert_eq!(report["documents"], 6);
    let rows = report["results"].as_array().unwrap();
    let row = |split: &str, mode: &str| {
        rows.iter().find(|r| r["split"] == split && r["mode"] == mode).unwrap_or_else(|| panic!("{split}/{mode}"))
    };
    for split in ["dev", "test"] {
        for mode in ["bm25", "dense", "hybrid"] {
            let r = row(split, mode);
            for metric in ["recall_1", "recall_5", "recall_10", "mrr_10", "ndcg_10"] {
                let v = r[metric].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&v), "{split}/{mode} {metric} = {v}");
            }
        }
    }
    assert_eq!(row("dev", "bm25")["queries"], 2);
    assert_eq!(row("test", "hybrid")["queries"], 3);
    // Word matches rank first for full text; meaning matches rank first for vectors and the fusion.
    assert_eq!(row("dev", "bm25")["recall_1"], 1.0, "{report}");
    // Paraphrases are found by meaning: the forgotten login and the money back rank their document first.
    let dense = |id: &str| {
        report["queries"].as_array().unwrap().iter().find(|q| q["query"] == id && q["mode"] == "dense").unwrap().clone()
    };
    assert_eq!(dense("q3")["ranked"][0], "password", "{report}");
    assert_eq!(row("test", "hybrid")["recall_10"], 1.0, "{report}");
    // Per-query rankings are dataset ids; q4 has two relevant documents of different grades.
    let q4 = report["queries"].as_array().unwrap().iter().find(|q| q["query"] == "q4" && q["mode"] == "dense").unwrap();
    assert_eq!(q4["ranked"][0], "returns", "{q4}");

    // The text report; the corpus is already there and is not ingested again.
    let text = tool.ok(&["eval", "retrieval", "--dataset", dataset.to_str().unwrap(), "--split", "test"]);
    assert!(text.contains("6 documents") && text.contains("3 queries"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("test") && l.contains("hybrid")), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("dev ")), "only the split asked for: {text}");

    let latency = tool.json(&[
        "eval",
        "latency",
        "--queries",
        dataset.to_str().unwrap(),
        "--collection",
        "eval help.jsonl",
        "--warmup",
        "1",
        "--json",
    ]);
    let modes: Vec<&str> = latency["results"].as_array().unwrap().iter().map(|r| r["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["bm25", "dense", "hybrid"]);
    assert_eq!(latency["chunks"], 6);
    for r in latency["results"].as_array().unwrap() {
        assert_eq!(r["queries"], 4);
        let (p50, p99) = (r["p50_ms"].as_f64().unwrap(), r["p99_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p99 >= p50, "{r}");
    }

    let broken = files.path().join("broken.jsonl");
    std::fs::write(&broken, "{\"type\":\"doc\",\"id\":\"1\",\"text\":\"x\"}\n{\"type\":\"qrel\"}\n").unwrap();
    let out = tool.run(&["eval", "retrieval", "--dataset", broken.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.jsonl:2"), "the line is named");
}
