//! Language detection tuned for short support messages.

use crate::fold;

/// Common words that tell the six languages apart even in short messages,
/// where statistical detection guesses.
const MARKERS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "i", "you", "is", "are", "my", "want", "please", "how", "what", "where", "can", "do", "to", "with",
            "hello", "thanks", "order", "when", "was", "does", "have", "for", "much", "long", "any",
        ],
    ),
    (
        "de",
        &[
            "ich",
            "und",
            "nicht",
            "bitte",
            "mit",
            "ist",
            "wie",
            "wo",
            "was",
            "mein",
            "meine",
            "sie",
            "mochte",
            "hallo",
            "danke",
            "einem",
            "einer",
            "kann",
            "habe",
            "bestellung",
            // Question words and articles of support questions ("Wann", "Was kostet der …").
            "der",
            "das",
            "wann",
            "welche",
            "sind",
            "gibt",
            "kostet",
        ],
    ),
    (
        "es",
        &[
            "el", "la", "los", "las", "quiero", "con", "por", "favor", "hola", "gracias", "como", "donde", "que", "mi",
            "es", "una", "puedo", "hablar", "pedido", "cuanto", "cual", "tienen", "hay", "para", "cuesta",
        ],
    ),
    (
        "fr",
        &[
            "je", "le", "la", "les", "veux", "avec", "un", "une", "est", "bonjour", "merci", "comment", "ou", "mon",
            "ma", "vous", "parler", "commande", "pas", "combien", "quel", "quelle", "des", "du", "aux",
        ],
    ),
    (
        "it",
        &[
            "il",
            "lo",
            "gli",
            "voglio",
            "con",
            "un",
            "una",
            "e",
            "ciao",
            "grazie",
            "come",
            "dove",
            "mio",
            "mia",
            "posso",
            "parlare",
            "ordine",
            "non",
            "sono",
            "buongiorno",
            "quanto",
            "qual",
            "quale",
            "della",
            "delle",
            "sulle",
            "di",
            "cosa",
        ],
    ),
    (
        "nl",
        &[
            "ik",
            "het",
            "de",
            "een",
            "wil",
            "met",
            "niet",
            "is",
            "hoe",
            "waar",
            "wat",
            "mijn",
            "graag",
            "hallo",
            "bedankt",
            "dank",
            "kan",
            "spreken",
            "bestelling",
            "u",
            "zijn",
            "van",
            "hoeveel",
            "wanneer",
            "welke",
            "kost",
        ],
    ),
];

/// A detected language.
#[derive(Debug, Clone, PartialEq)]
pub struct Language {
    /// ISO 639-1 code.
    pub code: String,
    /// 0 to 1; low for short or mixed texts.
    pub confidence: f64,
}

/// The customer's language as an ISO 639-1 code, or `fallback` when the text
/// is too short or ambiguous to tell.
pub fn detect_language(text: &str, fallback: &str) -> String {
    detect(text, fallback).code
}

/// [`detect_language`] with its confidence.
pub fn detect(text: &str, fallback: &str) -> Language {
    let folded = fold(text);
    let words: Vec<&str> = folded.split_whitespace().collect();
    // Short messages: count marker words of each language.
    let mut best = ("", 0usize);
    let mut second = 0usize;
    for (code, markers) in MARKERS {
        let hits = words.iter().filter(|w| markers.contains(w)).count();
        if hits > best.1 {
            second = best.1;
            best = (code, hits);
        } else if hits > second {
            second = hits;
        }
    }
    let statistical = whatlang::detect(text).and_then(|info| {
        let code = iso639_1(info.lang())?;
        Some((code, info.confidence()))
    });
    match statistical {
        // Long enough text: trust the statistics when they are sure.
        Some((code, confidence)) if words.len() >= 8 && confidence >= 0.5 => {
            Language { code: code.to_owned(), confidence }
        }
        _ if best.1 > second => {
            let margin = (best.1 - second) as f64 / best.1 as f64;
            Language { code: best.0.to_owned(), confidence: (0.4 + 0.5 * margin).min(0.9) }
        }
        Some((code, confidence)) if confidence >= 0.3 => Language { code: code.to_owned(), confidence },
        _ => Language { code: fallback.to_owned(), confidence: 0.0 },
    }
}

fn iso639_1(lang: whatlang::Lang) -> Option<&'static str> {
    use whatlang::Lang::*;
    Some(match lang {
        Eng => "en",
        Deu => "de",
        Spa => "es",
        Fra => "fr",
        Ita => "it",
        Nld => "nl",
        Por => "pt",
        Pol => "pl",
        Swe => "sv",
        Dan => "da",
        Nob => "no",
        Fin => "fi",
        Ces => "cs",
        Tur => "tr",
        Rus => "ru",
        Ukr => "uk",
        Jpn => "ja",
        Cmn => "zh",
        Kor => "ko",
        Ara => "ar",
        Hin => "hi",
        Ron => "ro",
        Hun => "hu",
        Ell => "el",
        Heb => "he",
        _ => return None,
    })
}
