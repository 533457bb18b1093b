//! The event catalogue: every type payrec emits (API.md, "Event types").

/// One event type of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    RecordCreated,
    RecordUpdated,
    AttemptCreated,
    AttemptGuaranteed,
    AttemptFailed,
    AttemptCanceled,
    AttemptRefunded,
    AttemptUpdated,
    /// payrec's own: an endpoint disabled after failing for days (Stripe e-mails the owner).
    EndpointDisabled,
    /// payrec's own: a reconciliation run matched the payment to a statement line.
    RecordReconciled,
    /// payrec's own: a reconciliation run found a break for the payment (an amount or currency
    /// mismatch, not guaranteed, missing in the file).
    RecordReconciliationFailed,
}

/// `enabled_events[]` entry that subscribes to every type.
pub const ALL_EVENTS: &str = "*";

impl EventType {
    /// Every type, in the catalogue's order.
    pub const ALL: [EventType; 11] = [
        EventType::RecordCreated,
        EventType::RecordUpdated,
        EventType::AttemptCreated,
        EventType::AttemptGuaranteed,
        EventType::AttemptFailed,
        EventType::AttemptCanceled,
        EventType::AttemptRefunded,
        EventType::AttemptUpdated,
        EventType::EndpointDisabled,
        EventType::RecordReconciled,
        EventType::RecordReconciliationFailed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::RecordCreated => "payment_record.created",
            EventType::RecordUpdated => "payment_record.updated",
            EventType::AttemptCreated => "payment_attempt_record.created",
            EventType::AttemptGuaranteed => "payment_attempt_record.guaranteed",
            EventType::AttemptFailed => "payment_attempt_record.failed",
            EventType::AttemptCanceled => "payment_attempt_record.canceled",
            EventType::AttemptRefunded => "payment_attempt_record.refunded",
            EventType::AttemptUpdated => "payment_attempt_record.updated",
            EventType::EndpointDisabled => "webhook_endpoint.disabled",
            EventType::RecordReconciled => "payment_record.reconciled",
            EventType::RecordReconciliationFailed => "payment_record.reconciliation_failed",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether `data.previous_attributes` is part of events of this type (all but `*.created`
    /// and payrec's own endpoint and reconciliation events).
    pub fn has_previous_attributes(self) -> bool {
        !matches!(
            self,
            EventType::RecordCreated
                | EventType::AttemptCreated
                | EventType::EndpointDisabled
                | EventType::RecordReconciled
                | EventType::RecordReconciliationFailed
        )
    }
}

/// Whether `name` is a type of the catalogue or `*`.
pub fn is_subscribable(name: &str) -> bool {
    name == ALL_EVENTS || EventType::parse(name).is_some()
}

/// Whether a type filter (`type=` of the events list) can match anything: a type of the
/// catalogue, or a `prefix.*` wildcard.
pub fn type_prefix(filter: &str) -> Option<&str> {
    filter.strip_suffix('*').filter(|p| p.ends_with('.') || p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_parses_back_from_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("payment_record.deleted"), None);
    }

    #[test]
    fn wildcards_end_in_a_dot_and_a_star() {
        assert_eq!(type_prefix("payment_record.*"), Some("payment_record."));
        assert_eq!(type_prefix("payment_record*"), None);
        assert_eq!(type_prefix("payment_record.created"), None);
        assert!(is_subscribable("*"));
        assert!(!is_subscribable("charge.succeeded"));
    }
}
