//! An endpoint's connections send what was leased ahead for it (`jobs::delivery::ahead`): an
//! endpoint that answers fast is leased more than its free connections; after a failed
//! attempt, what waited for it is given back unsent, due at once, rather than held until its
//! lease runs out.

use crate::common::backend_test;
use std::time::{Duration, Instant};

use payrec::ServerConfig;
use payrec::events::schedule::RetrySchedule;
use payrec::state::WebhookConfig;

use crate::common::receiver::{Answer, Receiver};
use crate::common::{Api, TestServer};

/// One connection per endpoint, quick retries, and a timeout (so a lease) longer than the
/// test: a delivery held until its lease ran out would not arrive in time.
fn one_connection() -> ServerConfig {
    ServerConfig {
        webhooks: WebhookConfig {
            schedule: RetrySchedule::both(vec![Duration::from_millis(100); 3]),
            timeout: Duration::from_secs(120),
            connections_per_endpoint: 1,
            ..WebhookConfig::default()
        },
        ..ServerConfig::default()
    }
}

#[backend_test(config = one_connection)]
async fn what_was_leased_ahead_for_an_endpoint_whose_attempt_failed_is_given_back_at_once(server: TestServer) {
    let receiver = Receiver::start(None).await;
    server.webhook_endpoint(&receiver.url).await;
    server.pending_payment(100).await;
    receiver.wait_for(2).await; // answered fast: the endpoint now leases ahead
    receiver.answer_next(&[Answer::Status(500)]);
    let started = Instant::now();
    server.pending_payment(200).await;
    // One connection: the second event waited behind the first, whose attempt failed.
    let deliveries = receiver.wait_for(5).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "given back, not held for its lease"
    );
    let second_payment: Vec<_> = deliveries[2..].iter().map(|d| d.event_id()).collect();
    let distinct: std::collections::BTreeSet<_> = second_payment.iter().collect();
    assert_eq!(
        distinct.len(),
        2,
        "both events of the second payment: {second_payment:?}"
    );
    assert!(deliveries[2..].iter().all(|d| d.answered.is_some()));
}
