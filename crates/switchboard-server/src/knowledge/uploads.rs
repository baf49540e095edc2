//! What an upload becomes: a [`NewDocumentVersion`] with its source key,
//! detected type and content hash. The API's uploads and `switchboard ingest`
//! both go through here, so a file is the same document whichever way it came.

use sha2::{Digest, Sha256};
use switchboard_store::NewDocumentVersion;

/// Why an upload was refused before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    TooLarge(String),
    Invalid(String),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::TooLarge(m) | UploadError::Invalid(m) => f.write_str(m),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Uploaded file names are kept as escaped metadata only; storage keys are ours.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').chars().take(200).collect::<String>();
    if cleaned.is_empty() { "upload".to_owned() } else { cleaned }
}

/// A file (PDF, DOCX, HTML, Markdown, TXT, CSV FAQ) as the next version of the
/// source `file:<name>`. The type is decided from the bytes; `declared` is the
/// sender's claim, a hint only.
pub fn file_version(
    name: &str,
    declared: Option<&str>,
    bytes: Vec<u8>,
    max_bytes: usize,
) -> Result<NewDocumentVersion, UploadError> {
    if bytes.len() > max_bytes {
        return Err(UploadError::TooLarge(format!("`{name}` is over the {max_bytes}-byte upload limit")));
    }
    if bytes.is_empty() {
        return Err(UploadError::Invalid(format!("`{name}` is empty")));
    }
    let format = switchboard_ingest::detect(&bytes, Some(name), declared)
        .map_err(|e| UploadError::Invalid(format!("`{name}`: {e}")))?;
    Ok(NewDocumentVersion {
        source_key: format!("file:{name}"),
        source_kind: "file".into(),
        title: name.to_owned(),
        url: None,
        content_hash: sha256_hex(&bytes),
        media_type: Some(format.media_type().to_owned()),
        content: bytes,
        metadata: Default::default(),
    })
}

/// A titled text (Markdown) as the next version of `source_key`. The title
/// becomes the text's top heading (unless it starts with one), so it heads
/// every chunk's path: it is searched with the words and embedded with them,
/// and a citation shows it.
pub fn text_version(source_key: String, title: &str, text: String) -> NewDocumentVersion {
    let title_line = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = if title_line.is_empty() || text.trim_start().starts_with("# ") {
        text
    } else {
        format!("# {title_line}\n\n{text}")
    };
    NewDocumentVersion {
        source_key,
        source_kind: "text".into(),
        title: title.to_owned(),
        url: None,
        content_hash: sha256_hex(text.as_bytes()),
        media_type: Some("text/markdown".into()),
        content: text.into_bytes(),
        metadata: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_titled_text_is_headed_by_its_title_once() {
        let v = text_version("text:Returns".into(), "Returns  policy\n(EU)", "You have 30 days.".into());
        assert_eq!(String::from_utf8(v.content).unwrap(), "# Returns policy (EU)\n\nYou have 30 days.");
        let headed = text_version("text:Returns".into(), "Returns", "# Refunds\n\nWithin 14 days.".into());
        assert_eq!(String::from_utf8(headed.content).unwrap(), "# Refunds\n\nWithin 14 days.");
        // The hash is of what is indexed, so a changed title is a new version.
        let renamed = text_version("text:Returns".into(), "Returns (EU)", "You have 30 days.".into());
        assert_ne!(
            renamed.content_hash,
            text_version("text:Returns".into(), "Returns", "You have 30 days.".into()).content_hash
        );
    }
}
