//! Stripe's response headers on every response, and Stripe's error shapes for unknown URLs,
//! wrong methods and unknown ids.

use crate::common::backend_test;
use std::collections::HashSet;

use crate::common::{Api, Auth, Report, Resp, TestServer};
use reqwest::Method;
use serde_json::json;

const DEFAULT_STRIPE_VERSION: &str = "2026-10-28.endive";

/// `req_` followed by exactly 14 ASCII letters or digits.
fn is_request_id(value: &str) -> bool {
    value
        .strip_prefix("req_")
        .is_some_and(|rest| rest.len() == 14 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn assert_stripe_headers(r: &Resp, stripe_version: &str) {
    let id = r.header("request-id").unwrap_or_default();
    assert!(
        is_request_id(id),
        "Request-Id {id:?} (status {}, body {})",
        r.status,
        r.body
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "status {}: {}",
        r.status,
        r.body
    );
    assert_eq!(r.header("stripe-version"), Some(stripe_version), "status {}", r.status);
}

/// The sorted keys of `error`.
fn error_keys(r: &Resp) -> Vec<String> {
    let mut keys: Vec<String> = r.json["error"]
        .as_object()
        .expect("an error object")
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

fn assert_unrecognized(r: &Resp, method: &str, path: &str) {
    assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    assert_eq!(
        r.json,
        json!({"error": {
            "message": format!("Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."),
            "type": "invalid_request_error",
        }}),
        "{method} {path}"
    );
    assert_stripe_headers(r, DEFAULT_STRIPE_VERSION);
}

fn assert_no_such_record(r: &Resp, id: &str) {
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error("code"), "resource_missing");
    assert_eq!(r.error("param"), "id");
    assert_eq!(r.error("type"), "invalid_request_error");
    assert_eq!(
        r.error("message").as_str(),
        Some(format!("No such payment_record: '{id}'").as_str())
    );
}

#[backend_test]
async fn the_health_check_carries_stripes_headers(server: TestServer) {
    let r = server.healthz().await;
    assert_eq!(r.status, 200, "{:?}", server.backend);
    assert_stripe_headers(&r, DEFAULT_STRIPE_VERSION);
}

#[backend_test]
async fn every_error_response_carries_request_id_content_type_and_stripe_version(server: TestServer) {
    let key = || Auth::Basic(server.test_key.clone());
    let cases = [
        (Method::GET, "/v1/payment_records/pr_x", key(), vec![], 404),
        (Method::GET, "/v1/payment_records/pr_x", Auth::None, vec![], 401),
        (
            Method::GET,
            "/v1/payment_records/pr_x",
            Auth::Bearer("sk_test_wrong0000".into()),
            vec![],
            401,
        ),
        (
            Method::POST,
            "/v1/payment_records/report_payment",
            key(),
            vec![("foo", "1")],
            400,
        ),
        (Method::GET, "/v1/foo", key(), vec![], 404),
        (Method::GET, "/v1/foo", Auth::None, vec![], 404),
        (Method::DELETE, "/v1/payment_records/pr_x", key(), vec![], 404),
    ];
    for (method, path, auth, form, status) in cases {
        let r = server.request(method.clone(), path, auth, &form, &[]).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_stripe_headers(&r, DEFAULT_STRIPE_VERSION);
        assert_eq!(r.error("type"), "invalid_request_error", "{method} {path}");
    }
}

#[backend_test]
async fn a_requests_known_stripe_version_is_echoed_on_every_answer_and_an_unknown_one_refused_first(
    server: TestServer,
) {
    for version in ["2025-10-29.clover", "2026-07-29.dahlia", "2026-11-18.endive"] {
        let headers = [("stripe-version", version)];
        let found = server
            .request(
                Method::GET,
                "/v1/payment_records/pr_x",
                Auth::Basic(server.test_key.clone()),
                &[],
                &headers,
            )
            .await;
        assert_eq!(found.status, 404);
        assert_stripe_headers(&found, version);
        let unauthenticated = server
            .request(Method::GET, "/v1/payment_records/pr_x", Auth::None, &[], &headers)
            .await;
        assert_eq!(unauthenticated.status, 401);
        assert_stripe_headers(&unauthenticated, version);
        let unknown_url = server.request(Method::GET, "/v1/foo", Auth::None, &[], &headers).await;
        assert_eq!(unknown_url.header("stripe-version"), Some(version));
    }
    for version in ["2020-08-27", "not a version"] {
        let headers = [("stripe-version", version)];
        let r = server
            .request(Method::GET, "/v1/payment_records/pr_x", Auth::None, &[], &headers)
            .await;
        assert_eq!(r.status, 400, "{version}: {}", r.body);
        assert_stripe_headers(&r, DEFAULT_STRIPE_VERSION);
    }
}

#[backend_test]
async fn the_health_check_echoes_the_stripe_version_too(server: TestServer) {
    let r = server
        .request(
            Method::GET,
            "/healthz",
            Auth::None,
            &[],
            &[("stripe-version", "2020-08-27")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("stripe-version"), Some("2020-08-27"));
}

#[backend_test]
async fn request_ids_differ_between_requests(server: TestServer) {
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let r = server.retrieve_record("pr_x", &[]).await;
        let id = r.header("request-id").expect("Request-Id").to_owned();
        assert!(is_request_id(&id), "{id}");
        assert!(seen.insert(id.clone()), "request id {id} was reused");
    }
}

#[backend_test]
async fn an_unknown_url_is_stripes_404(server: TestServer) {
    let r = server.get("/v1/foo", &[]).await;
    assert_unrecognized(&r, "GET", "/v1/foo");
    assert_eq!(error_keys(&r), ["message", "type"]);
}

#[backend_test]
async fn an_unknown_url_names_the_method_it_was_called_with(server: TestServer) {
    assert_unrecognized(&server.post("/v1/foo", &[("a", "b")]).await, "POST", "/v1/foo");
    assert_unrecognized(&server.get("/", &[]).await, "GET", "/");
    assert_unrecognized(
        &server.get("/v2/payment_records", &[]).await,
        "GET",
        "/v2/payment_records",
    );
    assert_unrecognized(
        &server.get("/v1/payment_records/pr_x/refunds", &[]).await,
        "GET",
        "/v1/payment_records/pr_x/refunds",
    );
}

#[backend_test]
async fn a_wrong_method_on_a_known_path_is_a_stripe_404_never_a_405(server: TestServer) {
    let cases = [
        (Method::DELETE, "/v1/payment_records/pr_x"),
        (Method::POST, "/v1/payment_records/pr_x"),
        (Method::PUT, "/v1/payment_records/report_payment"),
        (Method::PATCH, "/v1/payment_records/report_payment"),
        (Method::POST, "/v1/payment_records"),
        (Method::DELETE, "/v1/payment_records"),
        (Method::GET, "/v1/payment_records/pr_x/report_refund"),
        (Method::GET, "/v1/payment_records/pr_x/report_payment_attempt"),
        (Method::POST, "/v1/payment_attempt_records/par_x"),
        (Method::POST, "/v1/payment_attempt_records"),
        (Method::POST, "/healthz"),
    ];
    for (method, path) in cases {
        let r = server
            .request(method.clone(), path, Auth::Basic(server.test_key.clone()), &[], &[])
            .await;
        assert_unrecognized(&r, method.as_str(), path);
    }
}

#[backend_test]
async fn get_on_report_payment_is_a_stripe_404(server: TestServer) {
    let r = server.get("/v1/payment_records/report_payment", &[]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    assert_stripe_headers(&r, DEFAULT_STRIPE_VERSION);
}

#[backend_test]
async fn an_unknown_record_id_is_resource_missing_as_in_examples_case_10(server: TestServer) {
    let r = server.retrieve_record("pr_doesnotexist", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json,
        json!({"error": {
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such payment_record: 'pr_doesnotexist'",
            "param": "id",
            "type": "invalid_request_error",
        }})
    );
}

#[backend_test]
async fn an_unknown_id_of_300_characters_is_a_404_that_echoes_it(server: TestServer) {
    let id = format!("pr_{}", "a".repeat(297));
    let r = server.retrieve_record(&id, &[]).await;
    assert_no_such_record(&r, &id);
}

#[backend_test]
async fn an_unknown_id_of_ten_thousand_characters_is_a_404(server: TestServer) {
    let id = format!("pr_{}", "Z".repeat(10_000));
    let r = server.retrieve_record(&id, &[]).await;
    assert_no_such_record(&r, &id);
}

#[backend_test]
async fn an_id_that_does_not_look_like_a_record_id_is_a_404(server: TestServer) {
    for id in ["x", "par_x", "cus_123", "0", "PR_X"] {
        assert_no_such_record(&server.retrieve_record(id, &[]).await, id);
    }
}

#[backend_test]
async fn a_percent_encoded_unicode_id_is_decoded_and_echoed(server: TestServer) {
    let r = server
        .get("/v1/payment_records/pr_%C3%A9t%C3%A9%F0%9F%92%B3", &[])
        .await;
    assert_no_such_record(&r, "pr_été💳");
}

#[backend_test]
async fn a_nul_byte_in_an_id_is_a_404_not_a_500(server: TestServer) {
    let mut wrong = Vec::new();
    let requests = [
        (
            "GET",
            "/v1/payment_records/pr_%00",
            "No such payment_record: 'pr_\u{0}'",
        ),
        (
            "GET",
            "/v1/payment_attempt_records/par_%00",
            "No such payment_attempt_record: 'par_\u{0}'",
        ),
        (
            "GET",
            "/v1/payment_records?starting_after=pr_%00",
            "No such payment_record: 'pr_\u{0}'",
        ),
        (
            "GET",
            "/v1/payment_records?ending_before=pr_%00",
            "No such payment_record: 'pr_\u{0}'",
        ),
        (
            "GET",
            "/v1/payment_attempt_records?payment_record=pr_%00",
            "No such payment_record: 'pr_\u{0}'",
        ),
        (
            "POST",
            "/v1/payment_records/pr_%00/report_payment_attempt_informational",
            "No such payment_record: 'pr_\u{0}'",
        ),
    ];
    for (method, path, message) in requests {
        let r = if method == "GET" {
            server.get(path, &[]).await
        } else {
            server.post(path, &[]).await
        };
        if r.status != 404 || r.error("message") != message {
            wrong.push(format!(
                "{:?} {method} {path} → {} {}",
                server.backend, r.status, r.body
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[backend_test]
async fn an_id_that_is_not_utf8_is_a_404_not_a_500(server: TestServer) {
    let paths = [
        "/v1/payment_records/pr_%FF%FE",
        "/v1/payment_attempt_records/par_%C3",
        "/v1/payment_records/pr_%80/report_payment_attempt_informational",
    ];
    let mut wrong = Vec::new();
    for path in paths {
        let r = if path.ends_with("informational") {
            server.post(path, &[]).await
        } else {
            server.get(path, &[]).await
        };
        if r.status != 404 || r.error("code") != "resource_missing" || r.error("param") != "id" {
            wrong.push(format!("{:?} {path} → {} {}", server.backend, r.status, r.body));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[backend_test]
async fn an_id_is_percent_decoded_exactly_once(server: TestServer) {
    let r = server.get("/v1/payment_records/pr_%2541", &[]).await;
    assert_no_such_record(&r, "pr_%41");
    let r = server.get("/v1/payment_attempt_records/par_%252F", &[]).await;
    assert_eq!(
        r.error("message"),
        "No such payment_attempt_record: 'par_%2F'",
        "{}",
        r.body
    );
}

#[backend_test]
async fn an_id_with_quotes_slashes_and_sql_is_a_404_that_echoes_it(server: TestServer) {
    let r = server.get("/v1/payment_records/pr_x'%20OR%20'1'='1", &[]).await;
    assert_no_such_record(&r, "pr_x' OR '1'='1");
    let r = server.get("/v1/payment_records/pr_a%2Fb%3Fc%23d", &[]).await;
    assert_no_such_record(&r, "pr_a/b?c#d");
    let r = server.get("/v1/payment_records/pr_%25%2B+", &[]).await;
    assert_no_such_record(&r, "pr_%++");
}

#[backend_test]
async fn an_unknown_attempt_id_is_resource_missing_for_payment_attempt_record(server: TestServer) {
    let r = server.retrieve_attempt("par_x", &[]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        r.json,
        json!({"error": {
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such payment_attempt_record: 'par_x'",
            "param": "id",
            "type": "invalid_request_error",
        }})
    );
}

#[backend_test]
async fn an_unknown_attempt_id_of_any_characters_is_a_404(server: TestServer) {
    let r = server.get("/v1/payment_attempt_records/par_%C3%A9'%20x", &[]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error("message"), "No such payment_attempt_record: 'par_é' x'");
    let long = format!("par_{}", "9".repeat(500));
    let r = server.retrieve_attempt(&long, &[]).await;
    assert_eq!(
        r.error("message").as_str(),
        Some(format!("No such payment_attempt_record: '{long}'").as_str())
    );
}

#[backend_test]
async fn listing_the_attempts_of_an_unknown_record_is_a_404_on_param_payment_record(server: TestServer) {
    let r = server.list_attempts("pr_nope", &[]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error("code"), "resource_missing");
    assert_eq!(r.error("param"), "payment_record");
    assert_eq!(r.error("message"), "No such payment_record: 'pr_nope'");
}

/// payrec's extensions on: `ending_before` on the attempts list is one.
fn extensions() -> payrec::ServerConfig {
    crate::common::with_extensions()
}

/// The page is read before the record is looked up: an empty page or a refused cursor must
/// still answer for the record first.
#[backend_test(config = extensions)]
async fn listing_the_attempts_of_an_unknown_record_is_a_404_even_with_a_cursor_and_a_known_ones_empty_page_is_200(
    server: TestServer,
) {
    for cursor in [("starting_after", "par_nope"), ("ending_before", "par_nope")] {
        let r = server.list_attempts("pr_nope", &[cursor]).await;
        assert_eq!(r.status, 404, "{cursor:?}: {}", r.body);
        assert_eq!(r.error("param"), "payment_record", "{cursor:?}: {}", r.body);
    }
    let record = server.pending_payment(1000).await;
    let record_id = record["id"].as_str().expect("id");
    let attempt_id = record["latest_payment_attempt_record"].as_str().expect("attempt id");
    let r = server.list_attempts(record_id, &[("starting_after", attempt_id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["data"], json!([]), "{}", r.body);
    assert_eq!(r.json["has_more"], false, "{}", r.body);
}

#[backend_test]
async fn reporting_on_an_unknown_record_is_a_404(server: TestServer) {
    let cases: [(Report, &[(&str, &str)]); 6] = [
        (Report::Attempt, &[("initiated_at", "1730211300")]),
        (Report::Guaranteed, &[("guaranteed_at", "1730211300")]),
        (Report::Failed, &[("failed_at", "1730211300")]),
        (Report::Canceled, &[("canceled_at", "1730211300")]),
        (Report::Informational, &[("description", "x")]),
        (
            Report::Refund,
            &[
                ("outcome", "refunded"),
                ("processor_details[type]", "custom"),
                ("processor_details[custom][refund_reference]", "ref_1"),
            ],
        ),
    ];
    for (call, form) in cases {
        let r = server.report("pr_%C3%A9x", call, form).await;
        assert_no_such_record(&r, "pr_éx");
        assert_stripe_headers(&r, DEFAULT_STRIPE_VERSION);
    }
}

#[backend_test]
async fn error_bodies_link_the_doc_url_of_their_code(server: TestServer) {
    let cases = [
        (
            server.list_records(&[("limit", "abc")]).await,
            "parameter_invalid_integer",
        ),
        (server.list_records(&[("foo", "1")]).await, "parameter_unknown"),
        (
            server
                .list_records(&[("starting_after", "pr_a"), ("ending_before", "pr_b")])
                .await,
            "parameters_exclusive",
        ),
        (server.retrieve_record("pr_x", &[]).await, "resource_missing"),
        (server.report_payment(&[]).await, "parameter_missing"),
    ];
    for (r, code) in cases {
        assert_eq!(r.error("code"), code, "{}", r.body);
        let doc_url = format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"));
        assert_eq!(r.error("doc_url").as_str(), Some(doc_url.as_str()), "{}", r.body);
        assert!(r.error("param").is_string(), "{}", r.body);
        assert_eq!(error_keys(&r), ["code", "doc_url", "message", "param", "type"]);
    }
}

#[backend_test]
async fn errors_without_a_code_have_no_code_or_doc_url_keys_and_no_null_fields(server: TestServer) {
    let no_key = server.with_auth(Auth::None).list_records(&[]).await;
    assert_eq!(error_keys(&no_key), ["message", "type"]);
    let unknown_url = server.get("/v1/foo", &[]).await;
    assert_eq!(error_keys(&unknown_url), ["message", "type"]);
    let bad_expand = server.retrieve_record("pr_x", &[("expand[]", "bogus")]).await;
    assert_eq!(bad_expand.status, 400);
    assert_eq!(error_keys(&bad_expand), ["message", "param", "type"]);
    for r in [&no_key, &unknown_url, &bad_expand] {
        let fields = r.json["error"].as_object().expect("error object");
        assert!(fields.values().all(|v| !v.is_null()), "a null field: {}", r.body);
    }
}
