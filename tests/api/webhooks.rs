//! Webhook delivery (API.md, "Delivery"): signed POSTs of the event's JSON that Stripe's own
//! `construct_event` accepts; retries on the schedule until acknowledged, and no more once it
//! runs out; a dead endpoint never delays another; disabled, deleted and other accounts'
//! endpoints receive nothing; pending deliveries survive kill -9; replicas share the work;
//! `payrec events resend`. Retry schedules are shortened here
//! (`--webhook-retry-schedule` in a child server).

use crate::common::backend_test;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use payrec::ServerConfig;
use payrec::events::schedule::RetrySchedule;
use payrec::state::WebhookConfig;
use payrec::store::Tenant;
use serde_json::{Value, json};

use crate::common::form::payment_with;
use crate::common::receiver::{Answer, Delivery, Receiver};
use crate::common::rules::refund;
use crate::common::{Api, TestServer, id_of};
use crate::sdk_conformance::sdk_python;

/// Retries this many times, 100 ms apart.
const RETRIES: usize = 3;
const CONNECTIONS_PER_ENDPOINT: usize = 2;

pub fn fast_webhooks() -> ServerConfig {
    ServerConfig {
        webhooks: WebhookConfig {
            schedule: RetrySchedule::both(vec![Duration::from_millis(100); RETRIES]),
            timeout: Duration::from_secs(60),
            connections_per_endpoint: CONNECTIONS_PER_ENDPOINT,
            ..WebhookConfig::default()
        },
        ..ServerConfig::default()
    }
}

fn guaranteed_payment<'a>() -> Vec<(&'a str, &'a str)> {
    payment_with(&[("outcome", "guaranteed"), ("guaranteed[guaranteed_at]", "1730211310")])
}

fn tenant(server: &TestServer) -> Tenant {
    Tenant {
        account_id: server.account_id.clone(),
        livemode: false,
    }
}

/// Waits until the event's every delivery is acknowledged (the worker writes the result back
/// just after the receiver answered).
async fn wait_acknowledged(server: &TestServer, event_id: &str) -> Value {
    for _ in 0..500 {
        let event = server.retrieve_event(event_id).await.ok();
        if event["pending_webhooks"] == 0 {
            return event;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{event_id} still has pending webhooks");
}

#[backend_test(config = fast_webhooks)]
async fn deliveries_are_signed_posts_of_the_event_that_stripes_sdk_verifies(server: TestServer) {
    let receiver = Receiver::start(None).await;
    let endpoint = server.webhook_endpoint(&receiver.url).await;
    let record = server.report_payment(&guaranteed_payment()).await.ok();
    assert_eq!(refund(&server, &id_of(&record), "ref-1", &[]).await.status, 200);
    let deliveries = receiver.wait_for(5).await;
    for d in &deliveries {
        assert_eq!(d.content_type, "application/json; charset=utf-8");
        assert!(d.user_agent.starts_with("payrec/"), "{}", d.user_agent);
        assert!(
            d.signature.starts_with("t=") && d.signature.contains(",v1="),
            "{}",
            d.signature
        );
        // The delivered bytes are the event as GET /v1/events/:id returns it; only
        // pending_webhooks has moved on since (this delivery was the one pending).
        assert_eq!(d.event()["pending_webhooks"], 1, "{}", d.body);
        let id = d.event_id();
        wait_acknowledged(&server, &id).await;
        let now = server.retrieve_event(&id).await;
        assert_eq!(
            d.body.replacen("\"pending_webhooks\":1,", "\"pending_webhooks\":0,", 1),
            now.body
        );
    }
    let mut types: Vec<String> = deliveries
        .iter()
        .map(|d| d.event()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "payment_attempt_record.created",
            "payment_attempt_record.guaranteed",
            "payment_attempt_record.refunded",
            "payment_record.created",
            "payment_record.updated"
        ]
    );
    verify_with_python_sdk(&deliveries, endpoint["secret"].as_str().expect("secret"), None).await;
}

/// Each delivery checked by Stripe's `construct_event` (tests/sdk/webhook_verify.py) with
/// `secret`, and its `api_version` when given; a tampered payload and a wrong secret refused.
/// Skipped where the SDK cannot be installed (never under CI).
pub async fn verify_with_python_sdk(deliveries: &[Delivery], secret: &str, api_version: Option<&str>) {
    let Some(python) = sdk_python() else { return };
    run_verifier(
        tokio::process::Command::new(python),
        "webhook_verify.py",
        deliveries,
        secret,
        api_version,
    )
    .await;
}

/// The same checks with Stripe's Node SDK, stripe@23.2.0 (tests/sdk/webhook_verify.js).
pub async fn verify_with_node_sdk(deliveries: &[Delivery], secret: &str, api_version: Option<&str>) {
    let Some(root) = crate::common::venv::node_modules("node-sdk", "stripe@23.2.0") else {
        return;
    };
    let mut node = tokio::process::Command::new("node");
    node.env("NODE_PATH", root.join("node_modules"));
    run_verifier(node, "webhook_verify.js", deliveries, secret, api_version).await;
}

/// Runs a verifying script of tests/sdk/ on the deliveries (written to a file as it reads them).
async fn run_verifier(
    mut program: tokio::process::Command,
    script: &str,
    deliveries: &[Delivery],
    secret: &str,
    api_version: Option<&str>,
) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let given = json!({
        "secret": secret,
        "api_version": api_version,
        "deliveries": deliveries.iter().map(|d| json!({"payload": d.body, "sig_header": d.signature})).collect::<Vec<_>>(),
    });
    std::fs::write(file.path(), given.to_string()).expect("write deliveries");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let output = program
        .arg(script)
        .arg(file.path())
        .output()
        .await
        .expect("run the SDK");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verified = format!("verified {} deliveries", deliveries.len());
    assert!(stdout.contains(&verified), "{stdout}");
}

