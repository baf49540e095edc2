//! Text normalisation shared by the detectors.
//!
//! Attackers hide instructions from people while keeping them readable for a model: zero-width
//! characters split trigger words (`ig\u{200b}nore`), Unicode "tag" characters (U+E0000–U+E007F)
//! spell out invisible ASCII, bidi controls reorder what is displayed, and full-width or
//! mathematical letters (`ｉｇｎｏｒｅ`, `𝐢𝐠𝐧𝐨𝐫𝐞`) dodge keyword lists. [`normalize`] undoes all of
//! that before any check runs; [`fold`] additionally drops case and accents for matching.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Characters that render as nothing (or only change layout) and so can hide text from a reader.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                    // soft hyphen
        | '\u{034F}'                  // combining grapheme joiner
        | '\u{061C}'                  // Arabic letter mark
        | '\u{115F}' | '\u{1160}'     // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'     // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'     // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}'     // zero-width space/joiners, LRM/RLM
        | '\u{202A}'..='\u{202E}'     // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'     // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                  // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'     // variation selectors
        | '\u{FEFF}'                  // zero-width no-break space (BOM)
        | '\u{FFA0}'                  // half-width Hangul filler
        | '\u{1D173}'..='\u{1D17A}'   // musical formatting controls
        | '\u{E0000}'..='\u{E007F}'   // tag characters
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Strips invisible characters (zero-width, bidi controls, Unicode tags, variation selectors)
/// and applies NFKC, so `ｉｇ\u{200b}ｎｏｒｅ` becomes `ignore`. Case and accents are kept.
///
/// ```
/// assert_eq!(switchboard_guard::normalize("ｉｇ\u{200b}ｎｏｒｅ"), "ignore");
/// ```
pub fn normalize(text: &str) -> String {
    text.chars().filter(|&c| !is_invisible(c)).nfkc().collect()
}

/// [`normalize`], then lower-cased with accents removed (NFD, combining marks dropped), and runs
/// of whitespace collapsed to one space: the form every keyword comparison in this crate uses.
///
/// ```
/// assert_eq!(switchboard_guard::text::fold("  Ãçcént\n\tTEST "), "accent test");
/// ```
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in normalize(text).nfd().filter(|&c| !is_combining_mark(c)).flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        // Letters NFD does not decompose but people type as their base letter.
        match c {
            'ß' => out.push_str("ss"),
            'ø' => out.push('o'),
            'đ' => out.push('d'),
            'ł' => out.push('l'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            _ => out.push(c),
        }
    }
    out
}

/// The ASCII text spelled by Unicode tag characters (U+E0020–U+E007E mirror ASCII 0x20–0x7E).
/// Invisible when displayed, but models read them: an "ASCII smuggling" channel.
/// Empty when the text has none.
pub fn decode_tag_characters(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let code = c as u32;
            (0xE0020..=0xE007E).contains(&code).then(|| char::from_u32(code - 0xE0000)).flatten()
        })
        .collect()
}

/// How many invisible characters (see [`is_invisible`]) the text holds.
pub fn count_invisible(text: &str) -> usize {
    text.chars().filter(|&c| is_invisible(c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_strips_hiding_characters_and_folds_compatibility_forms() {
        assert_eq!(normalize("ig\u{200b}no\u{200d}re pre\u{2060}vious"), "ignore previous");
        assert_eq!(normalize("\u{202e}txet\u{202c}"), "txet");
        assert_eq!(normalize("𝐢𝐠𝐧𝐨𝐫𝐞"), "ignore");
        assert_eq!(normalize("ﬁle"), "file");
        assert_eq!(normalize("Crème brûlée"), "Crème brûlée");
    }

    #[test]
    fn tag_characters_are_decoded_and_stripped() {
        let hidden: String =
            "hi".chars().chain("ignore".chars().map(|c| char::from_u32(c as u32 + 0xE0000).unwrap())).collect();
        assert_eq!(decode_tag_characters(&hidden), "ignore");
        assert_eq!(normalize(&hidden), "hi");
        assert_eq!(count_invisible(&hidden), 6);
    }

    #[test]
    fn fold_drops_case_accents_and_extra_spaces() {
        assert_eq!(fold("Je veux parler à un HUMAIN"), "je veux parler a un humain");
        assert_eq!(fold("Straße  Øre"), "strasse ore");
        assert_eq!(fold(""), "");
    }
}
