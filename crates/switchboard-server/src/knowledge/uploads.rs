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
    })
}

/// A titled text (Markdown) as the next version of `source_key`.
pub fn text_version(source_key: String, title: &str, text: String) -> NewDocumentVersion {
    NewDocumentVersion {
        source_key,
        source_kind: "text".into(),
        title: title.to_owned(),
        url: None,
        content_hash: sha256_hex(text.as_bytes()),
        media_type: Some("text/markdown".into()),
        content: text.into_bytes(),
    }
}
