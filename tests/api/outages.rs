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
async fn report_until_refused(server: &TestServer, max: usize) -> (Vec<String>, Option<(String, Resp)>) {
    let description = "x".repeat(2000);
    let form = payment_with(&[("description", &description)]);
    let mut acknowledged = Vec::new();
    let mut round = 0;
    while acknowledged.len() < max {
        let calls = (0..8).map(|i| {
            let key = format!("fill-{round}-{i}");
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
    for _ in 0..50 {
        let (more, refused) = report_until_refused(&server, 20_000).await;
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
