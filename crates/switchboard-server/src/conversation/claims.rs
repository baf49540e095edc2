//! The guard stage's checks on what a model wrote (RELIABILITY L1, L6): links only to what the
//! material wrote, and each sentence checked against the chunks it cites, dropped when they do
//! not support it. One function for the reply as stored (`pipeline::llm_draft`) and for the
//! reply as it streams (`stream.rs`), so the customer never reads a sentence, or a link, that the
//! stored reply does not have.

use switchboard_guard::grounding::{self, GroundingOptions};
use switchboard_guard::markdown::restrict_links;

use super::extractive::Passage;
use super::llm;
use super::tools::ToolRecord;

/// What a model's answer may rest on: the numbered sources (`[1]` is the first), then what the
/// organization's own tools answered this turn (an order's status is in no help article).
pub(super) struct Evidence {
    chunks: Vec<String>,
    /// The chunks and the sources' URLs: where a link in the answer must have been written.
    material: Vec<String>,
    numbered: usize,
    /// The organization's tools that answered.
    pub tools: Vec<String>,
    /// The numbered sources' texts: what the knowledge publishes (not redacted from a reply).
    pub published: Vec<String>,
}

impl Evidence {
    pub fn new(numbered: &[Passage], tool_calls: &[ToolRecord]) -> Self {
        let from_tools: Vec<&ToolRecord> = tool_calls.iter().filter(|c| c.ran && !c.builtin).collect();
        let chunks: Vec<String> =
            numbered.iter().map(|p| p.text.clone()).chain(from_tools.iter().map(|c| c.result.clone())).collect();
        let material = chunks.iter().cloned().chain(numbered.iter().filter_map(|p| p.url.clone())).collect();
        let tools = from_tools.iter().map(|c| c.name.clone()).collect();
        let published = numbered.iter().map(|p| p.text.clone()).collect();
        Evidence { chunks, material, numbered: numbered.len(), tools, published }
    }
}

/// A model's text after the checks.
pub(super) struct Checked {
    pub text: String,
    /// Sentences checked.
    pub claims: usize,
    /// The sentences dropped, as written.
    pub dropped: Vec<String>,
    /// Whether links the material never wrote were reduced to text.
    pub links_removed: bool,
    /// The numbered sources the kept text cites, in order of first use.
    pub cited: Vec<usize>,
}

impl Checked {
    /// The share of sentences kept.
    pub fn confidence(&self) -> f64 {
        (self.claims - self.dropped.len()) as f64 / self.claims.max(1) as f64
    }

    /// Whether the text is an answer: it cites a numbered source, or rests on a tool's answer
    /// (no article to cite, but not a guess either). Otherwise the turn abstains.
    pub fn answers(&self, evidence: &Evidence) -> bool {
        !self.cited.is_empty()
            || (!evidence.tools.is_empty() && !self.text.trim().is_empty() && self.confidence() > 0.0)
    }
}

/// `text` with the links the material never wrote reduced to text and the sentences the evidence
/// does not support dropped (the rest as written).
pub(super) fn check(text: &str, evidence: &Evidence) -> Checked {
    // Links only to what the material says: a planted instruction can make the model write a URL
    // that carries the conversation elsewhere (RELIABILITY L1, L6). Before the grounding check, so
    // that URLs do not split its sentences.
    let written = restrict_links(text, |url| evidence.material.iter().any(|m| m.contains(url)));
    let links_removed = written != text;
    let chunks: Vec<&str> = evidence.chunks.iter().map(String::as_str).collect();
    let report = grounding::check(&written, &chunks, &GroundingOptions::RECOMMENDED);
    let dropped = report.unsupported().map(|c| written[c.span.clone()].trim().to_owned()).collect();
    let text = report.supported_text(&written);
    let cited = llm::cited_numbers(&text).into_iter().filter(|n| (1..=evidence.numbered).contains(n)).collect();
    Checked { text, claims: report.claims.len(), dropped, links_removed, cited }
}
