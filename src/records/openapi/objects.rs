//! Response schemas, field for field as `records::render` and `wire::error` write them: every
//! field required (render always writes it, null where empty), `additionalProperties: false`, so
//! a field added to or dropped from the rendering breaks schema validation until this follows.

use serde_json::{Map, Value, json};

use crate::records::endpoints::{LIST_ATTEMPTS, LIST_RECORDS};
use crate::records::ids::OBJECT_ID_CHARS;
use crate::records::model::{AMOUNT_VALUE_MAX, METADATA_VALUE_CHARS_MAX, PaymentAttemptRecordId, PaymentRecordId};
use crate::records::params::CUSTOMER_PRESENCE_VALUES;
use crate::wire::error::ErrorType;

/// `#/components/schemas/<name>`.
pub fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A closed object whose every property is required.
fn object(description: &str, properties: Value) -> Value {
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

fn nullable_string() -> Value {
    json!({ "type": ["string", "null"] })
}

fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

/// `^pr_` + the 24 base62 characters every generated id has (time part, then random).
fn id_pattern(prefix: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^{prefix}[0-9A-Za-z]{{{OBJECT_ID_CHARS}}}$"),
    })
}

fn strings(names: &[&str]) -> Value {
    let properties: Map<String, Value> = names.iter().map(|n| ((*n).to_owned(), nullable_string())).collect();
    Value::Object(properties)
}

/// Fields a record and an attempt share (render's `Amounts`, `Trailer` and `Tail`).
fn shared_fields(object_name: &str, id_prefix: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("id".into(), id_pattern(id_prefix));
    fields.insert("object".into(), json!({ "type": "string", "const": object_name }));
    for amount in [
        "amount",
        "amount_authorized",
        "amount_canceled",
        "amount_failed",
        "amount_guaranteed",
        "amount_refunded",
        "amount_requested",
    ] {
        fields.insert(amount.into(), schema_ref("amount"));
    }
    let mut presence: Vec<Value> = CUSTOMER_PRESENCE_VALUES.iter().map(|v| json!(v)).collect();
    presence.push(Value::Null);
    let more = json!({
        "application": nullable_string(),
        "created": { "type": "integer", "description": "Unix timestamp in seconds." },
        "customer_details": nullable(schema_ref("customer_details")),
        "customer_presence": { "type": ["string", "null"], "enum": presence },
        "description": nullable_string(),
        "livemode": { "type": "boolean" },
        "metadata": {
            "type": "object",
            "additionalProperties": { "type": "string", "maxLength": METADATA_VALUE_CHARS_MAX },
        },
        "payment_method_details": nullable(schema_ref("payment_method_details")),
        "processor_details": schema_ref("processor_details"),
        "reported_by": { "type": "string", "const": "self" },
        "shipping_details": nullable(schema_ref("shipping_details")),
    });
    fields.extend(more.as_object().expect("an object").clone());
    fields
}

fn payment_record() -> Value {
    let mut fields = shared_fields("payment_record", PaymentRecordId::PREFIX);
    fields.insert(
        "latest_payment_attempt_record".into(),
        json!({
            "description": "The latest attempt's id, or the attempt itself when expanded.",
            "anyOf": [id_pattern(PaymentAttemptRecordId::PREFIX), schema_ref("payment_attempt_record")],
        }),
    );
    object(
        "A Payment Record: one payment reported from outside Stripe, across its attempts.",
        Value::Object(fields),
    )
}

fn payment_attempt_record() -> Value {
    let mut fields = shared_fields("payment_attempt_record", PaymentAttemptRecordId::PREFIX);
    fields.insert(
        "payment_record".into(),
        json!({
            "description": "The parent record's id, or the record itself when expanded.",
            "anyOf": [id_pattern(PaymentRecordId::PREFIX), schema_ref("payment_record")],
        }),
    );
    object(
        "One attempt to collect a Payment Record's amount.",
        Value::Object(fields),
    )
}

fn list(description: &str, url: &str, item: &str) -> Value {
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
fn error() -> Value {
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

/// `components.schemas`.
pub fn schemas() -> Value {
    let address = ["city", "country", "line1", "line2", "postal_code", "state"];
    json!({
        "address": object("A postal address; every field may be null.", strings(&address)),
        "amount": object("An amount in minor units of a currency.", json!({
            "currency": { "type": "string", "pattern": "^[a-z]{3}$", "description": "Lowercase ISO 4217 code." },
            "value": { "type": "integer", "minimum": 0, "maximum": AMOUNT_VALUE_MAX },
        })),
        "billing_details": object("The payer's billing details.", json!({
            "address": schema_ref("address"),
            "email": nullable_string(),
            "name": nullable_string(),
            "phone": nullable_string(),
        })),
        "customer_details": object(
            "The customer who paid.",
            strings(&["customer", "email", "name", "phone"]),
        ),
        "error": error(),
        "payment_attempt_record": payment_attempt_record(),
        "payment_attempt_record_list": list(
            "A page of a record's attempts, newest first.",
            LIST_ATTEMPTS.path,
            "payment_attempt_record",
        ),
        "payment_method_details": object("How the payment was made.", json!({
            "billing_details": nullable(schema_ref("billing_details")),
            "custom": nullable(object("A custom payment method.", strings(&["display_name", "type"]))),
            "payment_method": nullable_string(),
            "type": { "type": "string", "const": "custom" },
        })),
        "payment_record": payment_record(),
        "payment_record_list": list("A page of Payment Records, newest first.", LIST_RECORDS.path, "payment_record"),
        "processor_details": object("The processor that handled the payment.", json!({
            "type": { "type": "string", "const": "custom" },
            "custom": nullable(object("A custom processor's reference.", strings(&["payment_reference"]))),
        })),
        "shipping_details": object("Where the goods were shipped.", json!({
            "address": schema_ref("address"),
            "name": nullable_string(),
            "phone": nullable_string(),
        })),
    })
}
