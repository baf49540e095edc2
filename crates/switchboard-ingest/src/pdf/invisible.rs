//! Text drawn in an invisible rendering mode: `3 Tr` (neither filled nor stroked) and `7 Tr`
//! (only added to the clipping path). No reader sees it, so it is not knowledge, and it is where
//! instructions to the assistant get planted (RELIABILITY L1).
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
    let Some(marked) = mark(&content, marks) else { return };
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
        if let Some(marked) = mark(&content, marks) {
            stream.set_plain_content(marked);
        }
    }
}

/// `content` with marks around the text it draws invisibly; `None` when there is none (or the
/// stream does not parse, which pdf-extract will report itself).
fn mark(content: &[u8], marks: &Marks) -> Option<Vec<u8>> {
    // Most streams never set a rendering mode: those are not parsed twice.
    memmem::find(content, b"Tr")?;
    let content = Content::decode(content).ok()?;
    let mut operations = Vec::with_capacity(content.operations.len() + 4);
    let mut mode = 0i64;
    let mut saved = Vec::new();
    // What the device was last told; unknown after a form is drawn, which has its own marks.
    let mut told = Some(false);
    let mut hides = false;
    for op in content.operations {
        match op.operator.as_str() {
            // The rendering mode is part of the graphics state, which `q` saves and `Q` restores.
            "q" => saved.push(mode),
            "Q" => mode = saved.pop().unwrap_or(mode),
            "Tr" => mode = op.operands.first().and_then(|o| o.as_float().ok()).map_or(mode, |m| m as i64),
            "Tj" | "TJ" | "'" | "\"" | "Do" => {
                let invisible = matches!(mode, 3 | 7);
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
        let marked = mark(content, &marks).unwrap();
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
        assert!(mark(b"BT 0 Tr (seen) Tj ET", &marks).is_none());
        assert!(mark(b"BT (seen) Tj ET", &marks).is_none());
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
