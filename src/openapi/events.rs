//! Events and webhook endpoints in the API description: their objects' schemas, field for
//! field as `events::render` and `events::endpoint` write them.

use serde_json::{Map, Value, json};

use super::schema::{id_pattern, list, nullable_string, object};
use crate::api::route::Route;
use crate::events::EventType;
use crate::events::catalogue::ALL_EVENTS;
use crate::events::endpoint::{ENDPOINT_ID_PREFIX, SECRET_PREFIX};
use crate::events::render::EVENT_ID_PREFIX;
use crate::records::model::METADATA_VALUE_CHARS_MAX;

fn event() -> Value {
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    object(
        "Something that happened to a payment record or one of its attempts. Kept 30 days.",
        json!({
            "id": id_pattern(EVENT_ID_PREFIX),
            "object": { "type": "string", "const": "event" },
            "account": { "type": "string" },
            "api_version": { "type": "string" },
            "context": { "type": "null" },
            "created": { "type": "integer", "description": "Unix timestamp in seconds." },
            "data": {
                "type": "object",
                "properties": {
                    "object": {
                        "description": "The payment record or attempt after the call.",
                        "anyOf": [
                            { "$ref": "#/components/schemas/payment_record" },
                            { "$ref": "#/components/schemas/payment_attempt_record" },
                        ],
                    },
                    "previous_attributes": {
                        "type": "object",
                        "description": "The top-level fields the call changed, with their previous values (absent on *.created).",
                    },
                },
                "required": ["object"],
                "additionalProperties": false,
            },
            "livemode": { "type": "boolean" },
            "pending_webhooks": {
                "type": "integer",
                "minimum": 0,
                "description": "Deliveries of the event not yet acknowledged.",
            },
            "request": object(
                "The call that caused the event.",
                json!({ "id": { "type": "string" }, "idempotency_key": nullable_string() }),
            ),
            "type": { "type": "string", "enum": types },
        }),
    )
}

fn webhook_endpoint() -> Value {
    let mut events: Vec<&str> = vec![ALL_EVENTS];
    events.extend(EventType::ALL.iter().map(|t| t.as_str()));
    let mut schema = object(
        "Where an account's events are delivered, signed with its secret.",
        json!({
            "id": id_pattern(ENDPOINT_ID_PREFIX),
            "object": { "type": "string", "const": "webhook_endpoint" },
            "api_version": nullable_string(),
            "application": { "type": "null" },
            "created": { "type": "integer", "description": "Unix timestamp in seconds." },
            "description": nullable_string(),
            "enabled_events": { "type": "array", "items": { "type": "string", "enum": events } },
            "livemode": { "type": "boolean" },
            "metadata": {
                "type": "object",
                "additionalProperties": { "type": "string", "maxLength": METADATA_VALUE_CHARS_MAX },
            },
            "secret": {
                "type": "string",
                "pattern": format!("^{SECRET_PREFIX}"),
                "description": "The signing secret: in the create response only.",
            },
            "status": { "type": "string", "enum": ["enabled", "disabled"] },
            "url": { "type": "string", "format": "uri" },
        }),
    );
    let required = schema["required"].as_array_mut().expect("required is a list");
    required.retain(|name| name != "secret");
    schema
}

/// The schemas of both resources.
pub fn schemas() -> Value {
    json!({
        "event": event(),
        "event_list": list("A page of events, newest first.", "/v1/events", "event"),
        "webhook_endpoint": webhook_endpoint(),
        "webhook_endpoint_list": list(
            "A page of webhook endpoints, newest first.",
            "/v1/webhook_endpoints",
            "webhook_endpoint",
        ),
        "deleted_webhook_endpoint": object(
            "A deleted webhook endpoint.",
            json!({
                "id": id_pattern(ENDPOINT_ID_PREFIX),
                "object": { "type": "string", "const": "webhook_endpoint" },
                "deleted": { "type": "boolean", "const": true },
            }),
        ),
    })
}

/// No links between these operations.
pub fn links(_: &Route) -> Map<String, Value> {
    Map::new()
}

/// The webhook endpoints' schemas are among `schemas`, described with the events'.
pub fn schemas_none() -> Value {
    json!({})
}

/// The test-data reset's answer (`POST /payrec/v1/test_data/reset`, payrec's own).
pub fn test_data_schemas() -> Value {
    json!({
        "test_data_reset": {
            "type": "object",
            "required": ["object", "account", "livemode", "erased"],
            "properties": {
                "object": { "type": "string", "const": "test_data_reset" },
                "account": { "type": "string" },
                "livemode": { "type": "boolean", "const": false },
                "erased": {
                    "type": "object",
                    "description": "Rows erased, per table.",
                    "additionalProperties": { "type": "integer", "minimum": 0 },
                },
            },
        },
    })
}
