//! Idempotent requests (API.md, Conventions → Idempotency): a retried POST with the same key
//! runs once, and its first result comes back byte for byte.

use crate::common::child::{ChildServer, wait_for_records};
use crate::common::{Auth, Resp, TestServer};
use reqwest::Method;

const REPORT: &str = "/v1/payment_records/report_payment";

fn payment(value: &str) -> Vec<(&'static str, String)> {
    vec![
        ("amount_requested[currency]", "usd".into()),
        ("amount_requested[value]", value.into()),
        ("initiated_at", "1730211300".into()),
        ("payment_method_details[type]", "custom".into()),
    ]
}

async fn post_keyed(server: &TestServer, key: &str, api_key: &str, path: &str, form: &[(&str, String)]) -> Resp {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    server
        .request(
            Method::POST,
            path,
            Auth::Basic(api_key.to_owned()),
            &form,
            &[("Idempotency-Key", key)],
        )
        .await
}

async fn record_count(server: &TestServer, api_key: &str) -> usize {
    let r = server
        .request(
            Method::GET,
            "/v1/payment_records",
            Auth::Basic(api_key.to_owned()),
            &[("limit", "100")],
            &[],
        )
        .await;
    r.json["data"].as_array().expect("list").len()
}

async fn a_retry_with_the_same_key_replays_the_first_response_byte_for_byte(server: TestServer) {
    let key = server.test_key.clone();
    let first = post_keyed(&server, "k-1", &key, REPORT, &payment("1000")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.header("idempotent-replayed").is_none());
    let again = post_keyed(&server, "k-1", &key, REPORT, &payment("1000")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body, "the replay is byte for byte");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("original-request"), first.header("request-id"));
    assert_ne!(
        again.header("request-id"),
        first.header("request-id"),
        "the replay has its own request id"
    );
    assert_eq!(record_count(&server, &key).await, 1, "executed once");
}

async fn parameter_order_does_not_change_the_fingerprint(server: TestServer) {
    let key = server.test_key.clone();
    let mut form = payment("1000");
    let first = post_keyed(&server, "k-order", &key, REPORT, &form).await;
    form.reverse();
    let again = post_keyed(&server, "k-order", &key, REPORT, &form).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"), "{}", again.body);
    assert_eq!(again.body, first.body);
}

async fn a_lifecycle_error_is_saved_and_replayed(server: TestServer) {
    let record = server.report_payment(500).await;
    let id = record["id"].as_str().unwrap();
    let guaranteed = format!("/v1/payment_records/{id}/report_payment_attempt_guaranteed");
    let ok = server.post(&guaranteed, &[("guaranteed_at", "1730211400")]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let key = server.test_key.clone();
    let form = vec![("guaranteed_at", "1730211500".to_owned())];
    let first = post_keyed(&server, "k-rule", &key, &guaranteed, &form).await;
    assert_eq!(first.status, 400, "{}", first.body);
    let again = post_keyed(&server, "k-rule", &key, &guaranteed, &form).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

async fn a_404_is_saved_and_replayed(server: TestServer) {
    let key = server.test_key.clone();
    let path = "/v1/payment_records/pr_missing/report_payment_attempt_failed";
    let form = vec![("failed_at", "1730211400".to_owned())];
    let first = post_keyed(&server, "k-404", &key, path, &form).await;
    assert_eq!(first.status, 404);
    let again = post_keyed(&server, "k-404", &key, path, &form).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

async fn a_validation_error_is_not_saved_and_the_key_can_be_retried(server: TestServer) {
    let key = server.test_key.clone();
    let mut bad = payment("1000");
    bad.push(("bogus", "1".into()));
    let first = post_keyed(&server, "k-valid", &key, REPORT, &bad).await;
    assert_eq!(first.status, 400);
    let fixed = post_keyed(&server, "k-valid", &key, REPORT, &payment("1000")).await;
    assert_eq!(fixed.status, 200, "a corrected retry executes: {}", fixed.body);
    assert!(fixed.header("idempotent-replayed").is_none());
}

async fn the_same_key_with_other_parameters_is_an_idempotency_error(server: TestServer) {
    let key = server.test_key.clone();
    post_keyed(&server, "k-mismatch", &key, REPORT, &payment("1000")).await;
    let other = post_keyed(&server, "k-mismatch", &key, REPORT, &payment("2000")).await;
    assert_eq!(other.status, 400);
    assert_eq!(other.error("type"), "idempotency_error");
    assert_eq!(
        other.error("message"),
        "Keys for idempotent requests can only be used with the same parameters they were first used with. \
         Try using a key other than 'k-mismatch' if you meant to execute a different request."
    );
    assert_eq!(record_count(&server, &key).await, 1);
}

async fn the_same_key_on_another_endpoint_is_an_idempotency_error(server: TestServer) {
    let key = server.test_key.clone();
    let first = post_keyed(&server, "k-endpoint", &key, REPORT, &payment("1000")).await;
    let id = first.json["id"].as_str().unwrap();
    let path = format!("/v1/payment_records/{id}/report_payment_attempt_failed");
    let other = post_keyed(
        &server,
        "k-endpoint",
        &key,
        &path,
        &[("failed_at", "1730211400".into())],
    )
    .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.error("type"), "idempotency_error");
}

async fn keys_are_scoped_to_tenant_and_mode(server: TestServer) {
    let test_key = server.test_key.clone();
    let live_key = server.live_key.clone();
    let other = server.new_account_key(false).await;
    let a = post_keyed(&server, "shared", &test_key, REPORT, &payment("1000")).await;
    let b = post_keyed(&server, "shared", &live_key, REPORT, &payment("1000")).await;
    let c = post_keyed(&server, "shared", &other, REPORT, &payment("1000")).await;
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

async fn an_expired_key_executes_anew(server: TestServer) {
    let key = server.test_key.clone();
    let first = post_keyed(&server, "k-old", &key, REPORT, &payment("1000")).await;
    age_idempotency_keys(&server, 25 * 60 * 60).await;
    let again = post_keyed(&server, "k-old", &key, REPORT, &payment("1000")).await;
    assert_eq!(again.status, 200);
    assert!(again.header("idempotent-replayed").is_none());
    assert_ne!(again.json["id"], first.json["id"], "a new record");
    let third = post_keyed(&server, "k-old", &key, REPORT, &payment("1000")).await;
    assert_eq!(
        third.header("idempotent-replayed"),
        Some("true"),
        "the new result is saved in turn"
    );
    assert_eq!(third.json["id"], again.json["id"]);
}

/// The hourly pruner's work: results older than the cutoff are deleted (their keys execute
/// anew), newer ones are kept and still replay.
async fn pruning_deletes_expired_results_and_keeps_live_ones(server: TestServer) {
    let key = server.test_key.clone();
    let old = post_keyed(&server, "k-pruned", &key, REPORT, &payment("1000")).await;
    age_idempotency_keys(&server, 25 * 60 * 60).await;
    let live = post_keyed(&server, "k-live", &key, REPORT, &payment("2000")).await;
    let cutoff = payrec::unix_now() - 24 * 60 * 60;
    let deleted = server.store.prune_idempotent(cutoff).await.expect("prune");
    assert_eq!(deleted, 1, "only the aged result is deleted");
    assert_eq!(server.store.prune_idempotent(cutoff).await.expect("prune again"), 0);
    let replay = post_keyed(&server, "k-live", &key, REPORT, &payment("2000")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, live.body);
    let anew = post_keyed(&server, "k-pruned", &key, REPORT, &payment("1000")).await;
    assert!(anew.header("idempotent-replayed").is_none());
    assert_ne!(anew.json["id"], old.json["id"]);
}

/// Moves every saved result `seconds` into the past, as if that much time had gone by.
async fn age_idempotency_keys(server: &TestServer, seconds: i64) {
    let sql = format!("UPDATE idempotency_keys SET created = created - {seconds}");
    match server.backend {
        crate::common::Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&server.database_url).await.unwrap();
            sqlx::query(&sql).execute(&mut conn).await.unwrap();
        }
        crate::common::Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&server.database_url).await.unwrap();
            sqlx::query(&sql).execute(&mut conn).await.unwrap();
        }
    }
}

