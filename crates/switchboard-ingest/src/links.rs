//! What a crawler needs from an HTML page besides its text: the links, the
//! `<base href>`, the title and the robots directives in `<meta>`.
//!
//! This runs html5ever's tokenizer alone, without the tree builder: one linear
//! pass over the input with no tree to build, so deep nesting or a page of
//! 100k links costs time proportional to the bytes and memory proportional to
//! the links kept. The sink switches the tokenizer into raw-text states for
//! `<script>`, `<style>`, `<title>` and `<textarea>` (the tree builder's job),
//! so markup inside a script is not mistaken for links.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, StartTag, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer,
};

use crate::model::normalize_ws;

/// Links and directives of one page, as written: the crawler resolves the
/// `hrefs` against `base` (or the page's URL) and decides what to follow.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageLinks {
    pub title: Option<String>,
    /// The first `<base href>`.
    pub base: Option<String>,
    /// `href`s of `<a>` and `<area>` in document order, without `rel="nofollow"` ones.
    pub hrefs: Vec<String>,
    /// More links were on the page than were kept.
    pub truncated: bool,
    /// `<meta name="robots" content="noindex">` (or for the named agent).
    pub noindex: bool,
    /// `<meta name="robots" content="nofollow">` (or for the named agent).
    pub nofollow: bool,
}

/// Reads links and directives from HTML `bytes`, keeping at most `max_links`
/// hrefs. `agent` is the crawler's name for agent-specific `<meta>` robots tags.
pub fn page_links(bytes: &[u8], agent: &str, max_links: usize) -> PageLinks {
    let text = crate::text::decode(bytes);
    let sink = LinkSink {
        found: RefCell::new(PageLinks::default()),
        agent: agent.to_ascii_lowercase(),
        max_links,
        in_title: RefCell::new(None),
    };
    let tokenizer = Tokenizer::new(sink, Default::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(&text));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.found.take()
}

struct LinkSink {
    found: RefCell<PageLinks>,
    agent: String,
    max_links: usize,
    /// The title's text while inside `<title>`.
    in_title: RefCell<Option<String>>,
}

/// Titles longer than this are cut (they are display text, not content).
const MAX_TITLE_CHARS: usize = 300;

impl TokenSink for LinkSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            TagToken(tag) if tag.kind == StartTag => {
                let attr = |name: &str| tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| a.value.to_string());
                let mut found = self.found.borrow_mut();
                match &*tag.name {
                    "a" | "area" => {
                        let nofollow = attr("rel").is_some_and(|rel| {
                            rel.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("nofollow"))
                        });
                        if let Some(href) = attr("href").filter(|_| !nofollow) {
                            if found.hrefs.len() < self.max_links {
                                found.hrefs.push(href.trim().to_owned());
                            } else {
                                found.truncated = true;
                            }
                        }
                    }
                    "base" if found.base.is_none() => found.base = attr("href").map(|h| h.trim().to_owned()),
                    "meta" => {
                        let name = attr("name").unwrap_or_default().to_ascii_lowercase();
                        if name == "robots" || name == self.agent {
                            let content = attr("content").unwrap_or_default().to_ascii_lowercase();
                            for directive in content.split(',').map(str::trim) {
                                match directive {
                                    "noindex" => found.noindex = true,
                                    "nofollow" => found.nofollow = true,
                                    "none" => {
                                        found.noindex = true;
                                        found.nofollow = true;
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                    "title" => {
                        if found.title.is_none() {
                            *self.in_title.borrow_mut() = Some(String::new());
                        }
                        return TokenSinkResult::RawData(RawKind::Rcdata);
                    }
                    "textarea" => return TokenSinkResult::RawData(RawKind::Rcdata),
                    "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                        return TokenSinkResult::RawData(RawKind::Rawtext);
                    }
                    "plaintext" => return TokenSinkResult::Plaintext,
                    _ => {}
                }
            }
            TagToken(tag) if tag.kind == EndTag && &*tag.name == "title" => {
                if let Some(title) = self.in_title.borrow_mut().take() {
                    let title = normalize_ws(&title);
                    if !title.is_empty() {
                        self.found.borrow_mut().title = Some(title.chars().take(MAX_TITLE_CHARS).collect());
                    }
                }
            }
            CharacterTokens(text) => {
                if let Some(title) = self.in_title.borrow_mut().as_mut()
                    && title.len() < MAX_TITLE_CHARS * 4
                {
                    title.push_str(&text);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_base_title_and_directives() {
        let html = br#"<!doctype html><html><head><title>
            Shipping &amp; returns </title><base href="https://example.com/docs/">
            <meta name="robots" content="NOINDEX">
            <script>document.write('<a href="/from-script">x</a>')</script>
            <style>a[href="/from-style"] {}</style></head>
            <body><a href="a.html#top">A</a> <a href=" /b ">B</a> <a rel="nofollow ugc" href="/c">C</a>
            <map><area href="/d"></map><a>no href</a><textarea><a href="/from-textarea"></a></textarea></body></html>"#;
        let links = page_links(html, "SwitchboardBot", 100);
        assert_eq!(links.title.as_deref(), Some("Shipping & returns"));
        assert_eq!(links.base.as_deref(), Some("https://example.com/docs/"));
        assert_eq!(links.hrefs, vec!["a.html#top", "/b", "/d"]);
        assert!(links.noindex && !links.nofollow && !links.truncated);
    }

    #[test]
    fn agent_specific_meta_and_none() {
        let html = br#"<meta name="switchboardbot" content="none"><a href="/x">x</a>"#;
        let links = page_links(html, "SwitchboardBot", 100);
        assert!(links.noindex && links.nofollow);
        let other = page_links(br#"<meta name="otherbot" content="none">"#, "SwitchboardBot", 100);
        assert!(!other.noindex && !other.nofollow);
    }

    #[test]
    fn a_page_of_many_links_keeps_the_first_few_and_says_so() {
        let mut html = String::from("<ul>");
        for i in 0..10_000 {
            html.push_str(&format!("<li><a href=\"/p/{i}\">{i}</a></li>"));
        }
        let links = page_links(html.as_bytes(), "SwitchboardBot", 25);
        assert_eq!(links.hrefs.len(), 25);
        assert_eq!(links.hrefs[24], "/p/24");
        assert!(links.truncated);
    }

    #[test]
    fn deep_nesting_is_just_bytes() {
        let html = format!("{}<a href=\"/deep\">deep</a>{}", "<div>".repeat(200_000), "</div>".repeat(200_000));
        assert_eq!(page_links(html.as_bytes(), "SwitchboardBot", 10).hrefs, vec!["/deep"]);
    }
}