#[backend_test(config = fast_webhooks)]
async fn a_failed_delivery_is_retried_until_acknowledged(server: TestServer) {
    let receiver = Receiver::start(None).await;
    receiver.answer_next(&[Answer::Status(500), Answer::Status(404)]);
    server
        .create_webhook_endpoint(&[("url", &receiver.url), ("enabled_events[]", "payment_record.created")])
        .await
        .ok();
    server.pending_payment(100).await;
    let deliveries = receiver.wait_for(3).await;
    let ids: BTreeSet<String> = deliveries.iter().map(Delivery::event_id).collect();
    assert_eq!(ids.len(), 1, "one event, attempted three times");
    let event = wait_acknowledged(&server, ids.first().unwrap()).await;
    assert_eq!(event["type"], "payment_record.created");
    let success = server.list_events(&[("delivery_success", "true")]).await.ok();
    assert!(
        success["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == event["id"])
    );
    let stored = server
        .store
        .list_deliveries(&tenant(&server), None, Some(event["id"].as_str().unwrap()), 10)
        .await
        .expect("deliveries");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].state.as_str(), stored[0].attempts, stored[0].last_status),
        ("succeeded", 3, Some(200))
    );
}

#[backend_test(config = fast_webhooks)]
async fn retries_stop_when_the_schedule_runs_out(server: TestServer) {
    let receiver = Receiver::start(Some(Answer::Status(500))).await;
    server
        .create_webhook_endpoint(&[("url", &receiver.url), ("enabled_events[]", "payment_record.created")])
        .await
        .ok();
    server.pending_payment(100).await;
    let event_id = receiver.wait_for(1).await[0].event_id();
    let tenant = tenant(&server);
    for _ in 0..500 {
        let stored = server
            .store
            .list_deliveries(&tenant, None, Some(&event_id), 1)
            .await
            .unwrap();
        if stored[0].state.as_str() == "failed" {
            assert_eq!(stored[0].attempts as usize, RETRIES + 1);
            assert_eq!(stored[0].last_status, Some(500));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        receiver.deliveries().len(),
        RETRIES + 1,
        "the first attempt and its retries"
    );
    let event = server.retrieve_event(&event_id).await.ok();
    assert_eq!(event["pending_webhooks"], 1, "never acknowledged");
    let failed = server.list_events(&[("delivery_success", "false")]).await.ok();
    assert_eq!(failed["data"][0]["id"], event["id"]);
}

#[backend_test(config = fast_webhooks)]
async fn a_dead_endpoint_never_delays_another(server: TestServer) {
    let dead = Receiver::start(Some(Answer::Hang)).await;
    let alive = Receiver::start(None).await;
    server.webhook_endpoint(&dead.url).await;
    server.webhook_endpoint(&alive.url).await;
    for _ in 0..10 {
        server.pending_payment(100).await;
    }
    // The dead endpoint holds every connection payrec allows it, for the whole timeout (a
    // minute here); the other still gets all twenty events.
    let delivered = alive.wait_for(20).await;
    assert_eq!(
        delivered.iter().map(Delivery::event_id).collect::<BTreeSet<_>>().len(),
        20
    );
    assert!(
        dead.deliveries().iter().all(|d| d.answered.is_none()),
        "the dead endpoint never answered"
    );
    assert!(
        dead.in_flight_max() <= CONNECTIONS_PER_ENDPOINT,
        "{}",
        dead.in_flight_max()
    );
    assert!(!dead.deliveries().is_empty());
}

#[backend_test(config = fast_webhooks)]
async fn disabled_deleted_unsubscribed_and_later_endpoints_receive_nothing(server: TestServer) {
    let control = Receiver::start(None).await;
    let disabled = Receiver::start(None).await;
    let deleted = Receiver::start(None).await;
    let unsubscribed = Receiver::start(None).await;
    let later = Receiver::start(None).await;
    server.webhook_endpoint(&control.url).await;
    let d = id_of(&server.webhook_endpoint(&disabled.url).await);
    server.update_webhook_endpoint(&d, &[("disabled", "true")]).await.ok();
    let x = id_of(&server.webhook_endpoint(&deleted.url).await);
    server.delete_webhook_endpoint(&x).await.ok();
    server
        .create_webhook_endpoint(&[
            ("url", &unsubscribed.url),
            ("enabled_events[]", "payment_record.updated"),
        ])
        .await
        .ok();
    server.report_payment(&guaranteed_payment()).await.ok();
    control.wait_for(3).await;
    server.webhook_endpoint(&later.url).await;
    server.pending_payment(100).await;
    let all = control.wait_for(5).await;
    let later_got = later.wait_for(2).await;
    let earlier: BTreeSet<String> = all[..3].iter().map(Delivery::event_id).collect();
    assert!(
        later_got.iter().all(|d| !earlier.contains(&d.event_id())),
        "earlier events are not sent to a new endpoint"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(later.deliveries().len(), 2);
    for (name, receiver) in [
        ("disabled", &disabled),
        ("deleted", &deleted),
        ("unsubscribed", &unsubscribed),
    ] {
        assert!(
            receiver.deliveries().is_empty(),
            "the {name} endpoint received {:?}",
            receiver.deliveries()
        );
    }
}

#[backend_test(config = fast_webhooks)]
async fn a_deleted_endpoint_s_pending_deliveries_stop(server: TestServer) {
    let failing = Receiver::start(Some(Answer::Status(500))).await;
    let control = Receiver::start(None).await;
    let id = id_of(&server.webhook_endpoint(&failing.url).await);
    server.webhook_endpoint(&control.url).await;
    server.pending_payment(100).await;
    failing.wait_for(2).await;
    server.delete_webhook_endpoint(&id).await.ok();
    let stored = server
        .store
        .list_deliveries(&tenant(&server), Some(&id), None, 10)
        .await
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
    let events = server.list_events(&[]).await.ok();
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["pending_webhooks"] == 0 || e["pending_webhooks"] == 1)
    );
    let seen = failing.deliveries().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // One attempt may have been under way when the endpoint was deleted.
    assert!(failing.deliveries().len() <= seen + CONNECTIONS_PER_ENDPOINT);
}

