//! Operations: Prometheus metrics, liveness and readiness.

use crate::common::backend_test;
use std::sync::Arc;

use crate::common::child::ChildServer;
use crate::common::form::payment_with;
use crate::common::relay::CuttableRelay;
use crate::common::rules::refund;
use crate::common::{Api, Report, TestServer, postgres_schema};
use tokio::task::JoinSet;

/// The value of the metric line that starts with `series` (name and labels), or 0.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The sum of every line of `name` whose labels contain all of `labels`.
fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|needle| l.contains(needle)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(server: &TestServer) -> String {
    let r = server.metrics().await;
    assert_eq!(r.status, 200);
    r.body
}

#[backend_test]
async fn a_lifecycle_run_moves_the_prometheus_counters(server: TestServer) {
    let before = scrape(&server).await;
    let record = server.pending_payment(1000).await;
    let id = record["id"].as_str().unwrap().to_owned();
    server.report_failed(&id, &[("failed_at", "1730211400")]).await;
    server.report_attempt(&id, &[("initiated_at", "1730211500")]).await;
    let keyed = [("guaranteed_at", "1730211600")];
    let guarantee = || server.report_keyed("metrics-key", &id, Report::Guaranteed, &keyed);
    guarantee().await;
    let replay = guarantee().await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    refund(&server, &id, "metrics-refund", &[]).await;
    server.report_payment(&[]).await; // parameter_missing
    let after = scrape(&server).await;

    let moved = |name: &str, labels: &[&str]| metric_sum(&after, name, labels) - metric_sum(&before, name, labels);
    let report_route = "route=\"/v1/payment_records/report_payment\"";
    assert!(
        moved("payrec_http_requests_total", &[report_route, "status=\"200\""]) >= 1.0,
        "{after}"
    );
    assert!(moved("payrec_http_request_duration_seconds_count", &[report_route]) >= 2.0);
    for outcome in ["failed", "guaranteed", "refunded", "attempted", "reported"] {
        let label = format!("outcome=\"{outcome}\"");
        assert!(
            moved("payrec_lifecycle_transitions_total", &[&label]) >= 1.0,
            "{outcome}: {after}"
        );
    }
    assert!(moved("payrec_idempotent_replays_total", &[]) >= 1.0);
    assert!(moved("payrec_errors_total", &["code=\"parameter_missing\""]) >= 1.0);
    assert!(moved("payrec_db_write_duration_seconds_count", &[]) >= 5.0);
    assert!(
        metric(&after, "payrec_db_pool_connections") >= 1.0,
        "pool gauge: {after}"
    );
    assert!(!after.contains(&server.account_id), "no account ids in labels");
    assert!(
        !after.contains("sk_test_") && !after.contains("sk_live_"),
        "no keys in labels"
    );
}

#[backend_test]
async fn concurrent_use_of_one_key_counts_conflicts(server: TestServer) {
    let before = scrape(&server).await;
    let server = Arc::new(server);
    let mut tasks = JoinSet::new();
    for _ in 0..16 {
        let server = server.clone();
        tasks.spawn(async move {
            let form = payment_with(&[("amount_requested[value]", "5")]);
            server.report_payment_keyed("race", &form).await.status
        });
    }
    let statuses: Vec<u16> = tasks.join_all().await;
    let conflicts = statuses.iter().filter(|s| **s == 409).count() as f64;
    let after = scrape(&server).await;
    let moved = metric_sum(&after, "payrec_idempotency_conflicts_total", &[])
        - metric_sum(&before, "payrec_idempotency_conflicts_total", &[]);
    assert!(moved >= conflicts, "{moved} counted, {conflicts} seen");
}

#[backend_test]
async fn healthz_and_readyz_answer_without_a_key(server: TestServer) {
    for (path, r) in [("healthz", server.healthz().await), ("readyz", server.readyz().await)] {
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
}

#[backend_test]
async fn readyz_fails_while_a_migration_is_missing(server: TestServer) {
    let sql = "UPDATE _sqlx_migrations SET success = false";
    let undo = "UPDATE _sqlx_migrations SET success = true";
    server.execute_sql(sql).await;
    let r = server.readyz().await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["status"], "migrations_pending");
    server.execute_sql(undo).await;
    assert_eq!(server.readyz().await.status, 200);
}

/// `/readyz` fails while PostgreSQL is unreachable, and recovers when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn readyz_fails_while_the_database_is_unreachable_and_recovers() {
    let schema = postgres_schema().await;
    let (relay, relayed) = CuttableRelay::before(schema.url()).await;
    let server = ChildServer::spawn_with(&relayed, &["--pg-acquire-timeout-secs", "2"], &[]).await;
    let ready = || async { server.readyz().await.status };
    assert_eq!(ready().await, 200);
    relay.cut();
    let mut down = 0;
    for _ in 0..50 {
        down = ready().await;
        if down == 503 {
            break;
        }
    }
    assert_eq!(down, 503, "readyz reports the unreachable database");
    assert_eq!(server.healthz().await.status, 200, "the process itself is still up");
    relay.restore();
    let mut up = 0;
    for _ in 0..100 {
        up = ready().await;
        if up == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(up, 200, "readyz recovers");
}

#[tokio::test]
async fn metrics_listen_serves_metrics_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let server = ChildServer::spawn_with(&url, &["--metrics-listen", "127.0.0.1:0"], &[]).await;
    let metrics = server.metrics_listener().expect("metrics address printed");
    server.healthz().await;
    let r = metrics.metrics().await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("payrec_http_requests_total"));
    let on_api = server.metrics().await;
    assert_eq!(on_api.status, 404, "not on the API listener then");
}
