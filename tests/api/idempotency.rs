//! Idempotent requests (API.md, Conventions → Idempotency): a retried POST with the same key
//! runs once, and its first result comes back byte for byte.

use crate::common::backend_test;
use crate::common::child::{ChildServer, wait_for_records};
use crate::common::form::payment_with;
use crate::common::{Api, Backend, Endpoint, Report, TestServer};

/// A report_payment of `value` usd.
fn payment(value: &str) -> Vec<(&str, &str)> {
    payment_with(&[("amount_requested[value]", value)])
}

async fn record_count(server: &TestServer) -> usize {
    let r = server.list_records(&[("limit", "100")]).await;
    r.json["data"].as_array().expect("list").len()
}

#[backend_test]
async fn a_retry_with_the_same_key_replays_the_first_response_byte_for_byte(server: TestServer) {
    let first = server.report_payment_keyed("k-1", &payment("1000")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.header("idempotent-replayed").is_none());
    let again = server.report_payment_keyed("k-1", &payment("1000")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body, "the replay is byte for byte");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("original-request"), first.header("request-id"));
    assert_ne!(
        again.header("request-id"),
        first.header("request-id"),
        "the replay has its own request id"
    );
    assert_eq!(record_count(&server).await, 1, "executed once");
}

#[backend_test]
async fn parameter_order_does_not_change_the_fingerprint(server: TestServer) {
    let mut form = payment("1000");
    let first = server.report_payment_keyed("k-order", &form).await;
    form.reverse();
    let again = server.report_payment_keyed("k-order", &form).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"), "{}", again.body);
    assert_eq!(again.body, first.body);
}

