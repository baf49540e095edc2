//! A cross-language support lexicon: a German, Spanish, French, Italian or
//! Dutch question rendered as the English words of the same question, so
//! English knowledge can be searched (and quoted) for a customer who writes in
//! another language. The local embedding model is English-only and no
//! translation model is available offline; general customer-support
//! vocabulary (shipping, returns, refunds, warranty, payment, discounts,
//! stores, accounts, sizes, time) covers what support questions are about.
//!
//! The vocabulary is data (`lexicon/<lang>.txt`, `source = english` a line,
//! other senses after `|`: `tienda = store | shop`). The first sense makes the
//! question the answerer reads; all senses together widen the search.
//! Matching runs on folded words; phrases are matched longest first, so
//! "wie lange" becomes "how long" (a duration question for the answerer)
//! before "wie" alone would; both sides are lightly stemmed, so one entry
//! covers a noun's plural; German and Dutch compounds missing from the list
//! are split into listed parts ("Standardversand" -> "standard shipping").
//! Words the lexicon does not know stay in the question as written: the
//! answerer finds them in no English sentence, so what was not understood
//! makes it less sure instead of leaving a confident question about the rest
//! ("cours d'escalade en magasin" is not a question about stores). Search
//! leaves them out, except what looks like a name or a code (capitals inside
//! or after the first word, digits): "Boulder", "PayPal", "iDEAL", "FIRSTCAMP10".

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::fold;

/// The lexicon files, by language.
const SOURCES: &[(&str, &str)] = &[
    ("de", include_str!("../lexicon/de.txt")),
    ("es", include_str!("../lexicon/es.txt")),
    ("fr", include_str!("../lexicon/fr.txt")),
    ("it", include_str!("../lexicon/it.txt")),
    ("nl", include_str!("../lexicon/nl.txt")),
];

/// Endings stripped (one at most, longest listed first) so singular and
/// plural, masculine and feminine meet. Deliberately light: a wrong merge
/// costs more than a missed plural, which the lists can spell out.
fn suffixes(lang: &str) -> &'static [&'static str] {
    match lang {
        "de" => &["ern", "en", "er", "es", "et", "e", "n", "s"],
        "es" => &["es", "as", "os", "a", "o", "e", "s"],
        "fr" => &["ees", "es", "ee", "s", "e", "x"],
        "it" => &["i", "e", "a", "o"],
        "nl" => &["en", "s", "e"],
        _ => &[],
    }
}

/// Languages whose nouns compound without spaces.
fn compounds(lang: &str) -> bool {
    matches!(lang, "de" | "nl")
}

/// Connecting letters between the parts of a compound ("Liefer-s-zeit").
const LINKS: &[&str] = &["s", "n", "en", "e"];

/// A question in English words.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The question in English words, in its order: the first sense of each
    /// known word, unknown words as written (for the answerer).
    pub text: String,
    /// Every sense of each known word ("store shop"), and of the unknown words
    /// only names and codes (for search).
    pub expanded: String,
    /// Words of the question the lexicon knew.
    pub known: usize,
    /// Words in the question.
    pub words: usize,
}

impl Translation {
    /// The share of the question's words the lexicon knew (function words
    /// included): high for a question in the lexicon's language, low for one
    /// in another language taken for it.
    pub fn coverage(&self) -> f64 {
        if self.words == 0 { 0.0 } else { self.known as f64 / self.words as f64 }
    }
}

/// One language's vocabulary: folded phrases, and the same stemmed.
struct Lexicon {
    lang: &'static str,
    exact: HashMap<String, String>,
    stemmed: HashMap<String, String>,
    longest: usize,
}

