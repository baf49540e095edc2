//! Document metadata (a flat map of short keys to string values, given at
//! upload) and the search filter over it.
//!
//! Both are domain values that cannot hold what the store would refuse: a
//! [`Metadata`] or a [`SearchFilter`] exists only after its bounds were
//! checked, so the server validates once, when it parses a request, and every
//! later layer can trust them.

use std::collections::BTreeMap;
use std::fmt;

/// At most this many keys in a document's metadata (and in a filter).
pub const MAX_METADATA_KEYS: usize = 32;
/// A key is 1 to 64 characters of `a-z`, `0-9`, `_`, `.` and `-`.
pub const MAX_METADATA_KEY_LEN: usize = 64;
/// A value is at most 512 characters.
pub const MAX_METADATA_VALUE_LEN: usize = 512;
/// A filter names at most this many values per key.
pub const MAX_FILTER_VALUES: usize = 32;
/// A filter names at most this many documents.
pub const MAX_FILTER_DOCUMENTS: usize = 100;

/// Why metadata or a filter was refused; the message names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMetadata(pub String);

impl fmt::Display for InvalidMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidMetadata {}

fn invalid<T>(message: impl Into<String>) -> Result<T, InvalidMetadata> {
    Err(InvalidMetadata(message.into()))
}

fn check_key(key: &str) -> Result<(), InvalidMetadata> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-');
    if key.is_empty() || key.len() > MAX_METADATA_KEY_LEN || !key.chars().all(allowed) {
        return invalid(format!(
            "metadata key `{key}` must be 1 to {MAX_METADATA_KEY_LEN} characters of a-z, 0-9, `_`, `.` and `-`"
        ));
    }
    Ok(())
}

fn check_value(key: &str, value: &str) -> Result<(), InvalidMetadata> {
    if value.chars().count() > MAX_METADATA_VALUE_LEN || value.chars().any(char::is_control) {
        return invalid(format!(
            "metadata value of `{key}` must be at most {MAX_METADATA_VALUE_LEN} characters, without control characters"
        ));
    }
    Ok(())
}

/// A document's metadata: what the latest upload of the source said. Keys are
/// sorted, so the stored form of equal metadata is equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    pub fn parse(entries: BTreeMap<String, String>) -> Result<Self, InvalidMetadata> {
        if entries.len() > MAX_METADATA_KEYS {
            return invalid(format!("metadata has at most {MAX_METADATA_KEYS} keys"));
        }
        for (key, value) in &entries {
            check_key(key)?;
            check_value(key, value)?;
        }
        Ok(Self(entries))
    }

    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form, a JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads the stored form back; what the store wrote always parses.
    pub fn from_json(stored: &str) -> Self {
        Self(serde_json::from_str(stored).unwrap_or_default())
    }
}

/// Which chunks a search may return besides its collections: documents whose
/// metadata matches every key (a key lists the values it accepts), and, when
/// `document_ids` is set, only those documents. Applied inside each signal's
/// query, so a filtered search still fills `top_k` when enough chunks match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    metadata: BTreeMap<String, Vec<String>>,
    document_ids: Option<Vec<String>>,
}

impl SearchFilter {
    pub fn parse(
        metadata: BTreeMap<String, Vec<String>>,
        document_ids: Option<Vec<String>>,
    ) -> Result<Self, InvalidMetadata> {
        if metadata.len() > MAX_METADATA_KEYS {
            return invalid(format!("a filter names at most {MAX_METADATA_KEYS} metadata keys"));
        }
        for (key, values) in &metadata {
            check_key(key)?;
            if values.is_empty() || values.len() > MAX_FILTER_VALUES {
                return invalid(format!("the filter on `{key}` must list 1 to {MAX_FILTER_VALUES} values"));
            }
            for value in values {
                check_value(key, value)?;
            }
        }
        if let Some(ids) = &document_ids
            && (ids.is_empty() || ids.len() > MAX_FILTER_DOCUMENTS)
        {
            return invalid(format!("`document_ids` must name 1 to {MAX_FILTER_DOCUMENTS} documents"));
        }
        Ok(Self { metadata, document_ids })
    }

    /// Each key with the values it accepts.
    pub fn metadata(&self) -> &BTreeMap<String, Vec<String>> {
        &self.metadata
    }

    pub fn document_ids(&self) -> Option<&[String]> {
        self.document_ids.as_deref()
    }

    pub fn is_empty(&self) -> bool {
        self.metadata.is_empty() && self.document_ids.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn metadata_keeps_keys_and_values_within_bounds() {
        let ok = Metadata::parse(map(&[("lang", "de"), ("product.line", "x-1_b"), ("empty", "")])).unwrap();
        assert_eq!(Metadata::from_json(&ok.to_json()), ok);
        for bad in ["", "Lang", "a b", "ä", "a/b", &"k".repeat(65)] {
            assert!(Metadata::parse(map(&[(bad, "v")])).is_err(), "key {bad:?}");
        }
        assert!(Metadata::parse(map(&[("k", &"v".repeat(512))])).is_ok());
        assert!(Metadata::parse(map(&[("k", &"v".repeat(513))])).is_err());
        assert!(Metadata::parse(map(&[("k", "line\nbreak")])).is_err());
        let many: BTreeMap<String, String> = (0..33).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(Metadata::parse(many).is_err());
    }

    #[test]
    fn filters_need_values_and_bounded_document_lists() {
        let values = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(SearchFilter::parse(BTreeMap::from([("lang".into(), values(&["de", "en"]))]), None).is_ok());
        assert!(SearchFilter::parse(BTreeMap::from([("lang".into(), values(&[]))]), None).is_err());
        assert!(SearchFilter::parse(BTreeMap::from([("Lang".into(), values(&["de"]))]), None).is_err());
        assert!(SearchFilter::parse(BTreeMap::new(), Some(Vec::new())).is_err());
        assert!(SearchFilter::parse(BTreeMap::new(), Some(vec!["d".into(); 101])).is_err());
        assert!(SearchFilter::parse(BTreeMap::new(), None).unwrap().is_empty());
    }
}
