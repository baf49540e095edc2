//! Which Word text a reader can see. A hidden run (`w:vanish`, `w:specVanish`), white text with
//! nothing dark behind it, and text of one point or less are not shown on the page or in print:
//! such text is not knowledge, and it is where instructions to the assistant get planted
//! (RELIABILITY L1). The HTML extractor drops text hidden by inline style for the same reason.
//!
//! A run looks the way its direct formatting says, then its character style (`w:rStyle`), then
//! its paragraph's style, then the document defaults; each style inherits from its `basedOn`
//! parent, followed a bounded number of hops because the chain may loop.

use std::collections::{HashMap, HashSet};

use quick_xml::events::BytesStart;

use super::attr;

/// How many `basedOn` hops are followed; real style sheets nest a few levels.
pub(super) const MAX_BASED_ON: usize = 8;

/// The run properties that decide visibility; `None` is "not said here, inherit".
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub(super) struct Look {
    vanish: Option<bool>,
    spec_vanish: Option<bool>,
    white: Option<bool>,
    tiny: Option<bool>,
    highlight: Option<bool>,
    shading: Option<bool>,
}

impl Look {
    /// Reads one element of a `w:rPr`; elements that do not bear on visibility are ignored.
    pub(super) fn read(&mut self, local: &str, e: &BytesStart<'_>) {
        match local {
            "vanish" => self.vanish = Some(on(e)),
            "specVanish" => self.spec_vanish = Some(on(e)),
            "color" => self.white = attr(e, "val").map(|v| v.eq_ignore_ascii_case("FFFFFF")),
            // Half-points: 2 is one point, too small to read.
            "sz" => self.tiny = attr(e, "val").and_then(|v| v.parse::<u32>().ok()).map(|half_points| half_points <= 2),
            "highlight" => self.highlight = attr(e, "val").map(|v| v != "none" && v != "white"),
            "shd" => self.shading = Some(shading_shows(e)),
            _ => {}
        }
    }

    /// This look, with what it leaves unsaid taken from `base`.
    pub(super) fn over(self, base: Look) -> Look {
        Look {
            vanish: self.vanish.or(base.vanish),
            spec_vanish: self.spec_vanish.or(base.spec_vanish),
            white: self.white.or(base.white),
            tiny: self.tiny.or(base.tiny),
            highlight: self.highlight.or(base.highlight),
            shading: self.shading.or(base.shading),
        }
    }

    /// Whether text in this look is invisible. White text is invisible only on a white page with
    /// nothing behind it: `backed` says the paragraph, table cell, text box or page is coloured.
    pub(super) fn invisible(self, backed: bool) -> bool {
        let yes = |v: Option<bool>| v == Some(true);
        let behind = backed || yes(self.highlight) || yes(self.shading);
        yes(self.vanish) || yes(self.spec_vanish) || yes(self.tiny) || (yes(self.white) && !behind)
    }
}

/// A toggle property (`ST_OnOff`): present without a value means on.
fn on(e: &BytesStart<'_>) -> bool {
    attr(e, "val").is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "off"))
}

/// Whether a `w:shd` paints something other than white: a fill colour, or a pattern.
pub(super) fn shading_shows(e: &BytesStart<'_>) -> bool {
    let coloured = |v: Option<String>| v.is_some_and(|v| v != "auto" && !v.eq_ignore_ascii_case("FFFFFF"));
    let pattern = attr(e, "val").is_some_and(|v| v != "clear" && v != "nil");
    coloured(attr(e, "fill")) || (pattern && !attr(e, "color").is_some_and(|c| c.eq_ignore_ascii_case("FFFFFF")))
}

/// Whether a page background (`w:background`) is coloured, so white text on it shows.
pub(super) fn background_shows(e: &BytesStart<'_>) -> bool {
    attr(e, "color").is_some_and(|v| v != "auto" && !v.eq_ignore_ascii_case("FFFFFF"))
}