impl Lexicon {
    fn parse(lang: &'static str, source: &str) -> Self {
        let mut lexicon = Lexicon { lang, exact: HashMap::new(), stemmed: HashMap::new(), longest: 1 };
        for line in source.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((from, to)) = line.split_once('=') else { continue };
            let words = normalise(from);
            if words.is_empty() {
                continue;
            }
            let to = to.trim().to_owned();
            lexicon.longest = lexicon.longest.max(words.len());
            let stemmed = words.iter().map(|w| stem(lang, w)).collect::<Vec<_>>().join(" ");
            // The first entry wins: the files list the common sense first.
            lexicon.stemmed.entry(stemmed).or_insert_with(|| to.clone());
            lexicon.exact.entry(words.join(" ")).or_insert(to);
        }
        lexicon
    }

    /// The English of a phrase of folded words, if listed.
    fn phrase(&self, words: &[String]) -> Option<&str> {
        if let Some(to) = self.exact.get(&words.join(" ")) {
            return Some(to);
        }
        let stemmed = words.iter().map(|w| stem(self.lang, w)).collect::<Vec<_>>().join(" ");
        // A form whose ending is a listed word ("Reißverschlüsse" -> "reissverschluss"),
        // or that meets a listed word's stem.
        self.exact.get(&stemmed).or_else(|| self.stemmed.get(&stemmed)).map(String::as_str)
    }

    fn word(&self, word: &str) -> Option<&str> {
        self.phrase(std::slice::from_ref(&word.to_owned()))
    }

    /// A compound as its listed parts: the last part (which says what the
    /// thing is) must be listed; the front, possibly with a linking letter,
    /// is added when listed too (or itself a compound of listed parts).
    fn compound(&self, word: &str, depth: u8) -> Option<String> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() < 7 || depth > 2 {
            return None;
        }
        let mut tail_only: Option<String> = None;
        // Longest listed last part first: what the compound is ("Rücksende|etikett", a label).
        for &(at, _) in &chars[3..=chars.len() - 4] {
            let (head, tail) = (&word[..at], &word[at..]);
            let Some(tail_en) = self.word(tail) else { continue };
            let heads = std::iter::once(head).chain(LINKS.iter().filter_map(|l| head.strip_suffix(l)));
            for h in heads.filter(|h| h.chars().count() >= 3) {
                let head_en = self.word(h).map(str::to_owned).or_else(|| self.compound(h, depth + 1));
                if let Some(head_en) = head_en {
                    return Some(joined(&head_en, tail_en));
                }
            }
            if tail_only.is_none() && tail.chars().count() >= 4 {
                tail_only = Some(tail_en.to_owned());
            }
        }
        tail_only
    }
}

/// The senses of an entry's English side, the first one first.
fn senses(english: &str) -> impl Iterator<Item = &str> {
    english.split('|').map(str::trim).filter(|s| !s.is_empty())
}

/// A compound's English: the parts' first senses together ("student
/// discount"), then the parts' other senses.
fn joined(head: &str, tail: &str) -> String {
    let first = |e: &str| senses(e).next().unwrap_or("").to_owned();
    let mut all = vec![format!("{} {}", first(head), first(tail)).trim().to_owned()];
    all.extend(senses(head).skip(1).chain(senses(tail).skip(1)).map(str::to_owned));
    all.join(" | ")
}

fn lexicons() -> &'static [Lexicon] {
    static LEXICONS: OnceLock<Vec<Lexicon>> = OnceLock::new();
    LEXICONS.get_or_init(|| SOURCES.iter().map(|(lang, source)| Lexicon::parse(lang, source)).collect())
}

/// The languages with a lexicon.
pub fn lexicon_languages() -> Vec<&'static str> {
    SOURCES.iter().map(|(lang, _)| *lang).collect()
}

/// Folded words (German ß as ss).
fn normalise(text: &str) -> Vec<String> {
    fold(text).replace('ß', "ss").split_whitespace().map(str::to_owned).collect()
}

fn stem(lang: &str, word: &str) -> String {
    if word.chars().count() < 5 || word.chars().any(|c| c.is_ascii_digit()) {
        return word.to_owned();
    }
    for suffix in suffixes(lang) {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 4
        {
            return base.to_owned();
        }
    }
    word.to_owned()
}

