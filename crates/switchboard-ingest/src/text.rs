//! Plain text: decoding and paragraphs split on blank lines.

use std::borrow::Cow;

use crate::limits::{Halt, Sink};

/// Decodes uploaded text: UTF-8 (BOM dropped), UTF-16 with a BOM, else Windows-1252, the usual
/// encoding of text exported on Windows. Never fails: every byte sequence means something in 1252.
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let (utf8, _) = encoding_rs::Encoding::for_bom(bytes).unwrap_or((encoding_rs::UTF_8, 0));
    if utf8 == encoding_rs::UTF_8 && std::str::from_utf8(bytes).is_err() {
        return encoding_rs::WINDOWS_1252.decode(bytes).0;
    }
    // `decode` sniffs the BOM again and removes it.
    encoding_rs::UTF_8.decode(bytes).0
}

/// One paragraph per blank-line-separated run of lines.
pub(crate) fn extract(text: &str, sink: &mut Sink) -> Result<(), Halt> {
    let mut paragraph = String::new();
    for line in text.lines() {
        sink.tick()?;
        if line.trim().is_empty() {
            sink.paragraph(&paragraph, None)?;
            paragraph.clear();
        } else {
            paragraph.push_str(line);
            paragraph.push('\n');
        }
    }
    sink.paragraph(&paragraph, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_boms_and_windows_1252() {
        assert_eq!(decode(b"\xEF\xBB\xBFcaf\xC3\xA9"), "café");
        assert_eq!(decode(b"\xFF\xFEc\0a\0f\0\xE9\0"), "café");
        assert_eq!(decode(b"caf\xE9 \x80"), "café €");
    }
}
