//! The extractive answerer: the default "act" stage when no LLM is
//! configured. It answers only with sentences taken from the retrieved
//! chunks, so it cannot invent anything; the work is in picking the right
//! ones and in knowing when none of them answers.
//!
//! 1. [`candidates`] splits the top chunks into sentences (list items, table
//!    rows and FAQ answers stay whole) and scores each lexically: the share of
//!    the question's content words (weighted by rarity among the candidates)
//!    found in the sentence or in its chunk's heading path.
//! 2. The caller embeds the question and the candidates (heading path in
//!    front) when a model is loaded: the semantic evidence.
//! 3. [`compose`] combines lexical, semantic and retrieval-rank evidence,
//!    takes the best sentence with its close neighbours (and a second source
//!    when it adds something), numbers the citations, and computes the
//!    confidence the pipeline compares with the abstain threshold.

use std::collections::{HashMap, HashSet};

pub use super::answer_type::AnswerType;
use super::answer_type::expected;
use super::places;

/// A retrieved chunk handed to the answerer, best first.
#[derive(Debug, Clone)]
pub struct Passage {
    pub chunk_id: String,
    pub document_id: String,
    pub title: String,
    pub url: Option<String>,
    pub heading_path: String,
    pub text: String,
    /// Cosine similarity of the chunk to the question, when vectors were searched.
    pub dense: Option<f64>,
}

/// One sentence that might answer.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Index into the passages.
    pub passage: usize,
    /// Position within the passage (to keep reading order).
    pub position: usize,
    /// What the customer is shown.
    pub text: String,
    /// What is matched against the question: heading path, FAQ question, sentence.
    pub match_text: String,
    /// The list within its passage it is an item of, when it is one.
    pub list: Option<usize>,
    /// Share of the question's weighted content words present (0 to 1).
    pub lexical: f64,
    /// The kind of fact the question asks for, when it says.
    pub expects: Option<AnswerType>,
    /// Whether it holds a fact of that kind (`None`: the question does not say).
    pub fits: Option<bool>,
    /// Table cells (`UK: 9`) whose heading and value are both in the question.
    pub cells_matched: usize,
    /// It holds an identifier the question names word for word (a SKU, an order code).
    pub identifier: bool,
    /// Names in the question (a place, a product, a brand) its passage never mentions.
    pub unmatched_names: Vec<String>,
    /// It opens the article whose title is all the question asks about
    /// ("student discount": "Students get 15% off …").
    pub opens_topic: bool,
    /// It names a colour, but not the one the question asks for ("in black":
    /// "Corrie 28 daypack, Ember red"): another variant of the product.
    pub other_colour: bool,
    /// Of the question's words it holds only names, and its section's heading
    /// does not hold the rest either: it is about the place or product asked
    /// about, not what is asked about it ("jobs in Utrecht": the Utrecht
    /// store's address; "opening hours in Utrecht" under the heading "Store
    /// locations and opening hours > Utrecht" is about them).
    pub names_only: bool,
}

/// One numbered source of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    pub number: usize,
    pub passage: usize,
    /// The sentences taken from it.
    pub snippet: String,
}

#[derive(Debug, Clone)]
pub struct Answer {
    /// The reply with `[n]` markers, or empty when nothing qualified.
    pub text: String,
    pub citations: Vec<Citation>,
    /// 0 to 1: how sure the answerer is that `text` answers the question.
    pub confidence: f64,
    /// The evidence behind the confidence, for the transcript.
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Evidence {
    pub best_lexical: f64,
    pub best_semantic: Option<f64>,
    pub top_chunk_dense: Option<f64>,
    pub candidates: usize,
    /// The kind of fact the question asks for, and whether the answer holds one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expects: Option<AnswerType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_fits: Option<bool>,
    /// Names in the question the answer's source never mentions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmatched_names: Vec<String>,
    /// The answer names another colour of the product than the one asked about.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub other_variant: bool,
    /// The answer's sentence holds the names the question gives and none of its other words.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub names_only: bool,
}

/// The confidence below which the answerer abstains unless an agent sets its
/// own: calibrated on the sample shop's answerable and unanswerable questions
/// (docs/bench/answers.md: the best balanced accuracy of the thresholds, 0.48
/// -> 92% of answerable questions kept, 90% of unanswerable ones abstained).
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.48;

const MAX_ANSWER_SENTENCES: usize = 3;

/// Added to the ranking score of a sentence that holds the kind of fact the
/// question asks for (scores are 0 to 1; 0.06 reorders close candidates only).
const TYPE_FIT_BONUS: f64 = 0.06;
/// The confidence of an answer without the kind of fact asked for is scaled by this.
const TYPE_MISS_FACTOR: f64 = 0.75;
/// The confidence of an answer whose source never mentions a name the question gives is scaled by this.
const NAME_MISS_FACTOR: f64 = 0.75;
/// Taken from the ranking score of a sentence whose passage never mentions a name the question gives.
const NAME_MISS_PENALTY: f64 = 0.08;
/// Added to the ranking score of the opening sentence of the article a topic question names.
const TOPIC_OPENING_BONUS: f64 = 0.08;
/// Added to the ranking score per table cell matched by heading and value (two at most).
const CELL_BONUS: f64 = 0.05;
/// With the question's identifier in the best sentence, confidence is at least
/// this plus half the lexical share.
const IDENTIFIER_FLOOR: f64 = 0.35;
const MAX_ANSWER_WORDS: usize = 90;

/// Words that carry no topic. Kept short on purpose: "return", "order" and
/// the like are exactly what support questions are about.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do",
    "does", "did", "for", "from", "get", "got", "had", "has", "have", "hello", "hi", "how", "i", "if", "in", "is",
    "it", "its", "me", "my", "of", "on", "or", "our", "please", "so", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "us", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will",
    "with", "would", "you", "your", "yours", "thanks", "thank", "much", "many", "some", "should", "need",
    "want", "tell", "know", "just", "also", "than", "too", "very", "into", "onto", "off", "out", "up", "something",
    "anything", "everything", "nothing", "someone", "anyone", "somebody", "anybody", "thing", "now", "already",
    "still", "really", "actually", "ok", "okay", "hey", "possible", "able",
    // What is left of "doesn't", "isn't" once the apostrophe's part is off.
    "don", "doesn", "didn", "isn", "aren", "wasn", "weren", "won", "couldn", "wouldn", "shouldn", "haven", "hasn",
    "hadn",
];

/// Lower-cased content words with a light stemming, so "returns",
/// "returned" and "returning" meet "return".
/// Regions written several ways ("US", "USA", "United States") are one term,
/// so a question about US orders meets the section headed "United States";
/// a hyphenated word is also the two halves written together.
pub fn terms(text: &str) -> Vec<String> {
    let text = &without_contractions(text);
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let (region, used) = region(&words[i..]);
        if let Some(region) = region {
            out.push(region.to_owned());
            i += used;
            continue;
        }
        let w = words[i].to_lowercase();
        i += 1;
        // "whats" and "hows" carry no more topic than "what" and "how".
        let stemmed = stem(&w);
        if !STOPWORDS.contains(&w.as_str()) && !STOPWORDS.contains(&stemmed.as_str()) {
            out.push(stemmed);
        }
        // A country is also its region: the EU's rules answer for France.
        if EU_COUNTRIES.contains(&w.as_str()) {
            out.push("europeanunion".to_owned());
        } else if UK_NATIONS.contains(&w.as_str()) {
            out.push("unitedkingdom".to_owned());
        }
    }
    // "re-proof" is also "reproof", "e-mail" "email", "pre-order" "preorder".
    for word in text.split_whitespace() {
        let parts: Vec<&str> = word.trim_matches(|c: char| !c.is_alphanumeric()).split('-').collect();
        if parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.chars().all(char::is_alphabetic)) {
            out.push(stem(&parts.concat().to_lowercase()));
        }
    }
    out
}

