//! Stripe's form encoding: `application/x-www-form-urlencoded` bodies and query strings with
//! bracket nesting (`a[b][c]=v`), arrays (`a[]=x`, `a[0]=x`) and `+` for space, decoded into a
//! `ParamTree`. Limits are enforced here so nothing downstream sees an oversized request.

use std::collections::BTreeMap;

use super::error::ApiError;

/// Largest request body payrec reads. The largest legitimate report (50 metadata entries of
/// 40 + 500 characters, every address field) percent-encodes to well under this.
pub const REQUEST_BODY_BYTES_MAX: usize = 256 * 1024;
/// Largest query string payrec decodes.
pub const QUERY_BYTES_MAX: usize = 16 * 1024;
/// Deepest nesting accepted: `payment_method_details[billing_details][address][city]` is 4.
pub const PARAM_DEPTH_MAX: usize = 8;
/// Most `key=value` pairs in one request.
pub const PARAM_COUNT_MAX: usize = 1024;
/// Longest parameter name (the whole bracketed path) in bytes.
pub const PARAM_NAME_BYTES_MAX: usize = 512;

const _: () = assert!(PARAM_COUNT_MAX * 4 <= REQUEST_BODY_BYTES_MAX);

/// One decoded value: a string, a hash (`a[b]=…`) or an array (`a[]=…`).
/// Indexed arrays (`a[0]=x`) decode as hashes with numeric keys; typed extraction accepts
/// either form where an array is expected, so a metadata key `0` stays a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Param {
    Str(String),
    Map(ParamMap),
    List(Vec<String>),
}

pub type ParamMap = BTreeMap<String, Param>;

/// A decoded request: the top-level hash of parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ParamTree(pub ParamMap);

impl ParamTree {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::MalformedRequest {
        message: message.into(),
    }
}

/// Decodes a form-encoded body or query string.
pub fn decode(input: &[u8]) -> Result<ParamTree, ApiError> {
    let mut tree = ParamMap::new();
    let mut count = 0usize;
    for pair in input.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        count += 1;
        if count > PARAM_COUNT_MAX {
            return Err(malformed(format!(
                "Too many parameters: a request may have at most {PARAM_COUNT_MAX}."
            )));
        }
        let (raw_name, raw_value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let name = percent_decode(raw_name)?;
        let value = percent_decode(raw_value)?;
        if name.len() > PARAM_NAME_BYTES_MAX {
            return Err(malformed(format!(
                "Parameter name too long: names may have at most {PARAM_NAME_BYTES_MAX} bytes."
            )));
        }
        let path = split_name(&name)?;
        insert(&mut tree, &path, value, &name)?;
    }
    Ok(ParamTree(tree))
}

/// Percent-decodes one component (`+` is a space); the result must be UTF-8.
fn percent_decode(raw: &[u8]) -> Result<String, ApiError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => return Err(malformed("Invalid percent-encoding in the request.")),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed("The request is not valid UTF-8."))
}

/// One step of a parameter path.
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Key(&'a str),
    /// `[]`: append to an array.
    Append,
}

/// Splits `a[b][c]` into `a`, `b`, `c`. `[]` is allowed only last.
fn split_name(name: &str) -> Result<Vec<Segment<'_>>, ApiError> {
    let invalid = || malformed(format!("Invalid parameter name: {name}"));
    let (head, mut rest) = match name.find('[') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    if head.is_empty() || head.contains(']') {
        return Err(invalid());
    }
    let mut path = vec![Segment::Key(head)];
    while !rest.is_empty() {
        let close = rest.find(']').ok_or_else(invalid)?;
        if !rest.starts_with('[') {
            return Err(invalid());
        }
        let key = &rest[1..close];
        if key.contains('[') {
            return Err(invalid());
        }
        path.push(if key.is_empty() {
            Segment::Append
        } else {
            Segment::Key(key)
        });
        rest = &rest[close + 1..];
        if path.len() > PARAM_DEPTH_MAX {
            return Err(malformed(format!(
                "Parameters are nested too deeply: at most {PARAM_DEPTH_MAX} levels are allowed ({name})."
            )));
        }
    }
    if path[..path.len() - 1].contains(&Segment::Append) {
        return Err(invalid());
    }
    Ok(path)
}

fn insert(map: &mut ParamMap, path: &[Segment<'_>], value: String, name: &str) -> Result<(), ApiError> {
    let conflict = || {
        malformed(format!(
            "Invalid parameter structure: {name} conflicts with another parameter."
        ))
    };
    let Segment::Key(key) = path[0] else {
        unreachable!("split_name never yields a leading Append")
    };
    match &path[1..] {
        [] => {
            // A later scalar replaces an earlier scalar; it may not replace a hash or array.
            match map.get(key) {
                Some(Param::Map(_) | Param::List(_)) => return Err(conflict()),
                _ => {
                    map.insert(key.to_owned(), Param::Str(value));
                }
            }
        }
        [Segment::Append] => match map.entry(key.to_owned()).or_insert_with(|| Param::List(Vec::new())) {
            Param::List(items) => items.push(value),
            _ => return Err(conflict()),
        },
        rest => {
            let entry = map.entry(key.to_owned()).or_insert_with(|| Param::Map(ParamMap::new()));
            match entry {
                Param::Map(inner) => insert(inner, rest, value, name)?,
                // `metadata=` (unset) followed by `metadata[k]=v`: the hash wins, as in Stripe.
                Param::Str(s) if s.is_empty() => {
                    let mut inner = ParamMap::new();
                    insert(&mut inner, rest, value, name)?;
                    *entry = Param::Map(inner);
                }
                _ => return Err(conflict()),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