/// What `word/styles.xml` says about visibility, read in the same pass as the heading levels.
#[derive(Default)]
pub(super) struct StyleLooks {
    /// Run properties of paragraph and character styles, resolved through `basedOn`.
    looks: HashMap<String, Look>,
    /// `w:docDefaults/w:rPrDefault`: what every run inherits last.
    pub(super) defaults: Look,
    /// The paragraph style of paragraphs that name none.
    pub(super) default_paragraph: Option<String>,
    /// Table styles that shade something (a header row, banded rows): white text in such a table
    /// may sit on a dark cell, and we do not resolve which.
    shaded_tables: HashSet<String>,
}

impl StyleLooks {
    pub(super) fn look(&self, id: Option<&str>) -> Look {
        id.and_then(|id| self.looks.get(id)).copied().unwrap_or_default()
    }

    pub(super) fn table_is_shaded(&self, id: &str) -> bool {
        self.shaded_tables.contains(id)
    }
}

/// Reads [`StyleLooks`] from the events of `word/styles.xml`.
#[derive(Default)]
pub(super) struct StyleReader {
    looks: StyleLooks,
    own: HashMap<String, Look>,
    /// The style being read, and whether it is a table style.
    current: Option<(String, bool)>,
    in_defaults: bool,
    /// Nested `w:rPr` depth: only the first level is the style's; a deeper one is the old
    /// formatting of a tracked change (`w:rPrChange`).
    rpr: usize,
    /// Inside a table style's conditional formatting (`w:tblStylePr`), whose run properties
    /// apply to parts of tables we do not resolve.
    conditional: usize,
}

impl StyleReader {
    /// A start tag (`empty` is false) or an empty element.
    pub(super) fn element(&mut self, local: &str, e: &BytesStart<'_>, empty: bool) {
        match local {
            "style" if !empty => {
                let table = attr(e, "type").is_some_and(|t| t == "table");
                let id = attr(e, "styleId");
                if let Some(id) = &id
                    && attr(e, "type").is_some_and(|t| t == "paragraph")
                    && attr(e, "default").is_some_and(|d| d == "1" || d == "true")
                {
                    self.looks.default_paragraph = Some(id.clone());
                }
                self.current = id.map(|id| (id, table));
            }
            "docDefaults" if !empty => self.in_defaults = true,
            "tblStylePr" if !empty => self.conditional += 1,
            "rPr" if !empty => self.rpr += 1,
            "shd" => {
                if let Some((id, true)) = &self.current
                    && shading_shows(e)
                {
                    self.looks.shaded_tables.insert(id.clone());
                }
            }
            _ => {}
        }
        if self.rpr == 1 && self.conditional == 0 {
            if self.in_defaults {
                self.looks.defaults.read(local, e);
            } else if let Some((id, false)) = &self.current {
                self.own.entry(id.clone()).or_default().read(local, e);
            }
        }
    }

    pub(super) fn end(&mut self, local: &str) {
        match local {
            "style" => self.current = None,
            "docDefaults" => self.in_defaults = false,
            "tblStylePr" => self.conditional = self.conditional.saturating_sub(1),
            "rPr" => self.rpr = self.rpr.saturating_sub(1),
            _ => {}
        }
    }

    /// Resolves every style through its `basedOn` chain.
    pub(super) fn finish(mut self, based_on: &HashMap<String, String>) -> StyleLooks {
        // A style that says nothing itself still inherits what its parents say.
        let ids: HashSet<&String> = self.own.keys().chain(based_on.keys()).collect();
        for id in ids {
            let mut look = self.own.get(id).copied().unwrap_or_default();
            let mut cursor = id;
            for _ in 0..MAX_BASED_ON {
                let Some(parent) = based_on.get(cursor) else { break };
                look = look.over(self.own.get(parent).copied().unwrap_or_default());
                cursor = parent;
            }
            self.looks.looks.insert(id.clone(), look);
        }
        self.looks
    }
}
