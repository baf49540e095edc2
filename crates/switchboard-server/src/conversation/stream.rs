//! The reply as the customer reads it while the model writes (`delta` events), under the
//! controls the stored reply passes (RELIABILITY L1, L6).
//!
//! **The unit released is the sentence.** The grounding check judges sentences (each one a
//! claim, supported or not by the chunks it cites), so a sentence is the smallest piece that can
//! be checked the way the stored reply is; a link, an image or a markdown construct sits inside
//! one sentence, so it is judged whole; and a model writes its first sentence in well under a
//! second, soon enough for the reply to be seen being written. The model's own pieces (a few
//! characters each) would show a claim, or half a link, before anything could judge it;
//! paragraphs or the whole reply would make the customer wait for all of it.
//!
//! Each time the model's text gains a settled sentence ([`grounding::settled`]), the text up to
//! it goes through the guard stage's own functions, in the stage's order:
//!
//! 1. [`claims::check`]: links the material never wrote reduced to text, sentences their chunks
//!    do not support dropped;
//! 2. nothing is shown until that text is an answer ([`claims::Checked::answers`]: it cites a
//!    source, or rests on a tool's answer), because a reply that never becomes one is replaced
//!    by an abstention;
//! 3. [`links::keep_to`]: links to hosts outside the agent's link hosts reduced to text;
//! 4. the agent's forbidden strings: nothing is shown while the text has one;
//! 5. [`pipeline::outgoing`]: personal data redacted, markdown made safe.
//!
//! The result is sent when it extends what the caller already has, so the caller holds, at every
//! moment, the guarded text of the reply's first sentences: exactly what the guard stage makes of
//! them, and the start of the stored reply (the guard stage sends the rest). Should a later
//! sentence change the guarded form of earlier ones (a reference link whose definition comes
//! later, say), nothing more is sent and the final event says the reply replaces the deltas;
//! the same holds when a check on the whole reply changes it (a leak, a broken stream). The leak
//! check on the raw text (canary, forbidden strings) runs before this on every model piece, in
//! `llm.rs`: a sentence is released only once all of it has passed, so of a leak at most what
//! lies before a sentence end inside it goes out: of the canary, fewer characters than the check
//! counts as a leak; of a forbidden string that spans a sentence end (rare: they are names and
//! codes), its first words.

use switchboard_guard::grounding;
use switchboard_guard::links::LinkHosts;
use switchboard_store::Tenant;
use tokio::sync::mpsc;

use super::agent::AgentConfig;
use super::claims::{self, Evidence};
use super::{links, pipeline};
use crate::state::AppState;

/// What the checks need from the turn.
pub(super) struct Shared<'a> {
    pub state: &'a AppState,
    pub t: &'a Tenant,
    pub config: &'a AgentConfig,
    pub agent_id: &'a str,
}

/// The caller's stream for one turn.
pub(super) struct Live {
    tx: mpsc::Sender<String>,
    /// What the caller has: the guarded text of the reply's first sentences.
    released: String,
    /// Where the current call's text was last checked up to.
    checked: usize,
    /// The agent's link hosts, looked up at the first link.
    hosts: Option<LinkHosts>,
}

impl Live {
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Live { tx, released: String::new(), checked: 0, hosts: None }
    }

    /// What the caller got.
    pub fn into_released(self) -> String {
        self.released
    }

    /// A new model call of the turn: its text starts from nothing.
    pub fn next_call(&mut self) {
        self.checked = 0;
    }

    /// Offers the model's text so far: sends what its settled sentences add, guarded.
    pub async fn offer(&mut self, shared: &Shared<'_>, text: &str, evidence: &Evidence) {
        let end = grounding::settled(text);
        if end <= self.checked {
            return;
        }
        self.checked = end;
        let Some(shown) = self.guarded(shared, &text[..end], evidence).await else { return };
        let Some(more) = shown.strip_prefix(self.released.as_str()).filter(|more| !more.is_empty()) else {
            return;
        };
        // A caller that went away stops nothing: the turn is still stored.
        let _ = self.tx.send(more.to_owned()).await;
        self.released = shown;
    }

    /// `text` as the guard stage would show it, or `None` while it must not be shown.
    async fn guarded(&mut self, shared: &Shared<'_>, text: &str, evidence: &Evidence) -> Option<String> {
        let checked = claims::check(text, evidence);
        if !checked.answers(evidence) {
            return None;
        }
        let linked = if links::links_anywhere(&checked.text) {
            if self.hosts.is_none() {
                let store = shared.state.store.as_ref();
                match links::link_hosts(store, shared.t, shared.config, shared.agent_id).await {
                    Ok(hosts) => self.hosts = Some(hosts),
                    // Nothing is shown until the guard stage has the hosts (it fails the turn alike).
                    Err(error) => tracing::warn!(error = %error, "the link hosts could not be read"),
                }
            }
            links::keep_to(self.hosts.as_ref()?, &checked.text).0
        } else {
            checked.text
        };
        if !pipeline::forbidden_in(&linked, &shared.config.guardrails.forbidden_strings).is_empty() {
            return None;
        }
        Some(pipeline::outgoing(&linked, &evidence.published).0)
    }
}
