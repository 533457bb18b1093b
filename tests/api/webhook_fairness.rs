//! Fair delivery: one account's slow or dead endpoints hold at most that account's share of the
//! worker's slots, so another account's deliveries are not delayed; an endpoint that keeps
//! failing is paused with a growing backoff; one that has failed for days is disabled and a
//! `webhook_endpoint.disabled` event says so.

use crate::common::backend_test;
use std::time::{Duration, Instant};

use payrec::ServerConfig;
use payrec::events::schedule::RetrySchedule;
use payrec::state::{WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT, WebhookConfig};
use payrec::store::events::DeliveryState;

use crate::common::receiver::{Answer, Receiver};
use crate::common::{Api, TestServer, id_of};

/// The default bounds, with quick retries and a timeout longer than any test: a tarpit holds
/// its slots throughout.
fn default_bounds() -> ServerConfig {
    ServerConfig {
        webhooks: WebhookConfig {
            schedule: RetrySchedule::both(vec![Duration::from_millis(100); 20]),
            timeout: Duration::from_secs(120),
            ..WebhookConfig::default()
        },
        ..ServerConfig::default()
    }
}

#[backend_test(config = default_bounds)]
async fn one_accounts_dead_endpoints_never_delay_another_accounts_deliveries(server: TestServer) {
    let tarpit = Receiver::start(Some(Answer::Hang)).await;
    for _ in 0..16 {
        server.webhook_endpoint(&tarpit.url).await;
    }
    for _ in 0..8 {
        server.pending_payment(100).await;
    }
    tarpit
        .wait_until(
            |d| d.len() >= WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT,
            "the tarpit holds its share",
        )
        .await;
    let other = server.with_key(&server.new_account_key(false).await);
    let alive = Receiver::start(None).await;
    other.webhook_endpoint(&alive.url).await;
    for _ in 0..5 {
        let started = Instant::now();
        let seen = alive.deliveries().len();
        other.pending_payment(100).await;
        alive.wait_for(seen + 2).await;
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(1),
            "another account's delivery took {waited:?}"
        );
    }
    assert!(
        tarpit.in_flight_max() <= WEBHOOK_CONNECTIONS_PER_ACCOUNT_DEFAULT,
        "the tarpit account held {} slots",
        tarpit.in_flight_max()
    );
}

/// The endpoint's health columns, read beside the server.
async fn health(server: &TestServer, endpoint_id: &str) -> (i64, Option<i64>, Option<i64>) {
    use sqlx::Row;
    let sql = format!("SELECT failures, failing_since, paused_until FROM webhook_endpoints WHERE id = '{endpoint_id}'");
    match server.backend {
        crate::common::Backend::Sqlite => crate::common::sqlite::with(&server.db_path, move |conn| {
            conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        })
        .await
        .unwrap(),
        crate::common::Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&server.database_url).await.unwrap();
            let row = sqlx::query(&sql).fetch_one(&mut conn).await.unwrap();
            (row.get::<i32, _>(0) as i64, row.get(1), row.get(2))
        }
    }
}

