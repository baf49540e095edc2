//! What kind of fact a question asks for, when its words say so ("how much"
//! asks for an amount, "how long" for a duration), and whether a sentence
//! holds one. The extractive answerer prefers sentences that hold the asked-for
//! kind and is less sure of an answer that holds none: "What does the tent
//! weigh?" answered with a sentence about its doors is the classic near miss
//! of an answerer that only measures similarity.
//!
//! English cue words only: the sample knowledge and the local model are
//! English. A question in another language reaches the answerer in the
//! English words of the route crate's support lexicon ("wie lange" -> "how
//! long"), so its cue words are these.

/// The kind of fact a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerType {
    /// A price, fee or refund: `£4.95`, `15%`, `free`.
    Amount,
    /// How long or when: `30 days`, `next working day`, `Monday`, `09:00`.
    Duration,
    /// How many, what age: any number.
    Number,
    /// What something weighs: `1.2 kg`, `450 g`.
    Weight,
}

const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "fourteen",
    "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "ninety", "hundred", "a", "an",
];
const TIME_UNITS: &[&str] = &[
    "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years", "night",
    "nights",
];
const TIME_WORDS: &[&str] = &[
    "today",
    "tomorrow",
    "immediately",
    "instantly",
    "overnight",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "midnight",
    "noon",
    // "How long is the guarantee?" "For the lifetime of the product."
    "lifetime",
    "forever",
    "indefinitely",
];
const WEIGHT_UNITS: &[&str] =
    &["g", "kg", "gram", "grams", "kilogram", "kilograms", "lb", "lbs", "oz", "ounce", "ounces"];
const MONEY_WORDS: &[&str] = &["free", "£", "€", "$", "pence", "euro", "euros", "pound", "pounds", "dollar", "dollars"];

/// Lower-cased words, with currency signs, `%` and digits split from letters
/// (`£4.95` -> `£`, `4.95`; `450g` -> `450`, `g`).
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut kind = 0u8; // 1 letters, 2 digits
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word));
        }
    };
    for c in text.chars().flat_map(char::to_lowercase) {
        let k = if c.is_alphabetic() || c == '\'' {
            1
        } else if c.is_ascii_digit() || (kind == 2 && matches!(c, '.' | ',' | ':')) {
            2
        } else {
            0
        };
        if k != kind || k == 0 {
            flush(&mut word, &mut out);
        }
        if k == 0 {
            if matches!(c, '£' | '€' | '$' | '%') {
                out.push(c.to_string());
            }
        } else {
            word.push(c);
        }
        kind = k;
    }
    flush(&mut word, &mut out);
    // A number's trailing separator belongs to the sentence ("in 30 days.").
    for w in &mut out {
        while w.ends_with(['.', ',', ':']) && w.len() > 1 {
            w.pop();
        }
    }
    out
}

fn is_number(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit()) || NUMBER_WORDS.contains(&token)
}

/// The kind of fact `question` asks for, if its words say.
pub fn expected(question: &str) -> Option<AnswerType> {
    let words = tokens(question);
    let has = |w: &str| words.iter().any(|x| x == w);
    let pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    if has("weigh") || has("weighs") || has("weight") || pair("how", "heavy") {
        return Some(AnswerType::Weight);
    }
    let how_much_time = words.windows(3).any(|p| p[0] == "how" && p[1] == "much" && p[2] == "time");
    // Opening hours are times of day ("Monday to Saturday: 10:00 to 19:00").
    let opening_hours = pair("opening", "hours") || pair("opening", "times");
    if pair("how", "long")
        || pair("how", "soon")
        || pair("how", "quickly")
        || how_much_time
        || pair("what", "time")
        || opening_hours
    {
        return Some(AnswerType::Duration);
    }
    if words.windows(3).any(|p| p[0] == "how" && p[1] == "many" && TIME_UNITS.contains(&p[2].as_str())) {
        return Some(AnswerType::Duration);
    }
    // "Do you price match?" asks about a policy, not an amount.
    let price_match = pair("price", "match") || pair("price", "matching");
    if pair("how", "much")
        || pair("pay", "for")
        || (!price_match
            && ["cost", "costs", "price", "prices", "fee", "fees", "charge", "charges"].iter().any(|w| has(w)))
    {
        return Some(AnswerType::Amount);
    }
    if pair("how", "many") || pair("how", "old") || has("age") {
        return Some(AnswerType::Number);
    }
    None
}

