//! Invisible formatting characters that split words: dropped from every extracted text.
//!
//! A zero-width space inside a word (`instr\u{200B}uctions`) shows nothing to a reader but keeps
//! the word from matching a search or a detector's keyword. Every block passes through
//! [`strip`] in the sink, whatever the format, so the knowledge holds the words a reader sees.
//!
//! Dropped everywhere: U+200B (zero-width space), U+2060 (word joiner), U+FEFF (zero-width
//! no-break space), U+00AD (soft hyphen), U+180E (Mongolian vowel separator), U+200E/U+200F
//! (left-to-right and right-to-left marks), U+2061–U+2064 (invisible maths operators), and the
//! bidi controls U+202A–U+202E and U+2066–U+2069. Text is stored in logical order, so the bidi
//! controls only change how it would be displayed.
//!
//! U+200C (zero-width non-joiner) and U+200D (zero-width joiner) carry meaning: Persian and
//! Indic scripts use them inside words, and emoji sequences (👩‍💻) are joined by U+200D. They are
//! dropped only where they cannot mean anything, between two Latin letters or digits (after the
//! other invisible characters are gone), which is where they split an English instruction.
//!
//! The injection detector (`switchboard_guard::text::is_invisible`) strips a wider set, variation
//! selectors and Unicode tag characters included, because it only matches on what it strips;
//! knowledge keeps those, since emoji and flags need them.

use std::borrow::Cow;

/// Dropped wherever they appear.
fn is_dropped(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Zero-width non-joiner and joiner: dropped only between Latin letters or digits.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// ASCII letters and digits, Latin-1 and Latin Extended-A/B letters, Latin Extended Additional.
fn is_latin(c: char) -> bool {
    c.is_ascii_alphanumeric() || (matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}') && c.is_alphabetic())
}

/// `text` without the invisible characters that split words (see the module docs).
pub(crate) fn strip(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_dropped(c) || is_joiner(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // The first character after a joiner that is neither dropped nor a joiner, and where it is:
    // it stays the answer for every joiner before it, so a run of joiners is scanned once.
    let mut next: (usize, Option<char>) = (0, None);
    for (at, c) in text.char_indices() {
        if is_dropped(c) {
            continue;
        }
        if is_joiner(c) {
            if at >= next.0 {
                next = text[at..]
                    .char_indices()
                    .find(|&(_, c)| !is_dropped(c) && !is_joiner(c))
                    .map_or((text.len(), None), |(offset, c)| (at + offset, Some(c)));
            }
            let between_latin = out.chars().next_back().is_some_and(is_latin) && next.1.is_some_and(is_latin);
            if between_latin {
                continue;
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_that_split_words_are_dropped() {
        let split = "ig\u{200B}nore in\u{2060}str\u{FEFF}uc\u{00AD}tions \u{202E}now\u{202C} sys\u{180E}tem \
                     \u{2066}prompt\u{2069} re\u{200E}fund\u{2062}(9\u{200B}999)";
        assert_eq!(strip(split), "ignore instructions now system prompt refund(9999)");
        assert!(matches!(strip("plain text, café"), Cow::Borrowed(_)));
    }

    #[test]
    fn joiners_go_between_latin_letters_and_stay_where_scripts_need_them() {
        assert_eq!(strip("ig\u{200C}no\u{200D}\u{200D}re ça\u{200C}va 1\u{200D}2"), "ignore çava 12");
        assert_eq!(strip("ig\u{200B}\u{200C}\u{200B}nore"), "ignore");
        // Persian "می‌خواهم" (I want) keeps its non-joiner; an emoji sequence keeps its joiner.
        assert_eq!(strip("می\u{200C}خواهم"), "می\u{200C}خواهم");
        assert_eq!(strip("👩\u{200D}💻"), "👩\u{200D}💻");
        // Devanagari "क्‍ष" (half form) keeps its joiner, as does a joiner at either end.
        assert_eq!(strip("क्\u{200D}ष"), "क्\u{200D}ष");
        assert_eq!(strip("\u{200D}a b\u{200C}"), "\u{200D}a b\u{200C}");
        // Latin next to another script: kept, it may be doing something there.
        assert_eq!(strip("a\u{200C}ب"), "a\u{200C}ب");
    }
}
