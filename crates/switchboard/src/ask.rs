//! `switchboard ask --agent ID "question"`: one customer message through the
//! message path on a data dir, in-process and exactly as the API runs it
//! (`pipeline::run_turn`): the reply, its outcome, citations, confidence,
//! tokens and cost, and where the time went, stage by stage.

use anyhow::Context;
use clap::Args;
use switchboard_server::conversation::pipeline::run_turn;
use switchboard_server::routes::conversations::{TurnDto, turn_dto};
use switchboard_store::StoreError;

use crate::knowledge::{OrgArgs, open};

#[derive(Args)]
pub struct AskArgs {
    /// What the customer writes.
    question: String,
    #[command(flatten)]
    org: OrgArgs,
    /// The agent's id.
    #[arg(long)]
    agent: String,
    /// Continue this conversation (made by an earlier `ask`) instead of starting one.
    #[arg(long)]
    conversation: Option<String>,
    /// Print the API's turn object (`POST /v1/conversations/{id}/messages`) with `conversation_id`.
    #[arg(long)]
    json: bool,
}

pub async fn ask(args: AskArgs) -> anyhow::Result<()> {
    let (state, t) = open(&args.org).await?;
    let store = state.store.as_ref();
    let agent = match store.get_agent(&t, &args.agent).await {
        Err(StoreError::NotFound) => anyhow::bail!("no agent `{}` in this organization", args.agent),
        other => other?,
    };
    let conversation = match args.conversation {
        Some(id) => id,
        None => store.create_conversation(&t, &agent.id, None).await?.id,
    };
    let turn = run_turn(&state, &t, &conversation, &args.question, None)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))
        .context("the message path failed")?;
    let turn = turn_dto(turn);
    if args.json {
        let mut out = serde_json::to_value(&turn)?;
        out["conversation_id"] = conversation.into();
        println!("{out}");
    } else {
        print!("{}", human(&turn, &conversation));
    }
    Ok(())
}

/// The turn for a person at a terminal.
fn human(turn: &TurnDto, conversation: &str) -> String {
    let mut out = String::new();
    match &turn.reply {
        Some(reply) => out.push_str(&format!("{}\n\n", reply.text)),
        None => out.push_str("(no reply: a person owns this conversation)\n\n"),
    }
    out.push_str(&format!(
        "outcome: {}   confidence: {:.3}   status: {}\n",
        turn.outcome, turn.confidence, turn.status
    ));
    for c in turn.reply.iter().flat_map(|r| &r.citations) {
        let place = if c.heading_path.is_empty() { String::new() } else { format!(" > {}", c.heading_path) };
        let url = c.url.as_deref().map(|u| format!("  {u}")).unwrap_or_default();
        out.push_str(&format!("[{}] {}{place}{url}\n", c.number, c.title));
    }
    let u = &turn.usage;
    out.push_str(&format!(
        "usage: {} prompt + {} completion tokens, ${:.6}\n",
        u.prompt_tokens, u.completion_tokens, u.cost_usd
    ));
    let t = &turn.timings_ms;
    out.push_str(&format!(
        "timings (ms): inbound {}  route {}  retrieve {}  generate {}  guard {}  persist {}  total {}\n",
        t.inbound, t.route, t.retrieve, t.generate, t.guard, t.persist, t.total
    ));
    out.push_str(&format!("conversation: {conversation}\n"));
    out
}
