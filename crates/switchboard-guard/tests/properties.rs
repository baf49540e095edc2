//! Properties over random input: the sanitiser's output is safe and stable whatever markup it
//! is fed, and the scanners never panic, never split a character and never overlap findings.

mod common;

use common::unsafe_reason;
use proptest::prelude::*;
use switchboard_guard::{injection, markdown, pii};

/// Fragments that combine into hostile markdown: HTML, links, images, entities, code, references.
fn markup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<",
        ">",
        "<script>",
        "</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:x\">",
        "</a>",
        "[",
        "]",
        "(",
        ")",
        "![",
        "](",
        "javascript:",
        "JaVaScRiPt:",
        "data:text/html,",
        "https://evil.example/?q=",
        "https://cdn.shop.example/a.png",
        "&#x6A;",
        "&#106;",
        "&lt;",
        "\\",
        "`",
        "```\n",
        "\n",
        "\n\n",
        " ",
        "*",
        "_",
        "#",
        "> ",
        "- ",
        "1. ",
        "|",
        "---",
        "[r]: ",
        "[r]",
        "<svg onload=x>",
        "\"",
        "'",
        "x",
        "hello",
        "<!--",
        "-->",
        "<javascript:alert(1)>",
        "mailto:a@b.c",
        "\t",
        "&",
        "=",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

/// The permissive renderer's links carry no rel; add it so the check is about elements and URLs.
fn with_rel(html: &str) -> String {
    html.replace("<a href", &format!("<a rel=\"{}\" href", switchboard_guard::markdown::LINK_REL))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn rendered_html_has_no_active_content(md in markup()) {
        let html = markdown::render_html(&md, &["cdn.shop.example"]);
        prop_assert_eq!(unsafe_reason(&html), None, "{:?} -> {:?}", md, html);
    }

    #[test]
    fn sanitized_markdown_renders_inert_and_is_stable(md in markup()) {
        let safe = markdown::sanitize_markdown(&md, &["cdn.shop.example"]);
        let mut html = String::new();
        let options = pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
        pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&safe, options));
        let html = with_rel(&html);
        prop_assert_eq!(unsafe_reason(&html), None, "{:?} -> {:?} -> {:?}", md, safe, html);
        prop_assert_eq!(markdown::sanitize_markdown(&safe, &["cdn.shop.example"]), safe);
    }

    #[test]
    fn pii_findings_are_ordered_disjoint_char_ranges(text in "[ -~\\u{a0}-\\u{17f}\\u{200b}\\u{1f600}]{0,200}", digits in "[0-9 +()./-]{0,60}") {
        let text = format!("{text}{digits}{text}");
        let findings = pii::find(&text);
        let mut last_end = 0;
        for f in &findings {
            prop_assert!(f.span.start >= last_end && f.span.start < f.span.end);
            prop_assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
            last_end = f.span.end;
        }
        let redacted = pii::redact(&text);
        prop_assert_eq!(redacted.findings, findings);
    }

    #[test]
    fn injection_scores_stay_in_range(text in "\\PC{0,300}") {
        let v = injection::scan(&text);
        prop_assert!((0.0..=1.0).contains(&v.score));
        prop_assert_eq!(v.reasons.is_empty(), v.score == 0.0);
    }
}
