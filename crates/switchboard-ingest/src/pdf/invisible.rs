//! Text drawn in an invisible rendering mode: `3 Tr` (neither filled nor stroked) and `7 Tr`
//! (only added to the clipping path), and text filled in white on a page that has painted
//! nothing behind it yet (white on white). No reader sees it, so it is not knowledge, and it is
//! where instructions to the assistant get planted (RELIABILITY L1).
//!
//! **Why a rewrite:** pdf-extract ignores the `Tr` operator and tells its output device nothing
//! about the rendering mode. So before it reads a page we rewrite, with its lopdf, each content
//! stream that draws text in an invisible mode: wherever what is drawn turns invisible or visible
//! again we insert the fill of a zero-size rectangle at a coordinate only this extraction knows
//! (a random number). pdf-extract hands every fill to our device, which drops the glyphs between
//! the marks. Nothing else in the stream changes, so glyphs keep their positions, and lines and
//! table cells come out as before. A document cannot forge a mark: it would have to guess the
//! number.
//!
//! Each stream is read from the default state (mode 0); a form XObject drawn while the mode is
//! invisible is hidden as a whole by the marks around its `Do`.
//!
//! **Scans are the exception.** A scanned page that went through OCR is an image of the page
//! with the recognised words laid over it in mode 3: the reader sees those words, in the image.
//! So on a page that paints an image over at least half of its MediaBox ([`image_area`]), the
//! marks are ignored and invisible text is kept. A planted instruction on such a page is still
//! dropped if it is tiny or off the page.

use std::hash::{BuildHasher, RandomState};

use memchr::memmem;
use pdf_extract::content::{Content, Operation};
use pdf_extract::{Dictionary, Document, Object, ObjectId, Path, PathOp, Stream};

/// The marks of one extraction.
pub(super) struct Marks {
    x: i64,
}

impl Marks {
    pub(super) fn new() -> Self {
        // A random 40-bit number: integers survive the content stream's text form exactly.
        let random = RandomState::new().hash_one(0u8);
        Marks { x: -((random % (1 << 40)) as i64) - 1 }
    }

    fn ops(&self, invisible: bool) -> [Operation; 2] {
        let rect = vec![self.x.into(), i64::from(invisible).into(), 0.into(), 0.into()];
        [Operation::new("re", rect), Operation::new("f", vec![])]
    }

    /// For a path the device was asked to fill: whether it is one of our marks, and if so,
    /// whether the text after it is invisible.
    pub(super) fn read(&self, path: &Path) -> Option<bool> {
        match path.ops.last()? {
            &PathOp::Rect(x, y, w, h) if x == self.x as f64 && w == 0.0 && h == 0.0 => Some(y == 1.0),
            _ => None,
        }
    }
}

/// The largest area (in default user space units) that the page's own content paints an image
/// XObject over: each `Do` of an image paints the unit square through the current matrix, whose
/// determinant is that area, so only the determinant is tracked through `cm`, `q` and `Q`.
pub(super) fn image_area(doc: &Document, page: ObjectId) -> f64 {
    let Ok(content) = doc.get_page_content(page) else { return 0.0 };
    if memmem::find(&content, b"Do").is_none() {
        return 0.0;
    }
    let Ok(content) = Content::decode(&content) else { return 0.0 };
    let xobjects = doc
        .get_page_resources(page)
        .ok()
        .and_then(|(own, inherited)| {
            own.into_iter()
                .chain(inherited.iter().filter_map(|id| doc.get_dictionary(*id).ok()))
                .find_map(|r| r.get(b"XObject").ok())
        })
        .and_then(|x| doc.dereference(x).ok())
        .and_then(|(_, x)| x.as_dict().ok());
    let Some(xobjects) = xobjects else { return 0.0 };
    let is_image = |name: &[u8]| {
        xobjects
            .get(name)
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_stream().ok())
            .is_some_and(|s| s.dict.get(b"Subtype").and_then(Object::as_name).is_ok_and(|n| n == b"Image"))
    };
    let (mut det, mut saved, mut largest) = (1.0f64, Vec::new(), 0.0f64);
    for op in &content.operations {
        match op.operator.as_str() {
            "q" => saved.push(det),
            "Q" => det = saved.pop().unwrap_or(det),
            "cm" => {
                let n: Vec<f64> = op.operands.iter().filter_map(|o| o.as_float().ok()).map(f64::from).collect();
                if let [a, b, c, d, ..] = n[..] {
                    det *= a * d - b * c;
                }
            }
            "Do" if op.operands.first().and_then(|o| o.as_name().ok()).is_some_and(is_image) => {
                largest = largest.max(det.abs());
            }
            _ => {}
        }
    }
    largest
}

