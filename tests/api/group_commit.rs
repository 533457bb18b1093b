//! PostgreSQL's group commit (issue 30): report_payment calls of one process that arrive while
//! earlier ones commit are committed together, and one call's failure is not the others'.
//!
//! Each test holds the daily totals (which every report updates) locked from a connection of
//! its own, so that the first groups wait and every later call queues behind them; released,
//! the queue is committed as one group. The rows' `xmin` (the inserting transaction) says
//! which calls shared a transaction.

use std::sync::Arc;
use std::time::Duration;

use crate::common::form::payment_with;
use crate::common::receiver::Receiver;
use crate::common::{Api, Backend, Resp, TestServer};
use payrec::state::ServerConfig;
use payrec::store::postgres::GROUPS_IN_FLIGHT;
use sqlx::{Connection, PgConnection};

const AMOUNT: i64 = 700;

/// A transaction holding the daily totals locked against writes.
async fn lock_totals(server: &TestServer) -> PgConnection {
    let mut conn = PgConnection::connect(&server.database_url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE daily_totals IN SHARE MODE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

/// Waits until `n` statements of the server wait for the lock: every slot of the group commit
/// is taken, and calls sent after queue.
async fn until_waiting(server: &TestServer, n: i64) {
    let mut conn = PgConnection::connect(&server.database_url).await.unwrap();
    for _ in 0..200 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH r AS%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting >= n {
            // The calls sent with them reach the queue in well under this.
            tokio::time::sleep(Duration::from_millis(500)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the group commit's {n} slots never waited for the locked totals");
}

async fn scalar(server: &TestServer, sql: &str) -> i64 {
    let mut conn = PgConnection::connect(&server.database_url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

/// `n` report_payment calls sent at once; the i-th carries `key(i)` when it gives one.
fn reports(server: &Arc<TestServer>, n: usize, key: fn(usize) -> Option<String>) -> Vec<tokio::task::JoinHandle<Resp>> {
    (0..n)
        .map(|i| {
            let server = server.clone();
            tokio::spawn(async move {
                let amount = AMOUNT.to_string();
                let form = payment_with(&[("amount_requested[value]", &amount)]);
                match key(i) {
                    Some(key) => server.report_payment_keyed(&key, &form).await,
                    None => server.report_payment(&form).await,
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn concurrent_reports_of_one_process_are_committed_in_one_transaction() {
    let server = Arc::new(TestServer::start_on(Backend::Postgres, ServerConfig::default()).await);
    let receiver = Receiver::start(None).await;
    let endpoint = [("url", receiver.url.as_str()), ("enabled_events[]", "*")];
    server.create_webhook_endpoint(&endpoint).await.ok();
    let lock = lock_totals(&server).await;
    let calls = 44;
    let sent = reports(&server, calls, |i| (i % 2 == 0).then(|| format!("group-{i}")));
    until_waiting(&server, GROUPS_IN_FLIGHT as i64).await;
    lock.close().await.unwrap(); // ends its transaction: the lock is released
    for call in sent {
        call.await.unwrap().ok();
    }

    let records = scalar(&server, "SELECT count(*) FROM payment_records").await;
    let transactions = scalar(&server, "SELECT count(DISTINCT xmin::text) FROM payment_records").await;
    assert_eq!(records, calls as i64);
    assert!(
        transactions <= GROUPS_IN_FLIGHT as i64 + 2,
        "{calls} queued reports took {transactions} transactions"
    );
    let keys = scalar(&server, "SELECT count(*) FROM idempotency_keys").await;
    assert_eq!(keys, calls as i64 / 2, "each keyed call's key");
    let requested = scalar(&server, "SELECT sum(requested_count)::bigint FROM daily_totals").await;
    let amount = scalar(&server, "SELECT sum(requested_amount)::bigint FROM daily_totals").await;
    assert_eq!((requested, amount), (calls as i64, calls as i64 * AMOUNT));
    let events = scalar(&server, "SELECT count(*) FROM events").await;
    let deliveries = scalar(&server, "SELECT count(*) FROM webhook_deliveries").await;
    assert!(events >= calls as i64);
    assert_eq!(deliveries, events, "one delivery of each event to the one endpoint");
}

/// A key saved by another replica after this call looked for it and before its group
/// committed: the group's statement fails on it, and each of the group's calls is run again
/// on its own, so the others are committed and the call with the key gets the other's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_call_whose_key_another_replica_saved_meanwhile_does_not_fail_its_group() {
    let server = Arc::new(TestServer::start_on(Backend::Postgres, ServerConfig::default()).await);
    let lock = lock_totals(&server).await;
    let blockers = reports(&server, GROUPS_IN_FLIGHT, |_| None);
    until_waiting(&server, GROUPS_IN_FLIGHT as i64).await;
    let taken = reports(&server, 1, |_| Some("taken-meanwhile".into()));
    let others = reports(&server, 20, |i| Some(format!("other-{i}")));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let saved_by_another = format!(
        "INSERT INTO idempotency_keys (account_id, livemode, key, fingerprint, request_id, status, body, created) \
         VALUES ('{}', false, 'taken-meanwhile', 'another request', 'req_other', 200, '{{}}', {})",
        server.account_id,
        payrec::clock::unix_now()
    );
    server.execute_sql(&saved_by_another).await;
    lock.close().await.unwrap();

    for call in blockers.into_iter().chain(others) {
        call.await.unwrap().ok();
    }
    let taken = taken.into_iter().next().unwrap().await.unwrap();
    assert_eq!(taken.status, 400, "{}", taken.body);
    assert_eq!(taken.error("type"), "idempotency_error", "{}", taken.body);
    let records = scalar(&server, "SELECT count(*) FROM payment_records").await;
    assert_eq!(
        records,
        GROUPS_IN_FLIGHT as i64 + 20,
        "the call whose key was taken wrote nothing"
    );
    let requested = scalar(&server, "SELECT sum(requested_count)::bigint FROM daily_totals").await;
    assert_eq!(requested, records);
    let rerun = scalar(
        &server,
        "SELECT count(DISTINCT xmin::text) FROM idempotency_keys WHERE key LIKE 'other-%'",
    )
    .await;
    assert_eq!(rerun, 20, "each of the others committed on its own");
    // The metrics are this test process's; no other test of it makes a group fail.
    let metrics = server.metrics().await.body;
    let reruns: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("payrec_db_group_reruns_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    // All 21 queue behind the lock; a machine slow to send them all may split them over groups,
    // but the call with the key is never alone in its group.
    assert!(
        reruns >= 2.0,
        "the group with the taken key failed as one and its calls ran again alone: {reruns} reruns"
    );
}
