//! The `payrec` binary: first start, keys commands, database URLs, logs and shutdown.

use crate::common::child::{ChildServer, wait_for_records};
use crate::common::form::payment_with;
use crate::common::{Api, Auth, Endpoint};

use crate::common::child::run_payrec as payrec;

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("payrec.db").display())
}

/// A 404 for an unknown record shows the key was accepted.
async fn status_with_key(server: &ChildServer, key: &str) -> u16 {
    server.with_key(key).retrieve_record("pr_x", &[]).await.status
}

/// The id of the first key in `payrec keys list`'s listing.
fn first_key_id(listing: &str) -> String {
    let row = listing.lines().nth(1).expect("a key row");
    row.split_whitespace().next().expect("a key id").to_owned()
}

#[tokio::test]
async fn the_first_start_creates_an_account_and_prints_its_keys_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let mut first = ChildServer::spawn(&url, &[]).await;
    let test_key = first.test_key.clone().expect("test key printed");
    let live_key = first.live_key.clone().expect("live key printed");
    assert!(test_key.starts_with("sk_test_") && live_key.starts_with("sk_live_"));
    assert_eq!(
        status_with_key(&first, &test_key).await,
        404,
        "the printed test key works"
    );
    assert_eq!(
        status_with_key(&first, &live_key).await,
        404,
        "the printed live key works"
    );
    first.kill9().await;
    let second = ChildServer::spawn(&url, &[]).await;
    assert!(
        second.test_key.is_none() && second.live_key.is_none(),
        "keys are shown only once"
    );
    assert_eq!(status_with_key(&second, &test_key).await, 404, "keys survive a restart");
}

#[tokio::test]
async fn keys_create_list_and_revoke_manage_keys_without_showing_them_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let (ok, stdout, _) = payrec(&url, &["keys", "create", "--live"]);
    assert!(ok);
    let secret = stdout.lines().last().unwrap().trim().to_owned();
    assert!(secret.starts_with("sk_live_"), "{stdout}");
    let (ok, listing, _) = payrec(&url, &["keys", "list"]);
    assert!(ok);
    assert!(!listing.contains(&secret), "list never shows a key");
    let last4 = &secret[secret.len() - 4..];
    assert!(listing.contains(&format!("sk_live_…{last4}")), "{listing}");
    let key_id = first_key_id(&listing);
    let account = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let (ok, stdout, _) = payrec(&url, &["keys", "create", "--account", &account]);
    assert!(ok && stdout.contains("sk_test_"), "{stdout}");
    let (ok, _, stderr) = payrec(&url, &["keys", "create", "--account", "acct_nope"]);
    assert!(!ok && stderr.contains("no account acct_nope"), "{stderr}");
    let (ok, _, _) = payrec(&url, &["keys", "revoke", &key_id]);
    assert!(ok);
    let (ok, _, stderr) = payrec(&url, &["keys", "revoke", &key_id]);
    assert!(!ok && stderr.contains("no active key"), "{stderr}");
    let server = ChildServer::spawn(&url, &[]).await;
    assert_eq!(status_with_key(&server, &secret).await, 401, "a revoked key is refused");
}

#[test]
fn keys_are_stored_only_as_digests() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let (ok, stdout, _) = payrec(&url, &["keys", "create"]);
    assert!(ok);
    let secret = stdout.lines().last().unwrap().trim().to_owned();
    let bytes = std::fs::read(dir.path().join("payrec.db")).unwrap();
    let wal = std::fs::read(dir.path().join("payrec.db-wal")).unwrap_or_default();
    let random_part = &secret["sk_test_".len()..];
    for file in [&bytes, &wal] {
        assert!(
            !file.windows(random_part.len()).any(|w| w == random_part.as_bytes()),
            "the key is not on disk"
        );
    }
}

#[test]
fn an_unsupported_database_url_is_a_clear_error() {
    let (ok, _, stderr) = payrec("mysql://localhost/db", &["migrate"]);
    assert!(!ok);
    assert!(
        stderr.contains("unsupported DATABASE_URL") && stderr.contains("sqlite://"),
        "{stderr}"
    );
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, _) = payrec(&sqlite_url(&dir), &["migrate"]);
    assert!(ok, "{stdout}");
    assert!(dir.path().join("payrec.db").exists());
}

