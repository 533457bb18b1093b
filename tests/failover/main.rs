//! Following a PostgreSQL failover (issue 28), on two local servers the test makes: payrec,
//! pointed at both hosts in one URL, under write load; the primary dies (and, separately,
//! hangs); the standby is promoted; payrec writes again within 2 s of the promotion without a
//! restart; clients saw only 503s with `Stripe-Should-Retry`; every acknowledged write is on
//! the new primary; the old primary back as a standby causes no 500. In a binary of its own:
//! it times a failover, and runs alone.

#[macro_use]
#[allow(dead_code, unused_imports)]
#[path = "../api/common/mod.rs"]
mod common;

mod cluster;
mod load;

use std::time::{Duration, Instant};

use cluster::Pair;
use common::child::ChildServer;
use common::{Api, in_ci};
use load::Load;

/// Writes must succeed again within this of the promotion.
const RESUME_MAX: Duration = Duration::from_secs(2);
/// How long the writers run before the failure, and after the promotion.
const BEFORE: Duration = Duration::from_millis(1500);
const AFTER: Duration = Duration::from_secs(4);
/// The time an HA engine would take to decide on a promotion (the test promotes at once).
const DECISION: Duration = Duration::from_millis(500);

static MACHINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The pair, or a visible skip (a failure under CI) when two servers cannot be made here.
fn pair() -> Option<Pair> {
    if let Some(why) = cluster::unavailable() {
        assert!(!in_ci(), "CI must run the failover tests: {why}");
        eprintln!("SKIPPED: the failover tests need two local PostgreSQL servers: {why}");
        return None;
    }
    Some(Pair::start())
}

#[derive(Debug, Clone, Copy)]
enum Failure {
    Crash,
    Hang,
}

async fn fails_over(failure: Failure) {
    let _alone = MACHINE.lock().await;
    let Some(pair) = pair() else { return };
    let server = ChildServer::spawn_with(&pair.url(), &["--request-timeout", "3s"], &[]).await;
    let key = server.test_key.clone().expect("a first start prints its keys");
    let client = server.with_key(&key);
    assert_eq!(client.readyz().await.status, 200);
    let load = Load::start(&server.base, &key, 8);
    tokio::time::sleep(BEFORE).await;
    match failure {
        Failure::Crash => pair.crash_primary(),
        Failure::Hang => pair.hang_primary(),
    }
    let failed_at = Instant::now();
    tokio::time::sleep(DECISION).await;
    let readyz = client.readyz().await.status;
    let promoted = pair.promote().await;
    tokio::time::sleep(AFTER).await;
    let report = load.stop().await;
    println!("{failure:?}: {report}");
    println!("readyz while no primary: {readyz}");
    assert!(report.statuses.keys().all(|s| *s == 200 || *s == 503), "{report}");
    assert!(
        report.unretryable_503s == 0,
        "every 503 says Stripe-Should-Retry: {report}"
    );
    let resumed = report.first_success_after(promoted).expect("writes resumed");
    println!(
        "{failure:?}: writes resumed {:?} after the promotion ({:?} after the failure)",
        resumed - promoted,
        resumed - failed_at
    );
    assert!(
        resumed - promoted < RESUME_MAX,
        "resumed {:?} after the promotion",
        resumed - promoted
    );
    // Every acknowledged write is on the new primary.
    let on_new = pair.sql(&pair.standby, "SELECT id FROM payment_records");
    let stored: std::collections::HashSet<&str> = on_new.lines().collect();
    let lost: Vec<&String> = report
        .acknowledged
        .iter()
        .filter(|id| !stored.contains(id.as_str()))
        .collect();
    assert!(lost.is_empty(), "{} acknowledged writes lost: {lost:?}", lost.len());
    assert_eq!(client.readyz().await.status, 200);
    let metrics = client.metrics().await.body;
    assert!(metrics.contains("payrec_db_failovers_total 1"), "{metrics}");
    assert!(
        metrics.contains(&format!("payrec_db_primary{{host=\"{}\"}} 1", pair.standby.label())),
        "{metrics}"
    );
    // The old primary comes back as a standby of the new one: nothing changes for clients.
    if let Failure::Hang = failure {
        pair.crash_primary();
    }
    let load = Load::start(&server.base, &key, 4);
    pair.make_standby(&pair.primary, &pair.standby);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.stop().await;
    println!("{failure:?}, the old primary back as a standby: {report}");
    assert!(report.statuses.keys().all(|s| *s == 200), "{report}");
    let logs = server.stderr.lock().unwrap().clone();
    let switches = logs.matches("database primary: now").count();
    assert_eq!(switches, 1, "one log line per switch: {logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payrec_follows_a_promoted_standby_after_the_primary_crashes() {
    fails_over(Failure::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payrec_follows_a_promoted_standby_after_the_primary_hangs() {
    fails_over(Failure::Hang).await;
}
