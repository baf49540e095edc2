//! DOCX: a ZIP of WordprocessingML parts, read with hard bounds before any XML is parsed.
//!
//! Bounds, in the order they apply (RELIABILITY U1):
//! 1. Entries: central-directory signatures are counted in the raw bytes before the zip crate
//!    builds its index, so a 10k-entry archive is refused without allocating an index for it.
//! 2. Inflated bytes: we read only the parts we need (`word/document.xml`, `word/styles.xml`,
//!    `docProps/core.xml`) through [`read_bounded`], which counts what the inflater actually
//!    produces and stops one buffer past the limit. The sizes the archive declares are never
//!    trusted, so a lying central directory changes nothing.
//! 3. Entries must be stored or deflated, unencrypted, and not archives themselves. Embedded
//!    objects (which may be ZIPs) are never opened, so nested archives stay inert.
//! 4. XML: a DOCTYPE is refused outright (Word never writes one; it is how entity bombs and XXE
//!    start). quick-xml does not expand entities anyway; unknown entity references are dropped.
//!
//! Text a reader cannot see (hidden runs, white text on white, one-point text) is dropped
//! (see [`visibility`]).

mod visibility;

use std::collections::HashMap;
use std::io::{Cursor, Read};

use memchr::memmem;
use quick_xml::events::{BytesStart, Event};
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use self::visibility::{Look, StyleLooks, StyleReader};
use crate::limits::{Halt, Sink};
use crate::model::render_row;
use crate::{ExtractError, Format};

const FORMAT: Format = Format::Docx;

pub(crate) fn extract(bytes: &[u8], sink: &mut Sink) -> Result<(), Halt> {
    let max_entries = sink.limits.max_archive_entries;
    // Every central-directory record starts with this signature, so the count is an upper bound
    // on the entries the zip crate could index.
    if memmem::find_iter(bytes, b"PK\x01\x02").count() > max_entries {
        return Err(ExtractError::TooManyEntries { limit: max_entries }.into());
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    if archive.len() > max_entries {
        return Err(ExtractError::TooManyEntries { limit: max_entries }.into());
    }
    let mut inflated = Inflated { limit: sink.limits.max_inflated_bytes, total: 0 };

    let styles = match read_part(&mut archive, "word/styles.xml", &mut inflated, sink)? {
        Some(xml) => parse_styles(&xml, sink)?,
        None => Styles::default(),
    };
    let document = read_part(&mut archive, "word/document.xml", &mut inflated, sink)?
        .ok_or_else(|| ExtractError::corrupt(FORMAT, "it has no word/document.xml"))?;
    if let Some(core) = read_part(&mut archive, "docProps/core.xml", &mut inflated, sink)? {
        sink.title = core_title(&core, sink)?;
    }
    Body::new(&styles).parse(&document, sink)
}

fn zip_error(e: ZipError) -> Halt {
    match e {
        ZipError::UnsupportedArchive(msg) if msg == ZipError::PASSWORD_REQUIRED => {
            ExtractError::Encrypted(FORMAT).into()
        }
        other => ExtractError::corrupt(FORMAT, other).into(),
    }
}

/// Bytes inflated so far across all parts, against the limit.
pub(crate) struct Inflated {
    pub(crate) limit: u64,
    pub(crate) total: u64,
}

fn read_part(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    name: &str,
    inflated: &mut Inflated,
    sink: &Sink,
) -> Result<Option<String>, Halt> {
    let Some(index) = archive.index_for_name(name) else { return Ok(None) };
    let file = archive.by_index(index).map_err(zip_error)?;
    if file.encrypted() {
        return Err(ExtractError::Encrypted(FORMAT).into());
    }
    if !matches!(file.compression(), CompressionMethod::Stored | CompressionMethod::Deflated) {
        let reason = format!("{name} uses {} compression; Word writes only DEFLATE", file.compression());
        return Err(ExtractError::refused(FORMAT, reason).into());
    }
    let data = read_bounded(file, inflated, sink)?;
    if data.starts_with(b"PK\x03\x04") {
        return Err(ExtractError::refused(FORMAT, format!("{name} is itself an archive")).into());
    }
    let text = String::from_utf8(data).map_err(|_| ExtractError::corrupt(FORMAT, format!("{name} is not UTF-8")))?;
    Ok(Some(text.trim_start_matches('\u{feff}').to_string()))
}

/// Reads everything `reader` inflates, failing as soon as the running total passes the limit.
/// Reads in 64 KiB steps, so at most one step more than the limit is ever inflated.
pub(crate) fn read_bounded(mut reader: impl Read, inflated: &mut Inflated, sink: &Sink) -> Result<Vec<u8>, Halt> {
    let mut out = Vec::new();
    let mut step = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut step).map_err(|e| ExtractError::corrupt(FORMAT, e))?;
        if n == 0 {
            return Ok(out);
        }
        inflated.total += n as u64;
        if inflated.total > inflated.limit {
            return Err(ExtractError::InflatedTooLarge { limit: inflated.limit }.into());
        }
        out.extend_from_slice(&step[..n]);
        sink.check_deadline()?;
    }
}