#[tokio::test]
async fn json_logs_have_one_line_per_request_with_its_id_and_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::spawn_with(&sqlite_url(&dir), &["--log-format", "json"], &[("RUST_LOG", "info")]).await;
    let key = server.test_key.clone().unwrap();
    let bearer = |key: &str| server.with_auth(Auth::Bearer(key.to_owned()));
    let response = bearer(&key).retrieve_record("pr_logged", &[]).await;
    let request_id = response.header("request-id").unwrap().to_owned();
    let wrong = bearer("sk_test_wrongkeywrongkey123")
        .retrieve_record("pr_logged", &[])
        .await;
    assert_eq!(wrong.status, 401);
    let mut logs = String::new();
    for _ in 0..100 {
        logs = server.logs();
        if logs.contains("sk_test_wrong") || logs.matches("payrec::request").count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let line = logs
        .lines()
        .find(|l| l.contains(&request_id))
        .expect("a log line for the request");
    let entry: serde_json::Value = serde_json::from_str(line).expect("json log line");
    assert_eq!(entry["request_id"], request_id.as_str());
    assert_eq!(entry["status"], 404);
    assert_eq!(entry["route"], "/v1/payment_records/{id}");
    assert_eq!(entry["method"], "GET");
    assert!(entry["latency_ms"].is_number());
    assert!(entry["account"].as_str().unwrap().starts_with("acct_"));
    assert!(!logs.contains(&key), "the key is never logged");
    assert!(!logs.contains("wrongkeywrongkey"), "a bad key is never logged");
}

#[tokio::test]
async fn pretty_logs_written_to_a_pipe_carry_no_colour_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::spawn(&sqlite_url(&dir), &[("RUST_LOG", "info")]).await;
    let response = server.retrieve_record("pr_logged", &[]).await;
    let request_id = response.header("request-id").unwrap().to_owned();
    let mut logs = String::new();
    for _ in 0..100 {
        logs = server.logs();
        if logs.contains(&request_id) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(logs.contains(&request_id), "the request is logged: {logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "no ANSI escape in a log that is not a terminal: {logs:?}"
    );
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_before_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::spawn(&sqlite_url(&dir), &[("PAYREC_TEST_DELAY_AFTER_COMMIT_MS", "500")]).await;
    let client = server.with_key(&server.test_key.clone().unwrap());
    let in_flight = tokio::spawn(async move {
        let form = payment_with(&[("amount_requested[value]", "100")]);
        client.try_call(&Endpoint::ReportPayment, &form, None).await
    });
    assert!(
        wait_for_records(&dir.path().join("payrec.db"), 1).await,
        "the request reached the server and committed"
    );
    server.terminate();
    let response = in_flight.await.unwrap().expect("the in-flight request is answered");
    assert_eq!(response.status, 200);
    let status = server.child.wait().await.unwrap();
    assert!(status.success(), "payrec exits cleanly: {status}");
}

#[test]
fn doctor_on_a_fresh_setup_says_what_to_run_and_passes_once_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let (ok, stdout, _) = payrec(&url, &["doctor"]);
    assert!(!ok, "nothing exists yet");
    assert!(
        stdout.contains("does not exist") && stdout.contains("payrec migrate"),
        "{stdout}"
    );
    assert!(payrec(&url, &["migrate"]).0);
    let (ok, stdout, _) = payrec(&url, &["doctor"]);
    assert!(!ok);
    assert!(stdout.contains("migrations are current"), "{stdout}");
    assert!(
        stdout.contains("no account exists") && stdout.contains("payrec keys create"),
        "{stdout}"
    );
    assert!(payrec(&url, &["keys", "create"]).0);
    let (ok, stdout, _) = payrec(&url, &["doctor"]);
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("1 active key(s)") && stdout.contains("MiB free"),
        "{stdout}"
    );
}

#[test]
fn doctor_on_a_broken_setup_names_the_problem() {
    let (ok, stdout, _) = payrec("postgres://payrec:secret@127.0.0.1:1/payrec", &["doctor"]);
    assert!(!ok);
    assert!(stdout.contains("PostgreSQL does not answer"), "{stdout}");
    assert!(!stdout.contains("secret"), "the password is never printed");
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    assert!(payrec(&url, &["keys", "create"]).0);
    let (_, listing, _) = payrec(&url, &["keys", "list"]);
    let key_id = first_key_id(&listing);
    assert!(payrec(&url, &["keys", "revoke", &key_id]).0);
    let (ok, stdout, _) = payrec(&url, &["doctor"]);
    assert!(!ok);
    assert!(
        stdout.contains("has no active key") && stdout.contains("keys create --account"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let _first = ChildServer::spawn(&url, &[]).await;
    let (ok, _, stderr) = payrec(&url, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!ok, "the second server exits");
    assert!(stderr.contains("already serving"), "{stderr}");
    let (ok, stdout, _) = payrec(&url, &["keys", "list"]);
    assert!(ok, "admin commands still work beside the server: {stdout}");
}
