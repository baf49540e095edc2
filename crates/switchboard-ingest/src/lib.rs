//! Switchboard's document ingestion: untrusted uploaded bytes in, structured and chunked text out.
//!
//! The knowledge path is `detect -> extract -> chunk` (then the engine embeds and the store indexes):
//!
//! ```
//! use switchboard_ingest::{chunk, detect, extract, ChunkOptions, Limits};
//!
//! let bytes = b"# Returns\n\n## EU\n\nYou can return any item within 30 days.";
//! let format = detect(bytes, Some("policy.md"), None).unwrap();
//! let doc = extract(format, bytes, &Limits::default()).unwrap();
//! let chunks = chunk(&doc, &ChunkOptions::default());
//! assert_eq!(chunks[0].display_path(), "Returns > EU");
//! ```
//!
//! For the web crawler it also reads what a page links to ([`page_links`]: links, `<base>`,
//! title, robots `<meta>`) and what a sitemap lists ([`parse_sitemap`]), under the same rule:
//! untrusted bytes in, bounded output, no I/O.
//!
//! # Invariants
//!
//! - **Nothing here trusts the input.** The type comes from the bytes (magic numbers and content)
//!   checked against an allowlist, never from the file name alone. Every parser runs under
//!   [`Limits`]: input bytes, inflated bytes and entries for archives, pages, extracted characters
//!   and a wall-clock budget checked while parsing wherever the parser gives us a hook.
//! - **Every failure is a typed [`ExtractError`]** with a human-readable message and a stable
//!   [`code`](ExtractError::code) for the problem+json `type`. Third-party parsers that are known
//!   to panic on malformed files (the PDF stack) run under `catch_unwind`, as a last resort.
//! - **Pure and synchronous:** no I/O, no async, no database. A panic is contained here; an
//!   unbounded allocation, a loop or a stack overflow inside a third-party parser is not, which is
//!   why the server runs `detect -> extract -> chunk` in a child process with `RLIMIT_AS`, a CPU
//!   limit and a wall-clock deadline (`switchboard extract-worker`, RELIABILITY U2).
//! - **Knowledge is what a reader sees.** Text hidden by formatting (HTML inline styles, hidden
//!   or white Word runs, invisible PDF text) is not extracted, and the invisible characters that
//!   split words (zero-width spaces, bidi controls) are dropped from every block.
//! - **Chunks follow structure:** they never cross a heading, keep table rows and FAQ pairs whole,
//!   and carry their heading path, page, ordinal and a content hash.

mod chunk;
mod detect;
mod docx;
mod error;
mod html;
mod invisible;
mod limits;
mod links;
mod markdown;
mod model;
mod pdf;
mod sitemap;
mod tabular;
mod text;

pub use chunk::{Chunk, ChunkKind, ChunkOptions, chunk, estimate_tokens};
pub use detect::{Format, detect};
pub use error::ExtractError;
pub use limits::Limits;
pub use links::{PageLinks, page_links};
pub use model::{Block, BlockKind, Extracted};
pub use sitemap::{Sitemap, SitemapKind, parse_sitemap};

/// Extracts structured text from `bytes`, which [`detect`] said are `format`.
///
/// Checks the input size before any parser sees the bytes, and runs the parser under `limits`.
/// When the extracted text reaches [`Limits::max_extracted_chars`] the result is cut there and
/// [`Extracted::truncated`] is set (with a warning), rather than failing: a long manual is still
/// worth answering from. Everything else over a limit is an error.
pub fn extract(format: Format, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(ExtractError::TooLarge { size: bytes.len() as u64, limit: limits.max_input_bytes });
    }
    let mut sink = limits::Sink::new(limits, format);
    let outcome = match format {
        Format::Pdf => pdf::extract(bytes, &mut sink),
        Format::Docx => docx::extract(bytes, &mut sink),
        Format::Html => html::extract(&text::decode(bytes), &mut sink),
        Format::Markdown => markdown::extract(&text::decode(bytes), &mut sink),
        Format::Text => text::extract(&text::decode(bytes), &mut sink),
        Format::Csv => tabular::extract_faq(&text::decode(bytes), &mut sink),
    };
    sink.finish(outcome)
}