/// What an apostrophe adds to a word, taken off ("can't" -> "can", "doesn't"
/// -> "doesn", "men's" -> "men", "I'm" -> "I"): the letters left after it are
/// no words of the question.
fn without_contractions(text: &str) -> String {
    const ENDINGS: &[&str] = &["t", "s", "m", "re", "ve", "ll", "d"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['\'', '\u{2019}']) {
        let apostrophe = rest[at..].chars().next().map_or(1, char::len_utf8);
        let after = &rest[at + apostrophe..];
        let ending = after.find(|c: char| !c.is_alphanumeric()).map_or(after, |end| &after[..end]);
        out.push_str(&rest[..at]);
        if at > 0 && ENDINGS.contains(&ending.to_lowercase().as_str()) {
            rest = &after[ending.len()..];
        } else {
            out.push(' ');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The region `words` start with, as one term, and how many words name it.
/// "US" counts only in capitals: "us" is a pronoun.
fn region(words: &[&str]) -> (Option<&'static str>, usize) {
    let first = words[0];
    let next = words.get(1).map(|w| w.to_lowercase());
    match (first.to_lowercase().as_str(), next.as_deref()) {
        ("united", Some("states")) => (Some("unitedstates"), 2),
        ("united", Some("kingdom")) => (Some("unitedkingdom"), 2),
        ("european", Some("union")) => (Some("europeanunion"), 2),
        ("great", Some("britain")) => (Some("unitedkingdom"), 2),
        ("northern", Some("ireland")) => (Some("unitedkingdom"), 2),
        _ if first == "US" || first == "USA" => (Some("unitedstates"), 1),
        ("uk" | "britain", _) => (Some("unitedkingdom"), 1),
        ("eu", _) => (Some("europeanunion"), 1),
        _ => (None, 1),
    }
}

/// Light stemming: one inflection off ("returns", "returned", "returning" ->
/// "return"; "deliveries" -> "delivery"), then a noun in "-ery" meets its verb
/// ("delivery" -> "deliver", "recovery" -> "recover").
fn stem(word: &str) -> String {
    if word.chars().any(|c| c.is_ascii_digit()) || word.chars().count() <= 3 {
        return word.to_owned();
    }
    let mut out = word.to_owned();
    if let Some(base) = word.strip_suffix("ies")
        && base.chars().count() >= 3
    {
        out = format!("{base}y");
    } else {
        for suffix in ["ing", "ed", "es", "s"] {
            if let Some(base) = word.strip_suffix(suffix)
                && base.chars().count() >= 3
                && !(suffix == "s" && base.ends_with('s'))
            {
                out = base.to_owned();
                break;
            }
        }
    }
    if out.ends_with("ery") && out.chars().count() >= 6 {
        out.pop();
    }
    out
}

/// A sentence an answer may quote.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    /// What the customer is shown.
    pub quote: String,
    /// What is matched against the question.
    pub matched: String,
    /// The list it is an item of (numbered within the chunk), when it is one.
    pub list: Option<usize>,
}

impl Sentence {
    fn plain(text: String) -> Self {
        Sentence { quote: text.clone(), matched: text, list: None }
    }
}

/// Splits a chunk into the sentences an answer may quote. `heading` is the
/// last heading over the chunk ("What we accept online").
pub fn sentences(text: &str, heading: &str) -> Vec<Sentence> {
    // A FAQ chunk ("Q: …\nA: …") answers as a whole; its question is matched.
    if let Some(rest) = text.strip_prefix("Q: ")
        && let Some((question, answer)) = rest.split_once("\nA: ")
    {
        let answer = answer.trim().to_owned();
        return vec![Sentence { matched: format!("{question} {answer}"), ..Sentence::plain(answer) }];
    }
    let mut out: Vec<Sentence> = Vec::new();
    // What introduces a list: the line before it when it ends with a colon
    // ("We accept:"), else the heading over the chunk.
    let mut lead: Option<&str> = None;
    // A list item ending with a colon introduces the items indented under it
    // ("- Klarna:" over "  - UK: Pay in 3 …"): (its indent, its text).
    let mut parent: Option<(usize, String)> = None;
    // Lists seen so far, and whether the last line was an item of the current one.
    let (mut lists, mut in_list) = (0, false);
    for raw in text.lines().filter(|l| !l.trim().is_empty()) {
        let line = raw.trim();
        let indent = raw.len() - raw.trim_start().len();
        // List items and table rows are units of meaning of their own.
        if line.starts_with(['-', '*', '•', '|']) || line.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            let item = line.trim_start_matches(['-', '*', '•']).trim().to_owned();
            if parent.as_ref().is_some_and(|(at, _)| indent <= *at) {
                parent = None;
                in_list = false;
            }
            let introduced_by = match &parent {
                Some((_, text)) => text.trim_end_matches(':'),
                None => lead.unwrap_or(heading).trim().trim_end_matches(':'),
            };
            let introduced_by = introduced_by.to_owned();
            if item.ends_with(':') && !line.starts_with('|') {
                // An introduction, not an answer: its items carry it.
                parent = Some((indent, item));
                in_list = false;
                continue;
            }
            if !in_list {
                lists += 1;
                in_list = true;
            }
            let list = (!line.starts_with('|')).then_some(lists);
            if line.starts_with('|') || introduced_by.is_empty() {
                out.push(Sentence { list, ..Sentence::plain(item) });
            } else if item.split_whitespace().count() < 3 {
                // "- PayPal" says nothing alone: quoted with what the list
                // is ("What we accept online: PayPal").
                out.push(Sentence { list, ..Sentence::plain(format!("{introduced_by}: {item}")) });
            } else {
                out.push(Sentence { matched: format!("{introduced_by}: {item}"), quote: item, list });
            }
            continue;
        }
        lead = line.ends_with(':').then_some(line);
        parent = None;
        in_list = false;
        for sentence in split_sentences(line) {
            out.push(Sentence::plain(sentence));
        }
    }
    out.retain(|s| s.quote.split_whitespace().count() >= 2);
    out
}

const ABBREVIATIONS: &[&str] =
    &["e.g", "i.e", "etc", "approx", "no", "mr", "mrs", "ms", "dr", "st", "vs", "incl", "min"];

fn split_sentences(line: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &(at, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let after = chars.get(i + 2).map(|&(_, n)| n);
        let boundary =
            next.is_some_and(char::is_whitespace) && after.is_some_and(|a| a.is_uppercase() || a.is_ascii_digit());
        if !boundary {
            continue;
        }
        let word = line[start..at].rsplit(|ch: char| ch.is_whitespace()).next().unwrap_or("").to_lowercase();
        if c == '.' && (ABBREVIATIONS.contains(&word.as_str()) || word.chars().count() == 1) {
            continue;
        }
        let end = at + c.len_utf8();
        out.push(line[start..end].trim().to_owned());
        start = end;
    }
    let rest = line[start..].trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// The sentences of the passages with their lexical evidence.
pub fn candidates(question: &str, passages: &[Passage]) -> Vec<Candidate> {
    let mut found = Vec::new();
    // A city the retrieved knowledge never names is read as its country
    // ("Toronto": Canada's rules answer); one it names is itself (the
    // Edinburgh store is not the Kendal one).
    let knowledge = switchboard_route::fold(&passages.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(" "));
    let stand_ins = |name: &str| -> Vec<String> {
        match places::city(name) {
            Some(place) if !knowledge.contains(&switchboard_route::fold(name)) => city_terms(&place),
            _ => Vec::new(),
        }
    };
    let question_names: Vec<Name> = asked(question)
        .iter()
        .flat_map(|asked| names(asked).into_iter().map(|at| asked[at].to_owned()))
        .filter(|n| !switchboard_route::fold(n).trim().is_empty())
        .map(|written| Name { stand_ins: stand_ins(&written), written })
        .collect();
    let told_cities: Vec<(Vec<String>, Vec<String>)> = names(question)
        .into_iter()
        .map(|at| &question[at])
        .map(|name| (terms(name), stand_ins(name)))
        .filter(|(_, stand_ins)| !stand_ins.is_empty())
        .collect();
    for (p, passage) in passages.iter().enumerate() {
        let heading = passage.heading_path.rsplit(" > ").next().unwrap_or("");
        let unmatched =
            unmatched_names(&question_names, &format!("{} {} {}", passage.title, passage.heading_path, passage.text));
        for (position, sentence) in sentences(&passage.text, heading).into_iter().enumerate() {
            found.push(Candidate {
                passage: p,
                position,
                text: sentence.quote,
                match_text: sentence.matched,
                list: sentence.list,
                lexical: 0.0,
                expects: None,
                fits: None,
                cells_matched: 0,
                identifier: false,
                unmatched_names: unmatched.clone(),
                opens_topic: false,
                other_colour: false,
                names_only: false,
            });
        }
    }
    if let Some(kind) = expected(question) {
        for c in &mut found {
            c.expects = Some(kind);
            c.fits = Some(kind.found_in(&c.text));
        }
    }
    let bags: Vec<HashSet<String>> = found.iter().map(|c| terms(&c.match_text).into_iter().collect()).collect();
    let headings: Vec<HashSet<String>> =
        passages.iter().map(|p| terms(&format!("{} {}", p.title, p.heading_path)).into_iter().collect()).collect();
    let question_terms: Vec<Asked> = {
        let vocabulary: HashSet<&str> = bags.iter().chain(&headings).flatten().map(String::as_str).collect();
        let written: Vec<String> = terms(question).into_iter().filter_map(|t| untypo(t, &vocabulary)).collect();
        let mut asked = thesaurus().read(&written);
        // A country is met by its region's rules too ("Germany": the EU's);
        // its region is not a second term of the question.
        let mut i = 0;
        while i + 1 < asked.len() {
            let country =
                EU_COUNTRIES.contains(&asked[i].term.as_str()) || UK_NATIONS.contains(&asked[i].term.as_str());
            if country && REGIONS.contains(&asked[i + 1].term.as_str()) {
                let region = asked.remove(i + 1);
                asked[i].or.push(vec![region.term]);
            }
            i += 1;
        }
        for a in &mut asked {
            for (city, stand_ins) in &told_cities {
                if city.contains(&a.term) {
                    a.or.extend(stand_ins.iter().map(|t| vec![t.clone()]));
                }
            }
        }
        asked.sort_by(|a, b| a.term.cmp(&b.term));
        asked.dedup_by(|a, b| {
            let same = a.term == b.term;
            if same {
                b.or.append(&mut a.or);
            }
            same
        });
        asked
    };
    if question_terms.is_empty() || found.is_empty() {
        return found;
    }
    // A question that is only an article's topic is answered by the article's
    // opening, which says what the topic is.
    for c in &mut found {
        let passage = &passages[c.passage];
        let opening = c.position == 0 && !passage.heading_path.contains(" > ");
        if opening {
            c.opens_topic = question_terms.iter().all(|t| t.in_bag(&headings[c.passage]));
        }
    }
    let asked_colours = colours(question);
    if !asked_colours.is_empty() {
        for c in &mut found {
            let named = colours(&c.text);
            c.other_colour = !named.is_empty() && !asked_colours.iter().any(|a| named.contains(a));
        }
    }
    let identifiers = identifiers(question);
    let cell_terms = terms(&without_apostrophes(question));
    for c in &mut found {
        let text = c.text.to_lowercase();
        c.identifier = identifiers.iter().any(|id| text.contains(id.as_str()));
        c.cells_matched = cells_matched(&c.text, &cell_terms);
    }
    // Rarer words among the candidates say more about which one answers.
    let n = bags.len() as f64;
    let weight: Vec<f64> = question_terms
        .iter()
        .map(|q| {
            let df = bags.iter().filter(|b| q.in_bag(b)).count() as f64;
            (1.0 + n / (1.0 + df)).ln()
        })
        .collect();
    let total: f64 = weight.iter().sum();
    // The words of the names asked about, and the question's other words.
    let name_terms: HashSet<String> = question_names.iter().flat_map(|n| terms(&n.written)).collect();
    let (named, other): (Vec<&Asked>, Vec<&Asked>) = question_terms.iter().partition(|q| name_terms.contains(&q.term));
    for (c, bag) in found.iter_mut().zip(&bags) {
        let heading = &headings[c.passage];
        c.names_only = named.iter().any(|q| q.in_bag(bag))
            && !other.iter().any(|q| q.in_bag(bag))
            && other.iter().any(|q| !q.in_bag(heading));
        let mut score = 0.0;
        for (q, &w) in question_terms.iter().zip(&weight) {
            if q.in_bag(bag) {
                score += w;
            } else if q.in_bag(&headings[c.passage]) {
                // The heading says what the sentence is about ("Returns > EU").
                score += 0.6 * w;
            }
        }
        c.lexical = if total > 0.0 { score / total } else { 0.0 };
    }
    found
}

/// A term of the question, with the words knowledge may use for it instead.
#[derive(Debug, Clone, PartialEq)]
struct Asked {
    term: String,
    /// Each a phrase as terms, met when all of them are there.
    or: Vec<Vec<String>>,
}

impl Asked {
    fn in_bag(&self, bag: &HashSet<String>) -> bool {
        bag.contains(&self.term) || self.or.iter().any(|phrase| phrase.iter().all(|t| bag.contains(t)))
    }
}

/// Customers' words and the words support articles use for the same thing
/// (`synonyms.txt`: "log in = sign in", "postage = shipping | delivery"), as terms.
struct Thesaurus {
    entries: HashMap<Vec<String>, Vec<Vec<String>>>,
    longest: usize,
}

impl Thesaurus {
    fn parse(source: &str) -> Self {
        let mut thesaurus = Thesaurus { entries: HashMap::new(), longest: 1 };
        for line in source.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((from, to)) = line.split_once('=') else { continue };
            let key = terms(from);
            let senses: Vec<Vec<String>> = to.split('|').map(terms).filter(|t| !t.is_empty()).collect();
            if key.is_empty() || senses.is_empty() {
                continue;
            }
            thesaurus.longest = thesaurus.longest.max(key.len());
            thesaurus.entries.entry(key).or_default().extend(senses);
        }
        thesaurus
    }

    /// The question's terms, each with what the knowledge may say instead:
    /// a listed phrase ("spread the cost") lends its senses to each of its terms.
    fn read(&self, written: &[String]) -> Vec<Asked> {
        let mut out: Vec<Asked> = written.iter().map(|t| Asked { term: t.clone(), or: Vec::new() }).collect();
        let mut i = 0;
        while i < written.len() {
            let found = (1..=self.longest.min(written.len() - i))
                .rev()
                .find_map(|n| self.entries.get(&written[i..i + n]).map(|senses| (n, senses)));
            let Some((n, senses)) = found else {
                i += 1;
                continue;
            };
            for asked in &mut out[i..i + n] {
                asked.or.extend(senses.iter().cloned());
            }
            i += n;
        }
        out
    }
}

fn thesaurus() -> &'static Thesaurus {
    static THESAURUS: std::sync::OnceLock<Thesaurus> = std::sync::OnceLock::new();
    THESAURUS.get_or_init(|| Thesaurus::parse(include_str!("synonyms.txt")))
}

