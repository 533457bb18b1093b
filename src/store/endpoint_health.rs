//! The store's side of webhook endpoints' health (`events::health`): which endpoints have work
//! due, and what a batch of finished attempts did to each endpoint (the backends apply it in
//! the same statement or transaction as the attempts' results).

use super::Tenant;
use super::events::{DeliveryNext, FinishedDelivery};

/// An enabled, unpaused endpoint with a delivery due, and its account: the worker bounds each
/// account's share of the attempts in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEndpoint {
    pub id: String,
    pub account_id: String,
}

/// One endpoint's change of health from a batch of finished attempts, in their order: whether
/// one succeeded (the count starts again), the failures after the last success, when the first
/// of those was made, and when the last attempt was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    pub endpoint_id: String,
    pub reset: bool,
    pub failures: i64,
    pub first_failure_ms: Option<i64>,
    pub last_attempt_ms: i64,
}

/// The outcome of each endpoint with an attempt in `finished` (in the order given).
pub fn health_changes(finished: &[FinishedDelivery]) -> Vec<HealthChange> {
    let mut outcomes: Vec<HealthChange> = Vec::new();
    for f in finished {
        let at = outcomes.iter().position(|o| o.endpoint_id == f.endpoint_id);
        let outcome = match at {
            Some(i) => &mut outcomes[i],
            None => {
                outcomes.push(HealthChange {
                    endpoint_id: f.endpoint_id.clone(),
                    reset: false,
                    failures: 0,
                    first_failure_ms: None,
                    last_attempt_ms: f.attempted_at_ms,
                });
                outcomes.last_mut().expect("just pushed")
            }
        };
        outcome.last_attempt_ms = outcome.last_attempt_ms.max(f.attempted_at_ms);
        if f.next == DeliveryNext::Succeeded {
            (outcome.reset, outcome.failures, outcome.first_failure_ms) = (true, 0, None);
        } else {
            outcome.failures += 1;
            outcome.first_failure_ms.get_or_insert(f.attempted_at_ms);
        }
    }
    outcomes
}

/// An enabled endpoint that has failed without a success for `events::health::DISABLE_AFTER_MS`:
/// the worker disables it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingEndpoint {
    pub tenant: Tenant,
    pub endpoint_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(endpoint: &str, at: i64, ok: bool) -> FinishedDelivery {
        FinishedDelivery {
            seq: at,
            owner: "w".into(),
            endpoint_id: endpoint.into(),
            next: if ok {
                DeliveryNext::Succeeded
            } else {
                DeliveryNext::RetryAt(at + 1)
            },
            attempted_at_ms: at,
            status: None,
            error: None,
            latency_ms: 0,
        }
    }

    #[test]
    fn a_success_starts_the_count_again_and_only_later_failures_count() {
        let batch = [
            finished("we_a", 1, false),
            finished("we_b", 2, false),
            finished("we_a", 3, true),
            finished("we_a", 4, false),
            finished("we_a", 5, false),
            finished("we_b", 6, false),
        ];
        let outcomes = health_changes(&batch);
        assert_eq!(outcomes.len(), 2);
        let a = &outcomes[0];
        assert!(a.reset && a.failures == 2 && a.first_failure_ms == Some(4) && a.last_attempt_ms == 5);
        let b = &outcomes[1];
        assert!(!b.reset && b.failures == 2 && b.first_failure_ms == Some(2) && b.last_attempt_ms == 6);
    }
}
