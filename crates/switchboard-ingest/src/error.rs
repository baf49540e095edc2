//! The one error type of the crate: what went wrong with an upload, in words an operator can act on.

use std::time::Duration;

use crate::Format;

/// Why a document could not be turned into text.
///
/// All of these are the uploader's input, not our fault: the server maps them to 422 (413 for
/// [`ExtractError::TooLarge`]) with [`ExtractError::code`] as the stable problem `type`, and the
/// `Display` text as the detail shown on the failed document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("unsupported file type: {0}")]
    Unsupported(String),
    #[error("the {0} is encrypted or password-protected; upload an unprotected copy")]
    Encrypted(Format),
    #[error("the {format} could not be read ({detail}); it may be corrupt or truncated")]
    Corrupt { format: Format, detail: String },
    #[error("the DOCX archive has more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("the DOCX expands to more than {limit} bytes of XML")]
    InflatedTooLarge { limit: u64 },
    #[error("the {format} was refused: {reason}")]
    Refused { format: Format, reason: String },
    #[error("the PDF has {pages} pages; the limit is {limit}")]
    TooManyPages { pages: usize, limit: usize },
    #[error("reading the {format} took longer than the {}s limit", limit.as_secs_f64())]
    Timeout { format: Format, limit: Duration },
    #[error("the {0} contains no extractable text{hint}", hint = no_text_hint(*.0))]
    NoText(Format),
}

fn no_text_hint(format: Format) -> &'static str {
    match format {
        Format::Pdf => " (a scanned PDF needs OCR first)",
        _ => "",
    }
}

impl ExtractError {
    /// A stable machine-readable code for this kind of failure (the problem+json `type` suffix).
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::Empty => "empty_file",
            ExtractError::TooLarge { .. } => "file_too_large",
            ExtractError::Unsupported(_) => "unsupported_format",
            ExtractError::Encrypted(_) => "encrypted_document",
            ExtractError::Corrupt { .. } => "corrupt_document",
            ExtractError::TooManyEntries { .. } | ExtractError::InflatedTooLarge { .. } => "archive_limits_exceeded",
            ExtractError::Refused { .. } => "refused_content",
            ExtractError::TooManyPages { .. } => "too_many_pages",
            ExtractError::Timeout { .. } => "parse_timeout",
            ExtractError::NoText(_) => "no_text",
        }
    }

    pub(crate) fn corrupt(format: Format, detail: impl std::fmt::Display) -> Self {
        ExtractError::Corrupt { format, detail: detail.to_string() }
    }

    pub(crate) fn refused(format: Format, reason: impl Into<String>) -> Self {
        ExtractError::Refused { format, reason: reason.into() }
    }
}
