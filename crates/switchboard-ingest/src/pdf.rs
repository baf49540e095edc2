//! PDF: text with page numbers, rebuilt into paragraphs, headings, list items and table rows from
//! glyph positions.
//!
//! **Why pdf-extract (and not lopdf alone):** lopdf parses the object graph but its text
//! extraction ignores font encodings and positions, so tables come out shredded. pdf-extract
//! decodes fonts (ToUnicode, Type1/CFF encodings) and hands every glyph to an [`OutputDev`] with
//! its position and size, which is what we need to keep a table row on one line and to split it
//! into cells at wide gaps. It builds on lopdf and re-exports it, so we use that lopdf for page
//! counts, encryption and metadata: one PDF parser in the tree, not two.
//!
//! **Hardening.** pdf-extract unwraps freely on malformed files, so each page runs under
//! `catch_unwind`, and our output device checks the deadline and the character budget on every
//! glyph and aborts the page when either is spent. Before any page is interpreted we refuse what
//! would make it recurse without bound (form XObjects that include themselves, directly or through
//! a cycle, or nest absurdly deep), because a stack overflow cannot be caught. What remains
//! uncontainable in-process (a pathological allocation inside lopdf: a content stream drawn a
//! thousand times is inflated a thousand times) is why the server runs this in a child process
//! with memory and time limits (RELIABILITY U2).
//!
//! **Text no reader sees is dropped:** glyphs drawn in an invisible rendering mode (see
//! [`invisible`]), glyphs of one point or less, and glyphs placed outside the page's MediaBox.
//! Such text is not knowledge, and it is where instructions to the assistant get planted
//! (RELIABILITY L1). White text is kept: pdf-extract does not track the fill colour set by
//! `rg`/`g`/`k`, and whether white shows depends on what was painted beneath it.

mod invisible;

use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use pdf_extract::{Dictionary, Document, MediaBox, Object, ObjectId, OutputDev, OutputError, Path, Transform};

use self::invisible::Marks;

use crate::limits::{Halt, Sink};
use crate::model::render_row;
use crate::{ExtractError, Format};

const FORMAT: Format = Format::Pdf;

/// Form XObjects nested deeper than this are refused: real documents nest a few levels at most,
/// and each level is a native stack frame in pdf-extract.
const MAX_FORM_DEPTH: usize = 32;

pub(crate) fn extract(bytes: &[u8], sink: &mut Sink) -> Result<(), Halt> {
    let mut doc = guarded(|| Document::load_mem(bytes))?.map_err(load_error)?;
    if doc.is_encrypted() {
        // An owner-password-only PDF (printing restricted) opens with the empty user password;
        // anything else needs a password we do not have.
        guarded(|| doc.decrypt(""))?.map_err(|_| ExtractError::Encrypted(FORMAT))?;
    }
    sink.check_deadline()?;
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(ExtractError::corrupt(FORMAT, "it has no pages").into());
    }
    if pages.len() > sink.limits.max_pages {
        return Err(ExtractError::TooManyPages { pages: pages.len(), limit: sink.limits.max_pages }.into());
    }
    sink.page_count = Some(pages.len());
    sink.title = info_title(&doc);
    let forms = forms(&doc);
    check_form_nesting(&doc, &forms)?;
    let marks = Marks::new();
    guarded(|| invisible::mark_forms(&mut doc, forms, &marks))?;

    let mut lines = Vec::new();
    let mut glyph_budget = sink.remaining_chars();
    let mut full = false;
    for (&page, &page_id) in &pages {
        sink.check_deadline()?;
        guarded(|| invisible::mark_page(&mut doc, page_id, &marks))?;
        let image_area = guarded(|| invisible::image_area(&doc, page_id))?;
        let mut device = Device::new(page, glyph_budget, &marks, image_area, sink);
        let result = guarded(|| pdf_extract::output_doc_page(&doc, &mut device, page));
        if let Some(halt) = device.halt.take() {
            // Keep what this page produced when the character budget ran out.
            device.end_line();
            lines.append(&mut device.lines);
            if matches!(halt, Halt::Full) {
                full = true;
                break;
            }
            return Err(halt);
        }
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ExtractError::corrupt(FORMAT, format!("page {page}: {e}")).into()),
            Err(halt) => return Err(halt),
        }
        device.end_line();
        glyph_budget = glyph_budget.saturating_sub(device.glyphs);
        lines.append(&mut device.lines);
    }
    emit_blocks(&lines, sink)?;
    if full { Err(Halt::Full) } else { Ok(()) }
}