#[backend_test]
async fn a_lifecycle_error_is_saved_and_replayed(server: TestServer) {
    let record = server.pending_payment(500).await;
    let id = record["id"].as_str().unwrap();
    let ok = server.report_guaranteed(id, &[("guaranteed_at", "1730211400")]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let form = [("guaranteed_at", "1730211500")];
    let first = server.report_keyed("k-rule", id, Report::Guaranteed, &form).await;
    assert_eq!(first.status, 400, "{}", first.body);
    let again = server.report_keyed("k-rule", id, Report::Guaranteed, &form).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

#[backend_test]
async fn a_404_is_saved_and_replayed(server: TestServer) {
    let form = [("failed_at", "1730211400")];
    let first = server.report_keyed("k-404", "pr_missing", Report::Failed, &form).await;
    assert_eq!(first.status, 404);
    let again = server.report_keyed("k-404", "pr_missing", Report::Failed, &form).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

#[backend_test]
async fn a_validation_error_is_not_saved_and_the_key_can_be_retried(server: TestServer) {
    let mut bad = payment("1000");
    bad.push(("bogus", "1"));
    let first = server.report_payment_keyed("k-valid", &bad).await;
    assert_eq!(first.status, 400);
    let fixed = server.report_payment_keyed("k-valid", &payment("1000")).await;
    assert_eq!(fixed.status, 200, "a corrected retry executes: {}", fixed.body);
    assert!(fixed.header("idempotent-replayed").is_none());
}

#[backend_test]
async fn the_same_key_with_other_parameters_is_an_idempotency_error(server: TestServer) {
    server.report_payment_keyed("k-mismatch", &payment("1000")).await;
    let other = server.report_payment_keyed("k-mismatch", &payment("2000")).await;
    assert_eq!(other.status, 400);
    assert_eq!(other.error("type"), "idempotency_error");
    assert_eq!(
        other.error("message"),
        "Keys for idempotent requests can only be used with the same parameters they were first used with. \
         Try using a key other than 'k-mismatch' if you meant to execute a different request."
    );
    assert_eq!(record_count(&server).await, 1);
}

#[backend_test]
async fn the_same_key_on_another_endpoint_is_an_idempotency_error(server: TestServer) {
    let first = server.report_payment_keyed("k-endpoint", &payment("1000")).await;
    let id = first.json["id"].as_str().unwrap();
    let other = server
        .report_keyed("k-endpoint", id, Report::Failed, &[("failed_at", "1730211400")])
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.error("type"), "idempotency_error");
}

#[backend_test]
async fn keys_are_scoped_to_tenant_and_mode(server: TestServer) {
    let other = server.new_account_key(false).await;
    let a = server.report_payment_keyed("shared", &payment("1000")).await;
    let live = server.with_key(&server.live_key);
    let b = live.report_payment_keyed("shared", &payment("1000")).await;
    let c = server
        .with_key(&other)
        .report_payment_keyed("shared", &payment("1000"))
        .await;
    for r in [&a, &b, &c] {
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.header("idempotent-replayed").is_none(),
            "each tenant executes its own request"
        );
    }
    assert_ne!(a.json["id"], b.json["id"]);
    assert_ne!(a.json["id"], c.json["id"]);
    assert_eq!(b.json["livemode"], true);
}

#[backend_test]
async fn an_expired_key_executes_anew(server: TestServer) {
    let first = server.report_payment_keyed("k-old", &payment("1000")).await;
    age_idempotency_keys(&server, 25 * 60 * 60).await;
    let again = server.report_payment_keyed("k-old", &payment("1000")).await;
    assert_eq!(again.status, 200);
    assert!(again.header("idempotent-replayed").is_none());
    assert_ne!(again.json["id"], first.json["id"], "a new record");
    let third = server.report_payment_keyed("k-old", &payment("1000")).await;
    assert_eq!(
        third.header("idempotent-replayed"),
        Some("true"),
        "the new result is saved in turn"
    );
    assert_eq!(third.json["id"], again.json["id"]);
}

/// The hourly pruner's work: results older than the cutoff are deleted (their keys execute
/// anew), newer ones are kept and still replay.
#[backend_test]
async fn pruning_deletes_expired_results_and_keeps_live_ones(server: TestServer) {
    let old = server.report_payment_keyed("k-pruned", &payment("1000")).await;
    age_idempotency_keys(&server, 25 * 60 * 60).await;
    let live = server.report_payment_keyed("k-live", &payment("2000")).await;
    let cutoff = payrec::clock::unix_now() - 24 * 60 * 60;
    let deleted = server.store.prune_idempotent(cutoff).await.expect("prune");
    assert_eq!(deleted, 1, "only the aged result is deleted");
    assert_eq!(server.store.prune_idempotent(cutoff).await.expect("prune again"), 0);
    let replay = server.report_payment_keyed("k-live", &payment("2000")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, live.body);
    let anew = server.report_payment_keyed("k-pruned", &payment("1000")).await;
    assert!(anew.header("idempotent-replayed").is_none());
    assert_ne!(anew.json["id"], old.json["id"]);
}

/// A saved response is kept LZ4-compressed (issue 30: written with every keyed call, read only
/// by a replay), and the replay is still the response's bytes.
#[backend_test]
async fn a_saved_response_is_stored_compressed_and_replays_byte_identical(server: TestServer) {
    let first = server.report_payment_keyed("k-packed", &payment("1000")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let stored_sql = match server.backend {
        Backend::Sqlite => "SELECT CASE typeof(body) WHEN 'blob' THEN length(body) ELSE -1 END FROM idempotency_keys",
        Backend::Postgres => {
            "SELECT CASE WHEN body IS NULL THEN octet_length(packed) ELSE -1 END::bigint FROM idempotency_keys"
        }
    };
    let stored = server.query_i64(stored_sql).await;
    assert!(stored > 0, "the body is stored packed, not as text");
    assert!(
        (stored as usize) * 4 < first.body.len() * 3,
        "{stored} bytes stored for a {}-byte response",
        first.body.len()
    );
    let replay = server.report_payment_keyed("k-packed", &payment("1000")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
}

/// Moves every saved result `seconds` into the past, as if that much time had gone by.
async fn age_idempotency_keys(server: &TestServer, seconds: i64) {
    let sql = format!("UPDATE idempotency_keys SET created = created - {seconds}");
    server.execute_sql(&sql).await;
}

#[backend_test]
async fn a_key_longer_than_255_characters_is_rejected(server: TestServer) {
    let long = "k".repeat(256);
    let r = server.report_payment_keyed(&long, &payment("1000")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error("type"), "invalid_request_error");
    let ok = server.report_payment_keyed(&"k".repeat(255), &payment("1000")).await;
    assert_eq!(ok.status, 200);
}

#[backend_test]
async fn twenty_concurrent_requests_with_one_key_create_one_record(server: TestServer) {
    let server = std::sync::Arc::new(server);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            server.report_payment_keyed("k-race", &payment("777")).await
        }));
    }
    let mut bodies = Vec::new();
    let (mut executed, mut conflicts) = (0, 0);
    for task in tasks {
        let r = task.await.unwrap();
        match r.status {
            200 if r.header("idempotent-replayed").is_none() => {
                executed += 1;
                bodies.push(r.body);
            }
            200 => bodies.push(r.body),
            409 => {
                conflicts += 1;
                assert_eq!(r.error("code"), "idempotency_key_in_use");
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(executed, 1, "exactly one execution ({conflicts} conflicts)");
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every 200 is the original");
    assert_eq!(record_count(&server).await, 1);
}

/// kill -9 between commit and response: the retry gets the original result, nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_commit_and_response_replays_on_retry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let url = format!("sqlite://{}", db.display());
    let mut server = ChildServer::spawn(&url, &[("PAYREC_TEST_DELAY_AFTER_COMMIT_MS", "60000")]).await;
    let key = server.test_key.clone().expect("first start prints keys");
    let form = payment("4242");
    let send = {
        let (client, form) = (server.with_key(&key), form.clone());
        tokio::spawn(async move {
            client
                .try_call(&Endpoint::ReportPayment, &form, Some("crash-key"))
                .await
        })
    };
    // Wait until the write is committed (visible to another connection), then kill.
    let committed = wait_for_records(&db, 1).await;
    assert!(committed, "the write committed");
    server.kill9().await;
    assert!(send.await.unwrap().is_err(), "the client never got a response");

    let server = ChildServer::spawn(&url, &[]).await;
    let retry = server.with_key(&key).report_payment_keyed("crash-key", &form).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json["amount_requested"]["value"], 4242);
    assert!(wait_for_records(&db, 1).await, "still exactly one record");
}