#[backend_test(config = default_bounds)]
async fn an_endpoint_that_keeps_failing_is_paused_with_a_growing_backoff(server: TestServer) {
    let failing = Receiver::start(Some(Answer::Status(500))).await;
    let endpoint = id_of(&server.webhook_endpoint(&failing.url).await);
    for _ in 0..10 {
        server.pending_payment(100).await;
    }
    failing.wait_for(5).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Twenty deliveries retried every 100 ms would make hundreds of attempts; paused after the
    // fifth failure (1 s, then 2 s, ...), the endpoint sees a handful.
    let attempts = failing.deliveries().len();
    assert!(attempts < 20, "{attempts} attempts in 1.5 s");
    let (failures, since, paused_until) = health(&server, &endpoint).await;
    assert!(failures >= 5, "{failures}");
    assert!(since.is_some() && paused_until.is_some(), "{since:?} {paused_until:?}");
    // It answers again: the first attempt once the pause ends (ended here, not waited for)
    // succeeds, and the count starts again.
    failing.answer_from_now(Answer::Status(200));
    server
        .execute_sql(&format!(
            "UPDATE webhook_endpoints SET paused_until = NULL WHERE id = '{endpoint}'"
        ))
        .await;
    server.pending_payment(100).await;
    for _ in 0..600 {
        let (failures, since, paused_until) = health(&server, &endpoint).await;
        if failures == 0 {
            assert!(since.is_none() && paused_until.is_none());
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the endpoint's failures were never reset");
}

#[backend_test(config = default_bounds)]
async fn an_endpoint_failing_for_days_is_disabled_and_an_event_says_so(server: TestServer) {
    let failing = Receiver::start(Some(Answer::Status(500))).await;
    let watcher = Receiver::start(None).await;
    let endpoint = id_of(&server.webhook_endpoint(&failing.url).await);
    server.webhook_endpoint(&watcher.url).await;
    let four_days_ago = payrec::clock::unix_now_millis() as i64 - 4 * 86_400_000;
    server
        .execute_sql(&format!(
            "UPDATE webhook_endpoints SET failures = 40, failing_since = {four_days_ago} WHERE id = '{endpoint}'"
        ))
        .await;
    server.pending_payment(100).await;
    let disabled = watcher
        .wait_until(
            |d| d.iter().any(|d| d.event()["type"] == "webhook_endpoint.disabled"),
            "the disabled event",
        )
        .await;
    let event = disabled
        .iter()
        .find(|d| d.event()["type"] == "webhook_endpoint.disabled")
        .unwrap()
        .event();
    assert_eq!(event["data"]["object"]["id"], endpoint.as_str());
    assert_eq!(event["data"]["object"]["status"], "disabled");
    assert!(event["data"]["object"].get("secret").is_none());
    assert!(event["request"]["id"].is_null(), "made by payrec, not by a request");
    let retrieved = server.retrieve_webhook_endpoint(&endpoint).await.ok();
    assert_eq!(retrieved["status"], "disabled");
    let listed = server.list_events(&[("type", "webhook_endpoint.disabled")]).await.ok();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let attempts = failing.deliveries().len();
    server.pending_payment(100).await;
    watcher.wait_for(disabled.len() + 2).await;
    assert_eq!(
        failing.deliveries().len(),
        attempts,
        "a disabled endpoint gets nothing more"
    );
}

/// A backlog bound of 6, checked every 100 ms.
fn small_backlogs() -> ServerConfig {
    let mut config = default_bounds();
    config.webhooks.backlog_per_endpoint = 6;
    config.webhooks.backlog_check_interval = Duration::from_millis(100);
    config
}

#[backend_test(config = small_backlogs)]
async fn a_dead_endpoints_backlog_is_cut_back_to_its_bound_keeping_the_newest(server: TestServer) {
    let tarpit = Receiver::start(Some(Answer::Hang)).await;
    server.webhook_endpoint(&tarpit.url).await;
    for _ in 0..20 {
        server.pending_payment(100).await;
    }
    let tenant = payrec::store::Tenant {
        account_id: server.account_id.clone(),
        livemode: false,
    };
    let newest = server.list_events(&[("limit", "1")]).await.ok()["data"][0]["id"].clone();
    for _ in 0..200 {
        let deliveries = server.store.list_deliveries(&tenant, None, None, 100).await.unwrap();
        let dropped = deliveries
            .iter()
            .filter(|d| d.last_error.as_deref() == Some("backlog"))
            .count();
        let pending = deliveries.iter().filter(|d| d.state == DeliveryState::Pending).count();
        if dropped > 0 && pending <= 6 + payrec::state::WEBHOOK_CONNECTIONS_PER_ENDPOINT_DEFAULT {
            let kept = deliveries
                .iter()
                .find(|d| d.event_id == newest.as_str().unwrap())
                .unwrap();
            assert_eq!(kept.state, DeliveryState::Pending, "the newest is kept");
            // Its events stay listable for a receiver that catches up.
            let undelivered = server
                .list_events(&[("delivery_success", "false"), ("limit", "100")])
                .await
                .ok();
            assert_eq!(undelivered["data"].as_array().unwrap().len(), 40);
            assert!(server.metrics().await.body.contains("result=\"dropped\""));
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the backlog was never cut back");
}