#[backend_test(config = fast_webhooks)]
async fn another_account_s_endpoint_never_receives_your_events(server: TestServer) {
    let mine = Receiver::start(None).await;
    let theirs = Receiver::start(None).await;
    server.webhook_endpoint(&mine.url).await;
    let other = server.with_key(&server.new_account_key(false).await);
    other.webhook_endpoint(&theirs.url).await;
    // Live mode delivers over https only; the store shows it gets nothing to deliver.
    let live = server.with_key(&server.live_key);
    live.webhook_endpoint("https://hooks.example.com/live").await;
    server.pending_payment(100).await;
    let got = mine.wait_for(2).await;
    other.pending_payment(100).await;
    theirs.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let account_of = |d: &Delivery| d.event()["account"].as_str().unwrap().to_owned();
    assert!(got.iter().all(|d| account_of(d) == server.account_id));
    assert_eq!(mine.deliveries().len(), 2);
    assert!(theirs.deliveries().iter().all(|d| account_of(d) != server.account_id));
    let live_tenant = Tenant {
        livemode: true,
        ..tenant(&server)
    };
    let live_deliveries = server
        .store
        .list_deliveries(&live_tenant, None, None, 10)
        .await
        .unwrap();
    assert!(live_deliveries.is_empty(), "live mode hears nothing of test mode");
}

