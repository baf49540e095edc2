//! Token accounting: an estimator for when a provider reports no usage, the
//! cost of a turn from a per-model price table, and the budget that fits a
//! prompt into a model's context window.
//!
//! # The estimator
//!
//! Providers report usage (we ask for it on streams with
//! `stream_options.include_usage`), so the estimate only fills gaps: servers
//! that send none, streams cut before their usage chunk, and the prompt
//! budget, which must be known before the request. It is a few lines rather
//! than a BPE tokenizer (`tiktoken-rs` embeds several megabytes of rank tables
//! and each provider's models tokenize differently anyway). The rule, per
//! piece of text:
//!
//! - a run of ASCII letters and digits costs one token per 4 characters, rounded up;
//! - each ASCII punctuation or symbol character costs one token;
//! - whitespace is free (BPE vocabularies fold a space into the next word);
//! - each non-ASCII character costs one token (right for CJK, generous for
//!   accented Latin letters).
//!
//! A message adds 4 tokens of framing and a request 3 more for the reply's
//! start, as in OpenAI's published counting recipe. On English the rule leans
//! high, which is the safe side for a budget.

use crate::types::{Message, Usage};

/// Framing tokens per message (role and separators).
const PER_MESSAGE: u32 = 4;
/// Tokens that prime the reply.
const PER_REQUEST: u32 = 3;

/// Estimated tokens of `text`; see the module documentation for the rule.
pub fn estimate_tokens(text: &str) -> u32 {
    let mut tokens: u32 = 0;
    let mut run: u32 = 0;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            run += 1;
            continue;
        }
        tokens += run.div_ceil(4);
        run = 0;
        if c.is_ascii_whitespace() {
            continue;
        }
        // ASCII punctuation and everything outside ASCII.
        tokens += 1;
    }
    tokens + run.div_ceil(4)
}

/// Estimated tokens of one message, framing included.
pub fn estimate_message_tokens(message: &Message) -> u32 {
    PER_MESSAGE + message.text_parts().into_iter().map(estimate_tokens).sum::<u32>()
}

/// Estimated prompt tokens of a request made of `messages` (tool definitions not included).
pub fn estimate_prompt_tokens(messages: &[Message]) -> u32 {
    PER_REQUEST + messages.iter().map(estimate_message_tokens).sum::<u32>()
}

/// A model's list price in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl ModelPrice {
    pub fn cost_usd(&self, usage: &Usage) -> f64 {
        (f64::from(usage.input_tokens) * self.input_per_mtok + f64::from(usage.output_tokens) * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// Model name -> price, looked up by exact name, then by the longest entry
/// that the name extends with `-` (so `gpt-4o-2024-08-06` is priced as
/// `gpt-4o` and `gpt-4o-mini-2024-07-18` as `gpt-4o-mini`). A routing prefix
/// such as OpenRouter's `openai/` is ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    entries: Vec<(String, ModelPrice)>,
}

/// OpenAI's standard-tier list prices (USD per 1M input, output tokens) and
/// context windows, as published in 2025. Agents override or extend them with
/// [`PriceTable::with_price`]; prices of other providers' models are theirs to set.
const OPENAI_MODELS: &[(&str, f64, f64, u32)] = &[
    ("gpt-5", 1.25, 10.00, 400_000),
    ("gpt-5-mini", 0.25, 2.00, 400_000),
    ("gpt-5-nano", 0.05, 0.40, 400_000),
    ("gpt-4.1", 2.00, 8.00, 1_047_576),
    ("gpt-4.1-mini", 0.40, 1.60, 1_047_576),
    ("gpt-4.1-nano", 0.10, 0.40, 1_047_576),
    ("gpt-4o", 2.50, 10.00, 128_000),
    ("gpt-4o-mini", 0.15, 0.60, 128_000),
    ("o1", 15.00, 60.00, 200_000),
    ("o3", 2.00, 8.00, 200_000),
    ("o3-mini", 1.10, 4.40, 200_000),
    ("o4-mini", 1.10, 4.40, 200_000),
    ("gpt-4-turbo", 10.00, 30.00, 128_000),
    ("gpt-4", 30.00, 60.00, 8_192),
    ("gpt-3.5-turbo", 0.50, 1.50, 16_385),
];

/// Finds the entry for `model`: exact, else the longest `name` with `model`
/// starting `name-`.
fn lookup<'a, T>(entries: impl Iterator<Item = (&'a str, T)>, model: &str) -> Option<T> {
    let model = model.rsplit('/').next().unwrap_or(model);
    let mut best: Option<(usize, T)> = None;
    for (name, value) in entries {
        let matches = model == name || (model.starts_with(name) && model.as_bytes().get(name.len()) == Some(&b'-'));
        let longer = best.as_ref().is_none_or(|(len, _)| name.len() > *len);
        if matches && longer {
            best = Some((name.len(), value));
        }
    }
    best.map(|(_, value)| value)
}

