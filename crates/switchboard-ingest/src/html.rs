//! HTML: the main content of a page (no navigation, banners, footers, sidebars, scripts, styles
//! or forms) as headings, paragraphs, list items, header-named table rows and `<dl>` FAQ pairs.
//!
//! Parsing is html5ever (the browser algorithm, so broken markup recovers as a browser would)
//! into scraper's arena tree. The input is fed in pieces with the deadline checked in between,
//! and the tree is walked with open/close edges and explicit counters: no recursion anywhere, so
//! 100k nested `<div>`s cost memory proportional to the input and never the stack.
//!
//! Text a reader cannot see is dropped: elements hidden by an attribute (`hidden`,
//! `aria-hidden`) or by their styles, and text the colour of what is behind it. Styles are the
//! page's own: its `<style>` rules and `style` attributes, cascaded as CSS does
//! ([`cascade`]); a linked stylesheet is never fetched.

use ego_tree::NodeRef;
use ego_tree::iter::Edge;
use html5ever::tendril::{StrTendril, TendrilSink};
use scraper::{Html, HtmlTreeSink, Node};

mod cascade;
mod css;
mod style;

use self::cascade::Styles;
use self::style::{Look, hidden};
use crate::limits::{Halt, Sink};
use crate::model::{normalize_ws, render_row};
use crate::{ExtractError, Format};

/// Bytes handed to the parser between two deadline checks.
const FEED_BYTES: usize = 64 * 1024;

/// Deeper element nesting is refused. The HTML tree builder checks element scopes by scanning
/// the stack of open elements, so parsing time grows with depth times tags: 100k nested `<div>`s
/// take tens of seconds. Chromium stops nesting at 512; real pages stay well below 100.
const MAX_DEPTH: usize = 1_024;

pub(crate) fn extract(text: &str, sink: &mut Sink) -> Result<(), Halt> {
    let depth = nesting_depth(text);
    if depth > MAX_DEPTH {
        let reason = format!("its elements nest more than {MAX_DEPTH} levels deep");
        return Err(ExtractError::refused(Format::Html, reason).into());
    }
    let html = parse(text, sink)?;
    let title = html.tree.nodes().find(|n| matches!(n.value(), Node::Element(e) if e.name() == "title"));
    sink.title = title.map(|t| text_of(t));
    let styles = Styles::compute(&html, sink)?;
    let root = content_root(&html);
    Walker::new(sink, &styles, root).walk(root)
}

fn parse(text: &str, sink: &mut Sink) -> Result<Html, Halt> {
    let mut parser = html5ever::driver::parse_document(HtmlTreeSink::new(Html::new_document()), Default::default());
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(FEED_BYTES);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        parser.process(StrTendril::from_slice(piece));
        rest = tail;
        sink.check_deadline()?;
    }
    Ok(parser.finish())
}

/// `<main>` (or `role="main"`), else a lone `<article>`, else `<body>`: where the page's own text is.
fn content_root(html: &Html) -> NodeRef<'_, Node> {
    if let Some(main) = named(html, "main").next() {
        return main;
    }
    if let Some(main) = html.tree.nodes().find(|n| n.value().as_element().and_then(|e| e.attr("role")) == Some("main"))
    {
        return main;
    }
    let mut articles = named(html, "article");
    if let (Some(article), None) = (articles.next(), articles.next()) {
        return article;
    }
    named(html, "body").next().unwrap_or_else(|| html.tree.root())
}

fn named<'h>(html: &'h Html, name: &'static str) -> impl Iterator<Item = NodeRef<'h, Node>> {
    html.tree.nodes().filter(move |n| n.value().as_element().is_some_and(|e| e.name() == name))
}

fn text_of(node: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    for n in node.descendants() {
        if let Node::Text(t) = n.value() {
            out.push_str(t);
        }
    }
    normalize_ws(&out)
}

/// Elements whose content is never the page's own text, or that a reader cannot see.
fn is_chrome(node: NodeRef<'_, Node>, element: &scraper::node::Element, styles: &Styles, in_article: bool) -> bool {
    let name = element.name();
    let role = element.attr("role").unwrap_or("");
    matches!(
        name,
        "nav"
            | "aside"
            | "script"
            | "style"
            | "form"
            | "noscript"
            | "template"
            | "svg"
            | "iframe"
            | "button"
            | "select"
            | "textarea"
            | "object"
            | "canvas"
            | "head"
            | "dialog"
            | "menu"
    ) || (!in_article && matches!(name, "header" | "footer"))
        || matches!(role, "navigation" | "banner" | "contentinfo" | "complementary" | "search" | "menu" | "dialog")
        || element.attr("hidden").is_some()
        || element.attr("aria-hidden") == Some("true")
        // A page whose whole body is hidden is shown by a script (the anti-clickjacking
        // `body { display: none !important }`, a loading class): hiding text from readers
        // means hiding it next to what they see, so `<html>` and `<body>` always show.
        || (!matches!(name, "html" | "body") && styles.of(node.id()).is_some_and(hidden))
}

