//! payrec in a test suite (issue 31): `serve --seed` and `--ephemeral`, and the commands that
//! call a running payrec with a key (`reset`, `listen`, `trigger`).

use crate::common::backend_test;
use std::process::Stdio;
use std::time::Duration;

use payrec::events::catalogue::EventType;
use payrec::events::signature::signature_header;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::child::{ChildServer, run_payrec_with};
use crate::common::form::payment_with;
use crate::common::receiver::{Delivery, Receiver};
use crate::common::{Api, TestServer, empty_database, id_of};

const SECRET: &str = "whsec_fixed_for_ci";

fn seed_file(dir: &std::path::Path, receiver: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[[accounts]]
keys = ["sk_test_123", "rk_test_123", "sk_live_123"]

[[accounts.webhook_endpoints]]
url = "{receiver}"
enabled_events = ["*"]
secret = "{SECRET}"

[[accounts.payments]]
amount_requested = {{ currency = "usd", value = 2500 }}
initiated_at = 1730211300
payment_method_details = {{ type = "custom" }}
processor_details = {{ type = "custom", custom = {{ payment_reference = "seeded-1" }} }}
"#
    );
    let path = dir.join("seed.toml");
    std::fs::write(&path, text).expect("write the seed file");
    path
}

/// A delivery signed with `secret`, as Stripe's SDKs check it.
fn assert_signed(d: &Delivery, secret: &str) {
    let timestamp: i64 = d.signature[2..d.signature.find(',').expect("t=…,v1=…")]
        .parse()
        .expect("t");
    assert_eq!(
        signature_header(secret, timestamp, &d.body),
        d.signature,
        "signed with {secret}"
    );
}

