//! Stored documents: the JSON of a domain object, in the `doc` column of its table. The format
//! is serde's encoding of the model types; tests/api/stored_format.rs decodes documents written
//! by an earlier build, so a change of the format must come with a migration.

use super::{Page, StoreError};

/// Decodes an object's stored document; a document this build cannot read is corrupt data.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("undecodable document: {e}")))
}

/// Encodes an object as its stored document.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain objects serialize")
}

/// Text stored compressed (written once, read rarely: an event's head, a saved response): LZ4,
/// its length first.
pub(crate) fn pack(text: &str) -> Vec<u8> {
    lz4_flex::compress_prepend_size(text.as_bytes())
}

/// Text stored by `pack`; `what` names it when it does not decompress.
pub(crate) fn unpack(packed: &[u8], what: &str) -> Result<String, StoreError> {
    lz4_flex::decompress_size_prepended(packed)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{what} does not decompress")))
}

pub(crate) fn decode_page<T: serde::de::DeserializeOwned>(page: Page<String>) -> Result<Page<T>, StoreError> {
    let data = page.data.iter().map(|d| decode(d)).collect::<Result<Vec<T>, _>>()?;
    Ok(Page {
        data,
        has_more: page.has_more,
    })
}
