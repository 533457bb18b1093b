//! Restricted keys (Stripe's convention): `rk_test_…` / `rk_live_…` may call every GET of the
//! API and nothing else; a POST or DELETE is a 403 naming the masked key and the permission it
//! lacks, which the SDKs raise as `PermissionError`. Created, listed and revoked by the CLI.

use crate::common::backend_test;
use crate::common::child::ChildServer;
use crate::common::form::payment_with;
use crate::common::{Api, TestServer, id_of};
use crate::sdk_conformance::{run_script, sdk_python};

fn assert_forbidden(r: &crate::common::Resp, key: &str) {
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    let message = r.error("message").as_str().expect("message");
    let masked = format!("rk_test_****{}", &key[key.len() - 4..]);
    assert!(message.contains(&masked), "{message}");
    assert!(message.contains("does not have the required permissions"), "{message}");
    assert!(message.contains("'write' permission"), "{message}");
    assert!(!message.contains(key), "never the key itself");
}

#[backend_test]
async fn a_restricted_key_reads_everything_and_changes_nothing(server: TestServer) {
    let record = server.pending_payment(100).await;
    let id = id_of(&record);
    let endpoint = id_of(&server.webhook_endpoint("https://example.com/hooks").await);
    let key = server.new_restricted_key(false).await;
    assert!(key.starts_with("rk_test_"));
    let reader = server.with_key(&key);
    assert_eq!(
        reader.retrieve_record(&id, &[]).await.ok(),
        server.retrieve_record(&id, &[]).await.ok()
    );
    assert_eq!(reader.list_records(&[]).await.ok()["data"][0]["id"], id.as_str());
    let attempt = record["latest_payment_attempt_record"].as_str().unwrap();
    assert_eq!(reader.retrieve_attempt(attempt, &[]).await.status, 200);
    assert_eq!(reader.list_attempts(&id, &[]).await.status, 200);
    assert_eq!(reader.list_events(&[]).await.ok()["data"].as_array().unwrap().len(), 2);
    assert_eq!(reader.retrieve_webhook_endpoint(&endpoint).await.status, 200);
    assert_eq!(reader.list_webhook_endpoints(&[]).await.status, 200);
    assert_forbidden(&reader.report_payment(&payment_with(&[])).await, &key);
    assert_forbidden(&reader.report_informational(&id, &[("description", "x")]).await, &key);
    assert_forbidden(
        &reader
            .create_webhook_endpoint(&[("url", "https://example.com/x"), ("enabled_events[]", "*")])
            .await,
        &key,
    );
    assert_forbidden(&reader.delete_webhook_endpoint(&endpoint).await, &key);
    // Refused before anything runs: nothing changed, and the key was not saved.
    let refused = reader.report_payment_keyed("rk-key", &payment_with(&[])).await;
    assert_forbidden(&refused, &key);
    assert_eq!(server.list_records(&[]).await.ok()["data"].as_array().unwrap().len(), 1);
    let fresh = server.report_payment_keyed("rk-key", &payment_with(&[])).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.header("idempotent-replayed"), None);
    assert_eq!(server.retrieve_webhook_endpoint(&endpoint).await.status, 200);
}

#[backend_test]
async fn a_restricted_key_sees_only_its_account_and_mode(server: TestServer) {
    server.pending_payment(100).await;
    let live = server.with_key(&server.new_restricted_key(true).await);
    assert_eq!(live.list_records(&[]).await.ok()["data"], serde_json::json!([]));
    let other = server.with_key(&server.new_account_key(false).await);
    other.pending_payment(200).await;
    let reader = server.with_key(&server.new_restricted_key(false).await);
    let mine = reader.list_records(&[]).await.ok();
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    assert_eq!(mine["data"][0]["amount"]["value"], 1000 / 10);
}

#[backend_test]
async fn the_official_sdk_raises_permission_error_for_a_restricted_write(server: TestServer) {
    server.pending_payment(100).await;
    let key = server.new_restricted_key(false).await;
    let Some(python) = sdk_python() else { return };
    let stdout = run_script(python, "restricted.py", server.base(), &key).await;
    assert!(stdout.contains("SDK restricted key: all checks passed"), "{stdout}");
}

use crate::common::child::run_payrec as payrec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_create_restricted_read_makes_rk_keys_that_list_and_revoke_like_secret_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("payrec.db").display());
    let (ok, stdout, stderr) = payrec(&url, &["keys", "create", "--restricted", "read"]);
    assert!(ok, "{stderr}");
    let test = stdout.lines().last().unwrap().trim().to_owned();
    assert!(test.starts_with("rk_test_"), "{stdout}");
    let (ok, stdout, _) = payrec(&url, &["keys", "create", "--restricted", "read", "--live"]);
    assert!(ok);
    let live = stdout.lines().last().unwrap().trim().to_owned();
    assert!(live.starts_with("rk_live_"), "{stdout}");
    let (ok, _, stderr) = payrec(&url, &["keys", "create", "--restricted", "write"]);
    assert!(!ok && stderr.contains("read"), "only `read` exists: {stderr}");
    let (ok, listing, _) = payrec(&url, &["keys", "list"]);
    assert!(ok);
    assert!(
        !listing.contains(&test) && !listing.contains(&live),
        "list never shows a key"
    );
    assert!(
        listing.contains(&format!("rk_test_…{}", &test[test.len() - 4..])),
        "{listing}"
    );
    assert!(listing.contains("restricted read"), "{listing}");
    let file = std::fs::read(dir.path().join("payrec.db")).unwrap();
    for key in [&test, &live] {
        assert!(
            !file.windows(key.len()).any(|w| w == key.as_bytes()),
            "digests only, as for secret keys"
        );
    }
    let server = ChildServer::spawn(&url, &[]).await;
    assert_eq!(server.with_key(&test).list_records(&[]).await.status, 200);
    let key_id = listing
        .lines()
        .find(|l| l.contains(&format!("rk_test_…{}", &test[test.len() - 4..])))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let (ok, _, _) = payrec(&url, &["keys", "revoke", &key_id]);
    assert!(ok);
    assert_eq!(
        server.with_key(&test).list_records(&[]).await.status,
        401,
        "a revoked key is refused"
    );
}
