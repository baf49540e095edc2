//! Limits on what one document may cost, and the sink every extractor writes blocks into.
//!
//! The sink is where the limits are enforced: it counts extracted characters, owns the deadline,
//! and turns "full" into an orderly stop of whichever parser is running (see [`Halt`]).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::invisible;
use crate::model::{Block, BlockKind, Extracted, normalize_ws};
use crate::{ExtractError, Format};

/// What one document may cost. The defaults follow RELIABILITY section 4 and the knowledge issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Upload size cap, checked before parsing (the default: 25 MB).
    pub max_input_bytes: u64,
    /// Text kept per document; past it the document is truncated with a warning.
    pub max_extracted_chars: usize,
    /// PDFs with more pages are refused (a huge page tree is a classic way to exhaust a parser).
    pub max_pages: usize,
    /// Entries in a DOCX archive (ogx-ai #6100 uses 1,000; real documents have a few dozen).
    pub max_archive_entries: usize,
    /// Bytes actually inflated from a DOCX, summed over the parts we read. Counted on the
    /// decompressed stream, because central-directory sizes can lie (sim #6166).
    pub max_inflated_bytes: u64,
    /// Wall-clock budget for one extraction, checked while parsing wherever the parser allows.
    pub time_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 25 * 1024 * 1024,
            max_extracted_chars: 5_000_000,
            max_pages: 2_000,
            max_archive_entries: 1_000,
            max_inflated_bytes: 25 * 1024 * 1024,
            time_budget: Duration::from_secs(30),
        }
    }
}

/// Why a parser stopped early. `Full` is not a failure: the caller keeps what was extracted.
#[derive(Debug)]
pub(crate) enum Halt {
    Full,
    Failed(ExtractError),
}

impl From<ExtractError> for Halt {
    fn from(e: ExtractError) -> Self {
        Halt::Failed(e)
    }
}

/// Collects blocks under the limits. Extractors push text and call [`Sink::tick`] in their loops.
pub(crate) struct Sink {
    format: Format,
    blocks: Vec<Block>,
    chars: usize,
    max_chars: usize,
    started: Instant,
    budget: Duration,
    ticks: u32,
    pub(crate) limits: Limits,
    pub(crate) title: Option<String>,
    pub(crate) page_count: Option<usize>,
    pub(crate) warnings: Vec<String>,
    truncated: bool,
}

impl Sink {
    pub(crate) fn new(limits: &Limits, format: Format) -> Self {
        Sink {
            format,
            blocks: Vec::new(),
            chars: 0,
            max_chars: limits.max_extracted_chars,
            started: Instant::now(),
            budget: limits.time_budget,
            ticks: 0,
            limits: limits.clone(),
            title: None,
            page_count: None,
            warnings: Vec::new(),
            truncated: false,
        }
    }