impl PriceTable {
    /// OpenAI's list prices for its common models.
    pub fn openai_list_prices() -> Self {
        let entries = OPENAI_MODELS
            .iter()
            .map(|&(name, input, output, _)| {
                (name.to_owned(), ModelPrice { input_per_mtok: input, output_per_mtok: output })
            })
            .collect();
        PriceTable { entries }
    }

    /// An empty table: no model is priced.
    pub fn empty() -> Self {
        PriceTable { entries: Vec::new() }
    }

    /// Sets (or replaces) the price of `model` and the models that extend its name.
    pub fn with_price(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        let model = model.into();
        self.entries.retain(|(name, _)| *name != model);
        self.entries.push((model, price));
        self
    }

    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        lookup(self.entries.iter().map(|(name, price)| (name.as_str(), *price)), model)
    }

    /// The cost of `usage` on `model`, or `None` for a model the table does not price.
    pub fn cost_usd(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.price(model).map(|price| price.cost_usd(usage))
    }
}

/// The context window (prompt and reply tokens together) of a common OpenAI
/// model, by the same name matching as [`PriceTable`].
pub fn context_window(model: &str) -> Option<u32> {
    lookup(OPENAI_MODELS.iter().map(|&(name, _, _, window)| (name, window)), model)
}

/// How many prompt tokens a turn may use: the model's context window less
/// what is kept for the reply and for the tool definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBudget {
    pub prompt_limit: u32,
}

/// What fits: `history[history_start..]` and the first `context_kept` context
/// pieces (they are ranked best first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    pub history_start: usize,
    pub context_kept: usize,
    /// The estimated prompt tokens of what was kept.
    pub tokens: u32,
}

/// Even the system prompt and the current exchange alone do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the prompt needs at least {needed} tokens but only {limit} are available")]
pub struct BudgetExceeded {
    pub needed: u32,
    pub limit: u32,
}

/// Framing tokens around each piece of retrieved context (its separator and number).
const PER_CONTEXT_PIECE: u32 = 4;

impl TokenBudget {
    pub fn new(context_window: u32, reserved_for_reply: u32, tool_definitions: u32) -> Self {
        TokenBudget { prompt_limit: context_window.saturating_sub(reserved_for_reply).saturating_sub(tool_definitions) }
    }

