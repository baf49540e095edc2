//! Markdown through pulldown-cmark's event stream: headings, paragraphs, (nested) list items,
//! GFM tables as header-named rows, and code blocks kept verbatim.
//!
//! pulldown-cmark is an iterator over events with no recursion in our code, so the deadline is
//! checked per event and nesting depth costs us nothing.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::limits::{Halt, Sink};
use crate::model::render_row;

enum Open {
    Heading(u8),
    Paragraph,
    Item(u8),
}

pub(crate) fn extract(text: &str, sink: &mut Sink) -> Result<(), Halt> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_FOOTNOTES;
    let mut buf = String::new();
    let mut open: Option<Open> = None;
    let mut list_depth: u8 = 0;
    let mut item_stack: Vec<u8> = Vec::new();
    let mut in_code = false;
    let mut skipping = 0usize; // inside front matter
    let mut header: Option<Vec<String>> = None;
    let mut cells: Vec<String> = Vec::new();
    let mut in_cell = false;
    let mut body_rows = 0usize;

    for event in Parser::new_ext(text, options) {
        sink.tick()?;
        match event {
            Event::Start(Tag::MetadataBlock(_)) => skipping += 1,
            Event::End(TagEnd::MetadataBlock(_)) => skipping = skipping.saturating_sub(1),
            _ if skipping > 0 => {}
            Event::Start(Tag::Heading { level, .. }) => {
                flush(sink, &mut open, &mut buf)?;
                open = Some(Open::Heading(heading_level(level)));
            }
            Event::End(TagEnd::Heading(_)) => flush(sink, &mut open, &mut buf)?,
            Event::Start(Tag::Paragraph) => {
                // A loose list item wraps its text in paragraphs: keep them in the item.
                if !matches!(open, Some(Open::Item(_))) {
                    flush(sink, &mut open, &mut buf)?;
                    open = Some(Open::Paragraph);
                } else {
                    buf.push(' ');
                }
            }
            Event::End(TagEnd::Paragraph) => {
                if matches!(open, Some(Open::Paragraph)) {
                    flush(sink, &mut open, &mut buf)?;
                }
            }
            Event::Start(Tag::List(_)) => {
                // Text before a nested list is its parent item.
                flush(sink, &mut open, &mut buf)?;
                list_depth = list_depth.saturating_add(1);
            }
            Event::End(TagEnd::List(_)) => {
                flush(sink, &mut open, &mut buf)?;
                list_depth = list_depth.saturating_sub(1);
            }
            Event::Start(Tag::Item) => {
                flush(sink, &mut open, &mut buf)?;
                let depth = list_depth.saturating_sub(1);
                item_stack.push(depth);
                open = Some(Open::Item(depth));
            }
            Event::End(TagEnd::Item) => {
                flush(sink, &mut open, &mut buf)?;
                item_stack.pop();
                // Text after a nested list (rare) still belongs to the enclosing item.
                open = item_stack.last().map(|&d| Open::Item(d));
            }
            Event::Start(Tag::CodeBlock(_)) => {
                flush(sink, &mut open, &mut buf)?;
                in_code = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                sink.code(&buf)?;
                buf.clear();
                in_code = false;
            }
            Event::Start(Tag::Table(_)) => {
                flush(sink, &mut open, &mut buf)?;
                header = None;
                body_rows = 0;
            }
            Event::Start(Tag::TableCell) => {
                in_cell = true;
                buf.clear();
            }
            Event::End(TagEnd::TableCell) => {
                cells.push(std::mem::take(&mut buf));
                in_cell = false;
            }
            Event::End(TagEnd::TableHead) => header = Some(std::mem::take(&mut cells)),
            Event::End(TagEnd::TableRow) => {
                body_rows += 1;
                sink.table_row(render_row(header.as_deref(), &cells), None)?;
                cells.clear();
            }
            Event::End(TagEnd::Table) => {
                // A table with a header and no body still says something.
                if let Some(names) = header.take()
                    && body_rows == 0
                {
                    sink.table_row(render_row(None, &names), None)?;
                }
            }
            Event::Text(t) | Event::Code(t) => {
                buf.push_str(&t);
                if !in_code && !in_cell && open.is_none() {
                    // Text outside any block we track (e.g. directly in a block quote): a paragraph.
                    open = Some(Open::Paragraph);
                }
            }
            Event::SoftBreak | Event::HardBreak => buf.push(if in_code { '\n' } else { ' ' }),
            Event::TaskListMarker(done) => buf.push_str(if done { "[x] " } else { "[ ] " }),
            // Raw HTML inside Markdown is markup, not content; footnote references are noise.
            _ => {}
        }
    }
    flush(sink, &mut open, &mut buf)
}

fn flush(sink: &mut Sink, open: &mut Option<Open>, buf: &mut String) -> Result<(), Halt> {
    let result = match open.take() {
        Some(Open::Heading(level)) => sink.heading(level, buf, None),
        Some(Open::Item(depth)) => sink.list_item(depth, buf, None),
        Some(Open::Paragraph) | None => sink.paragraph(buf, None),
    };
    buf.clear();
    result
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}
