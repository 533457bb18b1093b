//! Typed parameters from a `ParamTree`, declared once. An endpoint's parameters are a struct
//! made by `params!` (`declare`): its fields' types say how each value is read and validated
//! (`FromParam`), and the same declaration yields the `Shape` that `check_shape` enforces
//! (unknown parameters rejected by their full path, before any value is read) and that the API
//! description (`openapi`) is generated from. `Params` is the view the readers use, naming each
//! parameter's full path (`shipping_details[address][city]`) in errors.

use super::error::{ApiError, ParamErrorCode};
use super::form::{Param, ParamMap, ParamTree};

mod declare;
mod values;

pub use declare::{Expand, ExpandPaths, FromParam, ParamObject, Unsettable};
pub(crate) use declare::{enum_param, params};
pub use values::{Flag, LookupId, Strings, Text, TextMax, TimeRange, Timestamp, UnsettableText};

/// Longest string value accepted where no tighter limit applies (Stripe's).
pub const STRING_CHARS_MAX: usize = 5000;
/// Largest timestamp accepted: 9999-12-31T23:59:59Z.
pub const TIMESTAMP_MAX: i64 = 253_402_300_799;

/// The declared shape of a parameter. The scalar variants say what a string value holds, for
/// the API description (`openapi`); `check_shape` treats them all alike, and the typed readers
/// (`FromParam`, through `Params::integer`, `timestamp`, `one_of`, `string_max`) validate them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A non-empty string of at most `STRING_CHARS_MAX` characters.
    Scalar,
    /// A non-empty string of at most this many characters.
    ScalarMax(usize),
    /// A string that `''` unsets, else as `Scalar`.
    UnsettableScalar,
    /// An integer in `min ..= max`, sent as a decimal string.
    Integer { min: i64, max: i64 },
    /// A Unix timestamp in seconds, `0 ..= TIMESTAMP_MAX`.
    Timestamp,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A two-letter ISO 3166-1 alpha-2 country code, either case.
    Country,
    /// `true` or `false`.
    Boolean,
    /// A timestamp, or a hash of bounds on one (`gt`, `gte`, `lt`, `lte`).
    RangeFilter,
    /// A hash with these keys.
    Object(&'static [Field]),
    /// A hash with these keys that `''` may unset.
    UnsettableObject(&'static [Field]),
    /// Any keys, string values (`metadata`); `''` unsets.
    Metadata,
    /// An array of strings (`expand[]=…` or `expand[0]=…`), limited to `values` when given.
    StringList(Option<&'static [&'static str]>),
}

/// One declared parameter of a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    /// Whether the API description marks it required (a reader may still default it).
    pub required: bool,
}

impl Shape {
    /// Whether a value of this shape arrives as one string.
    pub fn is_scalar(self) -> bool {
        match self {
            Shape::Scalar
            | Shape::ScalarMax(_)
            | Shape::UnsettableScalar
            | Shape::Integer { .. }
            | Shape::Timestamp
            | Shape::Enum(_)
            | Shape::Country
            | Shape::Boolean => true,
            Shape::Object(_)
            | Shape::UnsettableObject(_)
            | Shape::Metadata
            | Shape::StringList(_)
            | Shape::RangeFilter => false,
        }
    }
}

/// The keys of a range filter's hash.
pub const RANGE_BOUNDS: &[&str] = &["gt", "gte", "lt", "lte"];

/// Joins a parent path and a key: `a` + `b` → `a[b]`.
pub fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}[{key}]")
    }
}

/// Rejects parameters the endpoint does not know, and values of the wrong shape.
pub fn check_shape(tree: &ParamTree, fields: &'static [Field]) -> Result<(), ApiError> {
    check_object(&tree.0, fields, "")
}

/// Checks the whole tree against `P`'s declaration, then reads it into `P`.
pub fn read<P: ParamObject>(tree: &ParamTree) -> Result<P, ApiError> {
    check_shape(tree, P::FIELDS)?;
    P::from_params(&Params::root(tree))
}

fn check_object(map: &ParamMap, fields: &[Field], path: &str) -> Result<(), ApiError> {
    for (key, value) in map {
        let param = join_path(path, key);
        let Some(field) = fields.iter().find(|f| f.name == key) else {
            return Err(ApiError::ParameterUnknown { param });
        };
        check_value(value, field.shape, &param)?;
    }
    Ok(())
}

