//! Switchboard's guard stage: checks that run on customer input, on retrieved knowledge and on
//! the assistant's replies, between `act` and `reply` in the message path.
//!
//! | module | what it answers |
//! |---|---|
//! | [`pii`] | where are emails, phones, cards, IBANs, national ids? [`pii::redact`] masks them |
//! | [`injection`] | does this text carry instructions aimed at the assistant? (score + reasons) |
//! | [`canary`] | did the reply leak the system prompt's canary token? |
//! | [`forbidden`] | does the reply contain one of the agent's forbidden strings? |
//! | [`grounding`] | which claims of an answer are not supported by the chunks they cite? |
//! | [`links`] | may a reply link to this host? (the hosts the business sends its customers to) |
//! | [`markdown`] | the reply rendered to safe HTML, or made safe as markdown |
//! | [`text`] | [`normalize`]: strip invisible characters and NFKC-fold before any check |
//!
//! # Invariants
//!
//! - **Pure and synchronous:** no I/O, no async, no global mutable state. Every function is a
//!   plain function of its inputs, so verdicts are reproducible and can be stored on the message.
//! - **Linear time in the input.** Customer messages are untrusted and may be large (200k
//!   characters): matching uses the `regex` crate (finite automata, no backtracking) and bounded
//!   look-around windows, never nested scans.
//! - **Spans are byte ranges into the text that was passed in**, always on `char` boundaries.
//! - **Explainable verdicts:** detectors return the reasons (rule names, matched text spans) that
//!   made them fire, so an operator can see why a message was refused or redacted.

pub mod canary;
pub mod forbidden;
pub mod grounding;
pub mod injection;
pub mod links;
pub mod markdown;
pub mod pii;
pub mod text;

pub use text::normalize;
