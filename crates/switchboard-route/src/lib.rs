//! The route stage of the message path: before anything is retrieved, decide
//! what kind of message this is.
//!
//! - [`detect_language`]: the customer's language (ISO 639-1), with a
//!   fallback for texts too short to tell;
//! - [`wants_human`]: the customer asks for a person, in English, German,
//!   Spanish, French, Italian or Dutch;
//! - [`small_talk`]: greetings, thanks, goodbyes and "are you a bot?",
//!   answered from templates without retrieval.
//!
//! Everything here is pure, synchronous and linear in the input; matching
//! runs on [`fold`]ed text (lower case, accents removed, punctuation to
//! spaces) so "Möchte" and "mochte", "HUMANO!" and "humano" meet.

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

/// Common words that tell the six languages apart even in short messages,
/// where statistical detection guesses.
const MARKERS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "i", "you", "is", "are", "my", "want", "please", "how", "what", "where", "can", "do", "to", "with",
            "hello", "thanks", "order",
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
        ],
    ),
    (
        "es",
        &[
            "el", "la", "los", "las", "quiero", "con", "por", "favor", "hola", "gracias", "como", "donde", "que", "mi",
            "es", "una", "puedo", "hablar", "pedido",
        ],
    ),
    (
        "fr",
        &[
            "je", "le", "la", "les", "veux", "avec", "un", "une", "est", "bonjour", "merci", "comment", "ou", "mon",
            "ma", "vous", "parler", "commande", "pas",
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

/// A request for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRequest {
    /// The language whose pattern matched.
    pub language: &'static str,
    /// The pattern that matched, for the transcript.
    pub matched: &'static str,
}

/// Words for "a person" per language (folded).
const PEOPLE: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "human",
            "person",
            "real person",
            "live person",
            "human being",
            "agent",
            "live agent",
            "human agent",
            "real agent",
            "representative",
            "rep",
            "operator",
            "someone",
            "somebody",
            "staff",
            "support team",
            "customer service",
            "a real",
            "manager",
            "supervisor",
            "employee",
        ],
    ),
    (
        "de",
        &[
            "mensch",
            "menschen",
            "person",
            "mitarbeiter",
            "mitarbeiterin",
            "berater",
            "beraterin",
            "kundenservice",
            "kundendienst",
            "jemandem",
            "jemand",
            "echten person",
            "echten menschen",
            "agenten",
            "support",
            "sachbearbeiter",
        ],
    ),
    (
        "es",
        &[
            "persona",
            "humano",
            "agente",
            "operador",
            "operadora",
            "alguien",
            "representante",
            "asesor",
            "asesora",
            "empleado",
            "atencion al cliente",
            "persona real",
            "ser humano",
        ],
    ),
    (
        "fr",
        &[
            "humain",
            "personne",
            "conseiller",
            "conseillere",
            "agent",
            "operateur",
            "operatrice",
            "quelqu un",
            "service client",
            "vraie personne",
            "etre humain",
            "employe",
        ],
    ),
    (
        "it",
        &[
            "persona",
            "umano",
            "operatore",
            "operatrice",
            "agente",
            "qualcuno",
            "consulente",
            "assistenza clienti",
            "persona reale",
            "essere umano",
            "addetto",
        ],
    ),
    (
        "nl",
        &[
            "mens",
            "persoon",
            "medewerker",
            "medewerkster",
            "iemand",
            "agent",
            "klantenservice",
            "echte persoon",
            "echt mens",
            "vertegenwoordiger",
            "adviseur",
        ],
    ),
];

/// Verbs and frames that turn "a person" into a request for one (folded).
const ASKS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "talk to",
            "speak to",
            "speak with",
            "talk with",
            "chat with",
            "connect me",
            "transfer me",
            "put me through",
            "get me",
            "i want a",
            "i need a",
            "can i get",
            "let me talk",
            "let me speak",
            "escalate",
            "hand me",
            "reach a",
            "contact a",
        ],
    ),
    (
        "de",
        &[
            "sprechen",
            "reden",
            "verbinden",
            "verbinde",
            "weiterleiten",
            "durchstellen",
            "mochte einen",
            "mochte eine",
            "will einen",
            "will eine",
            "brauche einen",
            "brauche eine",
            "kontakt",
        ],
    ),
    (
        "es",
        &[
            "hablar",
            "habla",
            "comunicar",
            "pasar con",
            "paseme",
            "pasame",
            "quiero un",
            "quiero una",
            "necesito un",
            "necesito una",
            "contactar",
            "conectar",
        ],
    ),
    (
        "fr",
        &[
            "parler",
            "discuter",
            "joindre",
            "contacter",
            "passer un",
            "me passer",
            "mettre en relation",
            "je veux un",
            "je veux une",
            "besoin d un",
            "besoin d une",
        ],
    ),
    (
        "it",
        &[
            "parlare",
            "passare",
            "passarmi",
            "contattare",
            "mettermi in contatto",
            "voglio un",
            "voglio una",
            "ho bisogno di un",
            "ho bisogno di una",
        ],
    ),
    (
        "nl",
        &[
            "spreken",
            "praten",
            "doorverbinden",
            "verbind me",
            "in contact",
            "wil een",
            "ik wil graag een",
            "heb een",
            "contact met",
        ],
    ),
];