    /// Fits a system prompt, the history (oldest first, ending with the
    /// current exchange) and retrieved context (best first) into the budget:
    /// the oldest history goes first, then the lowest-ranked context.
    ///
    /// The current exchange (from the last user message on, including tool
    /// calls and results that answer it) is never dropped, and an assistant
    /// turn that called tools leaves together with its tool results, so what
    /// remains is always a history a provider accepts.
    pub fn fit(&self, system: &str, history: &[Message], context: &[String]) -> Result<Fitted, BudgetExceeded> {
        let system_tokens = PER_REQUEST + PER_MESSAGE + estimate_tokens(system);
        let history_tokens: Vec<u32> = history.iter().map(estimate_message_tokens).collect();
        let context_tokens: Vec<u32> = context.iter().map(|c| PER_CONTEXT_PIECE + estimate_tokens(c)).collect();

        let protected_from = history
            .iter()
            .rposition(|m| matches!(m, Message::User { .. }))
            .or_else(|| history.iter().rposition(|m| !matches!(m, Message::Tool { .. })))
            .unwrap_or(0);

        let mut start = 0;
        let mut kept = context.len();
        let total = |start: usize, kept: usize| {
            system_tokens + history_tokens[start..].iter().sum::<u32>() + context_tokens[..kept].iter().sum::<u32>()
        };
        // Tool results whose call is gone cannot lead the history.
        while start < protected_from && matches!(history[start], Message::Tool { .. }) {
            start += 1;
        }
        while total(start, kept) > self.prompt_limit && start < protected_from {
            start += 1;
            while start < protected_from && matches!(history[start], Message::Tool { .. }) {
                start += 1;
            }
        }
        while total(start, kept) > self.prompt_limit && kept > 0 {
            kept -= 1;
        }
        let tokens = total(start, kept);
        if tokens > self.prompt_limit {
            return Err(BudgetExceeded { needed: tokens, limit: self.prompt_limit });
        }
        Ok(Fitted { history_start: start, context_kept: kept, tokens })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ToolCall;

    #[test]
    fn estimator_counts_words_punctuation_and_non_ascii() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("   "), 0);
        assert_eq!(estimate_tokens("Hello"), 2);
        assert_eq!(estimate_tokens("Hi, you!"), 4);
        assert_eq!(estimate_tokens("注文"), 2);
        // Within reach of a BPE count for plain English (this sentence is 10 tokens in cl100k).
        let n = estimate_tokens("Where is my order? It was placed last Tuesday.");
        assert!((10..=16).contains(&n), "{n}");
    }

    #[test]
    fn prices_match_by_longest_dashed_prefix_and_ignore_routing_prefix() {
        let table = PriceTable::openai_list_prices();
        assert_eq!(table.price("gpt-4o-2024-08-06").unwrap().input_per_mtok, 2.50);
        assert_eq!(table.price("gpt-4o-mini-2024-07-18").unwrap().input_per_mtok, 0.15);
        assert_eq!(table.price("openai/gpt-4o-mini").unwrap().output_per_mtok, 0.60);
        assert_eq!(table.price("gpt-4-turbo-2024-04-09").unwrap().input_per_mtok, 10.0);
        assert!(table.price("gpt-4oo").is_none());
        assert!(table.price("llama3.1:8b").is_none());
        let usage = Usage { input_tokens: 1_000_000, output_tokens: 500_000, estimated: false };
        assert_eq!(table.cost_usd("gpt-4o", &usage), Some(2.50 + 5.00));
        let custom = table.with_price("gpt-4o", ModelPrice { input_per_mtok: 1.0, output_per_mtok: 2.0 });
        assert_eq!(custom.cost_usd("gpt-4o-2024-11-20", &usage), Some(2.0));
        assert_eq!(context_window("gpt-4o-mini-2024-07-18"), Some(128_000));
    }

    fn words(n: usize) -> String {
        vec!["word"; n].join(" ")
    }

    #[test]
    fn budget_drops_oldest_history_first_then_lowest_ranked_context() {
        let history = vec![
            Message::user(words(100)),
            Message::assistant(words(100)),
            Message::user(words(100)),
            Message::assistant(words(100)),
            Message::user("current question"),
        ];
        let context = vec![words(50), words(50), words(50)];
        let all = TokenBudget { prompt_limit: 10_000 }.fit("system", &history, &context).unwrap();
        assert_eq!((all.history_start, all.context_kept), (0, 3));

        // Room for two old messages: the two oldest go, context stays whole.
        let limit = all.tokens - 2 * 104;
        let fitted = TokenBudget { prompt_limit: limit }.fit("system", &history, &context).unwrap();
        assert_eq!((fitted.history_start, fitted.context_kept), (2, 3));
        assert!(fitted.tokens <= limit);

        // Less room: all old history goes, then the last context piece.
        let limit = all.tokens - 4 * 104 - 54;
        let fitted = TokenBudget { prompt_limit: limit }.fit("system", &history, &context).unwrap();
        assert_eq!((fitted.history_start, fitted.context_kept), (4, 2));

        let err = TokenBudget { prompt_limit: 5 }.fit("system", &history, &context).unwrap_err();
        assert_eq!(err.limit, 5);
    }

    #[test]
    fn budget_keeps_tool_calls_with_their_results_and_the_current_exchange() {
        let call = ToolCall { id: "c1".into(), name: "lookup".into(), arguments: words(40) };
        let history = vec![
            Message::user(words(10)),
            Message::assistant_tool_calls(None, vec![call.clone()]),
            Message::tool("c1", words(40)),
            Message::assistant(words(10)),
            Message::user("now"),
            Message::assistant_tool_calls(None, vec![call]),
            Message::tool("c1", words(40)),
        ];
        let all = TokenBudget { prompt_limit: 10_000 }.fit("s", &history, &[]).unwrap();
        // Room to drop the first user message and the tool call only: its result goes with it.
        let fitted = TokenBudget { prompt_limit: all.tokens - 20 }.fit("s", &history, &[]).unwrap();
        assert_eq!(fitted.history_start, 3);
        // Nothing fits but the current exchange, which is kept whole.
        let current: u32 =
            PER_REQUEST + PER_MESSAGE + 1 + history[4..].iter().map(estimate_message_tokens).sum::<u32>();
        let fitted = TokenBudget { prompt_limit: current }.fit("s", &history, &[]).unwrap();
        assert_eq!(fitted.history_start, 4);
        assert!(TokenBudget { prompt_limit: current - 1 }.fit("s", &history, &[]).is_err());
    }
}