/// A question term as the knowledge would write it: a word no candidate has
/// that is a typo of one they have ("retrun" -> "return", "warrenty" ->
/// "warranty") becomes that word, and a typo of a word that carries no topic
/// ("cna", "teh") is dropped; anything else stays as written (a word the
/// knowledge lacks is evidence that it does not answer). Conservative, since
/// one edit turns many words into other real words: neighbours swapped at
/// any length, one letter more or less from six letters, one letter changed
/// only from eight ("biking" is not "hiking"); never in numbers and codes.
fn untypo(term: String, vocabulary: &HashSet<&str>) -> Option<String> {
    let letters = term.chars().count();
    if vocabulary.contains(term.as_str()) || term.chars().any(|c| c.is_ascii_digit()) || letters < 3 {
        return Some(term);
    }
    let swapped = |a: &str, b: &str| {
        let (mut x, mut y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        x.sort_unstable();
        y.sort_unstable();
        x == y
    };
    // Under six letters a typo is letters swapped, so "cna" is "can" and "ant" is no "and".
    if letters == 3 && STOPWORDS.iter().any(|s| s.len() == 3 && switchboard_route::is_typo_of(&term, s)) {
        return None;
    }
    if letters < 4 {
        return Some(term);
    }
    let fix = vocabulary
        .iter()
        .filter(|v| {
            let n = v.chars().count();
            switchboard_route::is_typo_of(&term, v) && (swapped(&term, v) || n != letters || n >= 8)
        })
        .min();
    Some(fix.map_or(term, |v| (*v).to_owned()))
}

/// Where a text names something: runs of capitalised words that do not open a
/// sentence, acronyms (`UK`, `EU`) and mixed-case words (`eBay`, `iDEAL`)
/// anywhere, with the model numbers that follow them (`Corrie 38`, `Hydroshell 20K`).
/// Byte ranges, in order.
pub fn names(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    let mut sentence_start = true;
    let mut offset = 0;
    for raw in text.split_inclusive(char::is_whitespace) {
        let start = offset;
        offset += raw.len();
        let word = raw.trim_end().trim_end_matches(['?', '!', '.', ',', ';', ':']);
        let lead = raw.len() - raw.trim_start().len();
        let word_start = start + lead;
        let word = word.trim_start();
        let letters = word.chars().filter(|c| c.is_alphabetic()).count();
        let acronym = (2..=4).contains(&letters) && word.chars().all(|c| c.is_ascii_uppercase());
        let capitalised = word.chars().next().is_some_and(char::is_uppercase) && word != "I" && !sentence_start;
        let mixed = word.chars().skip(1).any(char::is_uppercase) && word.chars().any(char::is_lowercase);
        // "38", "20K": a model number.
        let number = word.chars().any(|c| c.is_ascii_digit()) && word.chars().all(char::is_alphanumeric);
        let end = word_start + word.len();
        let joins = spans.last().is_some_and(|s| text[s.end..word_start].trim().is_empty());
        if acronym || capitalised || mixed || (number && joins) {
            match spans.last_mut() {
                Some(span) if joins => span.end = end,
                _ => spans.push(word_start..end),
            }
        }
        sentence_start = raw.trim_end().ends_with(['?', '!', '.']);
    }
    spans
}

/// The member states of the European Union, in English, lower case.
const EU_COUNTRIES: &[&str] = &[
    "austria",
    "belgium",
    "bulgaria",
    "croatia",
    "cyprus",
    "czechia",
    "denmark",
    "estonia",
    "finland",
    "france",
    "germany",
    "greece",
    "hungary",
    "ireland",
    "italy",
    "latvia",
    "lithuania",
    "luxembourg",
    "malta",
    "netherlands",
    "holland",
    "poland",
    "portugal",
    "romania",
    "slovakia",
    "slovenia",
    "spain",
    "sweden",
];
/// What a search adds for the places a text names: a city's country (and
/// nation, in the United Kingdom), and the region of a country:
/// "delivered in France" -> `["EU"]`, "a parcel to Toronto" -> `["Canada"]`,
/// "next-day delivery to Belfast" -> `["Northern Ireland", "UK"]`
/// (knowledge writes its rules per country and region).
pub fn places_for_search(text: &str) -> Vec<String> {
    let words = |t: &str| -> HashSet<String> {
        t.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).filter(|w| !w.is_empty()).collect()
    };
    let mut out: Vec<String> = Vec::new();
    let written = words(text);
    for place in cities(text) {
        for name in std::iter::once(place.country).chain(place.nation) {
            if !words(name).is_subset(&written) && !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
    }
    // The regions of what the text and the additions name, unless the text says the region itself.
    let regions: HashSet<String> = terms(&format!("{text} {}", out.join(" "))).into_iter().collect();
    let says = |short: &str, long: [&str; 2]| written.contains(short) || long.iter().all(|w| written.contains(*w));
    if regions.contains("europeanunion") && !says("eu", ["european", "union"]) {
        out.push("EU".to_owned());
    }
    if regions.contains("unitedkingdom") && !says("uk", ["united", "kingdom"]) {
        out.push("UK".to_owned());
    }
    out.retain(|o| o != "United Kingdom");
    out
}

/// The cities a text names.
fn cities(text: &str) -> Vec<places::Place> {
    names(text).into_iter().filter_map(|at| places::city(&text[at])).collect()
}

/// The terms that stand in for a city in knowledge that never names it: its
/// country's, its nation's and so its region's ("Belfast": `unitedkingdom`).
fn city_terms(place: &places::Place) -> Vec<String> {
    let mut t = terms(&format!("{} {}", place.country, place.nation.unwrap_or("")));
    t.sort();
    t.dedup();
    t
}

/// The nations of the United Kingdom (one word each).
const UK_NATIONS: &[&str] = &["england", "scotland", "wales"];

/// The terms [`terms`] gives a region in whatever form it is written.
const REGIONS: &[&str] = &["unitedstates", "unitedkingdom", "europeanunion"];

/// A name the question asks about.
#[derive(Debug, Clone)]
struct Name {
    /// As written: `Edinburgh`, `US`, `Corrie 38`.
    written: String,
    /// Terms that mention it too (a city's country, when the knowledge never names the city).
    stand_ins: Vec<String>,
}

/// The names of the question (as written: `Edinburgh`, `US`) that `text` does
/// not mention, folded (`edinburgh`). A region, or a country inside one, is
/// mentioned in any of the forms [`terms`] knows (a rule for the EU answers for
/// Germany; "US" is not the pronoun "us"); a name with stand-ins (a city the
/// knowledge never names) by any of them. A model name (letters and a number:
/// `Corrie 28`) counts only when the text names another model of its line
/// (`Corrie 38`): a text that names none may be a rule for its kind of product.
fn unmatched_names(names: &[Name], text: &str) -> Vec<String> {
    let folded = switchboard_route::fold(text);
    let text_terms: HashSet<String> = terms(text).into_iter().collect();
    names
        .iter()
        .filter_map(|Name { written: name, stand_ins }| {
            let name_folded = switchboard_route::fold(name);
            let name_regions: Vec<String> = terms(name).into_iter().filter(|t| REGIONS.contains(&t.as_str())).collect();
            let mentioned = if name_regions.is_empty() {
                folded.contains(&name_folded) || stand_ins.iter().any(|t| text_terms.contains(t))
            } else {
                name_regions.iter().any(|r| text_terms.contains(r))
            };
            let line = name_folded.split_whitespace().next().unwrap_or("");
            let asked = !name.chars().any(|c| c.is_ascii_digit())
                || (!line.chars().any(|c| c.is_ascii_digit()) && folded.contains(&format!(" {line} ")));
            (asked && !mentioned).then(|| name_folded.trim().to_owned())
        })
        .collect()
}

/// The sentences of a message that ask (end with a question mark), or all of
/// it: "I live in Zurich. Will I pay duties?" asks about duties, and says
/// where the customer lives.
fn asked(message: &str) -> Vec<String> {
    let sentences = split_sentences(message.trim());
    let questions: Vec<String> = sentences.iter().filter(|s| s.ends_with('?')).cloned().collect();
    if questions.is_empty() { sentences } else { questions }
}

/// Colour names, which tell a product's variants apart.
const COLOURS: &[&str] = &[
    "black", "white", "grey", "gray", "red", "blue", "navy", "green", "olive", "moss", "yellow", "orange", "brown",
    "purple", "pink", "beige", "khaki", "teal",
];

/// The colours a text names.
fn colours(text: &str) -> Vec<&'static str> {
    let folded = switchboard_route::fold(text);
    COLOURS.iter().copied().filter(|c| folded.contains(&format!(" {c} "))).collect()
}