/// Marks the invisible text of a page's content, replacing its content streams with one.
pub(super) fn mark_page(doc: &mut Document, page: ObjectId, marks: &Marks) {
    let Ok(content) = doc.get_page_content(page) else { return };
    let Some(marked) = mark(&content, marks, Behind::Nothing) else { return };
    let stream = doc.add_object(Stream::new(Dictionary::new(), marked));
    if let Ok(page) = doc.get_object_mut(page).and_then(Object::as_dict_mut) {
        page.set("Contents", stream);
    }
}

/// Marks the invisible text of form XObjects (drawings that pages include with `Do`).
pub(super) fn mark_forms(doc: &mut Document, forms: impl IntoIterator<Item = ObjectId>, marks: &Marks) {
    for id in forms {
        let Ok(stream) = doc.get_object_mut(id).and_then(Object::as_stream_mut) else { continue };
        let content = stream.get_plain_content().unwrap_or_else(|_| stream.content.clone());
        // A form is drawn over whatever the page painted first: its white text may be seen.
        if let Some(marked) = mark(&content, marks, Behind::Unknown) {
            stream.set_plain_content(marked);
        }
    }
}

/// What a stream draws over when it starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behind {
    /// A page: the white paper.
    Nothing,
    /// A form XObject: whatever the page painted before drawing it.
    Unknown,
}

/// Whether a colour operator's operands (gray, RGB or CMYK, by their count) are white or
/// nearly: what text must not be filled with on white paper. A pattern or anything else is not.
fn white(operator: &str, operands: &[Object]) -> bool {
    let n: Vec<f64> = operands.iter().map_while(|o| o.as_float().ok()).map(f64::from).collect();
    if n.len() != operands.len() {
        return false;
    }
    let light = |v: &f64| *v >= 0.97;
    match (operator, n.len()) {
        ("k", 4) | ("sc" | "scn", 4) => n.iter().all(|v| *v <= 0.03),
        ("g" | "rg" | "sc" | "scn", 1 | 3) => n.iter().all(light),
        _ => false,
    }
}

