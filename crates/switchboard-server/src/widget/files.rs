//! Visitors' attachments: which files are accepted, and how they are served.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use switchboard_store::Attachment;

/// The content type of an accepted attachment, decided from its first bytes.
/// Five fixed signatures, written out rather than taken from a sniffing
/// library: such a library recognises far more types than we allow, and the
/// allowlist is the point. Nothing that a browser could run (HTML, SVG,
/// scripts) is on it.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// RFC 5987 `filename*` value: UTF-8, percent-encoded outside attr-chars.
fn encode_filename(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The file as a download: never rendered in our origin (attachment,
/// `nosniff`, a sandboxing CSP), never cached by shared caches.
pub fn download_response(a: &Attachment, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let ascii: String =
        a.name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", encode_filename(&a.name));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allowed_types_pass_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        for refused in [&b"<svg onload=alert(1)>"[..], b"<html>", b"MZ\x90\0", b"PK\x03\x04", b"RIFF\0\0\0\0WAVE", b""]
        {
            assert_eq!(sniff(refused), None);
        }
    }

    #[test]
    fn file_names_are_encoded_for_the_header() {
        assert_eq!(encode_filename("a b.pdf"), "a%20b.pdf");
        assert_eq!(encode_filename("ü\";.png"), "%C3%BC%22%3B.png");
    }
}