/// Codes a customer copies from a label or an email (`TF-FW-SCRM-BRN`, `A1234`):
/// five or more characters, letters with digits or hyphens. Lower-cased.
fn identifiers(question: &str) -> Vec<String> {
    question
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| {
            w.chars().count() >= 5
                && w.chars().any(char::is_alphabetic)
                && (w.chars().any(|c| c.is_ascii_digit()) || w.contains('-'))
        })
        .collect()
}

/// How many cells of a table row (`UK: 9 | EU: 43`) have both their heading
/// and their value among the question's terms: "UK size 9" picks the row of
/// UK 9, not the row where another column happens to hold a 9.
fn cells_matched(text: &str, question_terms: &[String]) -> usize {
    if !text.contains(" | ") {
        return 0;
    }
    text.split(" | ")
        .filter_map(|cell| cell.split_once(": "))
        .filter(|(heading, value)| {
            let (h, v) = (terms(&without_apostrophes(heading)), terms(&without_apostrophes(value)));
            !h.is_empty() && !v.is_empty() && h.iter().chain(&v).all(|t| question_terms.contains(t))
        })
        .count()
}

/// "men's" as one word ("mens"), so its "s" never matches a size S.
fn without_apostrophes(text: &str) -> String {
    text.replace(['\'', '\u{2019}'], "")
}

