//! Properties of the chunker over generated documents: nothing lost, sizes bounded, ordinals
//! sequential, FAQ pairs alone, headings respected.

use proptest::prelude::*;
use switchboard_ingest::{Block, BlockKind, ChunkKind, ChunkOptions, Extracted, Format, chunk, estimate_tokens};

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z]{1,12}",
        2 => "[a-z]{1,6}[.!?,;:]",
        1 => "[0-9]{1,4}",
        1 => "[a-z]{40,300}", // long runs without whitespace
        1 => "(日本語|中文|한국어){1,5}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..80).prop_map(|w| w.join(" "))
}

fn block() -> impl Strategy<Value = BlockKind> {
    prop_oneof![
        1 => (1u8..4, "[A-Z][a-z]{1,10}").prop_map(|(level, text)| BlockKind::Heading { level, text }),
        4 => text().prop_map(|text| BlockKind::Paragraph { text }),
        2 => (0u8..3, text()).prop_map(|(depth, text)| BlockKind::ListItem { depth, text }),
        2 => text().prop_map(|text| BlockKind::TableRow { text }),
        1 => (text(), text()).prop_map(|(question, answer)| BlockKind::Faq { question, answer }),
    ]
}

fn doc() -> impl Strategy<Value = Extracted> {
    prop::collection::vec((block(), prop::option::of(1u32..9)), 0..30).prop_map(|blocks| Extracted {
        format: Format::Text,
        title: None,
        blocks: blocks.into_iter().map(|(kind, page)| Block { kind, page }).collect(),
        page_count: None,
        truncated: false,
        warnings: vec![],
    })
}

/// True when `needle`'s characters appear in `haystack` in order (extra characters allowed).
fn is_subsequence(needle: impl Iterator<Item = char>, haystack: &str) -> bool {
    let mut hay = haystack.chars();
    needle.into_iter().all(|c| hay.any(|h| h == c))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_body_character_lands_in_a_chunk_in_order(doc in doc(), target in 12usize..300, overlap in 0usize..40) {
        let options = ChunkOptions { target_tokens: target, overlap_tokens: overlap, ..ChunkOptions::default() };
        let chunks = chunk(&doc, &options);
        let all: String = chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("\n");
        let body = doc.blocks.iter().flat_map(|b| match &b.kind {
            BlockKind::Heading { .. } => vec![],
            BlockKind::Faq { question, answer } => vec![question.clone(), answer.clone()],
            BlockKind::Paragraph { text } | BlockKind::ListItem { text, .. } | BlockKind::TableRow { text } | BlockKind::Code { text } => vec![text.clone()],
        });
        let body: String = body.collect::<Vec<_>>().join(" ");
        prop_assert!(is_subsequence(body.chars().filter(|c| !c.is_whitespace()), &all));
    }

    #[test]
    fn sizes_are_bounded_and_ordinals_sequential(doc in doc(), target in 12usize..300, overlap in 0usize..40) {
        let options = ChunkOptions { target_tokens: target, overlap_tokens: overlap, ..ChunkOptions::default() };
        let chunks = chunk(&doc, &options);
        for (i, c) in chunks.iter().enumerate() {
            prop_assert_eq!(c.ordinal as usize, i);
            prop_assert!(!c.text.trim().is_empty());
            prop_assert!(estimate_tokens(&c.text) <= target, "{} tokens > {target}: {:?}", estimate_tokens(&c.text), c.text);
            prop_assert_eq!(c.tokens, estimate_tokens(&c.text));
            prop_assert_eq!(c.content_hash.len(), 64);
        }
    }

    #[test]
    fn faq_pairs_and_headings_are_respected(doc in doc()) {
        let chunks = chunk(&doc, &ChunkOptions::default());
        let faqs = doc.blocks.iter().filter(|b| matches!(b.kind, BlockKind::Faq { .. })).count();
        let faq_chunks: Vec<_> = chunks.iter().filter(|c| c.kind == ChunkKind::Faq).collect();
        // Each pair starts a chunk of its own (a pair too long for one chunk continues in more).
        prop_assert!(faq_chunks.iter().filter(|c| c.text.starts_with("Q: ")).count() >= faqs);
        // No chunk mixes text from two heading paths: every path is a path the document has.
        let mut seen_paths = vec![vec![]];
        let mut path: Vec<(u8, String)> = vec![];
        for b in &doc.blocks {
            if let BlockKind::Heading { level, text } = &b.kind {
                while path.last().is_some_and(|(l, _)| l >= level) { path.pop(); }
                path.push((*level, text.clone()));
                seen_paths.push(path.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
            }
        }
        prop_assert!(chunks.iter().all(|c| seen_paths.contains(&c.heading_path)));
    }
}
