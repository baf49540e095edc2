//! What extraction produces: a document as a flat list of structural blocks.
//!
//! Flat rather than a tree so that every extractor emits blocks in reading order and the chunker
//! rebuilds the heading path itself; nesting deeper than a heading path would only be discarded.

use crate::Format;

/// A document reduced to its text structure.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub format: Format,
    /// From document metadata (PDF Info, DOCX core properties, HTML `<title>`) or the first
    /// top-level heading.
    pub title: Option<String>,
    /// Blocks in reading order.
    pub blocks: Vec<Block>,
    /// Pages in the document (PDF only).
    pub page_count: Option<usize>,
    /// The text was cut at [`crate::Limits::max_extracted_chars`].
    pub truncated: bool,
    /// Things the operator should know about: skipped CSV rows, truncation.
    pub warnings: Vec<String>,
}

impl Extracted {
    /// Characters of text in all blocks.
    pub fn char_count(&self) -> usize {
        self.blocks.iter().map(|b| b.kind.text_len()).sum()
    }
}

/// One structural unit of text.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub kind: BlockKind,
    /// 1-based page the block starts on (PDF only).
    pub page: Option<u32>,
}

/// What a block is. Text is whitespace-normalised (runs collapse to one space) except in
/// [`BlockKind::Code`], where layout matters.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockKind {
    /// `level` 1 is the top (h1, Heading 1, `#`).
    Heading {
        level: u8,
        text: String,
    },
    Paragraph {
        text: String,
    },
    /// `depth` 0 is a top-level item.
    ListItem {
        depth: u8,
        text: String,
    },
    /// One table row as a readable line: `"Plan: Pro | Price: 20 EUR"` when the table has a header
    /// row, `"Pro | 20 EUR"` otherwise. A row is never split across chunks.
    TableRow {
        text: String,
    },
    /// A question and its answer (CSV FAQ, `<dl>`, `<details>`). Always a chunk of its own.
    Faq {
        question: String,
        answer: String,
    },
    /// Preformatted text, kept verbatim.
    Code {
        text: String,
    },
}

impl BlockKind {
    /// The text the chunker packs (for a FAQ pair, both halves).
    pub fn text_len(&self) -> usize {
        match self {
            BlockKind::Faq { question, answer } => question.chars().count() + answer.chars().count(),
            BlockKind::Heading { text, .. }
            | BlockKind::Paragraph { text }
            | BlockKind::ListItem { text, .. }
            | BlockKind::TableRow { text }
            | BlockKind::Code { text } => text.chars().count(),
        }
    }
}

/// Collapses whitespace runs (including newlines) to single spaces and trims.
pub(crate) fn normalize_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Renders a table row with header names when there is a header to pair it with.
pub(crate) fn render_row(header: Option<&[String]>, cells: &[String]) -> String {
    let cells: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
    match header {
        Some(names) if names.len() == cells.len() && names.iter().any(|n| !n.trim().is_empty()) => names
            .iter()
            .zip(&cells)
            .filter(|(_, value)| !value.is_empty())
            .map(
                |(name, value)| {
                    if name.trim().is_empty() { value.to_string() } else { format!("{}: {value}", name.trim()) }
                },
            )
            .collect::<Vec<_>>()
            .join(" | "),
        _ => cells.iter().filter(|c| !c.is_empty()).copied().collect::<Vec<_>>().join(" | "),
    }
}
