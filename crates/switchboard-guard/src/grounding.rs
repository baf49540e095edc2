//! Lexical grounding: is each claim of an answer supported by the chunks it cites?
//!
//! The answer is split into sentences (UAX #29); each sentence is a claim, and the `[n]` markers
//! in it name the chunks it rests on (`[1]` is the first chunk). A claim is **supported** when
//!
//! - every number in it (`30`, `4.99`, `2,5`) occurs in its cited chunks, and
//! - at least [`GroundingOptions::min_coverage`] of its content words (stop words of the six
//!   languages left out) occur there, comparing words by their first five letters so "returns"
//!   meets "returned" and "Rücksendung" meets "rucksendungen".
//!
//! A claim without a marker is checked against all the chunks, and says so (`cited: false`). A
//! sentence with no marker, no number and fewer than three content words ("Thanks for asking!")
//! makes no claim and is always supported. The engine drops unsupported claims or abstains; the
//! report says why, word by word, so an operator can follow the decision.
//!
//! ```
//! use switchboard_guard::grounding::{check, GroundingOptions};
//!
//! let chunks = ["Returns are free within 30 days of delivery.", "Shipping to Norway costs 9.90 EUR."];
//! let report = check("You can return items for free within 30 days [1]. Shipping to Norway costs 4.90 EUR [2].", &chunks, &GroundingOptions::RECOMMENDED);
//! assert!(report.claims[0].supported);
//! assert!(!report.claims[1].supported);
//! assert_eq!(report.claims[1].missing_numbers, vec!["4.90"]);
//! ```

use std::collections::HashSet;
use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use crate::text::fold;

/// How strict the check is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundingOptions {
    /// Share of a claim's content words that must occur in its cited chunks (0 to 1).
    pub min_coverage: f32,
}

impl GroundingOptions {
    /// Lenient enough for paraphrase (an answer restates, it does not quote), strict enough that
    /// a claim about something else fails: measured on hand-made paraphrases in the tests.
    pub const RECOMMENDED: Self = Self { min_coverage: 0.6 };
}

/// The verdict on one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimSupport {
    /// Byte range of the claim (the sentence, markers included) in the answer.
    pub span: Range<usize>,
    /// Cited chunk indices, 0-based (`[1]` is 0), as written; out-of-range citations are kept
    /// here and make the claim unsupported.
    pub citations: Vec<usize>,
    /// Whether the claim carried at least one citation marker.
    pub cited: bool,
    /// Share of content words found in the cited chunks (1 when the claim has none).
    pub coverage: f32,
    /// Numbers of the claim missing from the cited chunks.
    pub missing_numbers: Vec<String>,
    /// Content words of the claim missing from the cited chunks.
    pub missing_words: Vec<String>,
    pub supported: bool,
}

/// The verdict on a whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundingReport {
    pub claims: Vec<ClaimSupport>,
}

impl GroundingReport {
    /// Whether every claim is supported.
    pub fn all_supported(&self) -> bool {
        self.claims.iter().all(|c| c.supported)
    }

    /// The claims that are not supported.
    pub fn unsupported(&self) -> impl Iterator<Item = &ClaimSupport> {
        self.claims.iter().filter(|c| !c.supported)
    }

    /// The answer with the unsupported claims removed and the rest as written (its line breaks
    /// and list markers kept), trimmed. What stays of an answer's first sentences does not
    /// depend on what follows them, so the text of a reply checked sentence by sentence while
    /// it is written grows into the text of the whole reply checked at its end.
    pub fn supported_text(&self, answer: &str) -> String {
        let mut out = String::with_capacity(answer.len());
        let mut at = 0;
        for claim in &self.claims {
            // The whitespace-only segments between claims are no claims: kept.
            out.push_str(&answer[at..claim.span.start]);
            if claim.supported {
                out.push_str(&answer[claim.span.clone()]);
            }
            at = claim.span.end;
        }
        out.push_str(&answer[at..]);
        out.trim().to_owned()
    }
}

