//! Personal data in free text: find it and redact it.
//!
//! Each kind has a candidate pattern (the `regex` crate: linear time, no backtracking) and, where
//! the format has one, a check that a random string fails: Luhn for cards, mod-97 for IBANs and
//! the French NIR, check letters for Spanish DNI/NIE and Italian codice fiscale, the 11-check for
//! the Dutch BSN, ISO 7064 MOD 11,10 for the German Steuer-ID. Formats that a random number
//! passes too often (a bare 9-digit BSN, a phone number without any separator) are only taken
//! when a context word ("bsn", "phone", "tel", ...) stands just before them, so order numbers and
//! amounts survive redaction.
//!
//! Overlaps are resolved by kind (see [`PiiKind::priority`]) and then by length, so a card number
//! is reported as a card, not as a phone number.
//!
//! ```
//! use switchboard_guard::pii::{redact, PiiKind};
//!
//! let r = redact("Card 4111 1111 1111 1111, mail me at jo@example.com");
//! assert_eq!(r.text, "Card [card], mail me at [email]");
//! assert_eq!(r.findings[0].kind, PiiKind::Card);
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// A kind of personal data this module recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    Email,
    Phone,
    /// Payment card number (13–19 digits, or 12 for Maestro; Luhn-valid).
    Card,
    /// International bank account number (mod-97 valid).
    Iban,
    /// US Social Security number.
    UsSsn,
    /// UK National Insurance number.
    UkNino,
    /// German tax identification number (Steuerliche Identifikationsnummer).
    DeTaxId,
    /// Spanish DNI or NIE (with its check letter).
    EsId,
    /// French social security number (NIR, with its key).
    FrNir,
    /// Italian codice fiscale (with its check character).
    ItFiscalCode,
    /// Dutch citizen service number (BSN, 11-check).
    NlBsn,
    /// IPv4 or IPv6 address.
    IpAddress,
}

impl PiiKind {
    /// Every kind, in declaration order.
    pub const ALL: [PiiKind; 12] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Card,
        PiiKind::Iban,
        PiiKind::UsSsn,
        PiiKind::UkNino,
        PiiKind::DeTaxId,
        PiiKind::EsId,
        PiiKind::FrNir,
        PiiKind::ItFiscalCode,
        PiiKind::NlBsn,
        PiiKind::IpAddress,
    ];

    /// The text that replaces a finding of this kind in [`redact`].
    pub fn marker(self) -> &'static str {
        match self {
            PiiKind::Email => "[email]",
            PiiKind::Phone => "[phone]",
            PiiKind::Card => "[card]",
            PiiKind::Iban => "[iban]",
            PiiKind::UsSsn
            | PiiKind::UkNino
            | PiiKind::DeTaxId
            | PiiKind::EsId
            | PiiKind::FrNir
            | PiiKind::ItFiscalCode
            | PiiKind::NlBsn => "[national-id]",
            PiiKind::IpAddress => "[ip]",
        }
    }

    /// A stable name for storage and logs (`"card"`, `"us_ssn"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Card => "card",
            PiiKind::Iban => "iban",
            PiiKind::UsSsn => "us_ssn",
            PiiKind::UkNino => "uk_nino",
            PiiKind::DeTaxId => "de_tax_id",
            PiiKind::EsId => "es_id",
            PiiKind::FrNir => "fr_nir",
            PiiKind::ItFiscalCode => "it_fiscal_code",
            PiiKind::NlBsn => "nl_bsn",
            PiiKind::IpAddress => "ip_address",
        }
    }

    /// Which finding wins when two overlap (lower wins): validated, specific formats before the
    /// loose phone pattern that would match half of any digit string.
    fn priority(self) -> u8 {
        match self {
            PiiKind::Email => 0,
            PiiKind::Iban => 1,
            // A NIR is 15 digits starting with 1 or 2 and could pass Luhn by chance; 15-digit
            // cards (Amex 34/37, JCB 2131/1800) do not start like a NIR with a valid month.
            PiiKind::FrNir => 2,
            PiiKind::Card => 3,
            PiiKind::ItFiscalCode | PiiKind::EsId | PiiKind::UkNino => 3,
            PiiKind::UsSsn | PiiKind::DeTaxId | PiiKind::NlBsn => 4,
            PiiKind::IpAddress => 5,
            PiiKind::Phone => 6,
        }
    }
}

