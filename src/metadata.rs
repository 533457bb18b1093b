//! Metadata, the key-value pairs every object carries, and the one rule that holds for all of
//! them: at most `METADATA_KEYS_MAX` keys once a patch is merged. Payment records and webhook
//! endpoints both apply their patches here.

use std::collections::BTreeMap;

/// Stripe's limits on an object's metadata.
pub const METADATA_KEYS_MAX: usize = 50;
pub const METADATA_KEY_CHARS_MAX: usize = 40;
pub const METADATA_VALUE_CHARS_MAX: usize = 500;

pub type Metadata = BTreeMap<String, String>;

/// A metadata update as sent by a client: optionally clear everything (`metadata=`), then set
/// (`metadata[k]=v`) or remove (`metadata[k]=`) keys in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataPatch {
    pub clear_all: bool,
    pub entries: Vec<(String, Option<String>)>,
}

impl MetadataPatch {
    pub fn is_empty(&self) -> bool {
        !self.clear_all && self.entries.is_empty()
    }
}

/// The merged metadata would hold more than `METADATA_KEYS_MAX` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyMetadataKeys;

impl TooManyMetadataKeys {
    /// One sentence whether a patch alone (checked at the edge) or the merge went over.
    pub fn message() -> String {
        format!("Invalid metadata: an object can have at most {METADATA_KEYS_MAX} metadata keys.")
    }

    pub const PARAM: &'static str = "metadata";
}

/// Applies a patch: clear first if asked, then set or remove in order. The limit is checked on
/// the result, since a patch within the limit can still push a full object past it.
pub fn apply_metadata(current: &Metadata, patch: &MetadataPatch) -> Result<Metadata, TooManyMetadataKeys> {
    let mut merged = if patch.clear_all {
        Metadata::new()
    } else {
        current.clone()
    };
    for (key, value) in &patch.entries {
        match value {
            Some(v) => merged.insert(key.clone(), v.clone()),
            None => merged.remove(key),
        };
    }
    if merged.len() > METADATA_KEYS_MAX {
        return Err(TooManyMetadataKeys);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: &str) -> (String, Option<String>) {
        (key.to_owned(), Some("v".to_owned()))
    }

    #[test]
    fn a_patch_within_the_limit_can_still_push_the_merge_past_it() {
        let current: Metadata = (0..METADATA_KEYS_MAX)
            .map(|i| (format!("k{i}"), "v".to_owned()))
            .collect();
        let patch = MetadataPatch {
            clear_all: false,
            entries: vec![set("one_more")],
        };
        assert_eq!(apply_metadata(&current, &patch), Err(TooManyMetadataKeys));
        let cleared = MetadataPatch {
            clear_all: true,
            ..patch
        };
        assert_eq!(apply_metadata(&current, &cleared).map(|m| m.len()), Ok(1));
    }

    #[test]
    fn an_empty_value_removes_the_key() {
        let current: Metadata = [("a".to_owned(), "1".to_owned())].into();
        let patch = MetadataPatch {
            clear_all: false,
            entries: vec![("a".to_owned(), None), set("b")],
        };
        let merged = apply_metadata(&current, &patch).unwrap();
        assert_eq!(merged.keys().collect::<Vec<_>>(), ["b"]);
    }
}