#[derive(Clone, Copy, PartialEq)]
enum Open {
    Paragraph,
    Heading(u8),
    Item(u8),
}

struct Table {
    header: Option<Vec<String>>,
    cells: Vec<String>,
    cell_is_header: Vec<bool>,
    in_head: bool,
    rows: usize,
}

struct Walker<'s> {
    sink: &'s mut Sink,
    styles: &'s Styles,
    buf: String,
    open: Open,
    /// Depth inside skipped elements (counting every element below the skipped one).
    skip: usize,
    /// The colours of each open element (not skipped), from its styles: text whose colour is
    /// that of the background behind it is dropped, while its element's children may show.
    looks: Vec<Look>,
    /// Inside `<article>`/`<main>` a `<header>` is the article's own title block, worth keeping.
    article: usize,
    lists: u8,
    pre: usize,
    tables: Vec<Table>,
    cell: Option<String>,
    question: Option<String>,
}

impl<'s> Walker<'s> {
    fn new(sink: &'s mut Sink, styles: &'s Styles, root: NodeRef<'_, Node>) -> Self {
        let root_is_article = root.value().as_element().is_some_and(|e| matches!(e.name(), "main" | "article"));
        // The walk starts at the content root: its ancestors (`<body style="background:#000">`)
        // still colour it.
        let mut ancestors: Vec<NodeRef<'_, Node>> = root.ancestors().collect();
        ancestors.reverse();
        let around = ancestors.into_iter().fold(Look::PAGE, |look, n| match n.value().as_element() {
            Some(e) => look.inside(e, styles.of(n.id())),
            None => look,
        });
        Walker {
            sink,
            styles,
            buf: String::new(),
            open: Open::Paragraph,
            skip: 0,
            looks: vec![around],
            article: usize::from(root_is_article),
            lists: 0,
            pre: 0,
            tables: Vec::new(),
            cell: None,
            question: None,
        }
    }

    fn walk(mut self, root: NodeRef<'_, Node>) -> Result<(), Halt> {
        for edge in root.traverse() {
            self.sink.tick()?;
            match edge {
                Edge::Open(node) => match node.value() {
                    Node::Element(e) => {
                        let name = e.name();
                        if self.skip > 0 || is_chrome(node, e, self.styles, self.article > 0) {
                            self.skip += 1;
                            continue;
                        }
                        self.looks.push(self.look().inside(e, self.styles.of(node.id())));
                        self.open_element(name)?;
                    }
                    Node::Text(t) if self.skip == 0 && !self.look().hides_text() => self.target().push_str(t),
                    _ => {}
                },
                Edge::Close(node) => {
                    if let Node::Element(e) = node.value() {
                        if self.skip > 0 {
                            self.skip -= 1;
                            continue;
                        }
                        self.looks.pop();
                        self.close_element(e.name())?;
                    }
                }
            }
        }
        self.flush()
    }

    fn look(&self) -> Look {
        self.looks.last().copied().unwrap_or(Look::PAGE)
    }

    /// Where text goes now: the open table cell, else the block being built.
    fn target(&mut self) -> &mut String {
        match self.cell.as_mut() {
            Some(cell) => cell,
            None => &mut self.buf,
        }
    }