    /// Checks the deadline. Cheap enough to call per parser event: the clock is read every 256 calls.
    pub(crate) fn tick(&mut self) -> Result<(), Halt> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(256) {
            self.check_deadline()?;
        }
        Ok(())
    }

    pub(crate) fn check_deadline(&self) -> Result<(), Halt> {
        if self.started.elapsed() > self.budget {
            return Err(self.timeout().into());
        }
        Ok(())
    }

    pub(crate) fn timeout(&self) -> ExtractError {
        ExtractError::Timeout { format: self.format, limit: self.budget }
    }

    /// Characters that may still be extracted before the document is cut.
    pub(crate) fn remaining_chars(&self) -> usize {
        self.max_chars.saturating_sub(self.chars)
    }

    pub(crate) fn heading(&mut self, level: u8, text: &str, page: Option<u32>) -> Result<(), Halt> {
        let text = normalize_ws(text);
        self.push(BlockKind::Heading { level: level.clamp(1, 6), text }, page)
    }

    pub(crate) fn paragraph(&mut self, text: &str, page: Option<u32>) -> Result<(), Halt> {
        self.push(BlockKind::Paragraph { text: normalize_ws(text) }, page)
    }

    pub(crate) fn list_item(&mut self, depth: u8, text: &str, page: Option<u32>) -> Result<(), Halt> {
        self.push(BlockKind::ListItem { depth, text: normalize_ws(text) }, page)
    }

    pub(crate) fn table_row(&mut self, text: String, page: Option<u32>) -> Result<(), Halt> {
        self.push(BlockKind::TableRow { text: normalize_ws(&text) }, page)
    }

    pub(crate) fn faq(&mut self, question: &str, answer: &str) -> Result<(), Halt> {
        // Stripped here as well as in `push`, so that a half made only of invisible characters
        // counts as empty.
        let [question, answer] = [question, answer].map(|t| normalize_ws(&invisible::strip(t)));
        if question.is_empty() || answer.is_empty() {
            return Ok(());
        }
        self.push(BlockKind::Faq { question, answer }, None)
    }

    pub(crate) fn code(&mut self, text: &str) -> Result<(), Halt> {
        let text = text.trim_end_matches(['\n', '\r']).trim_start_matches(['\n', '\r']);
        if text.trim().is_empty() {
            return Ok(());
        }
        self.push(BlockKind::Code { text: text.to_string() }, None)
    }

    /// Adds a block (empty ones are dropped), cutting it at the character limit and reporting
    /// [`Halt::Full`] once the limit is reached. Every extractor's text passes here, so this is
    /// where the invisible characters that split words are dropped, whatever the format.
    fn push(&mut self, mut kind: BlockKind, page: Option<u32>) -> Result<(), Halt> {
        strip_invisible(&mut kind);
        let len = kind.text_len();
        if len == 0 {
            return Ok(());
        }
        let remaining = self.remaining_chars();
        if len > remaining {
            truncate_block(&mut kind, remaining);
            self.truncated = true;
        }
        self.chars += kind.text_len();
        if kind.text_len() > 0 {
            self.blocks.push(Block { kind, page });
        }
        if self.truncated {
            return Err(Halt::Full);
        }
        self.tick()
    }

    /// Ends the extraction: a `Full` stop keeps the text, a failure is returned, and a document
    /// without any text is an error (nothing to answer from).
    pub(crate) fn finish(mut self, outcome: Result<(), Halt>) -> Result<Extracted, ExtractError> {
        let format = self.format;
        match outcome {
            Ok(()) => {}
            Err(Halt::Full) => {
                self.truncated = true;
            }
            Err(Halt::Failed(e)) => return Err(e),
        }
        if self.truncated {
            self.warnings.push(format!(
                "the text was cut at {} characters (the per-document limit); split the document to index the rest",
                self.max_chars
            ));
        }
        if self.blocks.is_empty() {
            return Err(ExtractError::NoText(format));
        }
        let title = self.title.map(|t| normalize_ws(&invisible::strip(&t))).filter(|t| !t.is_empty()).or_else(|| {
            self.blocks.iter().find_map(|b| match &b.kind {
                BlockKind::Heading { level: 1, text } => Some(text.clone()),
                _ => None,
            })
        });
        Ok(Extracted {
            format,
            title,
            blocks: self.blocks,
            page_count: self.page_count,
            truncated: self.truncated,
            warnings: self.warnings,
        })
    }
}

/// Drops the invisible characters that split words (see [`invisible`]); whitespace around them
/// collapses again, except in code, which keeps its layout.
fn strip_invisible(kind: &mut BlockKind) {
    let strip = |text: &mut String, layout: bool| {
        if let Cow::Owned(stripped) = invisible::strip(text) {
            *text = if layout { stripped } else { normalize_ws(&stripped) };
        }
    };
    match kind {
        BlockKind::Faq { question, answer } => {
            strip(question, false);
            strip(answer, false);
        }
        BlockKind::Code { text } => strip(text, true),
        BlockKind::Heading { text, .. }
        | BlockKind::Paragraph { text }
        | BlockKind::ListItem { text, .. }
        | BlockKind::TableRow { text } => strip(text, false),
    }
}

fn truncate_block(kind: &mut BlockKind, keep: usize) {
    let cut = |s: &mut String, keep: usize| {
        if let Some((idx, _)) = s.char_indices().nth(keep) {
            s.truncate(idx);
        }
    };
    match kind {
        BlockKind::Faq { question, answer } => {
            let q = question.chars().count();
            if q >= keep {
                cut(question, keep);
                answer.clear();
            } else {
                cut(answer, keep - q);
            }
        }
        BlockKind::Heading { text, .. }
        | BlockKind::Paragraph { text }
        | BlockKind::ListItem { text, .. }
        | BlockKind::TableRow { text }
        | BlockKind::Code { text } => cut(text, keep),
    }
}
