//! When the database cannot take writes (a full disk, PostgreSQL restarting): clients get a 503
//! in Stripe's `api_error` shape with `Stripe-Should-Retry: true`, never a 500; nothing
//! acknowledged is lost; `/readyz` says why, and both recover by themselves once writes work.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::child::ChildServer;
use crate::common::form::payment_with;
use crate::common::relay::CuttableRelay;
use crate::common::{Api, Resp, TestServer, in_ci, postgres_schema};
use payrec::ServerConfig;

/// Asserts a 503 a client can act on: Stripe's `api_error`, retry advised, nothing stored.
fn assert_retryable_503(r: &Resp) {
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.error("type"), "api_error", "{}", r.body);
    assert_eq!(r.header("stripe-should-retry"), Some("true"), "{:?}", r.headers);
    let message = r.error("message").as_str().unwrap_or_default();
    assert!(message.contains("Nothing was stored"), "{message}");
    assert!(!message.to_lowercase().contains("corrupt"), "{message}");
}

/// Asserts a 503 past the request deadline: retry advised, and said to have maybe applied.
fn assert_deadline_503(r: &Resp) {
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.error("type"), "api_error", "{}", r.body);
    assert_eq!(r.header("stripe-should-retry"), Some("true"), "{:?}", r.headers);
    let message = r.error("message").as_str().unwrap_or_default();
    assert!(message.contains("same Idempotency-Key"), "{message}");
}