    fn open_element(&mut self, name: &str) -> Result<(), Halt> {
        if self.tables.len() > 1 && matches!(name, "tr" | "td" | "th") {
            // A table nested in a cell reads as text of that cell.
            self.target().push(' ');
            return Ok(());
        }
        match name {
            "article" | "main" => {
                self.article += 1;
                self.block()?;
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.block()?;
                if self.cell.is_none() {
                    self.open = Open::Heading(name.as_bytes()[1] - b'0');
                }
            }
            "ul" | "ol" => {
                self.block()?;
                self.lists = self.lists.saturating_add(1);
            }
            "li" => {
                self.block()?;
                if self.cell.is_none() {
                    self.open = Open::Item(self.lists.saturating_sub(1));
                }
            }
            "pre" => {
                self.block()?;
                self.pre += 1;
            }
            "br" => self.target().push('\n'),
            "table" => {
                self.block()?;
                self.tables.push(Table {
                    header: None,
                    cells: vec![],
                    cell_is_header: vec![],
                    in_head: false,
                    rows: 0,
                });
            }
            "thead" => {
                if let Some(t) = self.tables.last_mut() {
                    t.in_head = true;
                }
            }
            "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.cells.clear();
                    t.cell_is_header.clear();
                }
            }
            "td" | "th" if !self.tables.is_empty() => {
                self.cell = Some(String::new());
                if let Some(t) = self.tables.last_mut() {
                    t.cell_is_header.push(name == "th");
                }
            }
            "dt" | "dd" => self.block()?,
            _ if is_block(name) => self.block()?,
            _ => {}
        }
        Ok(())
    }

    fn close_element(&mut self, name: &str) -> Result<(), Halt> {
        if self.tables.len() > 1 && matches!(name, "tr" | "td" | "th") {
            self.target().push(' ');
            return Ok(());
        }
        match name {
            "article" | "main" => {
                self.block()?;
                self.article = self.article.saturating_sub(1);
            }
            "ul" | "ol" => {
                self.block()?;
                self.lists = self.lists.saturating_sub(1);
                // Text after a nested list still belongs to the enclosing item.
                self.open = if self.lists > 0 { Open::Item(self.lists - 1) } else { Open::Paragraph };
            }
            "pre" => {
                if self.cell.is_none() {
                    self.sink.code(&self.buf)?;
                    self.buf.clear();
                }
                self.pre = self.pre.saturating_sub(1);
            }
            "td" | "th" => {
                if let (Some(cell), Some(t)) = (self.cell.take(), self.tables.last_mut()) {
                    t.cells.push(normalize_ws(&cell));
                }
            }
            "thead" => {
                if let Some(t) = self.tables.last_mut() {
                    t.in_head = false;
                }
            }
            "tr" => self.end_row()?,
            "table" => {
                if let Some(t) = self.tables.pop()
                    && t.rows == 0
                    && let Some(header) = t.header
                {
                    self.sink.table_row(render_row(None, &header), None)?;
                }
            }
            "dt" => {
                self.question = Some(normalize_ws(&self.buf));
                self.buf.clear();
            }
            "dd" => match self.question.take() {
                Some(q) if !q.is_empty() => {
                    let answer = std::mem::take(&mut self.buf);
                    self.sink.faq(&q, &answer)?;
                }
                _ => self.flush()?,
            },
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" => self.block()?,
            _ if is_block(name) => self.block()?,
            _ => {}
        }
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), Halt> {
        let Some(t) = self.tables.last_mut() else { return Ok(()) };
        let cells = std::mem::take(&mut t.cells);
        if cells.iter().all(|c| c.is_empty()) {
            return Ok(());
        }
        let all_th = !t.cell_is_header.is_empty() && t.cell_is_header.iter().all(|&h| h);
        if t.header.is_none() && t.rows == 0 && (t.in_head || all_th) {
            t.header = Some(cells);
            return Ok(());
        }
        t.rows += 1;
        let row = render_row(t.header.as_deref(), &cells);
        self.sink.table_row(row, None)
    }

    /// A block boundary: inside a cell it is just a space; elsewhere the pending text is emitted.
    fn block(&mut self) -> Result<(), Halt> {
        match self.cell.as_mut() {
            Some(cell) => {
                cell.push(' ');
                Ok(())
            }
            None => self.flush(),
        }
    }

    fn flush(&mut self) -> Result<(), Halt> {
        if self.pre > 0 {
            // Text in <pre> keeps its layout and is emitted when the <pre> closes.
            return Ok(());
        }
        let result = match self.open {
            Open::Heading(level) => self.sink.heading(level, &self.buf, None),
            Open::Item(depth) => self.sink.list_item(depth, &self.buf, None),
            Open::Paragraph => self.sink.paragraph(&self.buf, None),
        };
        self.buf.clear();
        // After a heading or item closes, loose text is a paragraph, or the rest of the
        // enclosing list item.
        self.open = if self.lists > 0 && matches!(self.open, Open::Item(_)) { self.open } else { Open::Paragraph };
        result
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "blockquote"
            | "address"
            | "figure"
            | "figcaption"
            | "center"
            | "dl"
            | "details"
            | "summary"
            | "hr"
            | "body"
            | "header"
            | "footer"
            | "caption"
    )
}

/// A one-pass estimate of how deep elements nest, to refuse pathological pages before the tree
/// builder sees them. Written by hand because it must be cheaper than parsing: it counts start
/// and end tags of elements that need an end tag and ignores void elements, self-closing tags and
/// elements whose end tag is optional (an unclosed `<p>` or `<li>` does not nest). It can only
/// over-count where a page leaves required end tags out, which real pages do not do a thousand
/// levels deep.
fn nesting_depth(text: &str) -> usize {
    const NO_DEPTH: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot", "colgroup",
        "caption", "rt", "rp", "html", "head", "body",
    ];
    let bytes = text.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    for at in memchr::memchr_iter(b'<', bytes) {
        let rest = &bytes[at + 1..];
        let (closing, rest) = match rest.first() {
            Some(b'/') => (true, &rest[1..]),
            _ => (false, rest),
        };
        let len = rest.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if len == 0 || !rest[0].is_ascii_alphabetic() {
            continue;
        }
        let name = std::str::from_utf8(&rest[..len]).unwrap_or("").to_ascii_lowercase();
        if NO_DEPTH.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        let self_closing = memchr::memchr(b'>', rest).is_some_and(|end| end > 0 && rest[end - 1] == b'/');
        if !self_closing {
            depth += 1;
            max = max.max(depth);
        }
    }
    max
}