/// One piece of personal data: its kind and its byte range in the scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: PiiKind,
    pub span: Range<usize>,
}

/// A text with its personal data replaced by markers, and what was replaced (spans refer to the
/// original text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub findings: Vec<Finding>,
}

/// Finds personal data in `text`, sorted by position, without overlaps.
pub fn find(text: &str) -> Vec<Finding> {
    let mut candidates: Vec<Finding> = Vec::new();
    for detector in DETECTORS.iter() {
        for m in detector.regex.find_iter(text) {
            if let Some(span) = (detector.accept)(text, m.range()) {
                candidates.push(Finding { kind: detector.kind, span });
            }
        }
    }
    resolve_overlaps(candidates)
}

/// Replaces every [`find`] result with its kind's [`marker`](PiiKind::marker).
pub fn redact(text: &str) -> Redacted {
    redact_unpublished(text, &[])
}

/// [`redact`], except values written word for word in one of `published`: the
/// business's own knowledge (a support line, a shop's address, an account to
/// pay to) is what a reply quoting it must show.
pub fn redact_unpublished(text: &str, published: &[&str]) -> Redacted {
    let findings: Vec<Finding> =
        find(text).into_iter().filter(|f| !published.iter().any(|p| p.contains(&text[f.span.clone()]))).collect();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for finding in &findings {
        out.push_str(&text[last..finding.span.start]);
        out.push_str(finding.kind.marker());
        last = finding.span.end;
    }
    out.push_str(&text[last..]);
    Redacted { text: out, findings }
}

/// Keeps the best of overlapping candidates: by kind priority, then longer first, then earlier.
fn resolve_overlaps(mut candidates: Vec<Finding>) -> Vec<Finding> {
    candidates.sort_by_key(|f| (f.kind.priority(), std::cmp::Reverse(f.span.len()), f.span.start));
    // Accepted spans keyed by start; disjoint, so a neighbour check on each side suffices.
    let mut accepted: std::collections::BTreeMap<usize, Finding> = std::collections::BTreeMap::new();
    for candidate in candidates {
        let before = accepted.range(..candidate.span.end).next_back();
        if before.is_some_and(|(_, f)| f.span.end > candidate.span.start) {
            continue;
        }
        accepted.insert(candidate.span.start, candidate);
    }
    accepted.into_values().collect()
}

struct Detector {
    kind: PiiKind,
    regex: Regex,
    /// Validates a candidate match; may shrink its span. `None` rejects it.
    accept: fn(&str, Range<usize>) -> Option<Range<usize>>,
}

// All patterns are ASCII-only (`(?-u)` word boundaries keep the search on the fast DFA paths) and
// every repetition is bounded, so a match can never run long.
static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    let d = |kind, pattern: &str, accept| Detector { kind, regex: Regex::new(pattern).expect("valid pattern"), accept };
    vec![
        d(
            PiiKind::Email,
            // Letters of any script: internationalised addresses (zoë@exämple.fr) are personal too.
            // (Unbounded repetitions: bounded ones over Unicode classes blow up the automaton; the
            // search stays linear either way.)
            r"[\p{L}\p{N}._%+\-]+@(?:[\p{L}\p{N}\-]+\.)+\p{L}{2,}",
            accept_email,
        ),
        d(PiiKind::Card, r"(?-u)\b\d(?:[ \-]?\d){11,18}\b", accept_card),
        d(PiiKind::Iban, r"(?i-u)\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,4})?\b", accept_iban),
        d(PiiKind::UsSsn, r"(?-u)\b\d{3}(?:-\d{2}-|\.\d{2}\.| \d{2} |\d{2})\d{4}\b", accept_ssn),
        d(PiiKind::UkNino, r"(?i-u)\b[a-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[a-d]\b", accept_nino),
        d(PiiKind::DeTaxId, r"(?-u)\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b", accept_de_tax_id),
        d(PiiKind::EsId, r"(?i-u)\b(?:\d{8}|[xyz][ \-]?\d{7})[ \-]?[a-z]\b", accept_es_id),
        d(PiiKind::FrNir, r"(?i-u)\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[ab]) ?\d{3} ?\d{3} ?\d{2}\b", accept_fr_nir),
        d(
            PiiKind::ItFiscalCode,
            r"(?i-u)\b[a-z]{6}[0-9lmnp-v]{2}[abcdehlmprst][0-9lmnp-v]{2}[a-z][0-9lmnp-v]{3}[a-z]\b",
            accept_it_fiscal_code,
        ),
        d(PiiKind::NlBsn, r"(?-u)\b\d{4}\.?\d{2}\.?\d{3}\b", accept_nl_bsn),
        d(PiiKind::IpAddress, r"(?-u)\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", |t, r| {
            t[r.clone()].parse::<Ipv4Addr>().is_ok().then_some(r)
        }),
        d(PiiKind::IpAddress, r"(?i-u)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}", accept_ipv6),
        // A phone number: an optional `+`/`00` country prefix, then 1–8 groups of digits
        // (a group may be in parentheses, e.g. `(0)8` or `(37)`) separated by one of ` .-/`,
        // and an optional extension. Digit count and shape are checked in `accept_phone`.
        d(
            PiiKind::Phone,
            r"(?i-u)(?:\+ ?)?(?:\(\d{1,4}\)[ .\-]?|\b)\d{1,12}(?:(?:[ .\-/]|[ .\-]?\(\d{1,4}\)[ .\-]?)\d{1,12}){0,7}(?:(?: ?x| ?ext\.? ?)\d{1,5})?\b",
            accept_phone,
        ),
    ]
});

