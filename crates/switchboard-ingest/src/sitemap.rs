//! Sitemaps (sitemaps.org protocol): a `<urlset>` lists pages, a
//! `<sitemapindex>` lists further sitemaps; both by `<loc>`.
//!
//! quick-xml never expands entities beyond the predefined five and character
//! references, and a DOCTYPE ends the parse, so a sitemap cannot smuggle in an
//! entity bomb or an external entity.

use quick_xml::events::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SitemapKind {
    /// `<urlset>`: the locations are pages.
    Pages,
    /// `<sitemapindex>`: the locations are sitemaps.
    Index,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sitemap {
    pub kind: SitemapKind,
    /// `<loc>` values in order, trimmed.
    pub locs: Vec<String>,
    /// More locations were listed than were kept.
    pub truncated: bool,
}

/// Reads up to `max_locs` locations; `None` when the bytes are not a sitemap
/// (not XML, a DTD, or another root element).
pub fn parse_sitemap(bytes: &[u8], max_locs: usize) -> Option<Sitemap> {
    let text = crate::text::decode(bytes);
    let mut reader = quick_xml::Reader::from_str(&text);
    reader.config_mut().trim_text(false);
    let mut kind = None;
    let mut locs = Vec::new();
    let mut truncated = false;
    let mut loc: Option<String> = None;
    loop {
        match reader.read_event().ok()? {
            Event::DocType(_) => return None,
            Event::Start(e) => {
                let qname = e.name();
                match (kind, local_name(qname.as_ref())) {
                    (None, "urlset") => kind = Some(SitemapKind::Pages),
                    (None, "sitemapindex") => kind = Some(SitemapKind::Index),
                    (None, _) => return None,
                    (Some(_), "loc") => loc = Some(String::new()),
                    _ => {}
                }
            }
            Event::Empty(e) if kind.is_none() => {
                // `<urlset/>`: a sitemap with nothing in it.
                return match local_name(e.name().as_ref()) {
                    "urlset" => Some(Sitemap { kind: SitemapKind::Pages, locs, truncated }),
                    "sitemapindex" => Some(Sitemap { kind: SitemapKind::Index, locs, truncated }),
                    _ => None,
                };
            }
            Event::Text(t) => {
                if let Some(loc) = loc.as_mut() {
                    loc.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(loc) = loc.as_mut() {
                    loc.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let (Some(loc), Some(c)) = (loc.as_mut(), crate::docx::entity(&r.into_inner())) {
                    loc.push(c);
                }
            }
            Event::End(e) if local_name(e.name().as_ref()) == "loc" => {
                if let Some(done) = loc.take().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()) {
                    if locs.len() < max_locs {
                        locs.push(done);
                    } else {
                        truncated = true;
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    kind.map(|kind| Sitemap { kind, locs, truncated })
}

fn local_name(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, local)| local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_indexes() {
        let pages = br#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc> https://example.com/a?x=1&amp;y=2 </loc><lastmod>2024-01-01</lastmod></url>
              <url><loc><![CDATA[https://example.com/b]]></loc></url>
              <url><loc></loc></url>
            </urlset>"#;
        let map = parse_sitemap(pages, 10).unwrap();
        assert_eq!(map.kind, SitemapKind::Pages);
        assert_eq!(map.locs, vec!["https://example.com/a?x=1&y=2", "https://example.com/b"]);
        let index = br#"<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sm:sitemap><sm:loc>https://example.com/s1.xml</sm:loc></sm:sitemap></sm:sitemapindex>"#;
        let map = parse_sitemap(index, 10).unwrap();
        assert_eq!((map.kind, map.locs.len()), (SitemapKind::Index, 1));
    }

    #[test]
    fn not_sitemaps() {
        assert_eq!(parse_sitemap(b"<html><body>404</body></html>", 10), None);
        assert_eq!(parse_sitemap(b"not xml at all <<<", 10), None);
        let dtd =
            br#"<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaa">]><urlset><url><loc>&a;</loc></url></urlset>"#;
        assert_eq!(parse_sitemap(dtd, 10), None);
    }

    #[test]
    fn long_sitemaps_are_cut() {
        let mut xml = String::from("<urlset>");
        for i in 0..1_000 {
            xml.push_str(&format!("<url><loc>https://example.com/{i}</loc></url>"));
        }
        xml.push_str("</urlset>");
        let map = parse_sitemap(xml.as_bytes(), 100).unwrap();
        assert_eq!(map.locs.len(), 100);
        assert!(map.truncated);
    }
}
