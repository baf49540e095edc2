//! The grounding check on paraphrased answers: what it must accept and what it must flag.

use switchboard_guard::grounding::{GroundingOptions, check};

const CHUNKS: [&str; 3] = [
    "Returns: You can return any unworn item within 30 days of delivery. Refunds are issued to the original payment method within 5 business days.",
    "Versand nach Österreich kostet 4,90 EUR und dauert 2 bis 4 Werktage. Ab 50 EUR ist der Versand kostenlos.",
    "Our stores in Lyon and Nantes are open Monday to Saturday, 10:00 to 19:00.",
];

fn supported(answer: &str) -> Vec<bool> {
    check(answer, &CHUNKS, &GroundingOptions::RECOMMENDED).claims.iter().map(|c| c.supported).collect()
}

#[test]
fn paraphrases_of_the_cited_chunk_are_supported() {
    assert_eq!(supported("You can return unworn items within 30 days of delivery [1]."), vec![true]);
    assert_eq!(supported("Refunds go back to your original payment method within 5 business days [1]."), vec![true]);
    assert_eq!(supported("Der Versand nach Österreich kostet 4.90 EUR [2]."), vec![true]);
    assert_eq!(supported("Ab 50 EUR ist der Versand kostenlos [2]. Er dauert 2 bis 4 Werktage [2]."), vec![true, true]);
    assert_eq!(supported("The Lyon and Nantes stores open Monday to Saturday [3]."), vec![true]);
}

#[test]
fn wrong_numbers_wrong_chunk_and_invented_claims_are_flagged() {
    // A number the chunk does not have.
    assert_eq!(supported("You can return items within 60 days of delivery [1]."), vec![false]);
    // True, but not in the chunk it cites.
    assert_eq!(supported("Shipping to Austria costs 4.90 EUR [1]."), vec![false]);
    // Invented.
    assert_eq!(supported("We also offer free gift wrapping and engraving on request [1]."), vec![false]);
    // A citation to a chunk that does not exist.
    assert_eq!(supported("You can return any unworn item within 30 days [7]."), vec![false]);
}

#[test]
fn uncited_sentences_are_checked_against_all_chunks_and_filler_makes_no_claim() {
    let report = check(
        "Here is what I found: returns are accepted within 30 days of delivery. We also sell gift cards.",
        &CHUNKS,
        &GroundingOptions::RECOMMENDED,
    );
    let verdicts: Vec<(bool, bool)> = report.claims.iter().map(|c| (c.cited, c.supported)).collect();
    assert_eq!(verdicts, vec![(false, true), (false, false)]);
    assert_eq!(report.unsupported().count(), 1);
    assert!(check("Thanks for asking!", &CHUNKS, &GroundingOptions::RECOMMENDED).all_supported());
}

#[test]
fn the_report_explains_and_can_drop_what_is_unsupported() {
    let answer = "Returns are free within 30 days [1]. Shipping to Austria costs 3.50 EUR [2].";
    let report = check(answer, &CHUNKS, &GroundingOptions::RECOMMENDED);
    let bad = report.unsupported().next().unwrap();
    assert_eq!(bad.missing_numbers, vec!["3.50"]);
    assert_eq!(bad.citations, vec![1]);
    assert_eq!(&answer[bad.span.clone()], "Shipping to Austria costs 3.50 EUR [2].");
    assert_eq!(report.supported_text(answer), "Returns are free within 30 days [1].");
}

#[test]
fn what_stays_keeps_its_layout_and_does_not_depend_on_what_follows() {
    let answer = "Returns are free within 30 days [1].\n\n- Shipping to Austria costs 3.50 EUR [2].\n- Returns \
                  are free within 30 days of delivery [1].";
    let report = check(answer, &CHUNKS, &GroundingOptions::RECOMMENDED);
    assert_eq!(
        report.supported_text(answer),
        "Returns are free within 30 days [1].\n\n- Returns are free within 30 days of delivery [1]."
    );
    // The first sentences alone, as a stream has them, keep to the start of the whole.
    let first = &answer[..answer.find("- Returns").unwrap()];
    let early = check(first, &CHUNKS, &GroundingOptions::RECOMMENDED).supported_text(first);
    assert!(report.supported_text(answer).starts_with(&early), "{early:?}");
    assert_eq!(check("  ", &CHUNKS, &GroundingOptions::RECOMMENDED).supported_text("  "), "");
}