async fn a_key_longer_than_255_characters_is_rejected(server: TestServer) {
    let key = server.test_key.clone();
    let long = "k".repeat(256);
    let r = post_keyed(&server, &long, &key, REPORT, &payment("1000")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error("type"), "invalid_request_error");
    let ok = post_keyed(&server, &"k".repeat(255), &key, REPORT, &payment("1000")).await;
    assert_eq!(ok.status, 200);
}

async fn twenty_concurrent_requests_with_one_key_create_one_record(server: TestServer) {
    let server = std::sync::Arc::new(server);
    let key = server.test_key.clone();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (server, key) = (server.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            post_keyed(&server, "k-race", &key, REPORT, &payment("777")).await
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
    assert_eq!(record_count(&server, &key).await, 1);
}

backend_tests!(
    a_retry_with_the_same_key_replays_the_first_response_byte_for_byte,
    parameter_order_does_not_change_the_fingerprint,
    a_lifecycle_error_is_saved_and_replayed,
    a_404_is_saved_and_replayed,
    a_validation_error_is_not_saved_and_the_key_can_be_retried,
    the_same_key_with_other_parameters_is_an_idempotency_error,
    the_same_key_on_another_endpoint_is_an_idempotency_error,
    keys_are_scoped_to_tenant_and_mode,
    an_expired_key_executes_anew,
    pruning_deletes_expired_results_and_keeps_live_ones,
    a_key_longer_than_255_characters_is_rejected,
    twenty_concurrent_requests_with_one_key_create_one_record,
);

/// kill -9 between commit and response: the retry gets the original result, nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_commit_and_response_replays_on_retry() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let mut server = ChildServer::spawn(&url, &[("PAYREC_TEST_DELAY_AFTER_COMMIT_MS", "60000")]).await;
    let key = server.test_key.clone().expect("first start prints keys");
    let client = reqwest::Client::new();
    let body = crate::common::encode(&[
        ("amount_requested[currency]", "usd"),
        ("amount_requested[value]", "4242"),
        ("initiated_at", "1730211300"),
        ("payment_method_details[type]", "custom"),
    ]);
    let send = {
        let (client, url, key, body) = (client.clone(), server.url(REPORT), key.clone(), body.clone());
        tokio::spawn(async move {
            client
                .post(url)
                .basic_auth(key, Some(""))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("idempotency-key", "crash-key")
                .body(body)
                .send()
                .await
        })
    };
    // Wait until the write is committed (visible to another connection), then kill.
    let committed = wait_for_records(&url, 1).await;
    assert!(committed, "the write committed");
    server.kill9().await;
    assert!(send.await.unwrap().is_err(), "the client never got a response");

    let server = ChildServer::spawn(&url, &[]).await;
    let retry = client
        .post(server.url(REPORT))
        .basic_auth(&key, Some(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", "crash-key")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.headers().get("idempotent-replayed").unwrap(), "true");
    let json: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(json["amount_requested"]["value"], 4242);
    assert!(wait_for_records(&url, 1).await, "still exactly one record");
}