/// A quick-xml reader that refuses DTDs. Every part goes through this.
fn xml_reader(xml: &str) -> quick_xml::Reader<&[u8]> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    reader
}

fn next_event<'x>(reader: &mut quick_xml::Reader<&'x [u8]>, sink: &mut Sink) -> Result<Event<'x>, Halt> {
    sink.tick()?;
    match reader.read_event() {
        Ok(Event::DocType(_)) => Err(ExtractError::refused(
            FORMAT,
            "it declares a DTD (DOCTYPE), which Word never writes and entity-expansion attacks need",
        )
        .into()),
        Ok(event) => Ok(event),
        Err(e) => Err(ExtractError::corrupt(FORMAT, format!("bad XML: {e}")).into()),
    }
}

fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes().flatten().find(|a| local_name(a.key.as_ref()) == local).map(|a| a.value.into_owned())
}

fn local_name(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, local)| local)
}

/// The five predefined XML entities and character references; anything else is dropped (there
/// is no DTD that could define it).
pub(crate) fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Heading levels by style id, from `word/styles.xml`. Localised Word writes ids like
/// `berschrift1` but keeps the English name (`heading 1`) and the outline level, so we read those.
/// Also what the styles say about visibility.
#[derive(Default)]
struct Styles {
    heading: HashMap<String, u8>,
    title: Vec<String>,
    looks: StyleLooks,
}

impl Styles {
    fn level(&self, id: &str) -> Option<u8> {
        self.heading.get(id).copied().or_else(|| {
            let n = id.strip_prefix("Heading").or_else(|| id.strip_prefix("heading"))?;
            n.parse::<u8>().ok().filter(|n| (1..=9).contains(n))
        })
    }

    fn is_title(&self, id: &str) -> bool {
        id == "Title" || self.title.iter().any(|t| t == id)
    }
}

