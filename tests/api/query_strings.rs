//! Query strings on GET: decoded like bodies, with list parameters checked.

use crate::common::backend_test;
use crate::common::form::*;
use crate::common::{Api, Endpoint, TestServer};
use serde_json::json;

#[backend_test]
async fn a_non_integer_limit_in_the_query_is_an_invalid_integer(server: TestServer) {
    let r = server.list_records(&[("limit", "abc")]).await;
    assert_error(&r, "parameter_invalid_integer", "limit", "Invalid integer: abc");
}

#[backend_test]
async fn a_limit_outside_1_to_100_is_rejected(server: TestServer) {
    for limit in ["0", "101", "-1", "1000000"] {
        let r = server.list_records(&[("limit", limit)]).await;
        assert_bad_request(&r);
        assert_eq!(r.error("param"), "limit", "limit={limit}: {}", r.body);
    }
}

#[backend_test]
async fn a_limit_of_1_or_100_is_accepted(server: TestServer) {
    for limit in ["1", "100"] {
        let r = server.list_records(&[("limit", limit)]).await;
        assert_eq!(r.status, 200, "limit={limit}: {}", r.body);
        assert_eq!(
            r.json,
            json!({"object": "list", "data": [], "has_more": false, "url": "/v1/payment_records"})
        );
    }
}

#[backend_test]
async fn starting_after_and_ending_before_exclude_each_other(server: TestServer) {
    let r = server
        .list_records(&[("starting_after", "pr_a"), ("ending_before", "pr_b")])
        .await;
    assert_bad_request(&r);
    assert_eq!(r.error("code"), "parameters_exclusive");
    let message = r.error("message").as_str().unwrap_or_default();
    assert!(
        message.contains("starting_after") && message.contains("ending_before"),
        "{message}"
    );
}

#[backend_test]
async fn an_unknown_query_parameter_is_rejected(server: TestServer) {
    assert_unknown(&server.list_records(&[("foo", "1")]).await, "foo");
    assert_unknown(&server.retrieve_record("pr_x", &[("limit", "1")]).await, "limit");
}

#[backend_test]
async fn a_query_string_decodes_like_a_body(server: TestServer) {
    assert_unknown(&server.get("/v1/payment_records?fo+o%5Bb%20ar%5D=1", &[]).await, "fo o");
    let r = server.get("/v1/payment_records?expand%5B%5D=bogus", &[]).await;
    assert_eq!(
        r.error("message"),
        "This property cannot be expanded (bogus).",
        "{}",
        r.body
    );
    let r = server.get("/v1/payment_records?expand[0]=bogus", &[]).await;
    assert_eq!(
        r.error("message"),
        "This property cannot be expanded (bogus).",
        "{}",
        r.body
    );
    let r = server.get("/v1/payment_records?limit=1%32.5", &[]).await;
    assert_error(&r, "parameter_invalid_integer", "limit", "Invalid integer: 12.5");
}

#[backend_test]
async fn a_malformed_query_string_is_a_400(server: TestServer) {
    assert_malformed(
        &server.get("/v1/payment_records?limit=%ZZ", &[]).await,
        "percent-encoding",
    );
    assert_malformed(&server.get("/v1/payment_records?limit=%FF", &[]).await, "UTF-8");
    assert_malformed(
        &server.get("/v1/payment_records?a[b=1", &[]).await,
        "Invalid parameter name",
    );
    let deep = "/v1/payment_records?a[1][2][3][4][5][6][7][8]=1";
    assert_malformed(&server.get(deep, &[]).await, "nested too deeply");
}

#[backend_test]
async fn a_query_string_over_16_kib_is_a_400(server: TestServer) {
    let r = server.list_records(&[("foo", &"x".repeat(16 * 1024))]).await;
    assert_malformed(&r, "16384");
}

#[backend_test]
async fn list_timestamps_must_be_integers_in_range(server: TestServer) {
    let r = server.list_records(&[("created_after", "yesterday")]).await;
    assert_error(
        &r,
        "parameter_invalid_integer",
        "created_after",
        "Invalid integer: yesterday",
    );
    let r = server.list_records(&[("created_before", "-1")]).await;
    assert_invalid_param(&r, "created_before");
}

#[backend_test]
async fn listing_attempts_requires_a_payment_record(server: TestServer) {
    let r = server.call(&Endpoint::ListAttempts, &[], None).await;
    assert_error(
        &r,
        "parameter_missing",
        "payment_record",
        "Missing required param: payment_record.",
    );
}

// The sweep.
