//! Structure-following chunking: sections under a heading path are packed sentence by sentence
//! up to a token target, with a small overlap between consecutive chunks of a section.
//!
//! Rules, in priority order:
//! 1. A chunk never crosses a heading: each one belongs to exactly one heading path.
//! 2. A FAQ pair is a chunk of its own (split only if it alone exceeds the target, each part
//!    repeating the question).
//! 3. Table rows are never split (unless one row alone exceeds the target) and never repeated as
//!    overlap.
//! 4. Chunks end at sentence boundaries (UAX #29). A sentence longer than the target is split at
//!    spaces, and a "word" longer than the target (10 MB without whitespace) at characters.
//! 5. Every chunk's token count (summed per unit) stays within the target, so no chunk is
//!    silently truncated by the embedding model.

use sha2::{Digest, Sha256};
use unicode_segmentation::UnicodeSegmentation;

use crate::model::{Block, BlockKind, Extracted, normalize_ws};

/// How to chunk. `count_tokens` should count what the embedding model will see, without the
/// special tokens it adds: pass the real WordPiece tokenizer in production, or keep
/// [`estimate_tokens`]. It is called per sentence and per chunk, so it should be close to
/// additive over text split at whitespace.
#[derive(Clone, Copy)]
pub struct ChunkOptions<'a> {
    /// Target (and maximum) tokens per chunk. all-MiniLM-L6-v2 reads 256; 200 leaves room for
    /// the heading path prepended at embedding time.
    pub target_tokens: usize,
    /// Tokens of trailing sentences repeated at the start of the next chunk of the same section.
    pub overlap_tokens: usize,
    pub count_tokens: &'a dyn Fn(&str) -> usize,
}

impl Default for ChunkOptions<'static> {
    fn default() -> Self {
        ChunkOptions { target_tokens: 200, overlap_tokens: 30, count_tokens: &estimate_tokens }
    }
}

impl std::fmt::Debug for ChunkOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkOptions")
            .field("target_tokens", &self.target_tokens)
            .field("overlap_tokens", &self.overlap_tokens)
            .finish_non_exhaustive()
    }
}

/// What a chunk holds, for display and for answerers that treat FAQ answers specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    Text,
    /// Only table rows.
    Table,
    /// One FAQ pair, as `"Q: question\nA: answer"`.
    Faq,
}

/// A piece of a document ready to embed and index.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// 0-based position in the document.
    pub ordinal: u32,
    pub kind: ChunkKind,
    pub text: String,
    /// The headings above this chunk, outermost first: `["Returns", "EU", "Time limits"]`.
    pub heading_path: Vec<String>,
    /// The page the chunk starts on (PDF only).
    pub page: Option<u32>,
    /// `count_tokens(text)`.
    pub tokens: usize,
    /// Hex SHA-256 of the text lower-cased with whitespace collapsed: equal hashes mean the same
    /// content for chunk-level dedupe, whatever the layout.
    pub content_hash: String,
}

impl Chunk {
    /// The heading path as shown to people: `"Returns > EU > Time limits"`.
    pub fn display_path(&self) -> String {
        self.heading_path.join(" > ")
    }

    /// The text with its heading path in front, which is what should be embedded: a chunk that
    /// says "30 days" means little without "Returns > EU".
    pub fn contextual_text(&self) -> String {
        if self.heading_path.is_empty() { self.text.clone() } else { format!("{}\n{}", self.display_path(), self.text) }
    }
}