impl AnswerType {
    /// Whether `text` holds a fact of this kind.
    pub fn found_in(self, text: &str) -> bool {
        let words = tokens(text);
        let unit_after = |units: &[&str]| {
            words
                .iter()
                .enumerate()
                .any(|(i, w)| is_number(w) && words[i + 1..].iter().take(3).any(|next| units.contains(&next.as_str())))
        };
        match self {
            AnswerType::Amount => {
                words.iter().any(|w| MONEY_WORDS.contains(&w.as_str()))
                    || words.windows(2).any(|p| is_number(&p[0]) && p[1] == "%")
            }
            AnswerType::Duration => {
                unit_after(TIME_UNITS)
                    || words.iter().any(|w| TIME_WORDS.contains(&w.as_str()) || (w.contains(':') && is_number(w)))
                    || words
                        .windows(3)
                        .any(|p| matches!(p[0].as_str(), "next" | "same") && (p[1] == "day" || p[2] == "day"))
            }
            AnswerType::Number => {
                words.iter().any(|w| w.starts_with(|c: char| c.is_ascii_digit()) || is_number(w) && w.len() > 2)
            }
            AnswerType::Weight => unit_after(WEIGHT_UNITS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_say_what_they_ask_for() {
        let cases = [
            ("How much does express delivery cost?", Some(AnswerType::Amount)),
            ("If I send something back, do I have to pay for the postage?", Some(AnswerType::Amount)),
            ("I refused my parcel, how much of my money do I get back?", Some(AnswerType::Amount)),
            ("How long do I have to return boots?", Some(AnswerType::Duration)),
            ("How many days does a refund take?", Some(AnswerType::Duration)),
            ("How much time do I have?", Some(AnswerType::Duration)),
            ("What are the opening hours of the Kendal store?", Some(AnswerType::Duration)),
            ("What does the Skyline 2 tent weigh?", Some(AnswerType::Weight)),
            ("What is the minimum age to join?", Some(AnswerType::Number)),
            ("How many points do I get?", Some(AnswerType::Number)),
            ("Can I pay with PayPal?", None),
            ("Do you price match Amazon Marketplace sellers?", None),
            ("Do you ship to Norway?", None),
            ("Wie viel kostet der Versand?", None),
        ];
        for (question, want) in cases {
            assert_eq!(expected(question), want, "{question}");
        }
    }

    #[test]
    fn sentences_hold_the_kind_or_not() {
        let cases = [
            (AnswerType::Amount, "Returns from Germany cost €4.95, deducted from your refund.", true),
            (AnswerType::Amount, "Students get 15% off full-price items.", true),
            (AnswerType::Amount, "Returns are free within the UK.", true),
            (AnswerType::Amount, "The parcel comes back to us.", false),
            (AnswerType::Duration, "You have 30 days from delivery.", true),
            (AnswerType::Duration, "Express arrives the next working day.", true),
            (AnswerType::Duration, "Parcels to Canada take 6 to 10 business days.", true),
            (AnswerType::Duration, "Open Monday to Saturday, 09:00 to 17:30.", true),
            (AnswerType::Duration, "Returns are free within the UK.", false),
            (AnswerType::Duration, "We repair seams for the lifetime of the product.", true),
            (AnswerType::Weight, "The Skyline 2 weighs 2.1 kg packed.", true),
            (AnswerType::Weight, "A trail weight of 1850g.", true),
            (AnswerType::Weight, "It has two doors and two porches.", false),
            (AnswerType::Number, "You earn 1 point per £1.", true),
            (AnswerType::Number, "Join when you create an account.", false),
        ];
        for (kind, text, want) in cases {
            assert_eq!(kind.found_in(text), want, "{kind:?}: {text}");
        }
    }
}