fn check_value(value: &Param, shape: Shape, param: &str) -> Result<(), ApiError> {
    if shape.is_scalar() {
        return match value {
            Param::Str(_) => Ok(()),
            Param::Map(_) | Param::List(_) => Err(invalid_string(param)),
        };
    }
    match (shape, value) {
        (Shape::Object(fields) | Shape::UnsettableObject(fields), Param::Map(map)) => check_object(map, fields, param),
        (Shape::UnsettableObject(_) | Shape::Metadata, Param::Str(s)) if s.is_empty() => Ok(()),
        (Shape::Metadata, Param::Map(map)) => {
            for (key, value) in map {
                if !matches!(value, Param::Str(_)) {
                    return Err(invalid_string(&join_path(param, key)));
                }
            }
            Ok(())
        }
        (Shape::RangeFilter, Param::Str(_)) => Ok(()),
        (Shape::RangeFilter, Param::Map(map)) => {
            for (key, value) in map {
                if !RANGE_BOUNDS.contains(&key.as_str()) {
                    return Err(ApiError::ParameterUnknown {
                        param: join_path(param, key),
                    });
                }
                if !matches!(value, Param::Str(_)) {
                    return Err(invalid_string(&join_path(param, key)));
                }
            }
            Ok(())
        }
        (Shape::StringList(_), Param::List(_)) => Ok(()),
        (Shape::StringList(_), Param::Map(map)) => {
            if map
                .iter()
                .all(|(k, v)| k.parse::<usize>().is_ok() && matches!(v, Param::Str(_)))
            {
                Ok(())
            } else {
                Err(ApiError::invalid(
                    ParamErrorCode::InvalidArray,
                    param,
                    format!("Invalid array: {param} must be an array of strings."),
                ))
            }
        }
        (Shape::StringList(_), Param::Str(_)) => Err(ApiError::invalid(
            ParamErrorCode::InvalidArray,
            param,
            format!("Invalid array: {param} must be sent as {param}[]=value or {param}[0]=value."),
        )),
        (Shape::Object(_) | Shape::UnsettableObject(_) | Shape::Metadata | Shape::RangeFilter, _) => {
            Err(ApiError::invalid(
                ParamErrorCode::InvalidHash,
                param,
                format!("Invalid hash: {param} must be a hash, sent as {param}[key]=value."),
            ))
        }
        (scalar, _) => unreachable!("{scalar:?} is a scalar, checked above"),
    }
}

fn invalid_string(param: &str) -> ApiError {
    ApiError::invalid(
        ParamErrorCode::InvalidString,
        param,
        format!("Invalid string: {param} must be a string, not a hash or an array."),
    )
}

/// A read-only view of one hash in the tree, knowing its own path.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    map: &'a ParamMap,
    path: String,
}

/// What an unsettable value holds: absent, `''` (unset), or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent<T> {
    Absent,
    Unset,
    Set(T),
}

impl<'a> Params<'a> {
    pub fn root(tree: &'a ParamTree) -> Self {
        Params {
            map: &tree.0,
            path: String::new(),
        }
    }