/// Short requests that mean "a person" on their own.
const BARE: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "human",
            "human please",
            "agent",
            "agent please",
            "operator",
            "representative",
            "real person",
            "person please",
            "live agent",
            "talk to human",
            "speak to human",
        ],
    ),
    ("de", &["mensch", "mensch bitte", "mitarbeiter bitte", "kundenservice"]),
    ("es", &["humano", "agente", "persona por favor", "operador"]),
    ("fr", &["humain", "conseiller", "un humain svp", "agent svp"]),
    ("it", &["operatore", "umano", "operatore per favore"]),
    ("nl", &["medewerker", "mens", "medewerker graag"]),
];

/// Frames that ask *about* people rather than *for* one ("does a person
/// check my order?", "who is the person responsible for returns?").
const ABOUT_PEOPLE: &[&str] = &[
    " does a ",
    " do a ",
    " is a ",
    " who is ",
    " which ",
    " checks ",
    " check my ",
    " responsible ",
    " review ",
    " reviews ",
    " verify ",
    " prufen ",
    " pruft ",
    " revisa ",
    " verifie ",
    " controlla ",
    " controleert ",
];

/// Does the customer ask for a person?
pub fn wants_human(text: &str) -> Option<HandoffRequest> {
    let folded = fold(text);
    let trimmed = folded.trim();
    for (lang, phrases) in BARE {
        if let Some(p) = phrases.iter().find(|p| trimmed == **p) {
            return Some(HandoffRequest { language: lang, matched: p });
        }
    }
    let asks_about = ABOUT_PEOPLE.iter().any(|f| folded.contains(f));
    for ((lang, people), (_, asks)) in PEOPLE.iter().zip(ASKS) {
        let person = people.iter().find(|p| folded.contains(&format!(" {p} ")));
        let ask = asks.iter().find(|a| folded.contains(&format!(" {a} ")) || folded.contains(&format!(" {a}")));
        if let (Some(_), Some(ask)) = (person, ask)
            && (!asks_about || strong_request(&folded))
        {
            return Some(HandoffRequest { language: lang, matched: ask });
        }
    }
    None
}

/// Requests that stay requests even when the sentence also mentions checking or reviewing.
fn strong_request(folded: &str) -> bool {
    [" i want to talk ", " i want to speak ", " let me talk ", " connect me ", " transfer me ", " put me through "]
        .iter()
        .any(|f| folded.contains(f))
}

/// Kinds of small talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallTalk {
    Greeting,
    Thanks,
    Goodbye,
    HowAreYou,
    AreYouABot,
}

const SMALL_TALK: &[(SmallTalk, &[&str])] = &[
    (
        SmallTalk::Greeting,
        &[
            "hi",
            "hello",
            "hey",
            "hiya",
            "good morning",
            "good afternoon",
            "good evening",
            "hallo",
            "guten tag",
            "guten morgen",
            "moin",
            "servus",
            "hola",
            "buenos dias",
            "buenas tardes",
            "buenas",
            "bonjour",
            "salut",
            "bonsoir",
            "ciao",
            "buongiorno",
            "buonasera",
            "salve",
            "goedemorgen",
            "goedemiddag",
            "hoi",
            "dag",
            "hallo daar",
            "hi there",
            "hello there",
        ],
    ),
    (
        SmallTalk::Thanks,
        &[
            "thanks",
            "thank you",
            "thank you very much",
            "thanks a lot",
            "many thanks",
            "thx",
            "ty",
            "cheers",
            "danke",
            "danke schon",
            "vielen dank",
            "gracias",
            "muchas gracias",
            "merci",
            "merci beaucoup",
            "grazie",
            "grazie mille",
            "dank je",
            "dank u",
            "bedankt",
            "dank je wel",
            "dank u wel",
            "great thanks",
            "ok thanks",
            "perfect thanks",
            "super danke",
        ],
    ),
    (
        SmallTalk::Goodbye,
        &[
            "bye",
            "goodbye",
            "bye bye",
            "see you",
            "have a nice day",
            "tschuss",
            "auf wiedersehen",
            "adios",
            "hasta luego",
            "au revoir",
            "a bientot",
            "arrivederci",
            "tot ziens",
            "doei",
            "dag dag",
        ],
    ),
    (
        SmallTalk::HowAreYou,
        &[
            "how are you",
            "how are you doing",
            "how s it going",
            "wie geht s",
            "wie geht es dir",
            "wie geht es ihnen",
            "que tal",
            "como estas",
            "ca va",
            "comment ca va",
            "comment allez vous",
            "come stai",
            "come va",
            "hoe gaat het",
            "hoe is het",
        ],
    ),
    (
        SmallTalk::AreYouABot,
        &[
            "are you a bot",
            "are you a robot",
            "are you human",
            "are you a real person",
            "are you an ai",
            "bist du ein bot",
            "bist du ein mensch",
            "eres un bot",
            "eres humano",
            "es tu un robot",
            "tu es un robot",
            "sei un bot",
            "sei umano",
            "ben je een bot",
            "ben je een mens",
        ],
    ),
];

