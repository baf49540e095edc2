//! PII detection: what must be found (with its kind and exact span), what must be left alone,
//! and inputs built to make a careless matcher slow or wrong.

use switchboard_guard::pii::{PiiKind, find, redact};

fn found(text: &str) -> Vec<(PiiKind, String)> {
    find(text).into_iter().map(|f| (f.kind, text[f.span].to_owned())).collect()
}

#[track_caller]
fn assert_finds(text: &str, kind: PiiKind, value: &str) {
    let got = found(text);
    assert!(got.contains(&(kind, value.to_owned())), "{text:?}: expected {kind:?} {value:?}, got {got:?}");
}

#[test]
fn positives_with_their_kind_and_exact_span() {
    use PiiKind::*;
    let table: &[(&str, PiiKind, &str)] = &[
        ("write to jo.doe+shop@mail.example.co.uk please", Email, "jo.doe+shop@mail.example.co.uk"),
        ("UtaKortig@jourrapide.com", Email, "UtaKortig@jourrapide.com"),
        // Cards: Visa, Mastercard, Amex (15), Diners (14), 19-digit, with spaces and dashes.
        ("card 4111 1111 1111 1111 exp 12/27", Card, "4111 1111 1111 1111"),
        ("5555-5555-5555-4444", Card, "5555-5555-5555-4444"),
        ("amex 378282246310005.", Card, "378282246310005"),
        ("diners 30569309025904", Card, "30569309025904"),
        ("4131034282458809939", Card, "4131034282458809939"),
        // IBANs, compact, grouped, lower case, followed by words.
        ("IBAN DE89 3704 0044 0532 0130 00 and thanks", Iban, "DE89 3704 0044 0532 0130 00"),
        ("GB82WEST12345698765432", Iban, "GB82WEST12345698765432"),
        ("my iban is gb82 west 1234 5698 7654 32", Iban, "gb82 west 1234 5698 7654 32"),
        ("FR14 2004 1010 0505 0001 3M02 606", Iban, "FR14 2004 1010 0505 0001 3M02 606"),
        ("NL91ABNA0417164300", Iban, "NL91ABNA0417164300"),
        ("ES91 2100 0418 4502 0005 1332", Iban, "ES91 2100 0418 4502 0005 1332"),
        ("IT60 X054 2811 1010 0000 0123 456", Iban, "IT60 X054 2811 1010 0000 0123 456"),
        // Phones: international and national formats of the six markets and the US.
        ("call +49 30 901820", Phone, "+49 30 901820"),
        ("+1-984-182-0190", Phone, "+1-984-182-0190"),
        ("+46 (0)8 928 571 38", Phone, "+46 (0)8 928 571 38"),
        ("Tel. 030/12345678", Phone, "030/12345678"),
        ("(555) 123-4567", Phone, "(555) 123-4567"),
        ("905-674-3793", Phone, "905-674-3793"),
        ("03.93.92.16.85", Phone, "03.93.92.16.85"),
        ("06 12 34 56 78", Phone, "06 12 34 56 78"),
        ("345-899-3560x4587", Phone, "345-899-3560x4587"),
        ("0044 20 7946 0958", Phone, "0044 20 7946 0958"),
        ("+34 612 345 678", Phone, "+34 612 345 678"),
        ("my phone number is 9498777106", Phone, "9498777106"),
        ("bel me op 0612345678", Phone, "0612345678"),
        // National ids.
        ("SSN 123-45-6789", UsSsn, "123-45-6789"),
        ("ssn: 123456789", UsSsn, "123456789"),
        ("NINO AB 12 34 56 C", UkNino, "AB 12 34 56 C"),
        ("JG103759A", UkNino, "JG103759A"),
        ("Steuer-ID 86095742719", DeTaxId, "86095742719"),
        ("Identifikationsnummer 47 036 892 816", DeTaxId, "47 036 892 816"),
        ("DNI 12345678Z", EsId, "12345678Z"),
        ("NIE X1234567L", EsId, "X1234567L"),
        ("nie y-1234567-x", EsId, "y-1234567-x"),
        ("NIR 2 55 08 14 168 025 38", FrNir, "2 55 08 14 168 025 38"),
        ("255081416802538", FrNir, "255081416802538"),
        ("codice fiscale RSSMRA85T10A562S", ItFiscalCode, "RSSMRA85T10A562S"),
        ("BSN 111222333", NlBsn, "111222333"),
        ("mijn burgerservicenummer is 1112.22.333", NlBsn, "1112.22.333"),
        ("from 192.168.10.1 today", IpAddress, "192.168.10.1"),
        ("6e40:4041:c617:e898:c11:40d2:c669:2eb4", IpAddress, "6e40:4041:c617:e898:c11:40d2:c669:2eb4"),
        ("fe80::1ff:fe23:4567:890a", IpAddress, "fe80::1ff:fe23:4567:890a"),
    ];
    for (text, kind, value) in table {
        assert_finds(text, *kind, value);
    }
}

