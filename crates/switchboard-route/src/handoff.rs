//! "Wants a human": the customer asks for a person.

use crate::fold;

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
            "kundenberater",
            "kundenberaterin",
            "servicemitarbeiter",
            "kundenbetreuer",
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
            "anrufen",
            "erreichen",
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
            "comunicame",
            "comuniqueme",
            "me gustaria hablar",
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
            "passez moi",
            "passe moi",
            "mettre en relation",
            "je veux un",
            "je veux une",
            "besoin d un",
            "besoin d une",
            "mettez moi",
            "en relation avec",
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
            "mi passi",
            "mi passa",
            "passami",
            "in contatto con",
            "mettetemi",
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

/// Words that, in a short message with nothing else but politeness, mean "a person" on
/// their own ("agent please", "real human", "humano por favor").
const BARE_PEOPLE: &[&str] = &[
    "human",
    "humans",
    "agent",
    "operator",
    "representative",
    "person",
    "someone",
    "mensch",
    "mitarbeiter",
    "kundenservice",
    "humano",
    "agente",
    "operador",
    "humain",
    "conseiller",
    "operatore",
    "umano",
    "medewerker",
    "mens",
    "klantenservice",
];

/// Words that may stand beside a [`BARE_PEOPLE`] word in such a message.
const BARE_FILLER: &[&str] = &[
    "a",
    "an",
    "real",
    "live",
    "please",
    "pls",
    "plz",
    "now",
    "no",
    "more",
    "bot",
    "not",
    "i",
    "want",
    "need",
    "talk",
    "speak",
    "to",
    "with",
    "give",
    "me",
    "just",
    "bitte",
    "echter",
    "einen",
    "jetzt",
    "por",
    "favor",
    "real",
    "un",
    "una",
    "ahora",
    "svp",
    "s",
    "il",
    "vous",
    "plait",
    "vrai",
    "per",
    "favore",
    "graag",
    "een",
    "echte",
    "nu",
    "alsjeblieft",
    "ok",
    "hello",
    "hi",
    "hallo",
    "hola",
    "bonjour",
    "ciao",
];

/// Articles, pronouns, prepositions and "real"/"echt" in the six languages (folded).
const LINK_WORDS: &[&str] = &[
    "a", "an", "the", "to", "with", "me", "my", "your", "real", "live", "actual", "please", "sie", "mich", "mir",
    "mit", "einem", "einer", "einen", "ein", "eine", "echten", "echte", "echter", "bitte", "dem", "der", "den", "zu",
    "un", "una", "con", "el", "la", "al", "por", "favor", "real", "une", "le", "les", "avec", "vrai", "vraie", "svp",
    "il", "lo", "uno", "per", "vero", "vera", "met", "een", "de", "het", "echt", "graag", "mijn",
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
///
/// Words are first matched against the handoff vocabulary with typos forgiven ("tlak to a
/// humna", "parlé a un umain"); then a person word ("human", "Mitarbeiter", "conseiller", ...)
/// must appear together with a request frame ("talk to", "verbinden", "quiero hablar", ...), or
/// stand alone in a short polite message ("agent please"). Sentences that ask *about* people
/// ("does a person check my order?") are not requests.
pub fn wants_human(text: &str) -> Option<HandoffRequest> {
    let folded = correct_typos(&fold(text));
    let words: Vec<&str> = folded.split_whitespace().collect();
    if !words.is_empty()
        && words.len() <= 6
        && let Some(person) = words.iter().find(|w| BARE_PEOPLE.contains(w))
        && words.iter().all(|w| BARE_PEOPLE.contains(w) || BARE_FILLER.contains(w))
    {
        let language = PEOPLE.iter().find(|(_, ps)| ps.contains(person)).map_or("en", |(lang, _)| *lang);
        let matched = BARE_PEOPLE.iter().find(|p| *p == person).copied().unwrap_or("human");
        return Some(HandoffRequest { language, matched });
    }
    let asks_about = ABOUT_PEOPLE.iter().any(|f| folded.contains(f));
    if asks_about && !strong_request(&folded) {
        return None;
    }
    // Where each word occurs, so a phrase is looked for only where its first word is.
    let mut positions: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, word) in words.iter().enumerate() {
        positions.entry(word).or_default().push(i);
    }
    let occurrences = |phrase: &str| -> Vec<(usize, usize)> {
        let needle: Vec<&str> = phrase.split(' ').collect();
        positions
            .get(needle[0])
            .into_iter()
            .flatten()
            .filter(|&&i| words.get(i..i + needle.len()) == Some(&needle[..]))
            .map(|&i| (i, i + needle.len()))
            .collect()
    };
    // Words that may stand between a request and its person without loosening the link
    // ("verbinden Sie mich mit einem echten Kundenberater"): counted as no distance.
    let mut content_before = Vec::with_capacity(words.len() + 1);
    content_before.push(0usize);
    for word in &words {
        let last = *content_before.last().unwrap_or(&0);
        content_before.push(last + usize::from(!LINK_WORDS.contains(word)));
    }
    let gap = |from: usize, to: usize| content_before[to] - content_before[from];
    for ((lang, people), (_, asks)) in PEOPLE.iter().zip(ASKS) {
        let people_at: Vec<(usize, usize)> = people.iter().flat_map(|p| occurrences(p)).collect();
        for ask in *asks {
            // The person must be close to the request ("can I get a refund as a private person"
            // asks for a refund): at most two other words between them, on either side.
            let near = occurrences(ask).into_iter().any(|(a_start, a_end)| {
                people_at.iter().any(|&(p_start, p_end)| {
                    (p_start >= a_end && gap(a_end, p_start) <= 2) || (a_start >= p_end && gap(p_end, a_start) <= 2)
                })
            });
            if near {
                return Some(HandoffRequest { language: lang, matched: ask });
            }
        }
    }
    None
}

