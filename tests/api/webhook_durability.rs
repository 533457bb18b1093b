//! Deliveries as durable work: pending deliveries survive kill -9 and are all delivered after a
//! restart (both backends); three replicas on one PostgreSQL database share the queue and never
//! attempt one delivery twice at once; an operator's `payrec events resend`.

use crate::common::backend_test;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::child::ChildServer;
use crate::common::receiver::{Answer, Delivery, Receiver};
use crate::common::{Api, Backend, TestServer, postgres_schema};
use crate::webhooks::{counts, fast_webhooks};

const PAYMENTS: usize = 5;
/// Short, many retries: a delivery stays pending across the kill until the receiver accepts.
const CHILD_SCHEDULE: &str = "100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,200ms,200ms,200ms,200ms,200ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s";

async fn spawn(url: &str) -> ChildServer {
    ChildServer::spawn_with(
        url,
        &["--webhook-retry-schedule", CHILD_SCHEDULE],
        &[("RUST_LOG", "info")],
    )
    .await
}

async fn pending_deliveries_survive_kill_9(backend: Backend, url: &str) {
    let receiver = Receiver::start(Some(Answer::Status(503))).await;
    let mut server = spawn(url).await;
    let key = server.test_key.clone().expect("first start prints keys");
    let client = server.with_key(&key);
    client.webhook_endpoint(&receiver.url).await;
    for _ in 0..PAYMENTS {
        client.pending_payment(100).await;
    }
    receiver.wait_for(1).await;
    server.kill9().await;
    // Nothing was acknowledged; from now on the receiver accepts.
    let refused = receiver.deliveries().len();
    receiver.answer_from_now(Answer::Status(200));
    let server = spawn(url).await;
    let client = server.with_key(&key);
    let accepted = receiver
        .wait_until(
            |d| {
                d[refused..]
                    .iter()
                    .map(Delivery::event_id)
                    .collect::<BTreeSet<_>>()
                    .len()
                    >= 2 * PAYMENTS
            },
            "every event delivered after the restart",
        )
        .await;
    let events = client.list_events(&[("limit", "100")]).await.ok();
    let all: BTreeSet<String> = events["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all.len(), 2 * PAYMENTS, "{backend:?}");
    let delivered: BTreeSet<String> = accepted[refused..].iter().map(Delivery::event_id).collect();
    assert!(all.is_subset(&delivered), "{backend:?}: none lost");
    for _ in 0..500 {
        let outstanding = client.list_events(&[("delivery_success", "false")]).await.ok();
        if outstanding["data"].as_array().unwrap().is_empty() {
            let logs = server.logs();
            assert!(logs.contains("webhook delivered"), "one log line per attempt");
            assert!(!logs.contains("whsec_"), "never the secret");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{backend:?}: deliveries still pending after they were all received");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pending_deliveries_survive_kill_9_and_are_delivered_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("payrec.db").display());
    pending_deliveries_survive_kill_9(Backend::Sqlite, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn postgres_pending_deliveries_survive_kill_9_and_are_delivered_after_a_restart() {
    let schema = postgres_schema().await;
    pending_deliveries_survive_kill_9(Backend::Postgres, schema.url()).await;
}

/// Three replicas on one database, each reporting payments; every event reaches the endpoint,
/// and no two attempts of one delivery overlap in time (a lease is held by one replica).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn three_replicas_share_deliveries_and_never_attempt_one_twice_at_once() {
    let schema = postgres_schema().await;
    // Each delivery is held 30 ms, so overlapping attempts would show.
    let receiver = Receiver::start(Some(Answer::Slow(Duration::from_millis(30)))).await;
    let first = spawn(schema.url()).await;
    let key = first.test_key.clone().expect("first start prints keys");
    let replicas = [first, spawn(schema.url()).await, spawn(schema.url()).await];
    replicas[0].with_key(&key).webhook_endpoint(&receiver.url).await;
    let per_replica = 8;
    for round in 0..per_replica {
        for (i, replica) in replicas.iter().enumerate() {
            let value = 100 + round * 10 + i;
            replica.with_key(&key).pending_payment(value as i64).await;
        }
    }
    let events = 2 * per_replica * replicas.len();
    let deliveries = receiver
        .wait_until(
            |d| counts(d).len() >= events && d.iter().all(|x| x.answered.is_some()),
            "every event delivered",
        )
        .await;
    let mut by_event: std::collections::BTreeMap<String, Vec<&Delivery>> = Default::default();
    for d in &deliveries {
        by_event.entry(d.event_id()).or_default().push(d);
    }
    for (event, attempts) in &by_event {
        let mut spans: Vec<_> = attempts.iter().map(|d| (d.received, d.answered.unwrap())).collect();
        spans.sort();
        for pair in spans.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{event}: two attempts at once");
        }
    }
    let delivering = replicas
        .iter()
        .filter(|r| r.logs().contains("webhook delivered"))
        .count();
    assert!(
        delivering >= 2,
        "the replicas share the deliveries ({delivering} delivered any)"
    );
}

use crate::common::child::run_payrec as payrec;

#[backend_test(config = fast_webhooks)]
async fn events_resend_delivers_an_event_again(server: TestServer) {
    let receiver = Receiver::start(None).await;
    let other = Receiver::start(None).await;
    server.webhook_endpoint(&receiver.url).await;
    let only_updates = server
        .create_webhook_endpoint(&[("url", &other.url), ("enabled_events[]", "payment_record.updated")])
        .await
        .ok();
    server.pending_payment(100).await;
    let first = receiver.wait_for(2).await;
    let event = first[0].event_id();
    let url = server.database_url.clone();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let (url, event) = (url.clone(), event.clone());
        move || payrec(&url, &["events", "resend", &event])
    })
    .await
    .unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("queued 1"), "{stdout}");
    let again = receiver.wait_for(3).await;
    assert_eq!(again[2].event_id(), event);
    let endpoint = only_updates["id"].as_str().unwrap().to_owned();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let (url, event) = (url.clone(), event.clone());
        move || payrec(&url, &["events", "resend", &event, "--endpoint", &endpoint])
    })
    .await
    .unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(
        other.wait_for(1).await[0].event_id(),
        event,
        "sent to the endpoint named"
    );
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || payrec(&url, &["events", "resend", "evt_missing"]))
        .await
        .unwrap();
    assert!(!ok);
    assert!(stderr.contains("no event evt_missing"), "{stderr}");
}
