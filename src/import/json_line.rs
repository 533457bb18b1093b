//! A JSON line as report calls: the object is report_payment's parameters (as the API takes
//! them, JSON-typed: `{"amount_requested": {"currency": "usd", "value": 1000}, …}`), plus
//! payrec's import fields: `id` and `latest_attempt` (the ids to keep), `created` (Unix seconds
//! or RFC 3339), `livemode`, and `refunds` (report_refund's parameters, in order, each with an
//! optional `created`).

use serde_json::{Map, Value};

use super::{LineError, LineInput, RefundInput};
use crate::clock::parse_time;
use crate::wire::form::{Param, ParamMap, ParamTree};

/// The line's report calls.
pub fn line(text: &str, line: u64) -> Result<LineInput, LineError> {
    let error = |param: Option<&str>, message: String| LineError::new(line, param, message);
    let value: Value = serde_json::from_str(text).map_err(|e| error(None, format!("not a JSON object: {e}")))?;
    let Value::Object(mut fields) = value else {
        return Err(error(None, "not a JSON object".into()));
    };
    if let Some(object) = fields.get("object").and_then(Value::as_str) {
        return Err(error(
            Some("object"),
            format!(
                "this is an exported {object} object; import reads report calls as JSON lines, \
                 or the payment records export as CSV"
            ),
        ));
    }
    let record_id = take_string(&mut fields, "id", line)?;
    let attempt_id = take_string(&mut fields, "latest_attempt", line)?;
    let created = take_time(&mut fields, "created", line)?;
    let livemode = match fields.remove("livemode") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => return Err(error(Some("livemode"), "livemode must be true or false".into())),
    };
    let mut refunds = Vec::new();
    match fields.remove("refunds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                let param = format!("refunds[{i}]");
                let Value::Object(mut refund) = item else {
                    return Err(error(Some(&param), "each refund must be an object".into()));
                };
                let created = take_time(&mut refund, "created", line)?;
                refunds.push(RefundInput {
                    params: tree(refund, line, &param)?,
                    created,
                    derive_reference: false,
                });
            }
        }
        Some(_) => return Err(error(Some("refunds"), "refunds must be an array of objects".into())),
    }
    let reference = fields
        .get("processor_details")
        .and_then(|d| d.get("custom"))
        .and_then(|c| c.get("payment_reference"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(LineInput {
        line,
        record_id,
        attempt_id,
        created,
        livemode,
        report: tree(fields, line, "")?,
        refunds,
        identity: match reference {
            Some(reference) => format!("reference\u{0}{reference}"),
            None => text.trim().to_owned(),
        },
    })
}

fn take_string(fields: &mut Map<String, Value>, key: &str, line: u64) -> Result<Option<String>, LineError> {
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(LineError::new(line, Some(key), format!("{key} must be a string"))),
    }
}

fn take_time(fields: &mut Map<String, Value>, key: &str, line: u64) -> Result<Option<i64>, LineError> {
    let invalid = || {
        LineError::new(
            line,
            Some(key),
            format!("{key} must be Unix seconds or an RFC 3339 time"),
        )
    };
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(invalid),
        Some(Value::String(s)) => parse_time(&s).map(Some).ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

/// A JSON object as the API's parameter tree: what form encoding would send for it. Numbers
/// and booleans become their text, `null` leaves the parameter out, arrays of scalars are
/// lists and arrays of objects are indexed hashes (`a[0][b]`).
fn tree(fields: Map<String, Value>, line: u64, path: &str) -> Result<ParamTree, LineError> {
    Ok(ParamTree(map(fields, line, path)?))
}

fn map(fields: Map<String, Value>, line: u64, path: &str) -> Result<ParamMap, LineError> {
    let mut out = ParamMap::new();
    for (key, value) in fields {
        let param = crate::wire::params::join_path(path, &key);
        if let Some(param) = param_of(value, line, &param)? {
            out.insert(key, param);
        }
    }
    Ok(out)
}

fn param_of(value: Value, line: u64, path: &str) -> Result<Option<Param>, LineError> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => Param::Str(b.to_string()),
        Value::Number(n) => Param::Str(n.to_string()),
        Value::String(s) => Param::Str(s),
        Value::Object(fields) => Param::Map(map(fields, line, path)?),
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => Param::List(
            items
                .into_iter()
                .filter_map(|v| match v {
                    Value::Null => None,
                    Value::String(s) => Some(s),
                    other => Some(other.to_string()),
                })
                .collect(),
        ),
        Value::Array(items) => {
            let mut indexed = ParamMap::new();
            for (i, item) in items.into_iter().enumerate() {
                let param = format!("{path}[{i}]");
                let Value::Object(fields) = item else {
                    return Err(LineError::new(
                        line,
                        Some(&param),
                        "an array holds either values or objects, not both".to_owned(),
                    ));
                };
                indexed.insert(i.to_string(), Param::Map(map(fields, line, &param)?));
            }
            Param::Map(indexed)
        }
    }))
}