/// A word of the question, as written and folded.
struct Word<'a> {
    written: &'a str,
    folded: String,
    first: bool,
}

/// Words as written: letters and digits; apostrophes and hyphens separate
/// ("l'article", "États-Unis").
fn words(text: &str) -> Vec<Word<'_>> {
    // Spans of letters and digits, each with whether a sentence starts before it.
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
    let mut sentence_start = true;
    let mut start: Option<usize> = None;
    for (at, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(at);
            continue;
        }
        if let Some(s) = start.take() {
            spans.push((s, at, sentence_start));
            sentence_start = false;
        }
        if matches!(c, '.' | '!' | '?' | '¿' | '¡' | ':') {
            sentence_start = true;
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len(), sentence_start));
    }
    spans
        .into_iter()
        .map(|(s, e, first)| Word { written: &text[s..e], folded: normalise(&text[s..e]).join(""), first })
        .filter(|w| !w.folded.is_empty())
        .collect()
}

/// Whether an unknown word is kept: a name or a code, not a word of the language.
fn looks_like_a_name(word: &Word<'_>) -> bool {
    let w = word.written;
    let digits = w.chars().any(|c| c.is_ascii_digit());
    let inner_capital = w.chars().skip(1).any(char::is_uppercase);
    let capital = w.chars().next().is_some_and(char::is_uppercase);
    digits || inner_capital || (capital && !word.first)
}

/// `text`, written in `lang`, in English words; `None` for a language without
/// a lexicon (English among them).
pub fn to_english(text: &str, lang: &str) -> Option<Translation> {
    let lexicon = lexicons().iter().find(|l| l.lang == lang)?;
    let words = words(text);
    let folded: Vec<String> = words.iter().map(|w| w.folded.clone()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut expanded: Vec<String> = Vec::new();
    let mut known = 0;
    let mut i = 0;
    while i < words.len() {
        let found = (1..=lexicon.longest.min(words.len() - i))
            .rev()
            .find_map(|n| lexicon.phrase(&folded[i..i + n]).map(|to| (n, to.to_owned())));
        let (n, english) = match found {
            Some(found) => found,
            None => match compounds(lang).then(|| lexicon.compound(&folded[i], 0)).flatten() {
                Some(english) => (1, english),
                None => {
                    out.push(words[i].written.to_owned());
                    if looks_like_a_name(&words[i]) {
                        expanded.push(words[i].written.to_owned());
                    }
                    i += 1;
                    continue;
                }
            },
        };
        known += n;
        let mut all = senses(&english);
        if let Some(first) = all.next() {
            out.push(first.to_owned());
            expanded.push(first.to_owned());
            expanded.extend(all.map(str::to_owned));
        }
        i += n;
    }
    Some(Translation { text: out.join(" "), expanded: expanded.join(" "), known, words: words.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_is_broad() {
        for lexicon in lexicons() {
            assert!(lexicon.exact.len() >= 300, "{}: {} entries", lexicon.lang, lexicon.exact.len());
            assert!(lexicon.exact.values().all(|to| to.is_ascii()), "{}: English side is plain", lexicon.lang);
            // A sense is words: "|" separates senses, never ends or doubles one.
            assert!(
                lexicon.exact.values().all(|to| !to.contains('|') || to.split('|').all(|s| !s.trim().is_empty())),
                "{}: empty sense",
                lexicon.lang
            );
        }
        assert_eq!(lexicon_languages(), ["de", "es", "fr", "it", "nl"]);
        assert!(to_english("How long?", "en").is_none());
    }

    #[test]
    fn stemming_covers_plurals_and_genders() {
        assert_eq!(stem("de", "karten"), stem("de", "karte"));
        assert_eq!(stem("es", "tiendas"), stem("es", "tienda"));
        assert_eq!(stem("it", "garanzie"), stem("it", "garanzia"));
        assert_eq!(stem("nl", "winkels"), "winkel");
        assert_eq!(stem("de", "tag"), "tag", "short words stay");
    }
}
