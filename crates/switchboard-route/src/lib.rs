//! The route stage of the message path: before anything is retrieved, decide
//! what kind of message this is.
//!
//! - [`detect_language`]: the customer's language (ISO 639-1), with a
//!   fallback for texts too short to tell;
//! - [`wants_human`]: the customer asks for a person, in English, German,
//!   Spanish, French, Italian or Dutch, typos included;
//! - [`small_talk`]: greetings, thanks, goodbyes and "are you a bot?",
//!   answered from templates without retrieval;
//! - [`IntentIndex`]: nearest-neighbour intent classification over an agent's
//!   example phrases, with an out-of-scope threshold;
//! - [`to_english`]: a German, Spanish, French, Italian or Dutch question in
//!   the English words of a support lexicon, to search English knowledge.
//!
//! Everything here is pure, synchronous and linear in the input; matching
//! runs on [`fold`]ed text (lower case, accents removed, punctuation to
//! spaces) so "Möchte" and "mochte", "HUMANO!" and "humano" meet.

mod handoff;
mod intent;
mod language;
mod lexicon;
mod small_talk;

pub use handoff::{HandoffRequest, is_typo_of, wants_human};
pub use intent::{IntentError, IntentIndex, IntentMatch, Scoring};
pub use language::{Language, detect, detect_language};
pub use lexicon::{Translation, lexicon_languages, to_english};
pub use small_talk::{SmallTalk, small_talk};

use unicode_normalization::UnicodeNormalization;

/// Lower case, accents removed, everything that is not a letter or digit
/// turned into a single space, with a space at both ends (so patterns can
/// match whole words as `" word "`).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    let mut space = true;
    for c in text.nfkd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

/// The languages routing understands (and the assistant's fixed phrases exist in).
pub const LANGUAGES: [&str; 6] = ["en", "de", "es", "fr", "it", "nl"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_removes_case_accents_and_punctuation() {
        assert_eq!(fold("Ich MÖCHTE, bitte!"), " ich mochte bitte ");
        assert_eq!(fold("¿Hablar?"), " hablar ");
        assert_eq!(fold(""), " ");
    }
}