#[backend_test]
async fn a_seed_file_gives_fixed_keys_and_a_fixed_webhook_secret_and_applies_once(server: TestServer) {
    let receiver = Receiver::start(None).await;
    let empty = empty_database(server.backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = seed_file(dir.path(), &receiver.url);
    let seed = seed.to_str().expect("a UTF-8 path");
    let child = ChildServer::spawn_with(&empty.url, &["--seed", seed], &[]).await;
    assert!(child.test_key.is_none(), "no generated keys: the seed's are the keys");
    assert!(
        child
            .banner
            .iter()
            .any(|l| l.contains("1 accounts, 3 keys, 1 webhook endpoints and 1 payments created")),
        "{:?}",
        child.banner
    );
    let test = child.with_key("sk_test_123");
    let records = test.list_records(&[]).await.ok();
    assert_eq!(records["data"][0]["amount"]["value"], 2500, "{records}");
    assert_eq!(child.with_key("rk_test_123").list_records(&[]).await.status, 200);
    assert_eq!(
        child.with_key("sk_live_123").list_records(&[]).await.ok()["data"],
        serde_json::json!([])
    );
    let record = test.report_payment(&payment_with(&[])).await.ok();
    let deliveries = receiver
        .wait_until(|d| d.iter().any(|d| d.body.contains(&id_of(&record))), "a delivery")
        .await;
    for d in &deliveries {
        assert_signed(d, SECRET);
    }
    crate::webhooks::verify_with_python_sdk(&deliveries, SECRET, None).await;
    child.terminate();
    let again = ChildServer::spawn_with(&empty.url, &["--seed", seed], &[]).await;
    assert!(
        again
            .banner
            .iter()
            .any(|l| l.contains("0 accounts, 0 keys, 0 webhook endpoints and 0 payments created; 6 found")),
        "{:?}",
        again.banner
    );
    let test = again.with_key("sk_test_123");
    assert_eq!(
        test.list_records(&[]).await.ok()["data"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        test.list_webhook_endpoints(&[]).await.ok()["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_refused_seed_file_names_the_part_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = dir.path().join("seed.toml");
    std::fs::write(&seed, "[[accounts]]\nkeys = [\"sk_test_1\"]\n[[accounts.webhook_endpoints]]\nurl = \"http://127.0.0.1:9/\"\nenabled_events = [\"*\"]\nsecret = \"plain\"\n").expect("write");
    let db = dir.path().join("never.db");
    let url = format!("sqlite://{}", db.display());
    let (code, _, stderr) = run_payrec_with(&url, &["serve", "--seed", seed.to_str().expect("path")], &[]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("accounts[0].webhook_endpoints[0]: secret"), "{stderr}");
    assert!(!db.exists(), "nothing was written");
}

#[tokio::test]
async fn an_ephemeral_server_runs_on_a_temporary_database_removed_at_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unused = format!("sqlite://{}", dir.path().join("unused.db").display());
    let seed = seed_file(dir.path(), "http://127.0.0.1:9/hook");
    let seed = seed.to_str().expect("path");
    let mut child = ChildServer::spawn_with(&unused, &["--ephemeral", "--seed", seed], &[]).await;
    let line = child
        .banner
        .iter()
        .find(|l| l.starts_with("payrec listening on"))
        .expect("the listening line");
    let path = line
        .split("sqlite://")
        .nth(1)
        .expect("an SQLite database")
        .trim_end_matches(')');
    let database = std::path::Path::new(path).to_owned();
    assert!(database.exists(), "{}", database.display());
    assert_eq!(child.with_key("sk_test_123").list_records(&[]).await.status, 200);
    child.terminate();
    let exited = tokio::time::timeout(Duration::from_secs(20), child.child.wait()).await;
    assert!(exited.is_ok(), "stopped");
    assert!(!database.parent().expect("its directory").exists(), "removed at exit");
    assert!(!dir.path().join("unused.db").exists(), "the database URL was not used");
}

/// `payrec ARGS` against `server` with its test key.
fn remote(server: &TestServer, args: &[&str]) -> (Option<i32>, String, String) {
    let envs = [
        ("PAYREC_URL", server.base.as_str()),
        ("PAYREC_API_KEY", server.test_key.as_str()),
    ];
    run_payrec_with("sqlite://unused-by-remote-commands.db", args, &envs)
}

#[backend_test]
async fn payrec_trigger_emits_each_event_it_names(server: TestServer) {
    // Made by a job or by `payrec reconcile`, never by an API call.
    let untriggerable = [
        EventType::EndpointDisabled,
        EventType::RecordReconciled,
        EventType::RecordReconciliationFailed,
    ];
    for kind in EventType::ALL.iter().filter(|k| !untriggerable.contains(k)) {
        let (code, stdout, stderr) = remote(&server, &["trigger", kind.as_str()]);
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        assert!(stdout.contains("Setting up fixture for: payment_record"), "{stdout}");
        assert!(stdout.contains("Trigger succeeded!"), "{stdout}");
        assert!(
            server.event_types().await.contains(&kind.as_str().to_owned()),
            "{kind:?}"
        );
    }
    for kind in untriggerable {
        let (code, _, stderr) = remote(&server, &["trigger", kind.as_str()]);
        assert_ne!(code, Some(0));
        assert!(stderr.contains("cannot be triggered"), "{stderr}");
    }
}

#[backend_test]
async fn payrec_reset_erases_the_keys_test_data(server: TestServer) {
    server.pending_payment(1000).await;
    let (code, stdout, stderr) = remote(&server, &["reset"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("erased the test-mode data of"), "{stdout}");
    assert_eq!(server.list_records(&[]).await.ok()["data"], serde_json::json!([]));
}

/// The next line a child printed, within 20 s.
async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut tokio::io::Lines<R>) -> String {
    let read = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
    read.expect("a line in time").expect("read").expect("a line")
}

#[backend_test]
async fn payrec_listen_forwards_signed_events_and_removes_its_endpoint(server: TestServer) {
    let receiver = Receiver::start(None).await;
    let mut listen = tokio::process::Command::new(env!("CARGO_BIN_EXE_payrec"))
        .args(["listen", "--forward-to", &receiver.url])
        .env("PAYREC_URL", &server.base)
        .env("PAYREC_API_KEY", &server.test_key)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn payrec listen");
    let mut lines = BufReader::new(listen.stdout.take().expect("stdout")).lines();
    let ready: String = next_line(&mut lines).await;
    let secret = ready
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("a secret")
        .to_owned();
    assert!(ready.starts_with("Ready!"), "{ready}");
    let record = server.pending_payment(1000).await;
    let deliveries = receiver.wait_until(|d| d.len() >= 2, "two events forwarded").await;
    for d in &deliveries {
        assert_signed(d, &secret);
        assert_eq!(d.event()["data"]["object"]["id"].as_str().map(|_| ()), Some(()));
    }
    assert!(deliveries.iter().any(|d| d.body.contains(&id_of(&record))));
    let mut answered = String::new();
    while !answered.contains("<--  [200] POST") {
        answered = next_line(&mut lines).await;
    }
    let pid = listen.id().expect("running").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = tokio::time::timeout(Duration::from_secs(20), listen.wait())
        .await
        .expect("stopped")
        .expect("exit");
    assert!(status.success(), "{status:?}");
    let endpoints = server.list_webhook_endpoints(&[]).await.ok();
    assert_eq!(endpoints["data"], serde_json::json!([]), "its endpoint was removed");
}
