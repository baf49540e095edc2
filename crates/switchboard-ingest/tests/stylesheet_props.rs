//! Hostile and garbage `<style>` blocks: the HTML extractor reads the page's stylesheets to drop
//! hidden text, so whatever they hold must never fail the extraction, panic, recurse without
//! bound or take long.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use switchboard_ingest::{BlockKind, Extracted, Format, Limits, extract};

/// Wide: these finish in well under a second in a debug build; the bound catches work that
/// grows with rules times elements, not a slow machine.
const BOUNDED: Duration = Duration::from_secs(10);

fn page(css: &str, body: &str) -> String {
    format!("<!DOCTYPE html><html><head><style>{css}</style></head><body><main>{body}</main></body></html>")
}

fn texts(doc: &Extracted) -> Vec<&str> {
    doc.blocks
        .iter()
        .filter_map(|b| match &b.kind {
            BlockKind::Paragraph { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Pieces of CSS syntax, valid and broken, that a generator strings together.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "{", "}", "(", ")", "[", "]", ";", ":", ",", "\"", "'", "/*", "*/", "\\", "<!--", "-->", "@media",
            "@media print", "@media screen and (min-width:", "@supports", "@layer", "@import url(x.css);",
            "@font-face", "display", "none", "visibility", "hidden", "color", "#fff", "white", "font", "0/0",
            "opacity", "0", "background", "url(", "!important", "!", ".x", "#y", "[data-x]", "div", ">", "+", "~",
            ":is(", ":not(", ":has(", ":nth-child(2n+1)", "::before", "&", "var(--x)", "rgb(", "%", "\n", " ",
        ])
        .prop_map(str::to_owned),
        1 => "[ -~]{0,12}",
        1 => "\\PC{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Garbage CSS never fails an extraction and never hides text it does not target: the
    /// paragraph is matched by nothing the fragments can spell, short of `:not(...)`.
    #[test]
    fn garbage_stylesheets_fail_nothing(fragments in prop::collection::vec(fragment(), 0..120)) {
        let html = page(&fragments.concat(), r#"<p class="keep" id="keep">Descale the kettle monthly.</p>"#);
        let started = Instant::now();
        let result = extract(Format::Html, html.as_bytes(), &Limits::default());
        prop_assert!(started.elapsed() < BOUNDED);
        match result {
            Ok(doc) => prop_assert_eq!(texts(&doc), ["Descale the kettle monthly."]),
            // Only a generated `:not(...) { display: none }` could hide it.
            Err(e) => prop_assert!(e.code() == "no_text" && fragments.iter().any(|f| f == ":not("), "{e}"),
        }
    }
}

#[test]
fn a_huge_stylesheet_is_read_within_its_caps() {
    // Far more rules than the cap, each with a property we read, over a page of 3,000 elements.
    let css: String = (0..20_000).map(|i| format!(".c{i} > .d{i} p:nth-child(2n+1) {{ color: #fff }}\n")).collect();
    let body: String = (0..3_000).map(|i| format!("<div class=\"d{i}\"><p>Paragraph {i}.</p></div>")).collect();
    let html = page(&css, &body);
    let started = Instant::now();
    let doc = extract(Format::Html, html.as_bytes(), &Limits::default()).unwrap();
    assert!(started.elapsed() < BOUNDED, "took {:?}", started.elapsed());
    assert_eq!(texts(&doc).len(), 3_000);
    assert_eq!(doc.warnings.len(), 1, "{:?}", doc.warnings);
    assert!(doc.warnings[0].contains("stylesheets"), "{:?}", doc.warnings);
}

#[test]
fn rules_that_every_element_must_be_tested_against_stop_at_the_cap() {
    // Selectors indexed on nothing (`:not(...)`, `*`) are tested against every element: 4,000
    // rules over 5,000 elements would be 20 million tests, and the cap stops them early.
    let css: String = (0..4_000).map(|i| format!(":not(.n{i}) :not(.m{i}) {{ color: #111 }}\n")).collect();
    let body = "<div><p>Kept.</p></div>".repeat(2_500);
    let html = page(&css, &body);
    let started = Instant::now();
    let doc = extract(Format::Html, html.as_bytes(), &Limits::default()).unwrap();
    assert!(started.elapsed() < BOUNDED, "took {:?}", started.elapsed());
    assert_eq!(texts(&doc).len(), 2_500);
    assert_eq!(doc.warnings.len(), 1, "{:?}", doc.warnings);
}

#[test]
fn a_megabyte_of_one_unclosed_block_is_harmless() {
    let css = format!("p {{ color: {}", "rgb(".repeat(200_000));
    let doc = extract(Format::Html, page(&css, "<p>Shown.</p>").as_bytes(), &Limits::default()).unwrap();
    assert_eq!(texts(&doc), ["Shown."]);
    let deadline = Limits { time_budget: Duration::ZERO, ..Limits::default() };
    let err = extract(Format::Html, page(".x { display: none }", "<p>x</p>").as_bytes(), &deadline).unwrap_err();
    assert_eq!(err.code(), "parse_timeout");
}