/// Words typos are never corrected *into* something else from: real words one edit away from
/// a handoff word ("agenda" / "agente", "parle" is fine: it is French for "speak").
const NOT_TYPOS: &[&str] = &["agenda", "persons", "personal", "menu", "mens", "humor", "humour", "operation"];

/// Replaces each word that is one edit away from a handoff word by that word. Short words
/// (under six letters) are only corrected for swapped letters ("tlak", "humna"), since one edit
/// turns most short words into other real words.
fn correct_typos(folded: &str) -> String {
    let vocabulary = vocabulary();
    // Long messages repeat words: decide each distinct word once.
    let mut seen: std::collections::HashMap<&str, Option<&str>> = std::collections::HashMap::new();
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    for word in folded.split_whitespace() {
        let corrected = *seen.entry(word).or_insert_with(|| {
            let known = word.len() < 4 || NOT_TYPOS.contains(&word) || vocabulary.binary_search(&word).is_ok();
            if known { None } else { vocabulary.iter().find(|v| is_typo_of(word, v)).copied() }
        });
        out.push_str(corrected.unwrap_or(word));
        out.push(' ');
    }
    out
}

/// Whether `word` (not itself a vocabulary word) is one edit away from
/// `target`: any one edit for targets of six letters or more, swapped
/// neighbours only for shorter ones ("tlak" / "talk").
pub fn is_typo_of(word: &str, target: &str) -> bool {
    let (w, t) = (word.chars().count(), target.chars().count());
    if w.abs_diff(t) > 1 {
        return false;
    }
    let distance = strsim::osa_distance(word, target);
    if t >= 6 {
        return distance == 1;
    }
    // Same letters, two neighbours swapped.
    distance == 1 && w == t && {
        let mut a: Vec<char> = word.chars().collect();
        let mut b: Vec<char> = target.chars().collect();
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }
}

/// Every single word of the person and request vocabularies (at least four letters long).
fn vocabulary() -> &'static [&'static str] {
    static WORDS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut words: Vec<&'static str> = PEOPLE
            .iter()
            .chain(ASKS)
            .flat_map(|(_, phrases)| phrases.iter().flat_map(|p| p.split(' ')))
            .chain(BARE_PEOPLE.iter().copied())
            .filter(|w| w.len() >= 4)
            .collect();
        words.sort_unstable();
        words.dedup();
        words
    });
    &WORDS
}

/// Requests that stay requests even when the sentence also mentions checking or reviewing.
fn strong_request(folded: &str) -> bool {
    [" i want to talk ", " i want to speak ", " let me talk ", " connect me ", " transfer me ", " put me through "]
        .iter()
        .any(|f| folded.contains(f))
}
