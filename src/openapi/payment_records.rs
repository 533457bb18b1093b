//! The Payment Records resource in the API description: its objects' schemas, field for field
//! as `records::render` writes them (every field required: render always writes it, null where
//! empty; `additionalProperties: false`, so a field added to or dropped from the rendering
//! breaks schema validation until this follows), and the links between its operations.

use serde_json::{Map, Value, json};

use super::operation_id;
use super::schema::{id_pattern, list, nullable, nullable_string, object, schema_ref, strings};
use crate::api::payment_records::{LIST_ATTEMPTS, LIST_RECORDS, ROUTES};
use crate::api::route::Route;
use crate::records::model::{
    AMOUNT_VALUE_MAX, CustomerPresence, METADATA_VALUE_CHARS_MAX, PaymentAttemptRecordId, PaymentRecordId,
};
use crate::wire::params::{FromParam, Shape};

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
    let Shape::Enum(presence_values) = CustomerPresence::SHAPE else {
        unreachable!("customer_presence is an enum")
    };
    let mut presence: Vec<Value> = presence_values.iter().map(|v| json!(v)).collect();
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

/// The resource's `components.schemas`.
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

/// OpenAPI links from a call that answers with a record or an attempt to the calls that take
/// its id: they document how the endpoints chain, and let schemathesis's stateful phase walk
/// real lifecycles instead of guessing ids.
pub fn links(endpoint: &Route) -> Map<String, Value> {
    let (record, attempt) = match endpoint.returns.schema {
        "payment_record" => ("$response.body#/id", "$response.body#/latest_payment_attempt_record"),
        "payment_attempt_record" => ("$response.body#/payment_record", "$response.body#/id"),
        _ => return Map::new(),
    };
    let mut links = Map::new();
    for target in ROUTES {
        let parameters = if target.path.starts_with("/v1/payment_records/{id}") {
            json!({ "path.id": record })
        } else if target.returns == LIST_ATTEMPTS.returns {
            json!({ "query.payment_record": record })
        } else if target.returns.schema == "payment_attempt_record" {
            json!({ "path.id": attempt })
        } else {
            continue;
        };
        links.insert(
            operation_id(target),
            json!({ "operationId": operation_id(target), "parameters": parameters }),
        );
    }
    links
}