fn digits(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

/// Whether one of `words` ends within the 40 bytes before `start` (ASCII case-insensitive).
fn has_context(text: &str, start: usize, words: &[&str]) -> bool {
    let mut from = start.saturating_sub(40);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let window = text[from..start].to_ascii_lowercase();
    words.iter().any(|w| window.contains(w))
}

fn accept_email(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    // The local part may not start with a dot; trim what the pattern took before a real start.
    let skip = text[r.clone()].len() - text[r.clone()].trim_start_matches(['.', '-', '+', '%']).len();
    let start = r.start + skip;
    (text.as_bytes()[start] != b'@').then_some(start..r.end)
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn accept_card(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = &text[r.clone()];
    let d = digits(s);
    // 13–19 digits; 12 only for Maestro (issuer prefixes 50 and 56–69).
    let maestro12 = d.len() == 12 && (d[0] == 6 || (d[0] == 5 && matches!(d[1], 0 | 6..=8)));
    if !((13..=19).contains(&d.len()) || maestro12) || !luhn_valid(&d) || d.iter().all(|&x| x == d[0]) {
        return None;
    }
    // Separators, when present, are of one kind (4111-1111 1111-1111 is not how cards are written).
    let has_space = s.contains(' ');
    let has_dash = s.contains('-');
    (!(has_space && has_dash)).then_some(r)
}

/// IBAN lengths per country (ISO 13616 registry), for the countries customers most often quote.
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "AT" => 20,
        "BE" => 16,
        "CH" | "LI" => 21,
        "CZ" | "ES" | "SE" | "SK" | "TN" => 24,
        "DE" => 22,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "FR" | "IT" | "MC" | "SM" => 27,
        "GB" | "IE" | "BG" | "BH" | "GE" | "ME" | "RS" => 22,
        "GR" => 27,
        "LU" => 20,
        "NO" => 15,
        "PL" | "HU" | "CY" => 28,
        "PT" => 25,
        "RO" => 24,
        "SI" => 19,
        "HR" | "LV" => 21,
        "EE" => 20,
        "LT" => 20,
        "MT" => 31,
        "IS" | "TR" => 26,
        _ => return None,
    })
}