#[backend_test(config = fast_webhooks)]
async fn delivery_metrics_count_results_and_never_show_the_secret(server: TestServer) {
    let receiver = Receiver::start(None).await;
    receiver.answer_next(&[Answer::Status(500)]);
    let endpoint = server.webhook_endpoint(&receiver.url).await;
    server.pending_payment(100).await;
    receiver.wait_for(3).await;
    let metrics = server.metrics().await.body;
    for name in [
        "payrec_webhook_deliveries_total{result=\"succeeded\"}",
        "payrec_webhook_deliveries_total{result=\"failed\"}",
        "payrec_webhook_retries_total",
        "payrec_webhook_delivery_duration_seconds",
    ] {
        assert!(metrics.contains(name), "{name} in /metrics");
    }
    assert!(!metrics.contains(endpoint["secret"].as_str().unwrap()));
}

/// A delivery's event ids, by how often each arrived.
pub fn counts(deliveries: &[Delivery]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for d in deliveries {
        *counts.entry(d.event_id()).or_insert(0) += 1;
    }
    counts
}

/// The delivery worker runs under the supervisor: made to panic, it is started again and
/// deliveries go on; made unable to run, the server says so on /readyz, naming it.
#[backend_test(config = fast_webhooks)]
async fn a_panicking_delivery_worker_is_restarted_and_deliveries_continue(server: TestServer) {
    let receiver = Receiver::start(None).await;
    server.webhook_endpoint(&receiver.url).await;
    server.pending_payment(100).await;
    receiver.wait_for(2).await;
    server.jobs.inject_panics(payrec::jobs::delivery::JOB, 1);
    server.pending_payment(100).await;
    receiver.wait_for(4).await;
    assert!(server.jobs.failing().is_empty(), "one failure is not a failing job");
    assert_eq!(server.readyz().await.status, 200);
    let metrics = server.metrics().await.body;
    assert!(
        metrics.contains("payrec_job_restarts_total{job=\"webhook_delivery\"}"),
        "{metrics}"
    );
}

#[backend_test(config = fast_webhooks)]
async fn a_delivery_worker_that_cannot_run_makes_the_server_not_ready_naming_it(server: TestServer) {
    server.jobs.inject_panics(payrec::jobs::delivery::JOB, u32::MAX);
    for _ in 0..100 {
        let ready = server.readyz().await;
        if ready.status == 503 {
            assert_eq!(ready.json["status"], "job_failing", "{}", ready.body);
            assert_eq!(ready.json["jobs"][0], payrec::jobs::delivery::JOB);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz stayed 200 while the delivery worker could not run");
}