/// Words that may surround small talk without making it a question.
const FILLER: &[&str] = &[
    "",
    "again",
    "so much",
    "very much",
    "a lot",
    "all",
    "there",
    "everyone",
    "team",
    "folks",
    "guys",
    "bot",
    "ok",
    "okay",
    "great",
    "perfect",
    "super",
    "nice",
];

/// Is the whole message small talk? A greeting followed by a question is not.
pub fn small_talk(text: &str, _lang: &str) -> Option<SmallTalk> {
    let folded = fold(text);
    let trimmed = folded.trim();
    if trimmed.is_empty() || trimmed.split(' ').count() > 8 {
        return None;
    }
    for (kind, phrases) in SMALL_TALK {
        for p in *phrases {
            if let Some(rest) = trimmed.strip_prefix(p)
                && (rest.is_empty() || rest.starts_with(' '))
            {
                let rest = rest.trim();
                if FILLER.contains(&rest) || SMALL_TALK.iter().any(|(_, ps)| ps.contains(&rest)) {
                    return Some(*kind);
                }
            }
        }
    }
    None
}

impl SmallTalk {
    /// The assistant's reply in `lang` (English when not one of [`LANGUAGES`]).
    pub fn reply(self, lang: &str) -> &'static str {
        use SmallTalk::*;
        match (self, lang) {
            (Greeting, "de") => "Hallo! Wie kann ich Ihnen helfen?",
            (Greeting, "es") => "¡Hola! ¿En qué puedo ayudarle?",
            (Greeting, "fr") => "Bonjour ! Comment puis-je vous aider ?",
            (Greeting, "it") => "Ciao! Come posso aiutarla?",
            (Greeting, "nl") => "Hallo! Waarmee kan ik u helpen?",
            (Greeting, _) => "Hello! How can I help you today?",
            (Thanks, "de") => "Gern geschehen! Kann ich sonst noch helfen?",
            (Thanks, "es") => "¡De nada! ¿Puedo ayudarle en algo más?",
            (Thanks, "fr") => "Avec plaisir ! Puis-je vous aider pour autre chose ?",
            (Thanks, "it") => "Prego! Posso aiutarla in altro?",
            (Thanks, "nl") => "Graag gedaan! Kan ik u ergens anders mee helpen?",
            (Thanks, _) => "You're welcome! Is there anything else I can help with?",
            (Goodbye, "de") => "Auf Wiedersehen und einen schönen Tag!",
            (Goodbye, "es") => "¡Hasta luego, que tenga un buen día!",
            (Goodbye, "fr") => "Au revoir et bonne journée !",
            (Goodbye, "it") => "Arrivederci e buona giornata!",
            (Goodbye, "nl") => "Tot ziens en een fijne dag!",
            (Goodbye, _) => "Goodbye, and have a great day!",
            (HowAreYou, "de") => "Danke, mir geht es gut! Wie kann ich Ihnen helfen?",
            (HowAreYou, "es") => "¡Muy bien, gracias! ¿En qué puedo ayudarle?",
            (HowAreYou, "fr") => "Très bien, merci ! Comment puis-je vous aider ?",
            (HowAreYou, "it") => "Bene, grazie! Come posso aiutarla?",
            (HowAreYou, "nl") => "Goed, dank u! Waarmee kan ik u helpen?",
            (HowAreYou, _) => "I'm doing well, thanks! How can I help you?",
            (AreYouABot, "de") => {
                "Ich bin ein KI-Assistent. Ich beantworte Fragen aus unseren Hilfeartikeln und verbinde Sie jederzeit mit einer Person aus unserem Team."
            }
            (AreYouABot, "es") => {
                "Soy un asistente de IA. Respondo con nuestros artículos de ayuda y puedo ponerle en contacto con una persona de nuestro equipo cuando quiera."
            }
            (AreYouABot, "fr") => {
                "Je suis un assistant IA. Je réponds à partir de nos articles d'aide et je peux vous mettre en relation avec une personne de notre équipe à tout moment."
            }
            (AreYouABot, "it") => {
                "Sono un assistente IA. Rispondo con i nostri articoli di assistenza e posso metterla in contatto con una persona del nostro team quando vuole."
            }
            (AreYouABot, "nl") => {
                "Ik ben een AI-assistent. Ik antwoord op basis van onze helpartikelen en kan u altijd doorverbinden met een medewerker."
            }
            (AreYouABot, _) => {
                "I'm an AI assistant. I answer from our help articles, and I can connect you with a person from our team at any time."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_removes_case_accents_and_punctuation() {
        assert_eq!(fold("Ich MÖCHTE, bitte!"), " ich mochte bitte ");
        assert_eq!(fold("¿Hablar?"), " hablar ");
    }

    #[test]
    fn short_messages_get_their_language() {
        let cases = [
            ("I want to talk to a person", "en"),
            ("Ich möchte bitte mit einem Menschen sprechen", "de"),
            ("Quiero hablar con una persona", "es"),
            ("Je veux parler à un humain", "fr"),
            ("Voglio parlare con un operatore", "it"),
            ("Ik wil graag met een medewerker spreken", "nl"),
            ("Wo ist meine Bestellung?", "de"),
            ("¿Dónde está mi pedido?", "es"),
            ("Où est ma commande ?", "fr"),
            ("How long do returns take?", "en"),
        ];
        for (text, lang) in cases {
            assert_eq!(detect_language(text, "en"), lang, "{text}");
        }
        assert_eq!(detect_language("ok", "de"), "de", "too short to tell: the fallback");
    }

    #[test]
    fn requests_for_a_person_are_recognised_in_six_languages() {
        let yes = [
            "I want to talk to a person",
            "Can I speak to a human please?",
            "connect me with a live agent",
            "agent please",
            "Human!",
            "I need a real person, this bot is useless",
            "Ich möchte mit einem Menschen sprechen",
            "Bitte verbinden Sie mich mit einem Mitarbeiter",
            "Kann ich mit jemandem vom Kundenservice reden?",
            "Quiero hablar con una persona",
            "¿Puedo hablar con un agente?",
            "Necesito un humano",
            "Je veux parler à un humain",
            "Pouvez-vous me passer un conseiller ?",
            "Voglio parlare con un operatore",
            "Posso parlare con una persona?",
            "Ik wil met een medewerker spreken",
            "Kan ik met een mens praten?",
        ];
        for text in yes {
            assert!(wants_human(text).is_some(), "missed: {text}");
        }
        let no = [
            "Does a person check my order before it ships?",
            "Who is the person responsible for returns?",
            "How long do returns take?",
            "Is the agent discount still available?",
            "My order number is 12345",
            "Wie lange dauert der Versand?",
            "¿Cuánto cuesta el envío?",
            "Ce produit est-il disponible ?",
        ];
        for text in no {
            assert!(wants_human(text).is_none(), "false alarm: {text}");
        }
    }

    #[test]
    fn small_talk_is_only_small_talk() {
        assert_eq!(small_talk("Hello!", "en"), Some(SmallTalk::Greeting));
        assert_eq!(small_talk("hi there", "en"), Some(SmallTalk::Greeting));
        assert_eq!(small_talk("Thanks a lot!", "en"), Some(SmallTalk::Thanks));
        assert_eq!(small_talk("Vielen Dank!", "de"), Some(SmallTalk::Thanks));
        assert_eq!(small_talk("¡Hola!", "es"), Some(SmallTalk::Greeting));
        assert_eq!(small_talk("Merci beaucoup", "fr"), Some(SmallTalk::Thanks));
        assert_eq!(small_talk("Are you a bot?", "en"), Some(SmallTalk::AreYouABot));
        assert_eq!(small_talk("hi, where is my order?", "en"), None);
        assert_eq!(small_talk("thanks, but how do I return it?", "en"), None);
        assert_eq!(small_talk("How long do returns take?", "en"), None);
    }

    #[test]
    fn every_small_talk_reply_exists_in_every_language() {
        for kind in
            [SmallTalk::Greeting, SmallTalk::Thanks, SmallTalk::Goodbye, SmallTalk::HowAreYou, SmallTalk::AreYouABot]
        {
            for lang in LANGUAGES {
                assert!(!kind.reply(lang).is_empty());
            }
            assert_ne!(kind.reply("de"), kind.reply("en"));
        }
    }
}