/// Checks each sentence of `answer` against the chunks it cites (`chunks[0]` is `[1]`).
pub fn check(answer: &str, chunks: &[&str], options: &GroundingOptions) -> GroundingReport {
    let chunk_evidence: Vec<Evidence> = chunks.iter().map(|c| Evidence::of(c)).collect();
    let everything = Evidence::union(&chunk_evidence);
    let mut claims = Vec::new();
    let mut offset = 0;
    for sentence in answer.split_sentence_bounds() {
        let span = offset..offset + sentence.len();
        offset += sentence.len();
        if sentence.trim().is_empty() {
            continue;
        }
        let (citations, body) = citations_of(sentence);
        let cited = !citations.is_empty();
        let out_of_range = citations.iter().any(|&i| i >= chunks.len());
        let evidence = if cited {
            Evidence::union(&citations.iter().filter_map(|&i| chunk_evidence.get(i).cloned()).collect::<Vec<_>>())
        } else {
            everything.clone()
        };
        let claim = Evidence::of(&body);
        let missing_numbers: Vec<String> =
            claim.numbers.iter().filter(|n| !evidence.numbers.contains(*n)).cloned().collect();
        let content: Vec<&String> = claim.word_list.iter().collect();
        let missing_words: Vec<String> =
            content.iter().filter(|w| !evidence.stems.contains(&stem(w))).map(|w| (*w).clone()).collect();
        let coverage = if content.is_empty() { 1.0 } else { 1.0 - missing_words.len() as f32 / content.len() as f32 };
        let makes_claim = cited || !claim.numbers.is_empty() || content.len() >= 3;
        let supported =
            !makes_claim || (!out_of_range && missing_numbers.is_empty() && coverage >= options.min_coverage);
        claims.push(ClaimSupport { span, citations, cited, coverage, missing_numbers, missing_words, supported });
    }
    GroundingReport { claims }
}

/// Where the settled sentences of a text still being written end: the last sentence boundary
/// (UAX #29, as [`check`] splits claims) that more text cannot move, so the claims before it are
/// the claims the whole text will have there. A boundary's rules look ahead past spaces, closing
/// brackets and digits to the next letter ("e.g. (see 4) below" is one sentence: a lower-case
/// letter follows), so a boundary counts only once a letter or a line break follows it.
pub fn settled(text: &str) -> usize {
    let Some(last) = text.rfind(|c: char| c.is_alphabetic() || c == '\n') else { return 0 };
    let mut end = 0;
    let mut at = 0;
    for sentence in text.split_sentence_bounds() {
        at += sentence.len();
        if at > last {
            break;
        }
        end = at;
    }
    end
}

/// The `[n]` markers of a sentence (as 0-based indices, deduplicated, in order) and the sentence
/// with them removed.
fn citations_of(sentence: &str) -> (Vec<usize>, String) {
    let mut citations = Vec::new();
    let mut body = String::with_capacity(sentence.len());
    let mut rest = sentence;
    while let Some(open) = rest.find('[') {
        body.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(']').filter(|&c| c > 0 && c <= 12);
        let inner = close.map(|c| &after[..c]);
        // "[1]", "[1, 2]", "[1][2]".
        let numbers: Option<Vec<usize>> =
            inner.and_then(|s| s.split(',').map(|n| n.trim().parse::<usize>().ok().filter(|&n| n >= 1)).collect());
        match (close, numbers) {
            (Some(c), Some(ns)) => {
                for n in ns {
                    if !citations.contains(&(n - 1)) {
                        citations.push(n - 1);
                    }
                }
                rest = &after[c + 1..];
            }
            _ => {
                body.push('[');
                rest = after;
            }
        }
    }
    body.push_str(rest);
    (citations, body)
}

/// What a text offers as evidence: its numbers and its content words.
#[derive(Debug, Clone, Default)]
struct Evidence {
    numbers: HashSet<String>,
    /// Content words in order (for the claim side).
    word_list: Vec<String>,
    stems: HashSet<String>,
}