    pub fn path(&self, key: &str) -> String {
        join_path(&self.path, key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn raw_str(&self, key: &str) -> Option<&'a str> {
        match self.map.get(key) {
            Some(Param::Str(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    /// A string that may not be empty, at most `max_chars` characters.
    pub fn string_max(&self, key: &str, max_chars: usize) -> Result<Option<&'a str>, ApiError> {
        let Some(value) = self.raw_str(key) else {
            return Ok(None);
        };
        if value.is_empty() {
            let param = self.path(key);
            return Err(ApiError::invalid(
                ParamErrorCode::InvalidEmpty,
                &param,
                format!(
                    "You passed an empty string for '{param}'. We assume empty values are an attempt to unset a parameter; however '{param}' cannot be unset. You should remove '{param}' from your request or supply a non-empty value."
                ),
            ));
        }
        if value.contains('\0') {
            let param = self.path(key);
            return Err(ApiError::invalid(
                ParamErrorCode::InvalidString,
                &param,
                format!("Invalid string: {param} must not contain NUL characters."),
            ));
        }
        let chars = value.chars().count();
        if chars > max_chars {
            let param = self.path(key);
            return Err(ApiError::invalid(
                ParamErrorCode::InvalidStringLength,
                &param,
                format!(
                    "Invalid string: {param} is {chars} characters long; it must be at most {max_chars} characters."
                ),
            ));
        }
        Ok(Some(value))
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        self.string_max(key, STRING_CHARS_MAX)
    }

    /// An object id to look up: any non-empty string (an id that names nothing is a 404 later,
    /// whatever its characters).
    pub fn lookup_id(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.raw_str(key) {
            Some("") => self.string(key),
            other => Ok(other),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<&'a str, ApiError> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    /// A string that `''` unsets.
    pub fn unsettable_string(&self, key: &str) -> Result<Sent<&'a str>, ApiError> {
        match self.raw_str(key) {
            None => Ok(Sent::Absent),
            Some("") => Ok(Sent::Unset),
            Some(_) => Ok(Sent::Set(self.string(key)?.expect("non-empty string present"))),
        }
    }

    pub fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.raw_str(key) else {
            return Ok(None);
        };
        value.parse::<i64>().map(Some).map_err(|_| {
            ApiError::invalid(
                ParamErrorCode::InvalidInteger,
                self.path(key),
                format!("Invalid integer: {value}"),
            )
        })
    }

    pub fn required_integer(&self, key: &str) -> Result<i64, ApiError> {
        self.integer(key)?.ok_or_else(|| self.missing(key))
    }

    /// A Unix timestamp in seconds, 0 ..= `TIMESTAMP_MAX`.
    pub fn timestamp(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.integer(key)? else {
            return Ok(None);
        };
        if !(0..=TIMESTAMP_MAX).contains(&value) {
            let param = self.path(key);
            return Err(ApiError::invalid(
                ParamErrorCode::InvalidInteger,
                &param,
                format!(
                    "Invalid timestamp: {param} must be a Unix timestamp in seconds between 0 and {TIMESTAMP_MAX}."
                ),
            ));
        }
        Ok(Some(value))
    }

    pub fn required_timestamp(&self, key: &str) -> Result<i64, ApiError> {
        self.timestamp(key)?.ok_or_else(|| self.missing(key))
    }

    /// One of `allowed`, by its wire name.
    pub fn one_of<T: Copy>(&self, key: &str, allowed: &[(&str, T)]) -> Result<Option<T>, ApiError> {
        let Some(value) = self.raw_str(key) else {
            return Ok(None);
        };
        if let Some((_, v)) = allowed.iter().find(|(name, _)| *name == value) {
            return Ok(Some(*v));
        }
        let param = self.path(key);
        let names: Vec<&str> = allowed.iter().map(|(name, _)| *name).collect();
        Err(ApiError::invalid(
            ParamErrorCode::InvalidEnum,
            &param,
            format!("Invalid {param}: must be one of {}", names.join(", ")),
        ))
    }

    /// A nested hash, if present. An unset (`''`) reads as absent; see `is_unset`.
    pub fn object(&self, key: &str) -> Option<Params<'a>> {
        match self.map.get(key) {
            Some(Param::Map(map)) => Some(Params {
                map,
                path: self.path(key),
            }),
            _ => None,
        }
    }

    /// Whether `key` was sent as `''`, the Stripe way to unset a hash.
    pub fn is_unset(&self, key: &str) -> bool {
        matches!(self.map.get(key), Some(Param::Str(s)) if s.is_empty())
    }

    /// The raw entries of a hash-valued parameter such as `metadata`.
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, &'a Param)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// A list of strings sent as `key[]=…` or `key[0]=…` (ordered by index).
    pub fn string_list(&self, key: &str) -> Vec<&'a str> {
        match self.map.get(key) {
            Some(Param::List(items)) => items.iter().map(String::as_str).collect(),
            Some(Param::Map(map)) => {
                let mut indexed: Vec<(usize, &str)> = map
                    .iter()
                    .filter_map(|(k, v)| match v {
                        Param::Str(s) => Some((k.parse().ok()?, s.as_str())),
                        _ => None,
                    })
                    .collect();
                indexed.sort_by_key(|(i, _)| *i);
                indexed.into_iter().map(|(_, s)| s).collect()
            }
            _ => Vec::new(),
        }
    }

    pub fn missing(&self, key: &str) -> ApiError {
        ApiError::ParameterMissing { param: self.path(key) }
    }
}