/// A tmpfs of `mebibytes`, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// None (with a note) where this machine cannot mount one; under CI that fails the test.
    fn mount(mebibytes: u32) -> Option<SmallDisk> {
        let path = std::env::temp_dir().join(format!("payrec-small-disk-{}", payrec::base62::random_base62(8)));
        std::fs::create_dir_all(&path).expect("mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mebibytes}m"), "tmpfs"])
            .arg(&path)
            .status();
        if !mounted.is_ok_and(|s| s.success()) {
            let _ = std::fs::remove_dir(&path);
            assert!(
                !in_ci(),
                "under CI the disk-full test must run: cannot mount a tmpfs (run as root)"
            );
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the disk-full test did not run");
            return None;
        }
        Some(SmallDisk { path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Reports payments with fresh keys from 8 clients until one answers other than 200 (or
/// `max` have); returns the acknowledged ids and the first other answer with its key.
/// Keys are `fill-{pass}-…`: a later pass never sends a key of an earlier one (whose calls after
/// the refused one may have committed, and whose replay a full disk may refuse too).
async fn report_until_refused(server: &TestServer, pass: usize, max: usize) -> (Vec<String>, Option<(String, Resp)>) {
    let description = "x".repeat(2000);
    let form = payment_with(&[("description", &description)]);
    let mut acknowledged = Vec::new();
    let mut round = 0;
    while acknowledged.len() < max {
        let calls = (0..8).map(|i| {
            let key = format!("fill-{pass}-{round}-{i}");
            let form = &form;
            async move {
                let r = server.report_payment_keyed(&key, form).await;
                (key, r)
            }
        });
        for (key, r) in futures_util::future::join_all(calls).await {
            match r.status {
                200 => acknowledged.push(r.json["id"].as_str().expect("id").to_owned()),
                _ => return (acknowledged, Some((key, r))),
            }
        }
        round += 1;
    }
    (acknowledged, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_with_retry_and_readyz_recovers_once_space_is_freed() {
    let Some(disk) = SmallDisk::mount(12) else { return };
    // Room the test can give back once the disk is full.
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; 3 * 1024 * 1024]).expect("ballast");
    let server = TestServer::start_sqlite_in(disk.path(), ServerConfig::default()).await;
    assert_eq!(server.readyz().await.status, 200);

    // Fill the disk until a write is refused and readiness says why. A checkpoint can let the
    // WAL be reused and writes fit again for a while, so fill again until it cannot.
    let mut acknowledged = Vec::new();
    let mut refused_key = None;
    for pass in 0..50 {
        let (more, refused) = report_until_refused(&server, pass, 20_000).await;
        acknowledged.extend(more);
        let (key, refused) = refused.expect("the small disk fills up");
        assert_retryable_503(&refused);
        assert!(
            refused.error("message").as_str().unwrap().contains("disk space"),
            "{}",
            refused.body
        );
        let ready = server.readyz().await;
        if ready.status == 503 {
            assert_eq!(ready.json["status"], "disk_full", "{}", ready.body);
            refused_key = Some(key);
            break;
        }
        assert_eq!(ready.status, 200, "{}", ready.body);
    }
    let refused_key = refused_key.expect("readyz reported the full disk");

    std::fs::remove_file(&ballast).expect("free the ballast");
    let mut ready = server.readyz().await;
    for _ in 0..100 {
        if ready.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        ready = server.readyz().await;
    }
    assert_eq!(ready.status, 200, "readyz recovers by itself: {}", ready.body);

    // The refused request, retried as the SDKs do, is executed once.
    let description = "x".repeat(2000);
    let form = payment_with(&[("description", &description)]);
    let retried = server.report_payment_keyed(&refused_key, &form).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(
        retried.header("idempotent-replayed"),
        None,
        "it was never stored, so it runs now"
    );
    for id in &acknowledged {
        assert_eq!(
            server.retrieve_record(id, &[]).await.status,
            200,
            "acknowledged {id} is kept"
        );
    }
    assert!(
        acknowledged.len() > 50,
        "the disk held {} payments first",
        acknowledged.len()
    );
}

/// Statuses of keyed reports from `clients` clients, each sending until `stop` is set.
async fn report_in_a_loop(server: &ChildServer, clients: usize, stop: &std::sync::atomic::AtomicBool) -> Vec<Resp> {
    let one_client = |c: usize| async move {
        let mut answers = Vec::new();
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let key = format!("loop-{c}-{n}");
            answers.push(server.report_payment_keyed(&key, &payment_with(&[])).await);
            n += 1;
        }
        answers
    };
    futures_util::future::join_all((0..clients).map(one_client))
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn postgresql_going_away_under_load_answers_503s_never_500s_and_recovers() {
    let schema = postgres_schema().await;
    let (relay, relayed) = CuttableRelay::before(schema.url()).await;
    let server = ChildServer::spawn_with(&relayed, &["--pg-acquire-timeout-secs", "1"], &[]).await;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let load = report_in_a_loop(&server, 8, &stop);
    let outage = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        relay.cut();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let during = server.readyz().await;
        relay.restore();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        during
    };
    let (answers, during) = tokio::join!(load, outage);
    assert_eq!(during.status, 503, "readyz during the outage: {}", during.body);
    assert_eq!(during.json["status"], "database_unavailable");
    let unavailable: Vec<&Resp> = answers.iter().filter(|r| r.status == 503).collect();
    assert!(!unavailable.is_empty(), "the outage was seen");
    for r in &unavailable {
        assert_retryable_503(r);
    }
    let other: Vec<(u16, &str)> = answers
        .iter()
        .filter(|r| r.status != 200 && r.status != 503)
        .map(|r| (r.status, r.body.as_str()))
        .collect();
    assert!(other.is_empty(), "only 200s and 503s: {other:?}");
    assert_eq!(answers.last().map(|r| r.status), Some(200), "writes work again");
    assert_eq!(server.readyz().await.status, 200);
    for r in answers.iter().filter(|r| r.status == 200) {
        let id = r.json["id"].as_str().expect("id");
        assert_eq!(
            server.retrieve_record(id, &[]).await.status,
            200,
            "acknowledged {id} is kept"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn the_python_sdk_rides_through_a_short_outage_without_an_error_or_a_duplicate() {
    let Some(python) = crate::sdk_conformance::sdk_python() else {
        return;
    };
    let schema = postgres_schema().await;
    let (relay, relayed) = CuttableRelay::before(schema.url()).await;
    let server = ChildServer::spawn_with(&relayed, &["--pg-acquire-timeout-secs", "1"], &[]).await;
    let key = server.test_key.clone().expect("printed key");
    relay.cut();
    let sdk = crate::sdk_conformance::run_script(python, "outage.py", &server.base, &key);
    // Once the SDK's first request has failed (the server logs the outage; Python's start
    // takes a moment), back within the SDK's retries (0.5 s, then 1 s, after each answer).
    let restore = async {
        let started = std::time::Instant::now();
        while !server.logs().contains("payrec cannot store requests") && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        relay.restore();
    };
    let (stdout, ()) = tokio::join!(sdk, restore);
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert!(line["requests"].as_u64().unwrap() >= 2, "the SDK retried: {line}");
    let listed = server.list_records(&[("limit", "100")]).await;
    let ids: Vec<&str> = listed.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [line["id"].as_str().unwrap()], "one record, the one the SDK got");
}

/// A write a PostgreSQL server refuses as read-only (SQLSTATE 25006: a standby, or a primary
/// demoted to one) is a 503 with `Stripe-Should-Retry`, never a 500. The session is made
/// read-only here; the failover tests (`tests/failover`) see the same from a real standby.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_write_refused_as_read_only_is_a_retryable_503_never_a_500() {
    use axum::response::IntoResponse;
    use sqlx::Connection;
    let schema = postgres_schema().await;
    let mut conn = sqlx::PgConnection::connect(schema.url()).await.unwrap();
    sqlx::query("CREATE TABLE read_only_probe (n INT)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("SET default_transaction_read_only = on")
        .execute(&mut conn)
        .await
        .unwrap();
    let refused = sqlx::query("INSERT INTO read_only_probe VALUES (1)")
        .execute(&mut conn)
        .await
        .expect_err("a read-only session refuses the write");
    let code = refused
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("25006"));
    let stored = payrec::store::StoreError::from(refused);
    assert!(
        matches!(stored, payrec::store::StoreError::Unavailable(_)),
        "{stored:?}"
    );
    let answer = payrec::wire::error::ApiError::from(stored).into_response();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["stripe-should-retry"], "true");
}

/// A PostgreSQL that stops answering without closing anything (a hung primary): requests get a
/// 503 with `Stripe-Should-Retry` within the request deadline (not the client's own timeout),
/// /readyz says so, new requests fail at once, and writes resume when it answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_hung_postgresql_answers_503s_within_the_request_deadline_and_writes_resume() {
    let schema = postgres_schema().await;
    let (relay, relayed) = CuttableRelay::before(schema.url()).await;
    let server = ChildServer::spawn_with(&relayed, &["--request-timeout", "2s"], &[]).await;
    let client = server
        .with_key(&server.test_key.clone().unwrap())
        .with_timeout(Duration::from_secs(30));
    client.pending_payment(100).await;
    relay.hang();
    let started = std::time::Instant::now();
    let stuck = client.report_payment(&crate::common::form::VALID_PAYMENT).await;
    assert_deadline_503(&stuck);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
    // Once the watcher has lost the primary (its probe unanswered), a new request fails at once.
    for _ in 0..50 {
        if server.readyz().await.status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = std::time::Instant::now();
    let fast = client.report_payment(&crate::common::form::VALID_PAYMENT).await;
    assert_retryable_503(&fast);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.readyz().await.status, 503);
    relay.restore();
    let mut resumed = None;
    for _ in 0..100 {
        let r = client.report_payment(&crate::common::form::VALID_PAYMENT).await;
        if r.status == 200 {
            resumed = Some(r);
            break;
        }
        assert_retryable_503(&r);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(resumed.is_some(), "writes resumed");
    assert_eq!(server.readyz().await.status, 200);
}

/// A stop signal while requests wait on a hung database: the process exits within the
/// shutdown bound, not when the database answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_stop_signal_while_the_database_hangs_stops_within_the_shutdown_bound() {
    let schema = postgres_schema().await;
    let (relay, relayed) = CuttableRelay::before(schema.url()).await;
    let mut server = ChildServer::spawn_with(&relayed, &["--request-timeout", "60s"], &[]).await;
    let client = server
        .with_key(&server.test_key.clone().unwrap())
        .with_timeout(Duration::from_secs(60));
    client.pending_payment(100).await;
    relay.hang();
    let in_flight = tokio::spawn(async move {
        client
            .try_report_payment_raw(crate::common::form::FORM, b"amount_requested[value]=1".to_vec())
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    server.terminate();
    let exited = tokio::time::timeout(Duration::from_secs(20), server.child.wait()).await;
    let took = started.elapsed();
    assert!(exited.is_ok(), "still running after 20 s");
    assert!(
        took < payrec::server::SHUTDOWN_TIMEOUT + Duration::from_secs(4),
        "stopped after {took:?}"
    );
    in_flight.abort();
    relay.restore();
}

/// A multi-host URL, as libpq and `pg_autoctl show uri` write it (sqlx takes one host): payrec
/// serves the host that answers writable, whatever the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_multi_host_url_serves_the_writable_host_when_the_first_does_not_answer() {
    let schema = postgres_schema().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let (prefix, rest) = schema.url().split_once('@').unwrap();
    let (host_port, path) = rest.split_once('/').unwrap();
    let separator = if path.contains('?') { '&' } else { '?' };
    let url = format!("{prefix}@127.0.0.1:{dead_port},{host_port}/{path}{separator}target_session_attrs=read-write");
    let server = ChildServer::spawn_with(&url, &[], &[]).await;
    let client = server.with_key(&server.test_key.clone().unwrap());
    client.pending_payment(100).await;
    assert_eq!(server.readyz().await.status, 200);
    let metrics = server.metrics().await.body;
    assert!(
        metrics.contains(&format!("payrec_db_primary{{host=\"{host_port}\"}} 1")),
        "{metrics}"
    );
}
