//! The OpenAPI document (issue 9): generated from the code, committed as `openapi.json`, served
//! at `GET /openapi.json`, and true to what the server answers, checked here against real
//! responses and by schemathesis against the live server.

mod schema;
mod schemathesis;

use crate::common::backend_test;
use std::path::PathBuf;

use crate::common::{Api, Auth, Report, Resp, TestServer, in_ci};
use payrec::openapi::{document, document_text};
use serde_json::Value;

/// How to bring the committed document up to date.
const REGENERATE: &str = "PAYREC_WRITE_OPENAPI=1 cargo test --test api openapi::";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn the_committed_openapi_json_is_what_the_code_generates() {
    let generated = document_text();
    if std::env::var("PAYREC_WRITE_OPENAPI").is_ok_and(|v| v == "1") {
        assert!(!in_ci(), "CI checks openapi.json; it does not rewrite it");
        std::fs::write(committed_path(), &generated).expect("write openapi.json");
        eprintln!("wrote {}", committed_path().display());
        return;
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    if committed == generated {
        return;
    }
    let line = committed
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
    panic!(
        "openapi.json differs from what the code generates (first at line {}):\n  committed: {}\n  generated: {}\n\
         Regenerate it with\n    {REGENERATE}\nand commit the result.",
        line + 1,
        committed.lines().nth(line).unwrap_or("<end of file>"),
        generated.lines().nth(line).unwrap_or("<end of file>"),
    );
}

#[tokio::test]
async fn get_openapi_json_serves_the_document_without_a_key() {
    let server = TestServer::start().await;
    let r = server.openapi().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, document_text());
    assert_eq!(r.json["openapi"], "3.1.0");
    assert_eq!(r.json["info"]["version"], env!("CARGO_PKG_VERSION"));
}

/// Checks `r` against what the document promises for `method path` at `r.status`.
fn assert_documented(document: &Value, method: &str, path: &str, r: &Resp) {
    let operation = &document["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is not in the document");
    let response = &operation["responses"][r.status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} answered {}, which the document does not list: {}",
        r.status,
        r.body
    );
    let schema = &response["content"]["application/json"]["schema"];
    let violations = schema::violations(document, schema, &r.json);
    assert!(
        violations.is_empty(),
        "{method} {path} {}: the response breaks the document:\n{}\n{}",
        r.status,
        violations.join("\n"),
        r.body
    );
}

const FULL_REPORT: &[(&str, &str)] = &[
    ("amount_requested[currency]", "eur"),
    ("amount_requested[value]", "2500"),
    ("initiated_at", "1730211300"),
    ("customer_details[customer]", "cus_123"),
    ("customer_details[email]", "jenny@example.com"),
    ("customer_details[name]", "Jenny Rosen"),
    ("customer_details[phone]", "+15555550100"),
    ("customer_presence", "on_session"),
    ("description", "Order 42"),
    ("metadata[order]", "42"),
    ("outcome", "guaranteed"),
    ("guaranteed[guaranteed_at]", "1730211400"),
    ("payment_method_details[billing_details][address][city]", "Berlin"),
    ("payment_method_details[billing_details][address][country]", "de"),
    (
        "payment_method_details[billing_details][address][line1]",
        "Unter den Linden 1",
    ),
    ("payment_method_details[billing_details][address][line2]", "Floor 2"),
    ("payment_method_details[billing_details][address][postal_code]", "10117"),
    ("payment_method_details[billing_details][address][state]", "BE"),
    ("payment_method_details[billing_details][email]", "jenny@example.com"),
    ("payment_method_details[billing_details][name]", "Jenny Rosen"),
    ("payment_method_details[billing_details][phone]", "+15555550100"),
    ("payment_method_details[custom][display_name]", "Gift card"),
    ("payment_method_details[custom][type]", "gift_card"),
    ("payment_method_details[payment_method]", "pm_123"),
    ("payment_method_details[type]", "custom"),
    ("processor_details[type]", "custom"),
    ("processor_details[custom][payment_reference]", "ref_42"),
    ("shipping_details[address][city]", "Berlin"),
    ("shipping_details[address][country]", "DE"),
    ("shipping_details[name]", "Jenny Rosen"),
    ("shipping_details[phone]", "+15555550100"),
    ("expand[]", "latest_payment_attempt_record"),
];

