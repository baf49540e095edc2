//! Per-agent forbidden strings (a competitor's name, an internal code word, a phrase legal does
//! not allow), matched case- and accent-insensitively, as whole words, in one pass.
//!
//! Both sides are folded the same way: invisible characters stripped, NFKC, lower case, accents
//! removed, and every run of punctuation or whitespace turned into one space, so "Acme-Corp",
//! "ACME corp" and "acme\u{200b} corp" all match the entry "Acme Corp", while "ass" does not
//! match "class".
//!
//! ```
//! use switchboard_guard::forbidden::Forbidden;
//!
//! let list = Forbidden::new(["Acme Corp", "Projekt Möwe"]);
//! assert_eq!(list.find("Try ACME-corp instead, or projekt mowe!"), vec!["Acme Corp", "Projekt Möwe"]);
//! assert!(list.find("Our corporate policy").is_empty());
//! ```

use aho_corasick::AhoCorasick;

use crate::text::fold;

/// An agent's forbidden strings, compiled once when the agent is loaded.
#[derive(Debug, Clone)]
pub struct Forbidden {
    /// The entries as the operator wrote them, indexed like the automaton's patterns.
    entries: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl Forbidden {
    /// Compiles the entries. Entries that fold to nothing (only punctuation) are ignored.
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let (entries, patterns): (Vec<String>, Vec<String>) = entries
            .into_iter()
            .map(|e| (e.as_ref().to_owned(), fold_words(e.as_ref())))
            .filter(|(_, folded)| !folded.trim().is_empty())
            .unzip();
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::new(&patterns)
                    .expect("forbidden strings compile: sizes are bounded by the agent settings"),
            )
        };
        Self { entries, automaton }
    }

    /// The entries (as written by the operator) that occur in `text`, each once, in entry order.
    pub fn find(&self, text: &str) -> Vec<&str> {
        let Some(automaton) = &self.automaton else { return Vec::new() };
        let folded = fold_words(text);
        let mut hit = vec![false; self.entries.len()];
        for m in automaton.find_overlapping_iter(&folded) {
            // Patterns carry a space at both ends, so every match is on word boundaries.
            hit[m.pattern().as_usize()] = true;
        }
        self.entries.iter().zip(hit).filter(|(_, h)| *h).map(|(e, _)| e.as_str()).collect()
    }

    /// Whether no entry is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// [`fold`], with every run of non-alphanumeric characters as one space and a space at both ends.
fn fold_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in fold(text).chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_accents_punctuation_and_hiding_do_not_help() {
        let list = Forbidden::new(["Café Noir", "X-9000", "résiliation gratuite"]);
        for text in [
            "Have you tried CAFE NOIR?",
            "cafe-noir is cheaper",
            "the x 9000 model",
            "Résiliation\u{200b} GRATUITE garantie",
            "ｃａｆｅ ｎｏｉｒ",
        ] {
            assert!(!list.find(text).is_empty(), "{text:?}");
        }
        for text in ["cafenoir", "x-90001", "Our noir café", ""] {
            assert!(list.find(text).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn empty_and_punctuation_only_entries_match_nothing() {
        assert!(Forbidden::new(Vec::<String>::new()).find("anything").is_empty());
        let list = Forbidden::new(["", "--", "ok"]);
        assert_eq!(list.find("-- ok --"), vec!["ok"]);
    }
}