fn iban_valid(compact: &str) -> bool {
    let bytes = compact.as_bytes();
    if bytes.len() < 15 || bytes.len() > 34 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    if let Some(len) = iban_length(&compact[..2])
        && len != bytes.len()
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

fn accept_iban(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    // The pattern is greedy: "DE89 3704 0044 0532 0130 00 and" can take " and" as a last group.
    // Drop trailing space-separated groups until the rest validates (at most a few tries).
    let mut end = r.end;
    for _ in 0..3 {
        let compact: String = text[r.start..end].chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
        if iban_valid(&compact) {
            return Some(r.start..end);
        }
        end = r.start + text[r.start..end].rfind(' ')?;
    }
    None
}

fn accept_ssn(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = &text[r.clone()];
    let d = digits(s);
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let group = d[3] * 10 + d[4];
    let serial = &d[5..];
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial.iter().all(|&x| x == 0) {
        return None;
    }
    // Nine bare digits are as likely an order number: only with a context word.
    if d.len() == s.len() && !has_context(text, r.start, &["ssn", "social security", "ss#", "ss #"]) {
        return None;
    }
    Some(r)
}

fn accept_nino(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = text[r.clone()].to_ascii_uppercase();
    let b = s.as_bytes();
    let (a, c) = (b[0], b[1]);
    let bad_first = b"DFIQUV".contains(&a);
    let bad_second = b"DFIQUVO".contains(&c);
    let bad_pair = ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"].contains(&&s[..2]);
    // Spaces, when used, are in all three places (AB 12 34 56 C) or none.
    let spaces = s.matches(' ').count();
    (!bad_first && !bad_second && !bad_pair && (spaces == 0 || spaces == 4)).then_some(r)
}

fn accept_de_tax_id(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let d = digits(&text[r.clone()]);
    if d[0] == 0 {
        return None;
    }
    // Since 2016: in the first ten digits exactly one digit occurs twice or three times.
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[usize::from(x)] += 1;
    }
    let repeated = counts.iter().filter(|&&c| c >= 2).count();
    if repeated != 1 || counts.iter().any(|&c| c > 3) {
        return None;
    }
    // ISO 7064 MOD 11,10.
    let mut product: u32 = 10;
    for &x in &d[..10] {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    (check == u32::from(d[10])).then_some(r)
}

fn accept_es_id(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let s = text[r.clone()].to_ascii_uppercase();
    let compact: Vec<u8> = s.bytes().filter(|b| *b != b' ' && *b != b'-').collect();
    let (body, letter) = compact.split_at(compact.len() - 1);
    let mut number: u32 = match body[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        d => u32::from(d - b'0'),
    };
    for &b in &body[1..] {
        number = number * 10 + u32::from(b - b'0');
    }
    (LETTERS[(number % 23) as usize] == letter[0]).then_some(r)
}

fn accept_fr_nir(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s: String = text[r.clone()].chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
    // Corsica: department 2A counts as 19, 2B as 18 in the key computation.
    let numeric = match &s[5..7] {
        "2A" => format!("{}19{}", &s[..5], &s[7..13]),
        "2B" => format!("{}18{}", &s[..5], &s[7..13]),
        _ => s[..13].to_owned(),
    };
    let n: u64 = numeric.parse().ok()?;
    let key: u64 = s[13..].parse().ok()?;
    let month: u32 = s[3..5].parse().ok()?;
    // Months 01–12; 20–42 and 50–99 occur for people born abroad or with unknown birth month.
    let month_ok = matches!(month, 1..=12 | 20..=42 | 50..=99);
    (month_ok && 97 - n % 97 == key).then_some(r)
}

fn accept_it_fiscal_code(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    // Values of characters in odd positions (1st, 3rd, ...), for 0-9 then A-Z.
    const ODD: [u32; 26] =
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    let s = text[r.clone()].to_ascii_uppercase();
    let b = s.as_bytes();
    let mut sum = 0;
    for (i, &c) in b[..15].iter().enumerate() {
        let idx = if c.is_ascii_digit() { usize::from(c - b'0') } else { usize::from(c - b'A') };
        sum += if i % 2 == 0 { ODD[idx] } else { idx as u32 };
    }
    (u32::from(b[15] - b'A') == sum % 26).then_some(r)
}

fn accept_nl_bsn(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let d = digits(&text[r.clone()]);
    let sum: i32 =
        d[..8].iter().enumerate().map(|(i, &x)| (9 - i as i32) * i32::from(x)).sum::<i32>() - i32::from(d[8]);
    if sum % 11 != 0 || sum == 0 {
        return None;
    }
    // One random 9-digit number in eleven passes the 11-check: require a context word.
    has_context(text, r.start, &["bsn", "burgerservice", "sofi"]).then_some(r)
}

fn accept_ipv6(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = &text[r.clone()];
    // Times ("12:30:45") parse as nothing, but "::" alone or "1::" would: ask for some substance.
    if s.bytes().filter(u8::is_ascii_hexdigit).count() < 4 {
        return None;
    }
    s.parse::<Ipv6Addr>().is_ok().then_some(r)
}

const PHONE_CONTEXT: &[&str] = &[
    "phone",
    "tel",
    "mobile",
    "cell",
    "call",
    "number",
    "whatsapp",
    "sms",
    "fax",
    "contact",
    "reach",
    "ring",
    "nummer",
    "handy",
    "ruf",
    "telefon",
    "movil",
    "numero",
    "portable",
    "cellulare",
    "bellen",
    "bel me",
    "bel mij",
    "mobiel",
];

fn accept_phone(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = &text[r.clone()];
    // The extension ("x459", "ext. 12") does not count towards the number's length.
    let main = s.find(['x', 'X', 'e', 'E']).map_or(s, |i| &s[..i]);
    let d = digits(main);
    if !(7..=15).contains(&d.len()) {
        return None;
    }
    let international = s.starts_with('+') || s.starts_with("00");
    let groups: Vec<&str> = main.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    let separators: Vec<char> =
        main.trim_start_matches('+').chars().filter(|c| !c.is_ascii_digit() && *c != '(' && *c != ')').collect();
    if groups.len() == 1 && !international {
        // A bare run of digits is an order number as often as a phone number.
        return has_context(text, r.start, PHONE_CONTEXT).then_some(r);
    }
    if !international && looks_like_date_or_amount(&groups, &separators) {
        return None;
    }
    // Two groups read as references ("2024-00017") or house numbers ("370 3911 Fourth Avenue")
    // as often as phone numbers: only with a context word, unless long and space-separated
    // ("0393 1144137"), or with an area code in parentheses.
    if groups.len() == 2 && !international && !main.contains('(') {
        let long_spaced = d.len() >= 9 && separators == [' '];
        if !long_spaced {
            return has_context(text, r.start, PHONE_CONTEXT).then_some(r);
        }
    }
    Some(r)
}

/// Digit groups that read as a date (`12/1/1981`, `2000-04-16`) or an amount with thousands
/// separators (`1.250.000`, `3,000,000`) rather than a phone number.
fn looks_like_date_or_amount(groups: &[&str], separators: &[char]) -> bool {
    let all = |c: char| !separators.is_empty() && separators.iter().all(|&s| s == c);
    // A date, possibly followed by a time ("2000-04-16 11:34"): look at the first three groups.
    // ("03.93.92.16.85" keeps one separator throughout: a phone number.)
    let date_separators = separators.len() >= 2
        && separators[0] == separators[1]
        && "/-.".contains(separators[0])
        && (groups.len() == 3 || separators.get(2).is_some_and(|&s| s != separators[0]));
    if groups.len() >= 3 && date_separators {
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let day_month_year = lens[0] <= 2 && lens[1] <= 2 && (lens[2] == 2 || lens[2] == 4);
        let year_month_day = lens[0] == 4 && lens[1] <= 2 && lens[2] <= 2;
        if day_month_year || year_month_day {
            return true;
        }
    }
    (all('.') || all(',')) && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, &str)> {
        find(text).into_iter().map(|f| (f.kind, &text[f.span])).collect()
    }

    #[test]
    fn what_the_knowledge_publishes_is_kept_and_everything_else_redacted() {
        let published = ["Call our US line on +1 775-555-0142 or pay to GB82 WEST 1234 5698 7654 32."];
        let reply = "Call +1 775-555-0142, pay to GB82 WEST 1234 5698 7654 32, or we call you on +44 7700 900123.";
        let out = redact_unpublished(reply, &published);
        assert_eq!(out.text, "Call +1 775-555-0142, pay to GB82 WEST 1234 5698 7654 32, or we call you on [phone].");
        assert_eq!(out.findings.len(), 1);
        assert_eq!(redact(reply).findings.len(), 3, "without published text everything goes");
    }

    #[test]
    fn checksums() {
        assert!(luhn_valid(&digits("4111111111111111")));
        assert!(!luhn_valid(&digits("4111111111111112")));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(iban_valid("GB82WEST12345698765432"));
    }

    #[test]
    fn overlaps_prefer_the_validated_kind() {
        assert_eq!(kinds("pay with 4111-1111-1111-1111 today"), vec![(PiiKind::Card, "4111-1111-1111-1111")]);
        assert_eq!(kinds("ssn 123-45-6789"), vec![(PiiKind::UsSsn, "123-45-6789")]);
        assert_eq!(kinds("from 106.31.73.20"), vec![(PiiKind::IpAddress, "106.31.73.20")]);
    }
}