impl Evidence {
    fn of(text: &str) -> Self {
        let folded = fold(text);
        let mut evidence = Evidence::default();
        for word in folded.unicode_words() {
            if word.chars().any(|c| c.is_ascii_digit()) {
                // "4.99", "4,99" and "30" as written; also the digits alone ("4,99" == "4.99").
                evidence.numbers.insert(word.to_owned());
                evidence.numbers.insert(word.replace(',', "."));
                continue;
            }
            if word.chars().count() < 2 || STOP_WORDS.contains(&word) {
                continue;
            }
            evidence.stems.insert(stem(word));
            if !evidence.word_list.iter().any(|w| w == word) {
                evidence.word_list.push(word.to_owned());
            }
        }
        // Numbers in the claim are compared in the `.` form.
        evidence.numbers = evidence.numbers.into_iter().map(|n| n.replace(',', ".")).collect();
        evidence
    }

    fn union(parts: &[Evidence]) -> Self {
        let mut all = Evidence::default();
        for p in parts {
            all.numbers.extend(p.numbers.iter().cloned());
            all.stems.extend(p.stems.iter().cloned());
        }
        all
    }
}

/// The first five letters: a crude stemmer that is the same in every language and easy to
/// explain ("return", "returns", "returned" -> "retur").
fn stem(word: &str) -> String {
    word.chars().take(5).collect()
}

/// Function words of English, German, Spanish, French, Italian and Dutch (folded: no accents).
const STOP_WORDS: &[&str] = &[
    // English
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is",
    "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "you", "your", "we", "our",
    "us", "they", "their", "he", "she", "his", "her", "i", "me", "my", "can", "will", "would", "should", "could",
    "may", "do", "does", "did", "have", "has", "had", "not", "no", "so", "also", "all", "any", "some", "there", "here",
    "what", "which", "who", "when", "where", "how", "than", "then", "into", "about", "up", "out", "just", "yes",
    "please", "within", // German
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "und", "oder", "aber", "ist",
    "sind", "war", "wird", "werden", "mit", "von", "zu", "zum", "zur", "im", "ins", "auf", "fur", "bei", "nach", "aus",
    "sie", "ihr", "ihre", "ich", "wir", "es", "nicht", "kein", "keine", "auch", "noch", "nur", "wie", "was", "wenn",
    "dass", "kann", "konnen", "sich", // Spanish
    "el", "la", "los", "las", "un", "una", "unos", "unas", "y", "o", "pero", "de", "del", "al", "en", "con", "por",
    "para", "es", "son", "se", "su", "sus", "que", "lo", "le", "les", "mi", "tu", "usted", "puede", "como", "mas",
    // French
    "le", "les", "une", "des", "du", "et", "ou", "mais", "dans", "sur", "avec", "pour", "par", "est", "sont", "ce",
    "cette", "ces", "vous", "votre", "vos", "nous", "il", "elle", "ils", "qui", "ne", "pas", "peut", "au", "aux",
    // Italian
    "il", "gli", "uno", "e", "ma", "di", "da", "con", "per", "tra", "fra", "sono", "si", "suo", "sua", "che", "non",
    "puo", "della", "delle", "degli", "nel", "nella", // Dutch
    "het", "een", "en", "maar", "van", "op", "te", "met", "voor", "door", "bij", "naar", "uit", "zijn", "wordt",
    "worden", "je", "uw", "wij", "ze", "niet", "geen", "ook", "dat", "dit", "deze", "kan", "kunt",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citation_markers_are_read_and_removed() {
        assert_eq!(citations_of("Free returns [1]."), (vec![0], "Free returns .".to_owned()));
        assert_eq!(citations_of("A [2][1] b [1, 3]"), (vec![1, 0, 2], "A  b ".to_owned()));
        assert_eq!(citations_of("see [note] and [0]"), (vec![], "see [note] and [0]".to_owned()));
    }

    #[test]
    fn a_sentence_settles_once_a_letter_follows_it() {
        assert_eq!(settled("Returns are free [1]."), 0, "the last sentence may go on");
        let text = "Returns are free [1]. Ship";
        assert_eq!(&text[..settled(text)], "Returns are free [1]. ");
        // Digits decide nothing yet: "4. 5 items" and "4. 5 Items" split differently.
        assert_eq!(settled("It costs 4. 5"), 0);
        assert_eq!(settled("See e.g. (4) below"), 0, "a lower-case letter joins them");
        let text = "Steps:\n";
        assert_eq!(settled(text), 0);
        let text = "One [1].\nTwo [1]. Th";
        assert_eq!(&text[..settled(text)], "One [1].\nTwo [1]. ");
    }
}
