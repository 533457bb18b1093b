//! Which events a report call emits, as a pure function of the state before and after it
//! (API.md, "Event types"): one event per object the call changed, the record's first, then the
//! attempt's (`created` before its outcome). A call that changes nothing emits nothing.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::EventType;
use crate::records::lifecycle::PaymentState;
use crate::records::model::{AttemptState, PaymentAttemptRecord, PaymentRecord};
use crate::records::render;

/// An event before it has an id: its type, `data.object` and `data.previous_attributes` as JSON
/// text (in the API's field order), and the record it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    pub kind: EventType,
    pub object: String,
    /// `Some` exactly when `kind.has_previous_attributes()`.
    pub previous_attributes: Option<String>,
    pub record_id: String,
}

fn record_json(r: &PaymentRecord) -> String {
    serde_json::to_string(&render::record(r, None)).expect("views serialize")
}

fn attempt_json(a: &PaymentAttemptRecord) -> String {
    serde_json::to_string(&render::attempt(a, None)).expect("views serialize")
}

/// The events of one call. `before` is `None` for report_payment; `new_attempt` and `refunded`
/// say what the transition wrote.
pub fn record_events(
    before: Option<&PaymentState>,
    after: &PaymentState,
    new_attempt: bool,
    refunded: bool,
) -> Vec<EventDraft> {
    let record_id = after.record.id.as_str().to_owned();
    let mut events = Vec::with_capacity(3);
    let mut push = |kind: EventType, object: &str, previous: Option<&str>| {
        assert_eq!(
            kind.has_previous_attributes(),
            previous.is_some(),
            "previous_attributes on every type but *.created"
        );
        let previous_attributes = previous.map(|previous| changed_fields(previous, object));
        events.push(EventDraft {
            kind,
            object: object.to_owned(),
            previous_attributes,
            record_id: record_id.clone(),
        });
    };
    let record_after = record_json(&after.record);
    match before {
        None => push(EventType::RecordCreated, &record_after, None),
        Some(before) => {
            let record_before = record_json(&before.record);
            if record_before != record_after {
                push(EventType::RecordUpdated, &record_after, Some(&record_before));
            }
        }
    }
    let attempt_after = attempt_json(&after.latest);
    let outcome = outcome_type(after.latest.state);
    if before.is_none() || new_attempt {
        push(EventType::AttemptCreated, &attempt_after, None);
        if let Some(kind) = outcome {
            // Reported with its outcome: the outcome event shows what the outcome changed.
            let mut pending = after.latest.clone();
            pending.state = AttemptState::Pending;
            push(kind, &attempt_after, Some(&attempt_json(&pending)));
        }
        return events;
    }
    let before = before.expect("checked above");
    let attempt_before = attempt_json(&before.latest);
    let kind = if refunded {
        Some(EventType::AttemptRefunded)
    } else if before.latest.state.is_pending() && outcome.is_some() {
        outcome
    } else if attempt_before != attempt_after {
        Some(EventType::AttemptUpdated)
    } else {
        None
    };
    if let Some(kind) = kind {
        push(kind, &attempt_after, Some(&attempt_before));
    }
    events
}

fn outcome_type(state: AttemptState) -> Option<EventType> {
    match state {
        AttemptState::Pending => None,
        AttemptState::Guaranteed { .. } => Some(EventType::AttemptGuaranteed),
        AttemptState::Failed { .. } => Some(EventType::AttemptFailed),
        AttemptState::Canceled { .. } => Some(EventType::AttemptCanceled),
    }
}

/// `previous_attributes`: the top-level fields of `after` whose value differs in `before`, each
/// with its whole previous value, in `after`'s field order. Both are renderings of the same
/// view, so equal values are equal text.
fn changed_fields(before: &str, after: &str) -> String {
    let before = top_level_fields(before);
    let after = top_level_fields(after);
    let mut out = String::from("{");
    for (key, value) in &after {
        let previous = before.iter().find(|(k, _)| k == key).map(|(_, v)| v.get());
        if previous != Some(value.get()) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(key).expect("strings serialize"));
            out.push(':');
            out.push_str(previous.unwrap_or("null"));
        }
    }
    out.push('}');
    out
}

/// An object's fields as raw JSON text, in order.
fn top_level_fields(json: &str) -> Vec<(String, Box<RawValue>)> {
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Vec<(String, Box<RawValue>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = Vec::new();
            while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                fields.push(entry);
            }
            Ok(fields)
        }
    }
    let mut de = serde_json::Deserializer::from_str(json);
    de.deserialize_map(Fields).expect("views render objects")
}

#[cfg(test)]
mod tests;