/// `content` with marks around the text it draws invisibly; `None` when there is none (or the
/// stream does not parse, which pdf-extract will report itself).
fn mark(content: &[u8], marks: &Marks, behind: Behind) -> Option<Vec<u8>> {
    // Most streams never set a rendering mode or a fill colour: those are not parsed twice.
    let colours = [b"rg".as_slice(), b" g", b" k", b"sc"].iter().any(|op| memmem::find(content, op).is_some());
    if memmem::find(content, b"Tr").is_none() && !colours {
        return None;
    }
    let content = Content::decode(content).ok()?;
    let mut operations = Vec::with_capacity(content.operations.len() + 4);
    let mut mode = 0i64;
    // Filling in white; and whether anything was painted yet that white text could stand on.
    let mut white_fill = false;
    let mut painted = behind == Behind::Unknown;
    let mut saved = Vec::new();
    // What the device was last told; unknown after a form is drawn, which has its own marks.
    let mut told = Some(false);
    let mut hides = false;
    for op in content.operations {
        match op.operator.as_str() {
            // The rendering mode and the fill colour are graphics state, which `q` saves and `Q`
            // restores.
            "q" => saved.push((mode, white_fill)),
            "Q" => (mode, white_fill) = saved.pop().unwrap_or((mode, white_fill)),
            "Tr" => mode = op.operands.first().and_then(|o| o.as_float().ok()).map_or(mode, |m| m as i64),
            "g" | "rg" | "k" | "sc" | "scn" => white_fill = white(&op.operator, &op.operands),
            // A new colour space starts black.
            "cs" => white_fill = false,
            "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" if !white_fill => painted = true,
            "sh" | "BI" => painted = true,
            _ => {}
        }
        match op.operator.as_str() {
            "Tj" | "TJ" | "'" | "\"" | "Do" => {
                // Filled-only text (modes 0 and 4) in white, with nothing painted behind it yet.
                let white_on_white = white_fill && matches!(mode, 0 | 4) && !painted && op.operator != "Do";
                let invisible = matches!(mode, 3 | 7) || white_on_white;
                if told != Some(invisible) {
                    operations.extend(marks.ops(invisible));
                    told = Some(invisible);
                    hides |= invisible;
                }
            }
            _ => {}
        }
        let draws_form = op.operator == "Do";
        operations.push(op);
        if draws_form {
            told = None;
            // An image or a form may paint a background.
            painted = true;
        }
    }
    if !hides {
        return None;
    }
    if told != Some(false) {
        operations.extend(marks.ops(false));
    }
    Content { operations }.encode().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(content: &[u8]) -> Vec<String> {
        Content::decode(content)
            .unwrap()
            .operations
            .iter()
            .map(|op| {
                let operands: Vec<String> = op.operands.iter().map(|o| format!("{o:?}")).collect();
                format!("{} {}", operands.join(" "), op.operator).trim().to_string()
            })
            .collect()
    }

    #[test]
    fn invisible_text_is_marked_and_the_rest_is_left_alone() {
        let marks = Marks { x: -7 };
        let content = b"BT /F1 11 Tf 72 700 Td (seen) Tj 3 Tr (unseen) Tj q 0 Tr (seen) Tj Q [(unseen)] TJ ET";
        let marked = mark(content, &marks, Behind::Nothing).unwrap();
        assert_eq!(
            ops(&marked),
            [
                "BT",
                "/F1 11 Tf",
                "72 700 Td",
                "(seen) Tj",
                "3 Tr",
                "-7 1 0 0 re",
                "f",
                "(unseen) Tj",
                "q",
                "0 Tr",
                "-7 0 0 0 re",
                "f",
                "(seen) Tj",
                "Q",
                "-7 1 0 0 re",
                "f",
                "[(unseen)] TJ",
                "ET",
                "-7 0 0 0 re",
                "f",
            ]
        );
        // Nothing drawn invisibly: nothing rewritten.
        assert!(mark(b"BT 0 Tr (seen) Tj ET", &marks, Behind::Nothing).is_none());
        assert!(mark(b"BT (seen) Tj ET", &marks, Behind::Nothing).is_none());
        assert!(mark(b"0 0 1 rg BT (blue) Tj ET", &marks, Behind::Nothing).is_none());
    }

    #[test]
    fn white_text_is_invisible_until_something_is_painted_behind_it() {
        let marks = Marks { x: -7 };
        let hidden = |content: &[u8], behind| {
            let marked = mark(content, &marks, behind).map(|m| ops(&m)).unwrap_or_default();
            marked.iter().any(|op| op == "-7 1 0 0 re")
        };
        for white in ["1 g", "1 1 1 rg", "0.99 0.98 1 rg", "0 0 0 0 k", "1 sc", "1 1 1 scn"] {
            let page = format!("BT {white} (unseen) Tj ET");
            assert!(hidden(page.as_bytes(), Behind::Nothing), "{white}");
            assert!(!hidden(page.as_bytes(), Behind::Unknown), "{white} in a form may stand on the page");
        }
        assert!(!hidden(b"BT 0.5 g (grey) Tj ET", Behind::Nothing));
        assert!(!hidden(b"BT 1 1 1 RG 1 Tr (stroked white is not filled text) Tj ET", Behind::Nothing));
        // On a dark box: seen. A white box paints nothing that white text could stand on.
        assert!(!hidden(b"0 0 0.4 rg 50 500 300 40 re f BT 1 1 1 rg (on navy) Tj ET", Behind::Nothing));
        assert!(hidden(b"1 g 50 500 300 40 re f BT (white box) Tj ET", Behind::Nothing));
        // The colour is graphics state: after `Q` the text is black again.
        assert!(!hidden(b"q 1 g Q BT (black) Tj ET", Behind::Nothing));
        assert!(hidden(b"q 1 g BT (white) Tj ET Q", Behind::Nothing));
    }

    #[test]
    fn only_our_own_marks_are_read() {
        let marks = Marks::new();
        let path = |x: f64, y: f64| Path { ops: vec![PathOp::Rect(x, y, 0.0, 0.0)] };
        assert_eq!(marks.read(&path(marks.x as f64, 1.0)), Some(true));
        assert_eq!(marks.read(&path(marks.x as f64, 0.0)), Some(false));
        assert_eq!(marks.read(&path(marks.x as f64 + 1.0, 0.0)), None);
        assert_ne!(Marks::new().x, marks.x, "every extraction has its own number");
    }
}