/// Runs a third-party call, turning a panic into a "corrupt" error. A last resort: pdf-extract
/// and lopdf unwrap on malformed input instead of returning errors.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Halt> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| ExtractError::corrupt(FORMAT, "the PDF parser could not make sense of its structure").into())
}

fn load_error(e: pdf_extract::Error) -> Halt {
    match e {
        pdf_extract::Error::Decryption(_) => ExtractError::Encrypted(FORMAT).into(),
        other => ExtractError::corrupt(FORMAT, other).into(),
    }
}

fn info_title(doc: &Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let (_, info) = doc.dereference(info).ok()?;
    let title = info.as_dict().ok()?.get(b"Title").ok()?;
    let (_, title) = doc.dereference(title).ok()?;
    pdf_extract::decode_text_string(title).ok().filter(|t| !t.trim().is_empty())
}

/// The form XObjects (drawings a page includes with `Do`).
fn forms(doc: &Document) -> BTreeSet<ObjectId> {
    doc.objects
        .iter()
        .filter(|(_, o)| {
            o.as_stream().is_ok_and(|s| s.dict.get(b"Subtype").and_then(Object::as_name).is_ok_and(|n| n == b"Form"))
        })
        .map(|(id, _)| *id)
        .collect()
}

/// Refuses form XObjects that would make pdf-extract recurse without bound: cycles, and chains
/// deeper than [`MAX_FORM_DEPTH`]. Iterative, so the check itself cannot overflow.
fn check_form_nesting(doc: &Document, forms: &BTreeSet<ObjectId>) -> Result<(), Halt> {
    if forms.is_empty() {
        return Ok(());
    }
    let mut edges: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    for id in forms {
        let Ok(stream) = doc.get_object(*id).and_then(Object::as_stream) else { continue };
        let resources = stream
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|r| doc.dereference(r).ok())
            .and_then(|(_, r)| r.as_dict().ok());
        let targets = match resources {
            Some(resources) => xobject_refs(doc, resources),
            // Without its own resources a form uses its caller's, so it may call anything: assume
            // it does if its content draws XObjects at all.
            None if stream.content.windows(2).any(|w| w == b"Do") => forms.iter().copied().collect(),
            None => Vec::new(),
        };
        edges.insert(*id, targets.into_iter().filter(|t| forms.contains(t)).collect());
    }
    // Depth-first with an explicit stack: 0 = unseen, 1 = on the stack, 2 = done (depth known).
    let mut state: HashMap<ObjectId, u8> = HashMap::new();
    let mut depth: HashMap<ObjectId, usize> = HashMap::new();
    for &start in forms {
        if state.contains_key(&start) {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state.insert(start, 1);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let children = edges.get(&node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&child) = children.get(*next) {
                *next += 1;
                match state.get(&child).copied().unwrap_or(0) {
                    0 => {
                        state.insert(child, 1);
                        stack.push((child, 0));
                    }
                    1 => {
                        return Err(
                            ExtractError::refused(FORMAT, "a drawing includes itself (cyclic form XObjects)").into()
                        );
                    }
                    _ => {}
                }
                continue;
            }
            let d = 1 + children.iter().map(|c| depth.get(c).copied().unwrap_or(0)).max().unwrap_or(0);
            if d > MAX_FORM_DEPTH {
                return Err(ExtractError::refused(FORMAT, "drawings are nested too deeply").into());
            }
            depth.insert(node, d);
            state.insert(node, 2);
            stack.pop();
        }
    }
    Ok(())
}

fn xobject_refs(doc: &Document, resources: &Dictionary) -> Vec<ObjectId> {
    let Some(xobjects) =
        resources.get(b"XObject").ok().and_then(|x| doc.dereference(x).ok()).and_then(|(_, x)| x.as_dict().ok())
    else {
        return Vec::new();
    };
    xobjects.iter().filter_map(|(_, v)| v.as_reference().ok()).collect()
}

/// A line of text as laid out: cells split at wide horizontal gaps.
struct Line {
    page: u32,
    cells: Vec<String>,
    /// Baseline, measured downwards from the top of the page.
    y: f64,
    size: f64,
}