/// Reports the fully populated payment (guaranteed, expanded), refunds part of it, unsets its
/// details and breaks a lifecycle rule; returns the record's and its attempt's ids.
async fn report_refund_and_unset(server: &TestServer, doc: &Value) -> (String, String) {
    let record = server.report_payment(FULL_REPORT).await;
    assert_eq!(record.status, 200, "{}", record.body);
    assert_documented(doc, "post", "/v1/payment_records/report_payment", &record);
    let id = record.json["id"].as_str().expect("id").to_owned();
    let attempt = record.json["latest_payment_attempt_record"]["id"]
        .as_str()
        .expect("expanded");
    let refund = [
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", "refund_1"),
        ("amount[currency]", "eur"),
        ("amount[value]", "500"),
        ("refunded[refunded_at]", "1730211500"),
        ("metadata[reason]", "damaged"),
    ];
    let r = server.report_refund(&id, &refund).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_documented(doc, "post", "/v1/payment_records/{id}/report_refund", &r);
    let unset = [("description", ""), ("shipping_details", ""), ("metadata", "")];
    let r = server.report_informational(&id, &unset).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let informational = "/v1/payment_records/{id}/report_payment_attempt_informational";
    assert_documented(doc, "post", informational, &r);
    let r = server.report_failed(&id, &[("failed_at", "1730211600")]).await;
    assert_eq!(r.status, 400, "a guaranteed attempt cannot fail: {}", r.body);
    assert_documented(
        doc,
        "post",
        "/v1/payment_records/{id}/report_payment_attempt_failed",
        &r,
    );
    (id, attempt.to_owned())
}

/// A payment canceled, retried, failed, retried and guaranteed; returns the record's id.
async fn retry_until_guaranteed(server: &TestServer, doc: &Value) -> String {
    let record = server.pending_payment(700).await;
    let id = record["id"].as_str().expect("id").to_owned();
    for (call, end, form) in [
        (
            Report::Canceled,
            "report_payment_attempt_canceled",
            [("canceled_at", "1730211400")],
        ),
        (
            Report::Attempt,
            "report_payment_attempt",
            [("initiated_at", "1730211500")],
        ),
        (
            Report::Failed,
            "report_payment_attempt_failed",
            [("failed_at", "1730211600")],
        ),
        (
            Report::Attempt,
            "report_payment_attempt",
            [("initiated_at", "1730211700")],
        ),
        (
            Report::Guaranteed,
            "report_payment_attempt_guaranteed",
            [("guaranteed_at", "1730211800")],
        ),
    ] {
        let r = server.report(&id, call, &form).await;
        assert_eq!(r.status, 200, "{end}: {}", r.body);
        assert_documented(doc, "post", &format!("/v1/payment_records/{{id}}/{end}"), &r);
    }
    id
}

/// The document describes payrec's extensions too (its expansions): answered with them on.
fn extensions() -> payrec::ServerConfig {
    crate::common::with_extensions()
}

/// Every endpoint, with every field rendered and every expansion, and some errors.
#[backend_test(config = extensions)]
async fn every_endpoint_answers_as_documented(server: TestServer) {
    let doc = document();
    let (id, attempt) = report_refund_and_unset(&server, &doc).await;
    let retried = retry_until_guaranteed(&server, &doc).await;
    for query in [&[][..], &[("expand[]", "latest_payment_attempt_record")][..]] {
        let r = server.retrieve_record(&id, query).await;
        assert_documented(&doc, "get", "/v1/payment_records/{id}", &r);
    }
    for query in [&[][..], &[("expand[]", "data.latest_payment_attempt_record")][..]] {
        let r = server.list_records(query).await;
        assert_eq!(r.json["data"].as_array().map(Vec::len), Some(2), "{}", r.body);
        assert_documented(&doc, "get", "/v1/payment_records", &r);
    }
    for query in [&[][..], &[("expand[]", "payment_record")][..]] {
        let r = server.retrieve_attempt(&attempt, query).await;
        assert_documented(&doc, "get", "/v1/payment_attempt_records/{id}", &r);
    }
    for query in [&[][..], &[("expand[]", "data.payment_record")][..]] {
        let r = server.list_attempts(&retried, query).await;
        assert_eq!(r.json["data"].as_array().map(Vec::len), Some(3), "{}", r.body);
        assert_documented(&doc, "get", "/v1/payment_attempt_records", &r);
    }
    let missing = server.retrieve_record("pr_nothing", &[]).await;
    assert_eq!(missing.status, 404);
    assert_documented(&doc, "get", "/v1/payment_records/{id}", &missing);
    let no_key = server.with_auth(Auth::None).list_records(&[]).await;
    assert_eq!(no_key.status, 401);
    assert_documented(&doc, "get", "/v1/payment_records", &no_key);
}

#[backend_test]
async fn schemathesis_finds_no_server_error_and_no_undocumented_response(server: TestServer) {
    schemathesis::run(&server).await;
}
