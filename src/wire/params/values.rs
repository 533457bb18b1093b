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

/// A boolean, sent as `true` or `false` (as the SDKs send Python's and JavaScript's booleans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl FromParam for Flag {
    const SHAPE: Shape = Shape::Boolean;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        parent
            .one_of(key, &[("true", true), ("false", false)])
            .map_err(|_| {
                let param = parent.path(key);
                ApiError::Invalid {
                    message: format!("Invalid boolean: {param} must be true or false."),
                    param: Some(param),
                }
            })?
            .map(Flag)
            .ok_or_else(|| parent.missing(key))
    }
}

/// An array of non-empty strings (`types[]=a&types[]=b`), at most `N` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strings<const N: usize>(pub Vec<String>);

impl<const N: usize> FromParam for Strings<N> {
    const SHAPE: Shape = Shape::StringList(None);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        if !parent.contains(key) {
            return Err(parent.missing(key));
        }
        let items = parent.string_list(key);
        let param = parent.path(key);
        if items.len() > N {
            return Err(ApiError::invalid(
                crate::wire::error::ParamErrorCode::InvalidArray,
                &param,
                format!("Invalid array: {param} may hold at most {N} values."),
            ));
        }
        if items.iter().any(|s| s.is_empty() || s.contains('\0')) {
            return Err(ApiError::invalid(
                crate::wire::error::ParamErrorCode::InvalidString,
                &param,
                format!("Invalid array: every value of {param} must be a non-empty string."),
            ));
        }
        Ok(Strings(items.into_iter().map(str::to_owned).collect()))
    }
}

/// A range filter on a timestamp: `created=T`, or any of `created[gt|gte|lt|lte]=T`, as exclusive
/// bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub after: Option<i64>,
    pub before: Option<i64>,
}

impl FromParam for TimeRange {
    const SHAPE: Shape = Shape::RangeFilter;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        if let Some(exact) = parent.timestamp(key)? {
            return Ok(TimeRange {
                after: Some(exact - 1),
                before: Some(exact + 1),
            });
        }
        let range = parent.object(key).ok_or_else(|| parent.missing(key))?;
        let mut out = TimeRange::default();
        let tighten_after =
            |out: &mut TimeRange, bound: i64| out.after = Some(out.after.map_or(bound, |a| a.max(bound)));
        let tighten_before =
            |out: &mut TimeRange, bound: i64| out.before = Some(out.before.map_or(bound, |b| b.min(bound)));
        if let Some(t) = range.timestamp("gt")? {
            tighten_after(&mut out, t);
        }
        if let Some(t) = range.timestamp("gte")? {
            tighten_after(&mut out, t - 1);
        }
        if let Some(t) = range.timestamp("lt")? {
            tighten_before(&mut out, t);
        }
        if let Some(t) = range.timestamp("lte")? {
            tighten_before(&mut out, t + 1);
        }
        Ok(out)
    }
}