/// Receives pdf-extract's glyphs for one page and builds [`Line`]s, enforcing the budgets.
struct Device<'s> {
    page: u32,
    height: f64,
    /// The MediaBox, as (left, bottom, right, top).
    media: (f64, f64, f64, f64),
    marks: &'s Marks,
    /// Between marks that say the text is drawn invisibly.
    invisible: bool,
    /// The largest image the page paints (see [`invisible`]: a scan keeps its invisible text).
    image_area: f64,
    scan: bool,
    lines: Vec<Line>,
    current: Option<Line>,
    last_end: f64,
    glyphs: usize,
    budget: usize,
    sink: &'s Sink,
    halt: Option<Halt>,
}

impl<'s> Device<'s> {
    fn new(page: u32, budget: usize, marks: &'s Marks, image_area: f64, sink: &'s Sink) -> Self {
        Device {
            page,
            height: 0.0,
            media: (0.0, 0.0, 0.0, 0.0),
            marks,
            invisible: false,
            image_area,
            scan: false,
            lines: Vec::new(),
            current: None,
            last_end: 0.0,
            glyphs: 0,
            budget,
            sink,
            halt: None,
        }
    }

    fn end_line(&mut self) {
        if let Some(mut line) = self.current.take() {
            line.cells.retain_mut(|c| {
                *c = c.trim().to_string();
                !c.is_empty()
            });
            if !line.cells.is_empty() {
                self.lines.push(line);
            }
        }
    }

    /// Whether a glyph is too small to read (one point or less: its em height on the page, the
    /// length the matrix gives the glyph's vertical axis) or lies outside the MediaBox, with a
    /// margin of its own size for glyphs that straddle the edge.
    fn unseen(&self, trm: &Transform, font_size: f64) -> bool {
        let size = font_size.abs() * trm.m21.hypot(trm.m22);
        // A hair above one point, so that text set in exactly 1 pt is caught despite rounding.
        if !size.is_finite() || size <= 1.0 + 1e-6 {
            return true;
        }
        let (left, bottom, right, top) = self.media;
        let (x, y) = (trm.m31, trm.m32);
        x < left - size || x > right + size || y < bottom - size || y > top + size
    }

    fn stop(&mut self, halt: Halt) -> Result<(), OutputError> {
        self.halt = Some(halt);
        Err(OutputError::FormatError(std::fmt::Error))
    }
}

