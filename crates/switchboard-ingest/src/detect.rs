//! Deciding what an upload is from its bytes, against an allowlist.
//!
//! Order matters: binary signatures first (they cannot be mistaken for text), then "is this text
//! at all", then HTML by content, and only then the name and declared type, which merely choose
//! among text formats. A name or type claiming a binary format the content does not have is
//! refused, so HTML renamed `.pdf` is read as HTML (its content says so) and plain text renamed
//! `.pdf` is refused; neither ever reaches the PDF parser.

use std::fmt;

use memchr::memmem;

use crate::ExtractError;

/// A format we can extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Pdf,
    Docx,
    Html,
    Markdown,
    Text,
    /// `question,answer` rows, with or without a header row.
    Csv,
}

impl Format {
    /// The canonical media type, for storing alongside the document.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Format::Html => "text/html",
            Format::Markdown => "text/markdown",
            Format::Text => "text/plain",
            Format::Csv => "text/csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Pdf => "PDF",
            Format::Docx => "DOCX",
            Format::Html => "HTML",
            Format::Markdown => "Markdown",
            Format::Text => "text file",
            Format::Csv => "CSV",
        })
    }
}

/// Decides the format of an upload from its content, using `filename` and the declared content
/// type only to choose among text formats (Markdown, CSV and plain text look alike).
pub fn detect(
    bytes: &[u8],
    filename: Option<&str>,
    declared_content_type: Option<&str>,
) -> Result<Format, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let head = &bytes[..bytes.len().min(1024)];
    // Readers accept the header anywhere in the first 1,024 bytes, so junk before it is common.
    if memmem::find(head, b"%PDF-").is_some() {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        // Entry names are stored uncompressed in the local and central headers, so finding the
        // main part's name is enough to tell a Word document from other OOXML/ODF/plain ZIPs;
        // extraction then validates the archive properly.
        if memmem::find(bytes, b"word/document.xml").is_some() {
            return Ok(Format::Docx);
        }
        return Err(ExtractError::Unsupported(
            "a ZIP archive that is not a Word document (.docx); spreadsheets, presentations, OpenDocument \
             and plain archives are not supported"
                .into(),
        ));
    }
    if let Some(kind) = known_binary(bytes) {
        return Err(ExtractError::Unsupported(kind.into()));
    }
    if looks_binary(head) {
        return Err(ExtractError::Unsupported("binary data that is not a PDF or DOCX".into()));
    }

    let ext = filename.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.trim().to_ascii_lowercase());
    let declared = declared_content_type
        .map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && t != "application/octet-stream");
    let is = |exts: &[&str], types: &[&str]| {
        ext.as_deref().is_some_and(|e| exts.contains(&e)) || declared.as_deref().is_some_and(|t| types.contains(&t))
    };

    if is(&["md", "markdown", "mdown", "mkd"], &["text/markdown", "text/x-markdown"]) && !is_html_document(head) {
        // Markdown may well start with inline HTML (`<div align="center">`), so only a full HTML
        // document overrides the name.
        return Ok(Format::Markdown);
    }
    if looks_like_html(head) {
        return Ok(Format::Html);
    }
    if is(&["html", "htm", "xhtml"], &["text/html", "application/xhtml+xml"]) {
        return Ok(Format::Html);
    }
    if is(&["csv"], &["text/csv", "application/csv"]) {
        return Ok(Format::Csv);
    }
    if is(&["pdf", "docx", "doc"], &["application/pdf", Format::Docx.media_type(), "application/msword"]) {
        return Err(ExtractError::Unsupported(
            "the file is named or declared as a PDF or Word document, but its content is plain text".into(),
        ));
    }
    Ok(Format::Text)
}

/// Signatures of common formats we do not take, so the error can say what the file is.
fn known_binary(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "a legacy Office file (.doc/.xls) or a password-protected Office document; save it as .docx without a password",
        ),
        (b"{\\rtf", "RTF; save it as .docx or PDF"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"\x7FELF", "an executable"),
        (b"MZ", "an executable"),
    ];
    SIGNATURES.iter().find(|(magic, _)| bytes.starts_with(magic)).map(|(_, what)| *what)
}

/// Text never contains NUL bytes, except UTF-16, which announces itself with a BOM.
fn looks_binary(head: &[u8]) -> bool {
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return false;
    }
    head.contains(&0)
}

fn sniff_start(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head);
    text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase()
}

/// A complete HTML document: a doctype or an `<html>` element near the top.
fn is_html_document(head: &[u8]) -> bool {
    let start = sniff_start(head);
    start.starts_with("<!doctype html") || start.starts_with("<html") || start.contains("<html")
}

/// HTML by content, as browsers sniff it: a document, or text opening with a common HTML tag.
fn looks_like_html(head: &[u8]) -> bool {
    if is_html_document(head) {
        return true;
    }
    let start = sniff_start(head);
    ["<head", "<body", "<title", "<meta", "<div", "<p>", "<p ", "<h1", "<table", "<!--"]
        .iter()
        .any(|tag| start.starts_with(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_wins_over_the_name() {
        let html = b"<!DOCTYPE html><html><body><p>Hi</p></body></html>";
        assert_eq!(detect(html, Some("report.pdf"), Some("application/pdf")).unwrap(), Format::Html);
        assert!(matches!(detect(b"just text", Some("report.pdf"), None), Err(ExtractError::Unsupported(_))));
        assert_eq!(detect(b"%PDF-1.7\n...", Some("notes.txt"), Some("text/plain")).unwrap(), Format::Pdf);
    }

    #[test]
    fn text_formats_follow_name_or_declared_type() {
        assert_eq!(detect(b"# Title", Some("a.md"), None).unwrap(), Format::Markdown);
        assert_eq!(
            detect(b"<div align=center>logo</div>\n# Title", Some("README.md"), None).unwrap(),
            Format::Markdown
        );
        assert_eq!(detect(b"q,a\nx,y", None, Some("text/csv; charset=utf-8")).unwrap(), Format::Csv);
        assert_eq!(detect(b"hello", Some("notes"), None).unwrap(), Format::Text);
        assert_eq!(detect(b"<p>hello</p>", None, None).unwrap(), Format::Html);
    }

    #[test]
    fn binaries_are_named_in_the_error() {
        let err = detect(b"\x89PNG\r\n\x1a\n\0\0", Some("a.pdf"), None).unwrap_err();
        assert!(err.to_string().contains("PNG"), "{err}");
        assert!(matches!(
            detect(b"PK\x03\x04xl/workbook.xml", Some("a.docx"), None),
            Err(ExtractError::Unsupported(_))
        ));
        assert!(matches!(detect(b"abc\0def", None, None), Err(ExtractError::Unsupported(_))));
        assert!(matches!(detect(b"", Some("a.txt"), None), Err(ExtractError::Empty)));
    }
}