fn parse_styles(xml: &str, sink: &mut Sink) -> Result<Styles, Halt> {
    let mut styles = Styles::default();
    let mut based_on: HashMap<String, String> = HashMap::new();
    let mut reader = xml_reader(xml);
    let mut current: Option<String> = None;
    let mut looks = StyleReader::default();
    loop {
        let event = next_event(&mut reader, sink)?;
        if let Event::End(e) = &event {
            looks.end(local_name(e.name().as_ref()));
        }
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name();
                let local = local_name(name.as_ref());
                looks.element(local, &e, empty);
                match local {
                    "style" => current = attr(&e, "styleId"),
                    "name" => {
                        if let (Some(id), Some(val)) = (&current, attr(&e, "val")) {
                            let val = val.to_ascii_lowercase();
                            if val == "title" {
                                styles.title.push(id.clone());
                            } else if let Some(n) = val.strip_prefix("heading ").and_then(|n| n.parse::<u8>().ok()) {
                                styles.heading.insert(id.clone(), n.clamp(1, 9));
                            }
                        }
                    }
                    "outlineLvl" => {
                        if let (Some(id), Some(n)) = (&current, attr(&e, "val").and_then(|v| v.parse::<u8>().ok()))
                            && n < 9
                        {
                            styles.heading.entry(id.clone()).or_insert(n + 1);
                        }
                    }
                    "basedOn" => {
                        if let (Some(id), Some(parent)) = (&current, attr(&e, "val")) {
                            based_on.insert(id.clone(), parent);
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) if local_name(e.name().as_ref()) == "style" => current = None,
            _ => {}
        }
    }
    styles.looks = looks.finish(&based_on);
    // A custom style based on "Heading 2" is a heading too. Bounded hops: `basedOn` may loop.
    for (id, parent) in &based_on {
        let mut cursor = parent.clone();
        for _ in 0..visibility::MAX_BASED_ON {
            if let Some(level) = styles.level(&cursor) {
                styles.heading.entry(id.clone()).or_insert(level);
                break;
            }
            match based_on.get(&cursor) {
                Some(next) => cursor = next.clone(),
                None => break,
            }
        }
    }
    Ok(styles)
}

fn core_title(xml: &str, sink: &mut Sink) -> Result<Option<String>, Halt> {
    let mut reader = xml_reader(xml);
    let mut in_title = false;
    let mut title = String::new();
    loop {
        match next_event(&mut reader, sink)? {
            Event::Eof => return Ok(Some(title).filter(|t| !t.trim().is_empty())),
            Event::Start(e) if local_name(e.name().as_ref()) == "title" => in_title = true,
            Event::End(e) if local_name(e.name().as_ref()) == "title" => in_title = false,
            Event::Text(t) if in_title => title.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_title => title.extend(entity(&r.into_inner())),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Paragraph {
    text: String,
    style: Option<String>,
    outline: Option<u8>,
    list_level: Option<u8>,
    /// The paragraph is shaded (`w:pPr/w:shd`), so white text in it shows.
    shaded: bool,
}

/// A run (`w:r`): its direct formatting and character style.
#[derive(Default)]
struct Run {
    look: Look,
    style: Option<String>,
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    header_flag: bool,
    first_row_look: bool,
    row: Vec<String>,
    cell: Option<String>,
    /// The table, or its current cell, may be shaded: white text in it may show.
    shaded: bool,
    cell_shaded: bool,
}

/// Property containers (`w:pPr`, `w:rPr`, ...), innermost last: what an element inside one
/// describes depends on which, and how deep (a nested `w:rPr` is the old formatting of a
/// tracked change, or a paragraph mark's).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Props {
    Paragraph,
    Run,
    Table,
    Cell,
    Other,
}

/// The `w:body` walker. Paragraphs may nest (text boxes) and tables may nest (a table in a cell),
/// so both are stacks, and so are runs (a text box sits inside a run); everything is driven by
/// the flat event stream, never by recursion.
struct Body<'s> {
    styles: &'s Styles,
    paragraphs: Vec<Paragraph>,
    runs: Vec<Run>,
    tables: Vec<Table>,
    in_text: bool,
    props: Vec<Props>,
    /// Inside text boxes (`w:txbxContent`), whose shape may be filled behind white text.
    text_boxes: usize,
    /// The page has a coloured background (`w:background`).
    page_coloured: bool,
    /// Inside `mc:Fallback`, which repeats the `mc:Choice` content for old readers.
    skip: usize,
}

impl<'s> Body<'s> {
    fn new(styles: &'s Styles) -> Self {
        Body {
            styles,
            paragraphs: Vec::new(),
            runs: Vec::new(),
            tables: Vec::new(),
            in_text: false,
            props: Vec::new(),
            text_boxes: 0,
            page_coloured: false,
            skip: 0,
        }
    }

    /// Whether text of the current run would be seen: not hidden, not tiny, not white on white.
    fn visible(&self) -> bool {
        let Some(run) = self.runs.last() else { return true };
        let paragraph = self.paragraphs.last();
        let looks = &self.styles.looks;
        let paragraph_style = paragraph.and_then(|p| p.style.as_deref()).or(looks.default_paragraph.as_deref());
        let look =
            run.look.over(looks.look(run.style.as_deref())).over(looks.look(paragraph_style)).over(looks.defaults);
        let backed = self.page_coloured
            || self.text_boxes > 0
            || paragraph.is_some_and(|p| p.shaded)
            || self.tables.iter().any(|t| t.shaded || t.cell_shaded);
        !look.invisible(backed)
    }

    fn parse(mut self, xml: &str, sink: &mut Sink) -> Result<(), Halt> {
        let mut reader = xml_reader(xml);
        loop {
            let event = next_event(&mut reader, sink)?;
            if self.skip > 0 {
                match &event {
                    Event::Start(_) => self.skip += 1,
                    Event::End(_) => self.skip -= 1,
                    Event::Eof => return Ok(()),
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Eof => return Ok(()),
                Event::Start(e) => {
                    let name = e.name();
                    let local = local_name(name.as_ref());
                    if local == "Fallback" {
                        self.skip = 1;
                        continue;
                    }
                    self.open(local, &e, sink);
                }
                Event::Empty(e) => {
                    let name = e.name();
                    self.empty(local_name(name.as_ref()), &e);
                }
                Event::End(e) => {
                    let name = e.name();
                    self.close(local_name(name.as_ref()), sink)?;
                }
                Event::Text(t) if self.in_text && self.visible() => {
                    if let Some(p) = self.paragraphs.last_mut() {
                        p.text.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) if self.in_text && self.visible() => {
                    if let (Some(p), Some(c)) = (self.paragraphs.last_mut(), entity(&r.into_inner())) {
                        p.text.push(c);
                    }
                }
                _ => {}
            }
        }
    }

    fn open(&mut self, local: &str, e: &BytesStart<'_>, _sink: &mut Sink) {
        match local {
            "p" => self.paragraphs.push(Paragraph::default()),
            "r" => self.runs.push(Run::default()),
            "t" => self.in_text = true,
            "txbxContent" => self.text_boxes += 1,
            "pPr" => self.props.push(Props::Paragraph),
            "rPr" => self.props.push(Props::Run),
            "tblPr" => self.props.push(Props::Table),
            "tcPr" => self.props.push(Props::Cell),
            "trPr" | "sectPr" => self.props.push(Props::Other),
            "tbl" => self.tables.push(Table::default()),
            "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.row.clear();
                }
            }
            "tc" => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell = Some(String::new());
                    t.cell_shaded = false;
                }
            }
            _ => self.empty(local, e),
        }
    }

    /// Elements that matter by their attributes (and may also come as start tags).
    fn empty(&mut self, local: &str, e: &BytesStart<'_>) {
        self.look(local, e);
        let in_content = self.props.is_empty() && self.visible();
        let paragraph = self.paragraphs.last_mut();
        match (local, paragraph) {
            ("pStyle", Some(p)) => p.style = attr(e, "val"),
            ("outlineLvl", Some(p)) => p.outline = attr(e, "val").and_then(|v| v.parse::<u8>().ok()).filter(|&n| n < 9),
            ("numPr", Some(p)) => p.list_level = Some(p.list_level.unwrap_or(0)),
            ("ilvl", Some(p)) => p.list_level = attr(e, "val").and_then(|v| v.parse().ok()).or(Some(0)),
            ("tab", Some(p)) if in_content => p.text.push('\t'),
            ("br" | "cr", Some(p)) if in_content => p.text.push('\n'),
            ("tblHeader", _) => {
                if let Some(t) = self.tables.last_mut()
                    && t.rows.is_empty()
                    && attr(e, "val").is_none_or(|v| v != "0" && v != "false")
                {
                    t.header_flag = true;
                }
            }
            ("tblLook", _) => {
                if let Some(t) = self.tables.last_mut() {
                    // `firstRow="1"`, or bit 0x0020 of the older hex `val` form.
                    let first_row = attr(e, "firstRow").map(|v| v == "1" || v == "true");
                    let from_val = attr(e, "val").and_then(|v| u16::from_str_radix(&v, 16).ok()).map(|v| v & 0x20 != 0);
                    t.first_row_look = first_row.or(from_val).unwrap_or(false);
                }
            }
            _ => {}
        }
    }

    /// Elements that make text visible or not, read only in the property container they
    /// belong to (a run's own `w:rPr`, not a nested one).
    fn look(&mut self, local: &str, e: &BytesStart<'_>) {
        match (self.props.as_slice(), local) {
            ([Props::Run], "rStyle") => {
                if let Some(run) = self.runs.last_mut() {
                    run.style = attr(e, "val");
                }
            }
            ([Props::Run], _) => {
                if let Some(run) = self.runs.last_mut() {
                    run.look.read(local, e);
                }
            }
            ([Props::Paragraph], "shd") => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.shaded = visibility::shading_shows(e);
                }
            }
            ([Props::Table], "shd") => {
                if let Some(t) = self.tables.last_mut() {
                    t.shaded |= visibility::shading_shows(e);
                }
            }
            ([Props::Table], "tblStyle") => {
                if let Some(t) = self.tables.last_mut() {
                    t.shaded |= attr(e, "val").is_some_and(|id| self.styles.looks.table_is_shaded(&id));
                }
            }
            ([Props::Cell], "shd") => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell_shaded = visibility::shading_shows(e);
                }
            }
            ([], "background") => self.page_coloured = visibility::background_shows(e),
            _ => {}
        }
    }

    fn close(&mut self, local: &str, sink: &mut Sink) -> Result<(), Halt> {
        match local {
            "t" => self.in_text = false,
            "r" => {
                self.runs.pop();
            }
            "txbxContent" => self.text_boxes = self.text_boxes.saturating_sub(1),
            "pPr" | "rPr" | "tblPr" | "trPr" | "tcPr" | "sectPr" => {
                self.props.pop();
            }
            "p" => {
                let Some(p) = self.paragraphs.pop() else { return Ok(()) };
                if let Some(cell) = self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
                    cell.push(' ');
                    cell.push_str(&p.text);
                    return Ok(());
                }
                self.emit(p, sink)?;
            }
            "tc" => {
                if let Some(t) = self.tables.last_mut()
                    && let Some(cell) = t.cell.take()
                {
                    t.row.push(cell);
                }
            }
            "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    let row = std::mem::take(&mut t.row);
                    t.rows.push(row);
                }
            }
            "tbl" => {
                let Some(table) = self.tables.pop() else { return Ok(()) };
                let lines = table_lines(table);
                match self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
                    // A table inside a cell reads as that cell's text.
                    Some(outer) => {
                        outer.push(' ');
                        outer.push_str(&lines.join("; "));
                    }
                    None => {
                        for line in lines {
                            sink.table_row(line, None)?;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn emit(&self, p: Paragraph, sink: &mut Sink) -> Result<(), Halt> {
        let style = p.style.as_deref().unwrap_or("");
        if self.styles.is_title(style) && sink.title.is_none() && !p.text.trim().is_empty() {
            sink.title = Some(p.text);
            return Ok(());
        }
        if let Some(level) = self.styles.level(style).or(p.outline.map(|n| n + 1)) {
            return sink.heading(level.min(6), &p.text, None);
        }
        if let Some(depth) = p.list_level {
            return sink.list_item(depth, &p.text, None);
        }
        sink.paragraph(&p.text, None)
    }
}

/// Rows as readable lines. The first row names the columns when Word marks it as a header row
/// (repeat-as-header, or the table style's "Header Row", on by default for new tables).
fn table_lines(table: Table) -> Vec<String> {
    let mut rows = table.rows.into_iter().filter(|r| r.iter().any(|c| !c.trim().is_empty()));
    let Some(first) = rows.next() else { return Vec::new() };
    let rest: Vec<Vec<String>> = rows.collect();
    if (table.header_flag || table.first_row_look) && !rest.is_empty() {
        rest.iter().map(|r| render_row(Some(&first), r)).collect()
    } else {
        std::iter::once(first).chain(rest).map(|r| render_row(None, &r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::Limits;

    /// The bound that matters for memory: however much a stream would inflate to, the reader
    /// stops at most one 64 KiB step past the limit.
    #[test]
    fn bounded_reader_inflates_at_most_one_step_past_the_limit() {
        let bomb = zeros_zip(64 << 20);
        let limit = 1 << 20;
        let mut inflated = Inflated { limit, total: 0 };
        let sink = Sink::new(&Limits::default(), Format::Docx);
        let mut archive = ZipArchive::new(Cursor::new(&bomb[..])).unwrap();
        let file = archive.by_name("word/document.xml").unwrap();
        let err = read_bounded(file, &mut inflated, &sink).unwrap_err();
        assert!(matches!(err, Halt::Failed(ExtractError::InflatedTooLarge { .. })));
        assert!(inflated.total > limit && inflated.total <= limit + 64 * 1024, "inflated {}", inflated.total);
    }

    /// A ZIP holding `size` zero bytes as `word/document.xml`, written with the zip crate.
    fn zeros_zip(size: usize) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        zip.start_file("word/document.xml", options).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..size >> 20 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }
}
