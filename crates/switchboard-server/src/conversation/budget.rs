//! The organization's monthly token budget (`monthly_token_budget` in its
//! billing settings) for its agents' language models.
//!
//! - **Admission:** a message to an agent with a language model is refused
//!   with 429 before anything is stored or sent when the month's budget is
//!   already spent (used plus reserved by turns in flight).
//! - **Reservation:** before a call, the turn reserves what it may cost: its
//!   prompt estimate with a margin (providers count framing our estimate does
//!   not see) plus `max_tokens`, the most the model may write. The store grants
//!   it only if it fits the budget with everything used and reserved, so turns
//!   running at once cannot overrun it together; a turn that does not fit
//!   abstains without calling the model.
//! - **Settlement:** after the call the reservation is released and the
//!   tokens used (as reported, else estimated) are counted.

use switchboard_llm::Message;
use switchboard_llm::tokens::estimate_prompt_tokens;
use switchboard_store::{Ownership, Tenant};

use super::agent::AgentConfig;
use super::pipeline::Usage;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::state::AppState;

/// The calendar month (UTC) usage is counted in: `YYYY-MM`.
pub fn period() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}

/// Seconds until the next month starts (when a spent budget is fresh again).
fn until_next_month() -> u64 {
    use chrono::{Datelike, TimeZone, Utc};
    let now = Utc::now();
    let (year, month) = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().map_or(3600, |next| (next - now).num_seconds().max(1) as u64)
}

/// Refuses (429) a message the AI would answer with a language model when the
/// organization's budget for this month is spent.
pub async fn admit(state: &AppState, t: &Tenant, conversation_id: &str) -> ApiResult<()> {
    let store = state.store.as_ref();
    let conversation = store.get_conversation(t, conversation_id).await?;
    if !matches!(conversation.status, Ownership::Ai | Ownership::Resolved) {
        return Ok(());
    }
    let version = store.get_agent_version_by_id(t, &conversation.agent_version_id).await?;
    if AgentConfig::from_stored(&version.config)?.llm.is_none() {
        return Ok(());
    }
    let Some(budget) = store.get_billing(t).await?.monthly_token_budget else { return Ok(()) };
    let usage = store.token_usage(t, &period()).await?;
    if usage.used + usage.reserved < budget {
        return Ok(());
    }
    Err(ApiError {
        retry_after_secs: Some(until_next_month()),
        ..ApiError::new(ErrorKind::RateLimited, "the organization's monthly token budget is used up")
    })
}

/// What a call with these messages may cost at most (see the module documentation).
pub fn estimate(messages: &[Message], max_tokens: u32) -> i64 {
    let prompt = i64::from(estimate_prompt_tokens(messages));
    prompt + prompt / 5 + 32 + i64::from(max_tokens)
}

/// A granted reservation, to settle after the call.
#[derive(Debug, Clone)]
pub struct Reservation {
    period: String,
    tokens: i64,
}

/// Reserves `tokens` against the budget; `Ok(None)` when there is no budget
/// (nothing to reserve), `Err` when the reservation does not fit.
pub async fn reserve(state: &AppState, t: &Tenant, tokens: i64) -> anyhow::Result<Result<Option<Reservation>, i64>> {
    let store = state.store.as_ref();
    let Some(budget) = store.get_billing(t).await?.monthly_token_budget else { return Ok(Ok(None)) };
    let period = period();
    if store.reserve_tokens(t, &period, tokens, budget).await? {
        Ok(Ok(Some(Reservation { period, tokens })))
    } else {
        Ok(Err(budget))
    }
}

/// Releases the reservation and counts what the call used. A failure here is
/// logged: the answer is not lost for a ledger write.
pub async fn settle(state: &AppState, t: &Tenant, reservation: Option<Reservation>, usage: &Usage) {
    let used = i64::from(usage.prompt_tokens) + i64::from(usage.completion_tokens);
    let (period, reserved) = match reservation {
        Some(r) => (r.period, r.tokens),
        None => (period(), 0),
    };
    if used == 0 && reserved == 0 {
        return;
    }
    if let Err(error) = state.store.settle_tokens(t, &period, reserved, used).await {
        tracing::error!(error = format!("{error:#}"), "could not count the tokens of a turn");
    }
}
