//! An event's wire form: `id` and `object` first, then every field in alphabetical order, as the
//! API returns it and as it is delivered. `pending_webhooks` changes while deliveries are
//! acknowledged, so an event is stored as the text before it (`head`) and after it (`tail`),
//! and the count is put between them when the event is read.

use super::EventDraft;
use crate::api_version::API_VERSION;
use crate::records::ids::new_object_id;

/// Prefix of event ids.
pub const EVENT_ID_PREFIX: &str = "evt_";

/// The request that caused an event (`request` of the event object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRequest {
    /// None for an event payrec made on its own (an endpoint disabled after failing for days).
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// An event ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub kind: super::EventType,
    pub created: i64,
    pub record_id: String,
    pub head: String,
    pub tail: String,
}

pub fn new_event_id() -> String {
    new_object_id(EVENT_ID_PREFIX)
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// Renders `draft` as the event `id` of `account` in `livemode`, created at `created`.
pub fn new_event(
    id: String,
    draft: &EventDraft,
    account: &str,
    livemode: bool,
    created: i64,
    request: &EventRequest,
) -> NewEvent {
    let mut head = String::with_capacity(draft.object.len() * 2 + 256);
    head.push_str("{\"id\":");
    head.push_str(&quoted(&id));
    head.push_str(",\"object\":\"event\",\"account\":");
    head.push_str(&quoted(account));
    head.push_str(",\"api_version\":");
    head.push_str(&quoted(API_VERSION));
    head.push_str(",\"context\":null,\"created\":");
    head.push_str(&created.to_string());
    head.push_str(",\"data\":{\"object\":");
    head.push_str(&draft.object);
    if let Some(previous) = &draft.previous_attributes {
        head.push_str(",\"previous_attributes\":");
        head.push_str(previous);
    }
    head.push_str("},\"livemode\":");
    head.push_str(if livemode { "true" } else { "false" });
    head.push_str(",\"pending_webhooks\":");
    let mut tail = String::with_capacity(128);
    tail.push_str(",\"request\":{\"id\":");
    match &request.request_id {
        Some(id) => tail.push_str(&quoted(id)),
        None => tail.push_str("null"),
    }
    tail.push_str(",\"idempotency_key\":");
    match &request.idempotency_key {
        Some(key) => tail.push_str(&quoted(key)),
        None => tail.push_str("null"),
    }
    tail.push_str("},\"type\":");
    tail.push_str(&quoted(draft.kind.as_str()));
    tail.push('}');
    NewEvent {
        id,
        kind: draft.kind,
        created,
        record_id: draft.record_id.clone(),
        head,
        tail,
    }
}

/// The event's JSON with `pending_webhooks` filled in.
pub fn event_json(head: &str, pending_webhooks: u64, tail: &str) -> String {
    let mut out = String::with_capacity(head.len() + tail.len() + 20);
    out.push_str(head);
    out.push_str(&pending_webhooks.to_string());
    out.push_str(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventType;

    #[test]
    fn an_event_renders_as_json_in_the_api_field_order() {
        let draft = EventDraft {
            kind: EventType::RecordUpdated,
            object: r#"{"id":"pr_1","object":"payment_record"}"#.into(),
            previous_attributes: Some(r#"{"description":null}"#.into()),
            record_id: "pr_1".into(),
        };
        let request = EventRequest {
            request_id: Some("req_1".into()),
            idempotency_key: Some("k\"1".into()),
        };
        let event = new_event("evt_1".into(), &draft, "acct_1", false, 7, &request);
        let json = event_json(&event.head, 2, &event.tail);
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(
            value["data"]["previous_attributes"]["description"],
            serde_json::Value::Null
        );
        assert_eq!(value["pending_webhooks"], 2);
        assert_eq!(value["request"]["idempotency_key"], "k\"1");
        assert_eq!(value["type"], "payment_record.updated");
        let keys: Vec<&str> = [
            "\"id\"",
            "\"object\"",
            "\"account\"",
            "\"api_version\"",
            "\"context\"",
            "\"created\"",
            "\"data\"",
            "\"livemode\"",
            "\"pending_webhooks\"",
            "\"request\"",
            "\"type\"",
        ]
        .to_vec();
        let mut at = 0;
        for key in keys {
            let found = json[at..]
                .find(key)
                .unwrap_or_else(|| panic!("{key} after {at} in {json}"));
            at += found;
        }
    }
}
