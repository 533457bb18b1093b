//! Building blocks of the response schemas, and Stripe's error body.

use serde_json::{Map, Value, json};

use crate::records::ids::OBJECT_ID_CHARS;
use crate::wire::error::ErrorType;

/// `#/components/schemas/<name>`.
pub fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A closed object whose every property is required.
pub fn object(description: &str, properties: Value) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .expect("properties are an object")
        .keys()
        .collect();
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

pub fn nullable_string() -> Value {
    json!({ "type": ["string", "null"] })
}

pub fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

/// `^pr_` + the 24 base62 characters every generated id has (time part, then random).
pub fn id_pattern(prefix: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^{prefix}[0-9A-Za-z]{{{OBJECT_ID_CHARS}}}$"),
    })
}

pub fn strings(names: &[&str]) -> Value {
    let properties: Map<String, Value> = names.iter().map(|n| ((*n).to_owned(), nullable_string())).collect();
    Value::Object(properties)
}

/// A list envelope of `item`s.
pub fn list(description: &str, url: &str, item: &str) -> Value {
    object(
        description,
        json!({
            "object": { "type": "string", "const": "list" },
            "data": { "type": "array", "items": schema_ref(item) },
            "has_more": { "type": "boolean" },
            "url": { "type": "string", "const": url },
        }),
    )
}

/// Stripe's error body; `code`, `param` and `doc_url` are omitted when they do not apply.
pub fn error() -> Value {
    let types: Vec<&str> = [ErrorType::InvalidRequest, ErrorType::Idempotency, ErrorType::Api]
        .into_iter()
        .map(ErrorType::as_str)
        .collect();
    let fields = json!({
        "type": "object",
        "properties": {
            "type": { "type": "string", "enum": types },
            "code": { "type": "string" },
            "message": { "type": "string" },
            "param": { "type": "string" },
            "doc_url": { "type": "string", "format": "uri" },
        },
        "required": ["type", "message"],
        "additionalProperties": false,
    });
    json!({
        "type": "object",
        "description": "Stripe's error shape.",
        "properties": { "error": fields },
        "required": ["error"],
        "additionalProperties": false,
    })
}