/// A rough WordPiece count for when the real tokenizer is not at hand: one token per short word,
/// one more per 8 letters of a long word, one per punctuation mark and per CJK character.
/// Exactly additive over text split at whitespace.
pub fn estimate_tokens(text: &str) -> usize {
    let mut tokens = 0;
    let mut run = 0usize;
    let end_run = |run: &mut usize, tokens: &mut usize| {
        if *run > 0 {
            *tokens += 1 + (*run - 1) / 8;
            *run = 0;
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() && !is_cjk(c) {
            run += 1;
        } else {
            end_run(&mut run, &mut tokens);
            if !c.is_whitespace() {
                tokens += 1;
            }
        }
    }
    end_run(&mut run, &mut tokens);
    tokens
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Splits a document into chunks (see the module docs for the rules).
pub fn chunk(doc: &Extracted, options: &ChunkOptions<'_>) -> Vec<Chunk> {
    let mut chunker = Chunker { options, target: options.target_tokens.max(1), out: Vec::new(), path: Vec::new() };
    let mut section: Vec<Unit> = Vec::new();
    for block in &doc.blocks {
        match &block.kind {
            BlockKind::Heading { level, text } => {
                chunker.pack(std::mem::take(&mut section));
                while chunker.path.last().is_some_and(|(l, _)| l >= level) {
                    chunker.path.pop();
                }
                chunker.path.push((*level, text.clone()));
            }
            BlockKind::Faq { question, answer } => {
                chunker.pack(std::mem::take(&mut section));
                chunker.faq(question, answer, block.page);
            }
            _ => chunker.units(block, &mut section),
        }
    }
    chunker.pack(section);
    chunker.out
}

/// The smallest piece the packer moves: a sentence (or part of one), or a whole table row.
struct Unit {
    text: String,
    tokens: usize,
    page: Option<u32>,
    /// The first unit of its block: joined to the previous unit with a newline.
    starts_block: bool,
    row: bool,
}

struct Chunker<'o, 'a> {
    options: &'o ChunkOptions<'a>,
    target: usize,
    out: Vec<Chunk>,
    path: Vec<(u8, String)>,
}

impl Chunker<'_, '_> {
    fn count(&self, text: &str) -> usize {
        (self.options.count_tokens)(text)
    }

    /// Breaks a block into units of at most `target` tokens.
    fn units(&self, block: &Block, section: &mut Vec<Unit>) {
        let (text, prefix, row) = match &block.kind {
            BlockKind::Paragraph { text } | BlockKind::Code { text } => (text.as_str(), String::new(), false),
            BlockKind::ListItem { depth, text } => {
                (text.as_str(), format!("{}- ", "  ".repeat(usize::from(*depth))), false)
            }
            BlockKind::TableRow { text } => (text.as_str(), String::new(), true),
            BlockKind::Heading { .. } | BlockKind::Faq { .. } => return,
        };
        let first = section.len();
        if row {
            let tokens = self.count(text);
            if tokens <= self.target {
                section.push(Unit { text: text.to_string(), tokens, page: block.page, starts_block: true, row: true });
                return;
            }
        }
        for sentence in text.split_sentence_bounds() {
            self.split_to_fit(sentence, self.target, &mut |text, tokens| {
                section.push(Unit { text: text.to_string(), tokens, page: block.page, starts_block: false, row });
            });
        }
        if let Some(unit) = section.get_mut(first) {
            unit.starts_block = true;
            unit.text.insert_str(0, &prefix);
            unit.tokens = self.count(&unit.text);
            if unit.tokens > self.target {
                // The prefix pushed it over: let it stand without one.
                unit.text.drain(..prefix.len());
                unit.tokens = self.count(&unit.text);
            }
        }
    }

    /// Calls `emit` with consecutive pieces of `text` of at most `limit` tokens each: whole if it
    /// fits, else at spaces, else (a run without whitespace) at characters.
    fn split_to_fit(&self, text: &str, limit: usize, emit: &mut dyn FnMut(&str, usize)) {
        let tokens = self.count(text);
        if tokens <= limit {
            if !text.is_empty() {
                emit(text, tokens);
            }
            return;
        }
        let mut piece = String::new();
        let mut piece_tokens = 0;
        for word in text.split_inclusive(char::is_whitespace) {
            let n = self.count(word);
            if n > limit {
                if !piece.is_empty() {
                    emit(&piece, piece_tokens);
                    piece.clear();
                    piece_tokens = 0;
                }
                self.split_chars(word, limit, emit);
                continue;
            }
            if piece_tokens + n > limit && !piece.is_empty() {
                emit(&piece, piece_tokens);
                piece.clear();
                piece_tokens = 0;
            }
            piece.push_str(word);
            piece_tokens += n;
        }
        if !piece.is_empty() {
            emit(&piece, piece_tokens);
        }
    }

    /// The last resort for text without spaces: the longest prefix within `limit`, found by
    /// halving a generous guess, so a 10 MB run costs a few counts per piece, not one per char.
    fn split_chars(&self, mut text: &str, limit: usize, emit: &mut dyn FnMut(&str, usize)) {
        while !text.is_empty() {
            let mut len = text.len().min(limit.saturating_mul(8).max(1));
            loop {
                while !text.is_char_boundary(len) {
                    len -= 1;
                }
                if len == 0 {
                    // One character over the limit on its own: emit it anyway to make progress.
                    len = text.chars().next().map_or(text.len(), char::len_utf8);
                    break;
                }
                if self.count(&text[..len]) <= limit {
                    break;
                }
                len /= 2;
            }
            let (piece, rest) = text.split_at(len);
            emit(piece, self.count(piece));
            text = rest;
        }
    }

    /// Packs a section's units greedily up to the target, starting each chunk after the first
    /// with the previous chunk's trailing sentences that fit in the overlap budget.
    fn pack(&mut self, units: Vec<Unit>) {
        let mut current: Vec<&Unit> = Vec::new();
        let mut tokens = 0;
        let mut has_new = false;
        for unit in &units {
            if has_new && tokens + unit.tokens > self.target {
                self.emit(&current);
                let overlap = self.overlap(&current, unit.tokens);
                tokens = overlap.iter().map(|u| u.tokens).sum();
                current = overlap;
            }
            current.push(unit);
            tokens += unit.tokens;
            has_new = true;
        }
        if has_new {
            self.emit(&current);
        }
    }

    fn overlap<'u>(&self, previous: &[&'u Unit], next_tokens: usize) -> Vec<&'u Unit> {
        let budget = self.options.overlap_tokens.min(self.target.saturating_sub(next_tokens));
        let mut taken = 0;
        let mut start = previous.len();
        for (i, unit) in previous.iter().enumerate().rev() {
            if unit.row || taken + unit.tokens > budget || i == 0 {
                break;
            }
            taken += unit.tokens;
            start = i;
        }
        previous[start..].to_vec()
    }

    fn emit(&mut self, units: &[&Unit]) {
        let mut text = String::new();
        for (i, unit) in units.iter().enumerate() {
            if i > 0 && unit.starts_block && !text.ends_with('\n') {
                text.truncate(text.trim_end().len());
                text.push('\n');
            }
            text.push_str(&unit.text);
        }
        let kind = if units.iter().all(|u| u.row) { ChunkKind::Table } else { ChunkKind::Text };
        self.push(kind, text, units.first().and_then(|u| u.page));
    }

    fn faq(&mut self, question: &str, answer: &str, page: Option<u32>) {
        let head = format!("Q: {question}\nA: ");
        let head_tokens = self.count(&head);
        if head_tokens + self.count(answer) <= self.target || head_tokens * 2 > self.target {
            // Fits (the rule), or the question alone is too long to repeat: pack it as text.
            let text = format!("{head}{answer}");
            if self.count(&text) <= self.target {
                self.push(ChunkKind::Faq, text, page);
            } else {
                let mut parts = Vec::new();
                self.split_to_fit(&text, self.target, &mut |t, _| parts.push(t.to_string()));
                for part in parts {
                    self.push(ChunkKind::Faq, part, page);
                }
            }
            return;
        }
        let mut parts: Vec<String> = Vec::new();
        let mut part = String::new();
        let mut part_tokens = 0;
        let budget = self.target - head_tokens;
        for sentence in answer.split_sentence_bounds() {
            self.split_to_fit(sentence, budget, &mut |t, n| {
                if part_tokens + n > budget && !part.is_empty() {
                    parts.push(std::mem::take(&mut part));
                    part_tokens = 0;
                }
                part.push_str(t);
                part_tokens += n;
            });
        }
        parts.push(part);
        for part in parts.into_iter().filter(|p| !p.trim().is_empty()) {
            self.push(ChunkKind::Faq, format!("{head}{part}"), page);
        }
    }

    fn push(&mut self, kind: ChunkKind, text: String, page: Option<u32>) {
        let text = text.trim().to_string();
        if text.is_empty() {
            return;
        }
        let normalized = normalize_ws(&text).to_lowercase();
        self.out.push(Chunk {
            ordinal: self.out.len() as u32,
            kind,
            tokens: self.count(&text),
            content_hash: hex::encode(Sha256::digest(normalized.as_bytes())),
            heading_path: self.path.iter().map(|(_, t)| t.clone()).collect(),
            page,
            text,
        });
    }
}
