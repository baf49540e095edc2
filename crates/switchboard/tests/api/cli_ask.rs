//! `switchboard ask`: one customer message through the message path from the
//! command line, on a data dir the binary ingested: the extractive answerer,
//! then an agent on the scriptable LLM server (usage and cost), as text and JSON.

use std::process::{Command, Output};

use serde_json::{Value, json};
use switchboard_llm::mock::{MockLlm, Script};
use switchboard_store::{AuditCtx, PageRequest, SqliteDurability, Tenant};

use crate::cli::{backend_env, init};
use crate::helpers::model_dir;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const RETURNS_MD: &str =
    "# Returns\n\n## EU\n\nCustomers in the EU may return any item within 30 days of delivery for a full refund.\n";

fn run(dir: &std::path::Path, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(BIN).args(args).args(["--data", dir.to_str().unwrap()]).envs(env.iter().cloned()).output().unwrap()
}

fn ok(dir: &std::path::Path, env: &[(String, String)], args: &[&str]) -> String {
    let out = run(dir, env, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

#[tokio::test]
async fn ask_prints_the_reply_outcome_citations_usage_and_stage_timings() {
    let data = tempfile::tempdir().unwrap();
    let mut env = backend_env(data.path()).await;
    env.push(("SWITCHBOARD_MODEL_DIR".into(), model_dir().display().to_string()));
    env.push(("SWITCHBOARD__LLM__ALLOW_PRIVATE_NETWORKS".into(), "true".into()));
    let owner = init(data.path(), &env, "Acme", "owner@example.com");
    let file = data.path().join("returns.md");
    std::fs::write(&file, RETURNS_MD).unwrap();
    ok(data.path(), &env, &["ingest", file.to_str().unwrap(), "--collection", "Help"]);

    // Agents are made through the store, as the API would (there is no agent command).
    let url = env
        .iter()
        .find(|(k, _)| k == "DATABASE_URL")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data.path().join("switchboard.db").display()));
    let store = switchboard_store::open(&url, 2, SqliteDurability::Full).await.unwrap();
    let t = Tenant::new(owner["org_id"].as_str().unwrap());
    let collections = store.list_collections(&t, &PageRequest { after: None, limit: 10 }).await.unwrap();
    let kb = collections.items[0].id.clone();
    let mock = MockLlm::start().await;
    let mut agents = Vec::new();
    for (name, llm) in
        [("Extractive", None), ("Model", Some(json!({"base_url": mock.base_url(), "model": "gpt-4o-mini"})))]
    {
        let mut config = json!({"name": name, "collection_ids": [kb]});
        if let Some(llm) = llm {
            config["llm"] = llm;
        }
        let (agent, _) =
            store.create_agent(&t, &AuditCtx::system("test"), name, &config, std::slice::from_ref(&kb)).await.unwrap();
        agents.push(agent.id);
    }
    drop(store);
    let question = "How many days do EU customers have to return an item?";

    let text = ok(data.path(), &env, &["ask", "--agent", &agents[0], question]);
    assert!(text.contains("30 days"), "{text}");
    assert!(text.contains("outcome: answered"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("[1] returns.md > Returns")), "{text}");
    assert!(text.contains("timings (ms): inbound") && text.contains("retrieve") && text.contains("generate"));
    let conversation = text.lines().find_map(|l| l.strip_prefix("conversation: ")).unwrap().to_owned();

    // A follow-up in the same conversation, as JSON.
    let turn: Value = serde_json::from_str(&ok(
        data.path(),
        &env,
        &["ask", "--agent", &agents[0], "--conversation", &conversation, "And in the US?", "--json"],
    ))
    .unwrap();
    assert_eq!(turn["conversation_id"], conversation.as_str());
    assert!(turn["outcome"].is_string() && turn["timings_ms"]["total"].as_f64().unwrap() > 0.0, "{turn}");

    mock.push(Script::reply("EU customers have 30 days to return an item [1]."));
    // The mock answers from this test's runtime: the command runs off it.
    let (dir, env2, agent) = (data.path().to_owned(), env.clone(), agents[1].clone());
    let text = tokio::task::spawn_blocking(move || ok(&dir, &env2, &["ask", "--agent", &agent, question, "--json"]));
    let turn: Value = serde_json::from_str(&text.await.unwrap()).unwrap();
    assert_eq!(turn["outcome"], "answered", "{turn}");
    assert_eq!(turn["reply"]["citations"][0]["title"], "returns.md");
    assert!(turn["usage"]["prompt_tokens"].as_u64().unwrap() > 0 && turn["usage"]["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(mock.request_count(), 1);

    let out = run(data.path(), &env, &["ask", "--agent", "0190aaaa-0000-7000-8000-000000000000", question]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no agent"), "{}", String::from_utf8_lossy(&out.stderr));
}