/// Picks the answer. `semantic[i]` is the cosine similarity of candidate `i`
/// to the question, when a model is loaded.
pub fn compose(passages: &[Passage], candidates: &[Candidate], semantic: Option<&[f32]>) -> Answer {
    let top_chunk_dense = passages.first().and_then(|p| p.dense);
    let expects = candidates.first().and_then(|c| c.expects);
    if candidates.is_empty() {
        return Answer {
            text: String::new(),
            citations: Vec::new(),
            confidence: 0.0,
            evidence: Evidence { top_chunk_dense, ..Default::default() },
        };
    }
    let sem = |i: usize| semantic.and_then(|s| s.get(i)).map(|&v| f64::from(v).max(0.0));
    let score = |i: usize| {
        let c = &candidates[i];
        let prior = 1.0 / (1.0 + c.passage as f64);
        // A sentence holding the kind of fact asked for ("how much": an amount) is preferred.
        let fits = if c.fits == Some(true) { TYPE_FIT_BONUS } else { 0.0 };
        let cells = CELL_BONUS * c.cells_matched.min(2) as f64;
        let names = if c.unmatched_names.is_empty() { 0.0 } else { -NAME_MISS_PENALTY };
        let opening = if c.opens_topic { TOPIC_OPENING_BONUS } else { 0.0 };
        let colour = if c.other_colour { -NAME_MISS_PENALTY } else { 0.0 };
        fits + cells
            + names
            + opening
            + colour
            + match sem(i) {
                Some(s) => 0.55 * s + 0.30 * c.lexical + 0.15 * prior,
                None => 0.80 * c.lexical + 0.20 * prior,
            }
    };
    let scores: Vec<f64> = (0..candidates.len()).map(score).collect();
    let best = (0..candidates.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
    let best_score = scores[best];

    // The best sentence, with neighbours from its passage that also answer
    // (or continue it), in reading order.
    let mut chosen = vec![best];
    let same_passage: Vec<usize> =
        (0..candidates.len()).filter(|&i| candidates[i].passage == candidates[best].passage && i != best).collect();
    for &i in &same_passage {
        let adjacent = candidates[i].position.abs_diff(candidates[best].position) == 1;
        let continues =
            candidates[i].position == candidates[best].position + 1 && starts_like_continuation(&candidates[i].text);
        // The row a question picked by its cells stands alone: the rows around it are other sizes.
        let other_row = candidates[i].cells_matched < candidates[best].cells_matched;
        if ((scores[i] >= 0.85 * best_score && adjacent) || continues) && !other_row {
            chosen.push(i);
        }
    }
    // A second source when it answers nearly as well and says something else.
    if let Some(other) = (0..candidates.len())
        .filter(|&i| candidates[i].passage != candidates[best].passage)
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
        && scores[other] >= 0.92 * best_score
        && !similar(&candidates[other].text, &candidates[best].text)
    {
        chosen.push(other);
    }
    // The best sentence stays; the others are kept best first.
    chosen[1..].sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    chosen.truncate(MAX_ANSWER_SENTENCES);
    // A list item holding the kind of fact asked for comes with the items of
    // its list that hold it too: opening hours are every line of the hours.
    let lists: Vec<(usize, usize)> = chosen
        .iter()
        .filter(|&&i| candidates[i].fits == Some(true))
        .filter_map(|&i| candidates[i].list.map(|list| (candidates[i].passage, list)))
        .collect();
    for (i, c) in candidates.iter().enumerate() {
        if c.fits == Some(true) && c.list.is_some_and(|l| lists.contains(&(c.passage, l))) && !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    let picked = chosen.clone();
    chosen.sort_by_key(|&i| (passage_order(&picked, candidates, i), candidates[i].position));
    let mut words = 0;
    chosen.retain(|&i| {
        words += candidates[i].text.split_whitespace().count();
        i == best || words <= MAX_ANSWER_WORDS
    });

    // Number the sources in order of first use.
    let mut citations: Vec<Citation> = Vec::new();
    let mut text = String::new();
    let mut last_passage = None;
    for &i in &chosen {
        let c = &candidates[i];
        let number = match citations.iter().find(|x| x.passage == c.passage) {
            Some(existing) => existing.number,
            None => {
                citations.push(Citation { number: citations.len() + 1, passage: c.passage, snippet: String::new() });
                citations.len()
            }
        };
        let citation = &mut citations[number - 1];
        if !citation.snippet.is_empty() {
            citation.snippet.push(' ');
        }
        citation.snippet.push_str(&c.text);
        if let Some(previous) = last_passage
            && previous != c.passage
        {
            let n = citations.iter().find(|x| x.passage == previous).map_or(0, |x| x.number);
            text.push_str(&format!(" [{n}]"));
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&ensure_period(&c.text));
        last_passage = Some(c.passage);
    }
    if let Some(previous) = last_passage {
        let n = citations.iter().find(|x| x.passage == previous).map_or(0, |x| x.number);
        text.push_str(&format!(" [{n}]"));
    }

    let best_semantic = sem(best);
    let best_lexical = candidates[best].lexical;
    let mut confidence = confidence(best_lexical, best_semantic, top_chunk_dense);
    // An answer without the kind of fact asked for is most likely about something near it.
    // An identifier the customer copied, found word for word, is evidence that
    // no embedding of an out-of-vocabulary code can give; when most of the
    // question is about it (an example order number in an article does not
    // answer a question about a double charge).
    if candidates[best].identifier && best_lexical >= 0.5 {
        confidence = confidence.max(IDENTIFIER_FLOOR + 0.5 * best_lexical);
    }
    let answer_fits = expects.map(|_| chosen.iter().any(|&i| candidates[i].fits == Some(true)));
    if answer_fits == Some(false) {
        confidence *= TYPE_MISS_FACTOR;
    }
    // A question naming a place, product or brand its answer's source never
    // mentions is most likely about something the knowledge does not cover
    // (parking at another store, a colour not listed).
    let unmatched_names = candidates[best].unmatched_names.clone();
    if !unmatched_names.is_empty() {
        confidence *= NAME_MISS_FACTOR;
    }
    // Another colour of the product asked about is another product.
    let other_variant = candidates[best].other_colour;
    if other_variant {
        confidence *= NAME_MISS_FACTOR;
    }
    // A sentence about the thing asked about that says nothing of what is
    // asked (unless it holds the code the customer copied: a product's row
    // answers for the product).
    let names_only = candidates[best].names_only && !candidates[best].identifier;
    if names_only {
        confidence *= NAME_MISS_FACTOR;
    }
    Answer {
        text,
        citations,
        confidence,
        evidence: Evidence {
            best_lexical,
            best_semantic,
            top_chunk_dense,
            candidates: candidates.len(),
            expects,
            answer_fits,
            unmatched_names,
            other_variant,
            names_only,
        },
    }
}

/// How sure the answer is, from three pieces of evidence that must agree:
/// the best sentence's share of the question's words, its semantic
/// similarity, and how close the best chunk is to the question.
pub fn confidence(lexical: f64, semantic: Option<f64>, chunk_dense: Option<f64>) -> f64 {
    let c = match (semantic, chunk_dense) {
        (Some(s), Some(d)) => 0.30 * lexical + 0.35 * s + 0.35 * d,
        (Some(s), None) => 0.45 * lexical + 0.55 * s,
        (None, Some(d)) => 0.50 * lexical + 0.50 * d,
        // Lexical evidence alone is weaker: ask for more of it.
        (None, None) => 0.85 * lexical,
    };
    c.clamp(0.0, 1.0)
}

fn passage_order(chosen: &[usize], candidates: &[Candidate], i: usize) -> usize {
    chosen.iter().position(|&c| candidates[c].passage == candidates[i].passage).unwrap_or(usize::MAX)
}

fn starts_like_continuation(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("").to_lowercase();
    matches!(
        first.as_str(),
        "this" | "it" | "they" | "these" | "however," | "however" | "otherwise," | "after" | "then"
    )
}

fn similar(a: &str, b: &str) -> bool {
    let a: HashSet<String> = terms(a).into_iter().collect();
    let b: HashSet<String> = terms(b).into_iter().collect();
    let union = a.union(&b).count();
    union > 0 && a.intersection(&b).count() as f64 / union as f64 > 0.6
}

fn ensure_period(text: &str) -> String {
    let t = text.trim();
    if t.ends_with(['.', '!', '?', ':']) { t.to_owned() } else { format!("{t}.") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(heading: &str, text: &str) -> Passage {
        Passage {
            chunk_id: format!("c-{heading}"),
            document_id: "d".into(),
            title: "Help".into(),
            url: None,
            heading_path: heading.into(),
            text: text.into(),
            dense: None,
        }
    }

    #[test]
    fn sentences_keep_abbreviations_list_items_and_faq_answers_whole() {
        let s = sentences("Items must be unused, e.g. with tags. Refunds take 5 days.\n- Free returns in the EU\n", "");
        let texts: Vec<_> = s.iter().map(|s| s.quote.as_str()).collect();
        assert_eq!(texts, ["Items must be unused, e.g. with tags.", "Refunds take 5 days.", "Free returns in the EU"]);
        let faq = sentences("Q: Do you ship to Norway?\nA: Yes, in 3 to 5 days.", "");
        assert_eq!(faq[0].quote, "Yes, in 3 to 5 days.");
        assert!(faq[0].matched.contains("Norway"));
    }

    #[test]
    fn list_items_are_read_with_what_introduces_the_list() {
        let s = sentences(
            "- Visa and Mastercard cards\n- PayPal\n\nIn store we take:\n- cash\n- gift cards",
            "What we accept",
        );
        let pair = |i: usize| (s[i].quote.as_str(), s[i].matched.as_str());
        assert_eq!(pair(0), ("Visa and Mastercard cards", "What we accept: Visa and Mastercard cards"));
        assert_eq!(s[1].quote, "What we accept: PayPal");
        assert_eq!(s[2].quote, "In store we take:");
        assert_eq!(s[3].quote, "In store we take: cash");
        assert_eq!(s[4].quote, "In store we take: gift cards");
        let lists: Vec<_> = s.iter().map(|s| s.list).collect();
        assert_eq!(lists, [Some(1), Some(1), None, Some(2), Some(2)]);
        let nested = sentences("- Klarna:\n  - UK: Pay in 3, three monthly instalments.\n- Cards", "What we accept");
        assert_eq!(nested[0].matched, "Klarna: UK: Pay in 3, three monthly instalments.");
        assert_eq!(nested[1].quote, "What we accept: Cards");
        assert_ne!(nested[0].list, nested[1].list, "the items under an item are a list of their own");
    }

    #[test]
    fn stemming_meets_word_forms() {
        assert_eq!(terms("Returns returned returning"), ["return", "return", "return"]);
        assert_eq!(terms("What is the price?"), ["price"]);
        assert_eq!(terms("whats the price"), ["price"]);
        assert_eq!(terms("I can't log in, it doesn't work"), ["log", "work"]);
        assert_eq!(terms("Tarnfield's men’s jackets, 6 o'clock"), ["tarnfield", "men", "jacket", "6", "o", "clock"]);
        assert_eq!(terms("US orders, United States, tell us"), ["unitedstates", "order", "unitedstates"]);
        assert_eq!(terms("UK or the United Kingdom"), ["unitedkingdom", "unitedkingdom"]);
        assert_eq!(terms("Northern Ireland"), ["unitedkingdom"]);
        assert_eq!(terms("Re-proof it"), ["re", "proof", "reproof"]);
        assert_eq!(terms("delivered in france"), ["deliver", "france", "europeanunion"]);
        assert_eq!(terms("delivery deliveries delivers"), ["deliver", "deliver", "deliver"]);
        assert_eq!(terms("company companies"), ["company", "company"]);
        assert_eq!(places_for_search("Do you ship to Germany or Scotland?"), ["EU", "UK"]);
        assert!(places_for_search("Do you ship to the EU from Germany?").is_empty());
        assert_eq!(places_for_search("How long does a parcel take to reach Toronto?"), ["Canada"]);
        assert_eq!(places_for_search("Next-day delivery to Belfast?"), ["Northern Ireland", "UK"]);
        assert_eq!(places_for_search("Can I return it in Munich?"), ["Germany", "EU"]);
        assert_eq!(places_for_search("Is the Utrecht store open? (The Netherlands)"), ["EU"]);
    }

    #[test]
    fn typos_of_the_knowledges_words_meet_them() {
        let passages = vec![
            passage("Returns", "Unworn boots can be returned within 30 days."),
            passage("Hiking", "Our hiking warranty covers two years."),
        ];
        let cands = candidates("cna i retrun boots?", &passages);
        assert_eq!(cands[0].lexical, 1.0, "{cands:?}");
        let vocabulary: HashSet<&str> = ["return", "warranty", "hiking", "three"].into_iter().collect();
        let fixed = |w: &str| untypo(w.to_owned(), &vocabulary);
        assert_eq!(fixed("retrun").as_deref(), Some("return"));
        assert_eq!(fixed("warrenty").as_deref(), Some("warranty"), "one letter changed in a long word");
        assert_eq!(fixed("cna"), None, "a typo of a word without a topic");
        // Real words one edit away stay themselves.
        assert_eq!(fixed("biking").as_deref(), Some("biking"));
        assert_eq!(fixed("thre").as_deref(), Some("thre"), "one letter less under six letters");
        assert_eq!(fixed("tent").as_deref(), Some("tent"));
        assert_eq!(fixed("20k").as_deref(), Some("20k"));
    }

    #[test]
    fn customers_words_meet_the_words_articles_use() {
        let passages = vec![
            passage("Payment > Klarna", "UK: Pay in 3, three interest-free monthly instalments."),
            passage("Payment > Cards", "We accept Visa and Mastercard for every order."),
        ];
        let cands = candidates("Can I spread the cost of my order over three payments?", &passages);
        assert!(cands[0].lexical > cands[1].lexical, "{cands:?}");
        assert!(cands[0].lexical > 0.5, "spread the cost is paying in instalments: {}", cands[0].lexical);
        let passages = vec![passage("Damaged items", "Tell us within 7 days if an item arrived damaged.")];
        let torn = candidates("My tent arrived torn", &passages)[0].lexical;
        let crushed = candidates("My tent arrived crushed", &passages)[0].lexical;
        assert!(torn > crushed, "torn is damaged ({torn}), an unlisted word is not ({crushed})");
    }

    #[test]
    fn every_synonym_entry_reads() {
        for line in include_str!("synonyms.txt").lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (from, to) = line.split_once('=').unwrap_or_else(|| panic!("no `=` in {line:?}"));
            assert!(!terms(from).is_empty(), "{line:?}: the customer's side is only words without a topic");
            assert!(to.split('|').all(|sense| !terms(sense).is_empty()), "{line:?}: an empty sense");
        }
    }

    #[test]
    fn picks_the_sentence_that_answers_and_cites_it() {
        let passages = vec![
            passage(
                "Returns > EU",
                "We love our customers. You can return items within 30 days of delivery. Shipping is free.",
            ),
            passage("Shipping", "Orders ship within 2 business days."),
        ];
        let question = "How many days do I have to return an item?";
        let cands = candidates(question, &passages);
        let answer = compose(&passages, &cands, None);
        assert!(answer.text.starts_with("You can return items within 30 days of delivery."), "{}", answer.text);
        assert!(answer.text.ends_with("[1]"));
        assert_eq!(answer.citations.len(), 1);
        assert_eq!(answer.citations[0].passage, 0);
    }

    #[test]
    fn unrelated_questions_get_low_confidence() {
        let passages = vec![passage("Returns", "You can return items within 30 days of delivery.")];
        let related = compose(&passages, &candidates("return items days", &passages), None);
        let unrelated = compose(&passages, &candidates("Do you sell gift wrapping for weddings?", &passages), None);
        assert!(related.confidence > DEFAULT_MIN_CONFIDENCE, "{}", related.confidence);
        assert!(unrelated.confidence < DEFAULT_MIN_CONFIDENCE, "{}", unrelated.confidence);
    }

    #[test]
    fn semantic_evidence_can_outrank_word_overlap() {
        let passages = vec![passage("Delivery", "Parcels arrive in 3 to 5 working days. Delivery is by courier.")];
        let cands = candidates("how long until my package gets here", &passages);
        let answer = compose(&passages, &cands, Some(&[0.8, 0.3]));
        assert!(answer.text.starts_with("Parcels arrive in 3 to 5 working days."), "{}", answer.text);
    }

    #[test]
    fn the_kind_of_fact_asked_for_is_preferred_and_its_absence_lowers_confidence() {
        let passages = vec![passage(
            "Customs > Refused parcels",
            "If you refuse a parcel, the parcel comes back to us. We refund your order minus £30 for the return freight.",
        )];
        let question = "I refused my parcel, how much of my money do I get back?";
        let cands = candidates(question, &passages);
        assert!(cands.iter().all(|c| c.expects == Some(AnswerType::Amount)));
        let answer = compose(&passages, &cands, Some(&[0.62, 0.60]));
        assert!(answer.text.contains("£30"), "{}", answer.text);
        assert_eq!(answer.evidence.answer_fits, Some(true));

        let tent = vec![passage("Tents > Skyline 2", "The Skyline 2 is a freestanding dome with two doors.")];
        let asked = |q: &str| compose(&tent, &candidates(q, &tent), Some(&[0.6]));
        let weight = asked("What does the Skyline 2 tent weigh?");
        let doors = asked("How is the Skyline 2 tent built?");
        assert_eq!(weight.evidence.answer_fits, Some(false));
        assert_eq!(doors.evidence.answer_fits, None, "the question names no kind of fact");
        assert!(weight.confidence < 0.8 * doors.confidence, "{} vs {}", weight.confidence, doors.confidence);
    }

    #[test]
    fn a_table_row_is_picked_by_its_cells_not_by_a_number_elsewhere_in_it() {
        let passages = vec![passage(
            "Sizing > Footwear",
            "UK: 8 | EU: 42 | US men's: 9 | US women's: 10\nUK: 9 | EU: 43 | US men's: 10 | US women's: 11",
        )];
        let cands = candidates("I'm a UK size 9 in shoes, what's that in EU sizing?", &passages);
        assert_eq!(cands.iter().map(|c| c.cells_matched).collect::<Vec<_>>(), [0, 1]);
        let sizes = [passage("Sizing", "Size: S | Chest (cm): 91 to 97\nSize: M | Chest (cm): 97 to 104")];
        let chest = candidates("My chest is 100 cm, which men's jacket size should I take?", &sizes);
        assert_eq!(chest.iter().map(|c| c.cells_matched).collect::<Vec<_>>(), [0, 0], "the s of men's is no size S");
        let answer = compose(&passages, &cands, Some(&[0.70, 0.69]));
        assert!(answer.text.starts_with("UK: 9 | EU: 43"), "{}", answer.text);
    }

    #[test]
    fn an_identifier_found_word_for_word_is_evidence_embeddings_cannot_give() {
        let passages = vec![passage("Catalogue", "Product: Scree Mid GTX boots | SKU: TF-FW-SCRM-BRN | Price: £165")];
        let asked = |q: &str| compose(&passages, &candidates(q, &passages), Some(&[0.35]));
        let sku = asked("What does TF-FW-SCRM-BRN cost?");
        assert!(sku.confidence >= DEFAULT_MIN_CONFIDENCE, "{}", sku.confidence);
        let other = asked("What does TF-FW-ZZZZ-BLK cost?");
        assert!(other.confidence < DEFAULT_MIN_CONFIDENCE, "{}", other.confidence);
    }

    #[test]
    fn a_name_the_answers_source_never_mentions_lowers_confidence() {
        let passages = vec![passage(
            "Stores > Kendal",
            "Parking: the shopping centre car park is a two-minute walk from the store.",
        )];
        let asked = |q: &str| compose(&passages, &candidates(q, &passages), Some(&[0.6]));
        let kendal = asked("Is there parking at the Kendal store?");
        let edinburgh = asked("Is there parking at the Edinburgh store?");
        assert!(kendal.evidence.unmatched_names.is_empty());
        assert_eq!(edinburgh.evidence.unmatched_names, ["edinburgh"]);
        assert!(edinburgh.confidence < 0.8 * kendal.confidence, "{} vs {}", edinburgh.confidence, kendal.confidence);

        // Regions are matched in the forms knowledge writes them.
        let us = vec![passage("Returns > United States", "You have 60 days from delivery to return unused items.")];
        let answer = compose(&us, &candidates("How long do US customers have for returns?", &us), Some(&[0.6]));
        assert!(answer.evidence.unmatched_names.is_empty(), "{:?}", answer.evidence.unmatched_names);
        let contact = vec![passage("Contact", "Write to us and we answer within a day.")];
        let asked_us = candidates("How long do US customers have for returns?", &contact);
        assert_eq!(asked_us[0].unmatched_names, ["us"], "the pronoun us is not the US");
        let ebay = candidates("Can I return something I bought on eBay?", &us);
        assert_eq!(ebay[0].unmatched_names, ["ebay"], "mixed-case brand names are names");
        let eu =
            vec![passage("Returns > European Union", "Return shipping of 4.95 euros is deducted from your refund.")];
        assert!(candidates("Do I pay for returns from Germany?", &eu)[0].unmatched_names.is_empty());
        let told = candidates("I live in Zurich. Will I pay duties when the parcel arrives?", &eu);
        assert!(told[0].unmatched_names.is_empty(), "what the customer tells is not what they ask about");
        let care = vec![passage("Care > Jackets", "Re-proof when water stops beading on the surface.")];
        let model = candidates("How often do I re-proof the Hydroshell 20K?", &care);
        assert!(model[0].unmatched_names.is_empty(), "a rule for jackets answers for a model of jacket");
        let line = vec![passage("Catalogue", "Product: Corrie 38 backpack, black | Price: £139")];
        let other = candidates("How much is the Corrie 28?", &line);
        assert_eq!(other[0].unmatched_names, ["corrie 28"], "another model of the line is another product");
    }

    #[test]
    fn a_city_the_knowledge_never_names_is_read_as_its_country() {
        let zones = vec![
            passage("Shipping > Zone 4", "Canada: CA$19.95, 6 to 10 business days."),
            passage("Shipping > Zone 5", "Switzerland and Norway: 5 to 8 business days."),
        ];
        let toronto = candidates("How long does it take for a parcel to reach Toronto?", &zones);
        assert!(toronto[0].unmatched_names.is_empty(), "{:?}", toronto[0].unmatched_names);
        assert!(toronto[0].lexical > toronto[1].lexical, "{toronto:?}");
        assert_eq!(toronto[1].unmatched_names, ["toronto"]);
        let zurich = candidates("I live in Zurich. How long does delivery take?", &zones);
        assert!(zurich[1].lexical > zurich[0].lexical, "{zurich:?}");
        // A country is met by its region's rules.
        let eu =
            vec![passage("Returns > European Union", "Return shipping of 4.95 euros is deducted from your refund.")];
        let germany = candidates("If I send something back from Germany, do I have to pay for the postage?", &eu);
        assert!(germany[0].lexical > 0.6, "{germany:?}");
        // A city the knowledge names is that city, not its country.
        let stores = vec![
            passage("Stores > Kendal", "Kendal, United Kingdom. Parking: the car park is a two-minute walk away."),
            passage("Stores > Edinburgh", "Edinburgh, United Kingdom. Open daily from 10:00."),
        ];
        let parking = candidates("Is there parking at the Edinburgh store?", &stores);
        assert_eq!(parking[0].unmatched_names, ["edinburgh"]);
    }

    #[test]
    fn a_sentence_holding_only_the_names_asked_about_does_not_answer() {
        let stores = vec![passage("Store locations and opening hours > Utrecht", "Oudegracht 171, Utrecht.")];
        let asked = |q: &str| compose(&stores, &candidates(q, &stores), Some(&[0.6]));
        let jobs = asked("Are there any job openings at the Utrecht store?");
        assert!(jobs.evidence.names_only, "{:?}", jobs.evidence);
        let hours = asked("What are the opening hours in Utrecht?");
        assert!(!hours.evidence.names_only, "the heading says the section is about them");
        assert!(jobs.confidence < 0.8 * hours.confidence, "{} vs {}", jobs.confidence, hours.confidence);
        let address = asked("Utrecht?");
        assert!(!address.evidence.names_only, "a question of names only is about them");
    }

    #[test]
    fn another_colour_of_the_product_is_another_product() {
        let passages = vec![
            passage("Pre-orders", "Product: Corrie 28 daypack, Ember red | Price: £99"),
            passage("Catalogue", "Product: Corrie 38 backpack, black | Price: £139"),
        ];
        let asked = |q: &str| compose(&passages, &candidates(q, &passages), Some(&[0.6, 0.5]));
        let red = asked("How much is the Corrie 28 daypack in red?");
        let black = asked("How much is the Corrie 28 daypack in black?");
        assert!(red.text.contains("£99") && !red.evidence.other_variant, "{}", red.text);
        assert!(black.evidence.other_variant, "{}", black.text);
        assert!(black.confidence < 0.8 * red.confidence, "{} vs {}", black.confidence, red.confidence);
        let plain = asked("How much is the Corrie 28 daypack?");
        assert!(!plain.evidence.other_variant, "a question naming no colour accepts any");
    }

    #[test]
    fn names_are_capitalised_runs_acronyms_and_mixed_case_words() {
        let text = "Do you ship the Corrie 38 to the UK or pay with iDEAL? Is the Hydroshell 20K in stock?";
        let found: Vec<&str> = names(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["Corrie 38", "UK", "iDEAL", "Hydroshell 20K"]);
        assert!(names("Where is my order?").is_empty(), "a sentence's first word is no name");
    }

    #[test]
    fn a_second_source_is_cited_separately() {
        let passages = vec![
            passage("Returns", "Returns are free within 30 days."),
            passage("Refunds", "Refunds are paid within 5 days of the return arriving."),
        ];
        let cands = candidates("returns refunds", &passages);
        let answer = compose(&passages, &cands, Some(&[0.9, 0.7]));
        assert_eq!(answer.citations.len(), 2, "{}", answer.text);
        assert!(answer.text.contains("[1]") && answer.text.contains("[2]"));
    }
}
