//! A small JSON Schema checker for the subset the OpenAPI document uses in its responses
//! (`$ref`, `anyOf`, `type`, `const`, `enum`, `properties`, `required`,
//! `additionalProperties`, `items`, `minimum`, `maximum`), so the response schemas are checked
//! against real responses even where schemathesis cannot be installed.

use serde_json::Value;

/// Every way `value` breaks `schema`, each with its JSON pointer.
pub fn violations(document: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(document, schema, value, "", &mut found);
    found
}

fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("local reference");
    document
        .pointer(pointer)
        .unwrap_or_else(|| panic!("dangling $ref {reference}"))
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    }
}

fn check(document: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return check(document, resolve(document, reference), value, at, found);
    }
    if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
        let fits = branches
            .iter()
            .any(|branch| violations(document, branch, value).is_empty());
        if !fits {
            found.push(format!("{at}: {value} matches no branch of anyOf"));
        }
        return;
    }
    if let Some(kind) = schema.get("type") {
        let names: Vec<&str> = match kind {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            other => panic!("bad type {other}"),
        };
        if !names.iter().any(|name| type_matches(name, value)) {
            found.push(format!("{at}: {value} is not of type {kind}"));
            return;
        }
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        found.push(format!("{at}: {value} is not {expected}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_i64), value.as_i64())
        && n < min
    {
        found.push(format!("{at}: {n} < {min}"));
    }
    if let (Some(max), Some(n)) = (schema.get("maximum").and_then(Value::as_i64), value.as_i64())
        && n > max
    {
        found.push(format!("{at}: {n} > {max}"));
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, item) in values.iter().enumerate() {
            check(document, items, item, &format!("{at}/{i}"), found);
        }
    }
    if let Some(object) = value.as_object() {
        check_object(document, schema, object, at, found);
    }
}

fn check_object(
    document: &Value,
    schema: &Value,
    object: &serde_json::Map<String, Value>,
    at: &str,
    found: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
        let name = name.as_str().expect("required names are strings");
        if !object.contains_key(name) {
            found.push(format!("{at}: required field {name} is missing"));
        }
    }
    for (name, field) in object {
        let path = format!("{at}/{name}");
        match (properties.and_then(|p| p.get(name)), schema.get("additionalProperties")) {
            (Some(field_schema), _) => check(document, field_schema, field, &path, found),
            (None, Some(Value::Bool(false))) => found.push(format!("{path}: field not in the schema")),
            (None, Some(extra)) if extra.is_object() => check(document, extra, field, &path, found),
            (None, _) => {}
        }
    }
}
