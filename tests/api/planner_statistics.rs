//! PostgreSQL's planner statistics are kept by payrec when autovacuum is off (issue 14): a
//! table that grew past autovacuum's analyze threshold is analyzed, so the generic plans that
//! pooled connections cached while it was small are made again.

use std::time::Duration;

use crate::common::form::payment_with;
use crate::common::{Api, Backend, TestServer};
use sqlx::Row;

/// Rows past autovacuum's default analyze threshold (50 + 10% of an empty table).
const REPORTS: usize = 60;

async fn autovacuum_on(server: &TestServer) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&server.database_url).await.unwrap();
    let setting: String = sqlx::query_scalar("SHOW autovacuum")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    setting == "on"
}

/// When `table` was last analyzed, in seconds since the epoch.
async fn last_analyzed(server: &TestServer, table: &str) -> Option<f64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&server.database_url).await.unwrap();
    let row = sqlx::query(
        "SELECT extract(epoch FROM last_analyze)::float8 AS at FROM pg_stat_user_tables \
         WHERE schemaname = current_schema() AND relname = $1",
    )
    .bind(table)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    row.get::<Option<f64>, _>("at")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn with_autovacuum_off_a_grown_table_is_analyzed_once_until_it_grows_again() {
    let server = TestServer::start_on(Backend::Postgres, payrec::ServerConfig::default()).await;
    if autovacuum_on(&server).await {
        assert!(
            server.store.refresh_statistics().await.unwrap().is_empty(),
            "autovacuum analyzes by itself"
        );
        eprintln!("autovacuum is on here: payrec leaves the statistics to it");
        return;
    }
    assert!(last_analyzed(&server, "payment_records").await.is_none());
    for _ in 0..REPORTS {
        server.report_payment(&payment_with(&[])).await.ok();
    }
    // The writes' counts reach pg_stat_user_tables within a few seconds of their commits.
    let mut analyzed = Vec::new();
    for _ in 0..300 {
        analyzed = server.store.refresh_statistics().await.unwrap();
        if analyzed.iter().any(|t| t == "payment_records") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        analyzed.iter().any(|t| t == "payment_records"),
        "payment_records analyzed after {REPORTS} reports: {analyzed:?}"
    );
    assert!(analyzed.iter().any(|t| t == "payment_attempt_records"), "{analyzed:?}");
    assert!(last_analyzed(&server, "payment_records").await.is_some());
    let again = server.store.refresh_statistics().await.unwrap();
    assert!(
        !again.iter().any(|t| t == "payment_records"),
        "not again until it grows: {again:?}"
    );
}

/// `pg_class.reltuples` of `table`: -1 until it is first analyzed.
async fn planned_rows(server: &TestServer, table: &str) -> f32 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&server.database_url).await.unwrap();
    sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)")
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// A reconcile pass grows the statuses' table, and looks statuses up in it slice by slice: it
/// analyzes it as it goes (slices 1, 2, 4, …), since a table PostgreSQL believes small is read
/// whole for each lookup (a 10⁶-line run spent 196 s so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_reconcile_pass_analyzes_the_statuses_table_it_grows() {
    use crate::reconciliation_runs::{paid, reconcile, statement};
    let server = TestServer::start_on(Backend::Postgres, payrec::ServerConfig::default()).await;
    assert_eq!(
        planned_rows(&server, "payment_reconciliations").await,
        -1.0,
        "never analyzed"
    );
    paid(&server, "pr-plan-1", "1000").await;
    paid(&server, "pr-plan-2", "2000").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = statement(
        dir.path(),
        "bank.csv",
        &[("pr-plan-1", "10.00"), ("pr-plan-2", "20.00")],
    );
    let (code, stderr) = reconcile(&server, &file, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        planned_rows(&server, "payment_reconciliations").await,
        2.0,
        "analyzed after the first slice of statuses"
    );
}
