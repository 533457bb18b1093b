//! The test-data reset (issue 31): `POST /payrec/v1/test_data/reset` erases the calling
//! account's test-mode data and nothing else, and lives under payrec's own path namespace.

use crate::common::backend_test;

use reqwest::Method;
use serde_json::Value;

use crate::common::form::payment_with;
use crate::common::{Api, Client, Resp, TestServer, id_of};

const RESET: &str = "/payrec/v1/test_data/reset";

async fn reset(client: &Client, form: &[(&str, &str)]) -> Resp {
    client.request(Method::POST, RESET, client.auth(), form, &[]).await
}

async fn ids(client: &Client, path: &str) -> Vec<String> {
    let page = client.get(path, &[("limit", "100")]).await.ok();
    page["data"].as_array().expect("data").iter().map(id_of).collect()
}

/// A keyed payment, an endpoint and so events and deliveries: something of each kind.
async fn fill(client: &Client, key: &str) -> Value {
    let endpoint = client
        .create_webhook_endpoint(&[("url", "http://127.0.0.1:9/hook"), ("enabled_events[]", "*")])
        .await;
    assert_eq!(endpoint.status, 200, "{}", endpoint.body);
    let r = client
        .call(&crate::common::Endpoint::ReportPayment, &payment_with(&[]), Some(key))
        .await;
    r.ok()
}

#[backend_test]
async fn reset_erases_one_accounts_test_data_and_nothing_else(server: TestServer) {
    let test = server.with_key(&server.test_key);
    let live = server.with_key(&server.live_key);
    let other = server.with_key(&server.new_account_key(false).await);
    fill(&test, "same-key").await;
    let live_record = live.report_payment(&payment_with(&[])).await.ok();
    let other_record = fill(&other, "same-key").await;
    let r = reset(&test, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["object"], "test_data_reset");
    assert_eq!(r.json["livemode"], false);
    for (kind, at_least) in [
        ("payment_records", 1),
        ("payment_attempt_records", 1),
        ("events", 2),
        ("idempotency_keys", 1),
    ] {
        assert!(
            r.json["erased"][kind].as_u64().unwrap_or(0) >= at_least,
            "{kind}: {}",
            r.body
        );
    }
    assert!(ids(&test, "/v1/payment_records").await.is_empty());
    assert!(ids(&test, "/v1/events").await.is_empty());
    assert_eq!(
        ids(&test, "/v1/webhook_endpoints").await.len(),
        1,
        "endpoints stay unless asked"
    );
    assert_eq!(
        ids(&live, "/v1/payment_records").await,
        [id_of(&live_record)],
        "live mode untouched"
    );
    assert_eq!(
        ids(&other, "/v1/payment_records").await,
        [id_of(&other_record)],
        "another account untouched"
    );
    assert!(!ids(&other, "/v1/events").await.is_empty());
    // The key was erased with the rest: sent again with other parameters, it is a new request.
    let again = test
        .call(
            &crate::common::Endpoint::ReportPayment,
            &payment_with(&[("description", "new")]),
            Some("same-key"),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), None);
    // Another account's same key still replays its own answer.
    let replay = other
        .call(
            &crate::common::Endpoint::ReportPayment,
            &payment_with(&[]),
            Some("same-key"),
        )
        .await;
    assert_eq!(replay.ok(), other_record);
}

#[backend_test]
async fn reset_with_webhook_endpoints_erases_them_too(server: TestServer) {
    let test = server.with_key(&server.test_key);
    fill(&test, "k1").await;
    let r = reset(&test, &[("webhook_endpoints", "true")]).await;
    assert_eq!(r.json["erased"]["webhook_endpoints"], 1, "{}", r.body);
    assert!(ids(&test, "/v1/webhook_endpoints").await.is_empty());
    let r = reset(&test, &[]).await;
    assert_eq!(
        r.json["erased"]["payment_records"], 0,
        "a second reset erases nothing more"
    );
}

#[backend_test]
async fn a_live_key_cannot_reset(server: TestServer) {
    let live = server.with_key(&server.live_key);
    let record = live.report_payment(&payment_with(&[])).await.ok();
    let r = reset(&live, &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    assert_eq!(ids(&live, "/v1/payment_records").await, [id_of(&record)]);
    let unauthenticated = server
        .request(Method::POST, RESET, crate::common::Auth::None, &[], &[])
        .await;
    assert_eq!(unauthenticated.status, 401);
}

#[backend_test]
async fn reset_is_under_payrecs_own_namespace_never_a_stripe_path(server: TestServer) {
    let test = server.with_key(&server.test_key);
    for path in ["/v1/test_data/reset", "/v1/payrec/test_data/reset"] {
        let r = test.request(Method::POST, path, test.auth(), &[], &[]).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let unknown = reset(&test, &[("everything", "true")]).await;
    assert_eq!(unknown.error("code"), "parameter_unknown");
}