#[test]
fn negatives_are_left_alone() {
    let table = [
        "Where is my order 123456789?",
        "order #4111111111111112 (not Luhn-valid)",
        "Invoice 2024-00017 was paid on 2024-03-15",
        "It costs 1.250.000 euros, or 3,000,000 pesos",
        "I was born on 12/01/1981 and moved 2000-04-16",
        "The meeting is at 11:34:35 on Tuesday",
        "Version 1.2.3 fixed it; see section 4.5",
        "DE88 3704 0044 0532 0130 00 (wrong check digits)",
        "DNI 12345678A (wrong letter)",
        "BSN 111222334 (fails the 11-check)",
        "tracking 111222333 (no BSN context)",
        "a@b",
        "email me at jo at example dot com",
        "1234 56",
        "QQ123456C is the sample number, not a valid one",
        "Nothing personal here at all.",
        "RSSMRA85T10A562X has a wrong check character",
    ];
    for text in table {
        assert_eq!(found(text), vec![], "{text:?}");
    }
    // Area 9xx is never issued: not an SSN (it still has the shape of a phone number).
    assert!(found("999-12-3456").iter().all(|(kind, _)| *kind != PiiKind::UsSsn));
}

#[test]
fn redact_replaces_each_finding_with_its_marker_and_keeps_the_rest() {
    let r =
        redact("Hi, I'm at jo@example.com or +44 20 7946 0958; card 4111111111111111, IBAN GB82WEST12345698765432.");
    assert_eq!(r.text, "Hi, I'm at [email] or [phone]; card [card], IBAN [iban].");
    assert_eq!(r.findings.len(), 4);
    let r = redact("DNI 12345678Z, NIR 255081416802538, ip 10.0.0.7");
    assert_eq!(r.text, "DNI [national-id], NIR [national-id], ip [ip]");
}

#[test]
fn spans_are_char_boundaries_in_non_ascii_text() {
    let text = "Ça coûte 10 €. Écrivez à jöe@exämple.com ou à zoë@example.fr — numéro +33 6 12 34 56 78 ✓";
    let r = redact(text);
    assert_eq!(r.text, "Ça coûte 10 €. Écrivez à [email] ou à [email] — numéro [phone] ✓");
    for f in &r.findings {
        assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
    }
}

#[test]
fn many_findings_are_not_merged_or_lost() {
    let text = "4111 1111 1111 1111 ".repeat(1_000);
    let r = redact(&text);
    assert_eq!(r.findings.len(), 1_000);
    assert!(r.findings.iter().all(|f| f.kind == PiiKind::Card));
}

/// 200k characters shaped to hurt: one long digit run, digits and separators, `@` chains, hex
/// and colons. The scan must finish (the regex engine is linear) and find what is there.
#[test]
fn adversarial_inputs_of_200k_characters() {
    let digits = "7".repeat(200_000);
    assert_eq!(find(&digits), vec![]);

    let grouped = "1 2-3.4 ".repeat(25_000);
    let _ = find(&grouped);

    let ats = "a@".repeat(100_000);
    assert_eq!(find(&ats), vec![]);

    let hex = "ab:".repeat(66_000);
    let _ = find(&hex);

    let mut mixed = "x ".repeat(99_990);
    mixed.push_str("jo@example.com");
    let r = redact(&mixed);
    assert_eq!(r.findings.len(), 1);
    assert!(r.text.ends_with("[email]"));
}