impl OutputDev for Device<'_> {
    fn begin_page(
        &mut self,
        _page: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.height = media_box.ury - media_box.lly;
        self.media = (
            media_box.llx.min(media_box.urx),
            media_box.lly.min(media_box.ury),
            media_box.llx.max(media_box.urx),
            media_box.lly.max(media_box.ury),
        );
        let (left, bottom, right, top) = self.media;
        self.scan = self.image_area >= 0.5 * (right - left) * (top - bottom);
        Ok(())
    }

    fn fill(
        &mut self,
        _ctm: &Transform,
        _: &pdf_extract::ColorSpace,
        _color: &[f64],
        path: &Path,
    ) -> Result<(), OutputError> {
        if let Some(invisible) = self.marks.read(path) {
            self.invisible = invisible && !self.scan;
        }
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        self.end_line();
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        ch: &str,
    ) -> Result<(), OutputError> {
        self.glyphs += 1;
        if self.glyphs > self.budget {
            return self.stop(Halt::Full);
        }
        if self.glyphs.is_multiple_of(1024)
            && let Err(halt) = self.sink.check_deadline()
        {
            return self.stop(halt);
        }
        if self.invisible || self.unseen(trm, font_size) {
            return Ok(());
        }
        // The text rendering matrix maps glyph space to the page: its translation is the glyph's
        // origin, and its scale turns the font size into page units.
        let (x, y) = (trm.m31, self.height - trm.m32);
        let scale = ((font_size * trm.m11 + font_size * trm.m21).abs()
            * (font_size * trm.m12 + font_size * trm.m22).abs())
        .sqrt();
        let size = if scale.is_finite() && scale > 0.1 { scale } else { font_size.abs().max(1.0) };
        let same_line = self.current.as_ref().is_some_and(|l| (l.y - y).abs() <= size * 0.5);
        if !same_line {
            self.end_line();
            self.current = Some(Line { page: self.page, cells: vec![String::new()], y, size });
            self.last_end = x;
        }
        let Some(line) = self.current.as_mut() else { return Ok(()) };
        let gap = x - self.last_end;
        let starts_cell = gap > size * 1.8 && !line.cells.last().is_some_and(|c| c.trim().is_empty());
        if starts_cell {
            line.cells.push(String::new());
        }
        if let Some(c) = line.cells.last_mut() {
            // A visible gap between glyphs is a space the PDF did not draw.
            if !starts_cell && gap > size * 0.15 && !c.is_empty() && !c.ends_with(char::is_whitespace) {
                c.push(' ');
            }
            c.push_str(ch);
        }
        line.size = line.size.max(size);
        self.last_end = x + width * size;
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// Turns positioned lines into blocks: runs of multi-cell lines are tables (the first row names
/// the columns), larger-than-body lines are headings ranked by size, bullets start list items,
/// and the rest joins into paragraphs split at vertical gaps.
fn emit_blocks(lines: &[Line], sink: &mut Sink) -> Result<(), Halt> {
    let body = body_size(lines);
    let mut heading_sizes: Vec<i64> = lines
        .iter()
        .filter(|l| is_heading(l, body))
        .map(|l| (l.size * 2.0).round() as i64)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    heading_sizes.reverse();

    let mut i = 0;
    let mut para = String::new();
    let mut para_page = None;
    let mut para_is_item = false;
    while i < lines.len() {
        sink.tick()?;
        let line = &lines[i];
        let prev = i.checked_sub(1).map(|p| &lines[p]);
        if line.cells.len() > 1 {
            flush_para(sink, &mut para, &mut para_page, &mut para_is_item)?;
            let end = (i..lines.len())
                .find(|&j| lines[j].cells.len() < 2 || lines[j].page != line.page)
                .unwrap_or(lines.len());
            let run = &lines[i..end];
            let header = (run.len() > 1).then(|| run[0].cells.clone());
            for row in if header.is_some() { &run[1..] } else { run } {
                sink.table_row(render_row(header.as_deref(), &row.cells), Some(row.page))?;
            }
            i = end;
            continue;
        }
        let text = &line.cells[0];
        if is_heading(line, body) {
            flush_para(sink, &mut para, &mut para_page, &mut para_is_item)?;
            let key = (line.size * 2.0).round() as i64;
            let level = heading_sizes.iter().position(|&s| s == key).unwrap_or(0) + 1;
            sink.heading(level.min(6) as u8, text, Some(line.page))?;
            i += 1;
            continue;
        }
        let bullet = strip_bullet(text);
        let gap = prev.is_some_and(|p| p.page != line.page || line.y - p.y > line.size.max(p.size) * 1.8);
        let after_other = prev.is_some_and(|p| p.cells.len() > 1 || is_heading(p, body));
        if bullet.is_some() || gap || after_other || para.is_empty() {
            flush_para(sink, &mut para, &mut para_page, &mut para_is_item)?;
            para_page = Some(line.page);
            para_is_item = bullet.is_some();
        }
        let text = bullet.unwrap_or(text);
        // Re-join words hyphenated across a line break ("ex-" + "ample").
        if para.ends_with('-')
            && para[..para.len() - 1].ends_with(char::is_alphabetic)
            && text.starts_with(char::is_lowercase)
        {
            para.pop();
        } else if !para.is_empty() {
            para.push(' ');
        }
        para.push_str(text);
        i += 1;
    }
    flush_para(sink, &mut para, &mut para_page, &mut para_is_item)
}

fn flush_para(sink: &mut Sink, para: &mut String, page: &mut Option<u32>, is_item: &mut bool) -> Result<(), Halt> {
    let result = if *is_item { sink.list_item(0, para, *page) } else { sink.paragraph(para, *page) };
    para.clear();
    *is_item = false;
    result
}

/// The size most of the text is set in (weighted by characters).
fn body_size(lines: &[Line]) -> f64 {
    let mut weight: HashMap<i64, usize> = HashMap::new();
    for l in lines {
        *weight.entry((l.size * 2.0).round() as i64).or_default() += l.cells.iter().map(|c| c.len()).sum::<usize>();
    }
    weight.into_iter().max_by_key(|&(size, n)| (n, -size)).map_or(12.0, |(size, _)| size as f64 / 2.0)
}

fn is_heading(line: &Line, body: f64) -> bool {
    line.cells.len() == 1 && line.size >= body * 1.15 && line.cells[0].chars().count() <= 150
}

fn strip_bullet(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(['•', '◦', '▪', '●', '·', '–', '-', '*'])?;
    rest.starts_with(' ').then(|| rest.trim_start())
}
