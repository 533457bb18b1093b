//! The scalar parameter types every resource uses.

use super::{FromParam, Params, Sent, Shape};
use crate::wire::error::ApiError;

/// A non-empty string of at most `STRING_CHARS_MAX` characters, without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl FromParam for Text {
    const SHAPE: Shape = Shape::Scalar;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        Ok(Text(parent.required_string(key)?.to_owned()))
    }
}

/// A non-empty string of at most `N` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMax<const N: usize>(pub String);

impl<const N: usize> FromParam for TextMax<N> {
    const SHAPE: Shape = Shape::ScalarMax(N);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let value = parent.string_max(key, N)?.ok_or_else(|| parent.missing(key))?;
        Ok(TextMax(value.to_owned()))
    }
}

/// A string that `''` unsets (`description=`): `None` unsets, `Some` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsettableText(pub Option<String>);

impl FromParam for UnsettableText {
    const SHAPE: Shape = Shape::UnsettableScalar;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        match parent.unsettable_string(key)? {
            Sent::Absent => Err(parent.missing(key)),
            Sent::Unset => Ok(UnsettableText(None)),
            Sent::Set(value) => Ok(UnsettableText(Some(value.to_owned()))),
        }
    }
}

/// A Unix timestamp in seconds, `0 ..= TIMESTAMP_MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub i64);

impl FromParam for Timestamp {
    const SHAPE: Shape = Shape::Timestamp;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        parent.required_timestamp(key).map(Timestamp)
    }
}

/// An object id to look up: any non-empty string (an id that names nothing is a 404 later,
/// whatever its characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupId(pub String);

impl FromParam for LookupId {
    const SHAPE: Shape = Shape::Scalar;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let id = parent.lookup_id(key)?.ok_or_else(|| parent.missing(key))?;
        Ok(LookupId(id.to_owned()))
    }
}
