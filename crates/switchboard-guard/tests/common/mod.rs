//! The HTML safety check shared by the XSS and property tests.

use scraper::{Html, Node};
use switchboard_guard::markdown::LINK_REL;

/// Why `html` is not safe to insert into a page, or `None`. Parses it like a browser (html5ever)
/// and checks every element, attribute and URL against the allowlist; images must be https from
/// `cdn.shop.example`.
pub fn unsafe_reason(html: &str) -> Option<String> {
    let doc = Html::parse_fragment(html);
    for node in doc.tree.nodes() {
        let Node::Element(el) = node.value() else { continue };
        let name = el.name();
        let allowed_attrs: &[&str] = match name {
            "html" | "body" => &[],
            "a" => &["href", "title", "rel"],
            "img" => &["src", "alt", "title"],
            "ol" => &["start"],
            // Only the permissive renderer of the markdown tests writes this (a fenced block's language).
            "code" if el.attr("class").is_some_and(|c| c.starts_with("language-")) => &["class"],
            "blockquote" | "br" | "code" | "del" | "em" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "hr" | "li"
            | "p" | "pre" | "strong" | "table" | "tbody" | "td" | "th" | "thead" | "tr" | "ul" => &[],
            other => return Some(format!("element <{other}>")),
        };
        for (attr, value) in el.attrs() {
            if !allowed_attrs.contains(&attr) {
                return Some(format!("attribute {attr} on <{name}>"));
            }
            if attr == "href" {
                match url::Url::parse(value) {
                    Ok(url) if matches!(url.scheme(), "http" | "https" | "mailto") => {}
                    _ => return Some(format!("href {value:?}")),
                }
            }
            if attr == "src" {
                match url::Url::parse(value) {
                    Ok(url) if url.scheme() == "https" && url.host_str() == Some("cdn.shop.example") => {}
                    _ => return Some(format!("src {value:?}")),
                }
            }
        }
        if name == "a" && el.attr("rel") != Some(LINK_REL) {
            return Some("link without rel".to_owned());
        }
    }
    None
}
