//! Stripe's form encoding over HTTP: bracket nesting, arrays, percent-decoding, typed
//! parameter errors, and that malformed input is never a 5xx.
//!
//! Every request here fails validation before the lifecycle runs, so no test needs a stored
//! record.

use crate::common::backend_test;
use crate::common::form::*;
use crate::common::{Api, TestServer};
use serde_json::json;

#[backend_test]
async fn an_unknown_parameter_is_rejected_by_its_full_path(server: TestServer) {
    let r = server
        .report_payment(&payment_with(&[("shipping_details[foo]", "1")]))
        .await;
    assert_eq!(
        r.json,
        json!({"error": {
            "code": "parameter_unknown",
            "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
            "message": "Received unknown parameter: shipping_details[foo]",
            "param": "shipping_details[foo]",
            "type": "invalid_request_error",
        }})
    );
    assert_eq!(r.status, 400);
}

#[backend_test]
async fn an_unknown_top_level_parameter_is_rejected_by_name(server: TestServer) {
    assert_unknown(&server.report_payment(&payment_with(&[("foo", "1")])).await, "foo");
}

#[backend_test]
async fn an_unknown_parameter_deep_in_a_known_hash_is_named_by_its_whole_path(server: TestServer) {
    let form = payment_with(&[("payment_method_details[billing_details][address][planet]", "mars")]);
    let r = server.report_payment(&form).await;
    assert_unknown(&r, "payment_method_details[billing_details][address][planet]");
}

#[backend_test]
async fn unknown_parameters_are_reported_before_missing_ones(server: TestServer) {
    assert_unknown(&server.report_payment(&[("foo", "1")]).await, "foo");
}

#[backend_test]
async fn a_missing_amount_value_is_exactly_examples_case_9(server: TestServer) {
    assert_examples_case_9(&server.report_payment(&WITHOUT_AMOUNT_VALUE).await);
}

#[backend_test]
async fn an_empty_body_is_missing_its_first_required_parameter(server: TestServer) {
    let r = server.report_payment_raw(FORM, Vec::new()).await;
    assert_error(
        &r,
        "parameter_missing",
        "amount_requested",
        "Missing required param: amount_requested.",
    );
    let r = post_form(&server, "&&&").await;
    assert_error(
        &r,
        "parameter_missing",
        "amount_requested",
        "Missing required param: amount_requested.",
    );
}

// Typed values.

#[backend_test]
async fn a_decimal_amount_is_an_invalid_integer(server: TestServer) {
    let r = server
        .report_payment(&payment_with(&[("amount_requested[value]", "12.5")]))
        .await;
    assert_error(
        &r,
        "parameter_invalid_integer",
        "amount_requested[value]",
        "Invalid integer: 12.5",
    );
    assert_eq!(
        r.error("doc_url"),
        "https://stripe.com/docs/error-codes/parameter-invalid-integer"
    );
}

#[backend_test]
async fn anything_but_a_plain_64_bit_integer_is_an_invalid_integer(server: TestServer) {
    for value in ["abc", "1e3", "0x10", "12 ", "99999999999999999999", "1,000"] {
        let r = server
            .report_payment(&payment_with(&[("amount_requested[value]", value)]))
            .await;
        assert_error(
            &r,
            "parameter_invalid_integer",
            "amount_requested[value]",
            &format!("Invalid integer: {value}"),
        );
    }
}

#[backend_test]
async fn a_value_outside_an_enum_is_rejected_with_its_param(server: TestServer) {
    let cases = [
        ("customer_presence", "sometimes"),
        ("outcome", "maybe"),
        ("payment_method_details[type]", "card"),
        ("processor_details[type]", "stripe"),
    ];
    for (param, value) in cases {
        let r = server.report_payment(&payment_with(&[(param, value)])).await;
        assert_invalid_param(&r, param);
        assert!(
            r.error("message").as_str().unwrap_or_default().contains(param),
            "{}",
            r.body
        );
    }
}

#[backend_test]
async fn an_empty_description_is_parameter_invalid_empty(server: TestServer) {
    let r = server.report_payment(&payment_with(&[("description", "")])).await;
    assert_bad_request(&r);
    assert_eq!(r.error("code"), "parameter_invalid_empty", "{}", r.body);
    assert_eq!(r.error("param"), "description");
}

#[backend_test]
async fn a_string_longer_than_5000_characters_is_rejected_with_its_param(server: TestServer) {
    let long = "x".repeat(5001);
    let r = server.report_payment(&payment_with(&[("description", &long)])).await;
    assert_invalid_param(&r, "description");
    let r = server
        .report_payment(&payment_with(&[("shipping_details[name]", &long)]))
        .await;
    assert_invalid_param(&r, "shipping_details[name]");
}

#[backend_test]
async fn a_string_of_5000_characters_is_accepted_even_when_they_are_multibyte(server: TestServer) {
    for description in ["x".repeat(5000), "é".repeat(5000)] {
        // The description passes; the outcome read after it is what fails.
        let form = payment_with(&[("description", &description), ("outcome", "bogus")]);
        let r = server.report_payment(&form).await;
        assert_invalid_param(&r, "outcome");
    }
}

#[backend_test]
async fn a_hash_where_a_string_is_expected_is_rejected(server: TestServer) {
    let r = server.report_payment(&payment_with(&[("description[a]", "1")])).await;
    assert_invalid_param(&r, "description");
    let r = server
        .report_payment(&payment_with(&[("customer_presence[]", "on_session")]))
        .await;
    assert_invalid_param(&r, "customer_presence");
}

#[backend_test]
async fn a_string_where_a_hash_is_expected_is_rejected(server: TestServer) {
    let r = server
        .report_payment(&payment_with(&[("shipping_details", "abc")]))
        .await;
    assert_invalid_param(&r, "shipping_details");
}

#[backend_test]
async fn expand_sent_as_a_plain_string_is_not_an_array(server: TestServer) {
    let r = server
        .report_payment(&payment_with(&[("expand", "latest_payment_attempt_record")]))
        .await;
    assert_invalid_param(&r, "expand");
}

// Expand.

#[backend_test]
async fn expanding_an_unknown_path_is_rejected_in_indexed_and_appended_form(server: TestServer) {
    for name in ["expand[0]", "expand[]"] {
        let r = server.report_payment(&payment_with(&[(name, "bogus")])).await;
        assert_bad_request(&r);
        assert_eq!(
            r.error("message"),
            "This property cannot be expanded (bogus).",
            "{name}"
        );
        assert_eq!(r.error("param"), "expand");
    }
}

/// payrec's extensions on: the first path is one Stripe does not expand.
fn extensions() -> payrec::ServerConfig {
    crate::common::with_extensions()
}

#[backend_test(config = extensions)]
async fn every_expand_path_is_checked_not_just_the_first(server: TestServer) {
    let form = payment_with(&[
        ("expand[0]", "latest_payment_attempt_record"),
        ("expand[1]", "customer"),
    ]);
    let r = server.report_payment(&form).await;
    assert_eq!(
        r.error("message"),
        "This property cannot be expanded (customer).",
        "{}",
        r.body
    );
}

#[backend_test]
async fn retrieve_checks_expand_before_looking_the_record_up(server: TestServer) {
    let r = server.retrieve_record("pr_x", &[("expand[]", "bogus")]).await;
    assert_bad_request(&r);
    assert_eq!(r.error("message"), "This property cannot be expanded (bogus).");
    let r = server
        .retrieve_record("pr_x", &[("expand[0]", "data.latest_payment_attempt_record")])
        .await;
    assert_eq!(
        r.error("message"),
        "This property cannot be expanded (data.latest_payment_attempt_record)."
    );
}

// Content types and sizes.

#[backend_test]
async fn invalid_percent_encoding_is_rejected(server: TestServer) {
    for body in [
        "description=%ZZ",
        "description=%",
        "description=abc%4",
        "descr%G1ption=x",
        "description=%%41",
    ] {
        let r = post_form(&server, body).await;
        assert_malformed(&r, "percent-encoding");
    }
}

#[backend_test]
async fn invalid_utf8_is_rejected_whether_percent_encoded_or_raw(server: TestServer) {
    for body in [
        &b"description=%FF"[..],
        b"description=%C3",
        b"shipping%C0%AF=1",
        b"description=\xff\xfe",
    ] {
        let r = server.report_payment_raw(FORM, body.to_vec()).await;
        assert_malformed(&r, "UTF-8");
    }
}

#[backend_test]
async fn malformed_parameter_names_are_rejected(server: TestServer) {
    for body in [
        "a]=1",
        "[a]=1",
        "=1",
        "a[b=1",
        "a[b]c=1",
        "a[][b]=1",
        "a[b[c]]=1",
        "a[b]]=1",
    ] {
        let r = post_form(&server, body).await;
        assert_malformed(&r, "Invalid parameter name");
    }
}

#[backend_test]
async fn a_parameter_that_is_both_a_string_and_a_hash_is_rejected(server: TestServer) {
    for body in [
        "shipping_details=x&shipping_details[name]=y",
        "shipping_details[name]=y&shipping_details=x",
        "expand[]=a&expand[0]=b",
        "expand[0]=a&expand[]=b",
        "shipping_details[name]=y&shipping_details[name][first]=z",
    ] {
        let r = post_form(&server, body).await;
        assert_malformed(&r, "conflicts");
    }
}

// What decodes to what.

#[backend_test]
async fn plus_and_percent_20_both_decode_to_a_space(server: TestServer) {
    assert_unknown(
        &post_form(&server, "shipping_details[fo+o]=1").await,
        "shipping_details[fo o]",
    );
    assert_unknown(
        &post_form(&server, "shipping_details[fo%20o]=1").await,
        "shipping_details[fo o]",
    );
    assert_unknown(
        &server.report_payment(&[("shipping_details[fo o]", "1")]).await,
        "shipping_details[fo o]",
    );
}

#[backend_test]
async fn a_percent_encoded_plus_stays_a_plus(server: TestServer) {
    assert_unknown(
        &post_form(&server, "shipping_details[a%2Bb]=1").await,
        "shipping_details[a+b]",
    );
}

#[backend_test]
async fn brackets_work_both_raw_and_percent_encoded(server: TestServer) {
    assert_unknown(
        &post_form(&server, "shipping_details[foo]=1").await,
        "shipping_details[foo]",
    );
    assert_unknown(
        &post_form(&server, "shipping_details%5Bfoo%5D=1").await,
        "shipping_details[foo]",
    );
    assert_unknown(
        &post_form(&server, "shipping_details%5bfoo%5d=1").await,
        "shipping_details[foo]",
    );
}

#[backend_test]
async fn raw_and_percent_encoded_brackets_fill_the_same_hash(server: TestServer) {
    let body = "amount_requested[currency]=usd&amount_requested%5Bvalue%5D=12.5\
                &initiated_at=1730211300&payment_method_details%5Btype%5D=custom";
    let r = post_form(&server, body).await;
    assert_error(
        &r,
        "parameter_invalid_integer",
        "amount_requested[value]",
        "Invalid integer: 12.5",
    );
}

#[backend_test]
async fn percent_encoded_unicode_in_a_name_is_decoded(server: TestServer) {
    assert_unknown(
        &post_form(&server, "shipping_details[%C3%A9t%C3%A9]=1").await,
        "shipping_details[été]",
    );
}

#[backend_test]
async fn empty_pairs_are_skipped_and_a_name_without_equals_is_a_parameter(server: TestServer) {
    assert_unknown(&post_form(&server, "&&foo&").await, "foo");
}

// Query strings decode the same way.

#[backend_test]
async fn no_malformed_input_is_ever_a_5xx(server: TestServer) {
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (FORM, b"%".to_vec()),
        (FORM, b"=".to_vec()),
        (FORM, b"[]=1".to_vec()),
        (FORM, b"a[]=1&a=2".to_vec()),
        (FORM, b"metadata[]=1".to_vec()),
        (FORM, b"metadata[a][b]=1".to_vec()),
        (FORM, b"expand[x]=1".to_vec()),
        (FORM, b"expand[0][0]=1".to_vec()),
        (FORM, b"amount_requested=&amount_requested[value]=1".to_vec()),
        (FORM, b"\0=\0".to_vec()),
        (FORM, vec![0xff; 64]),
        (
            FORM,
            b"amount_requested[value]=-1&amount_requested[currency]=usd".to_vec(),
        ),
        (
            FORM,
            b"initiated_at=99999999999999&amount_requested[value]=1&amount_requested[currency]=usd".to_vec(),
        ),
        ("application/json", b"{".to_vec()),
        ("application/octet-stream", vec![0, 1, 2, 3]),
        ("", b"a=1".to_vec()),
    ];
    for (content_type, body) in bodies {
        let r = server.report_payment_raw(content_type, body.clone()).await;
        assert!(
            (400..500).contains(&r.status) && r.error("type") == "invalid_request_error",
            "{content_type} {:?} → {} {}",
            String::from_utf8_lossy(&body),
            r.status,
            r.body
        );
    }
    let queries = [
        "?%",
        "?=",
        "?limit=",
        "?limit[]=1",
        "?expand=x",
        "?starting_after[a]=1",
        "?created_after=1e9",
    ];
    for query in queries {
        let r = server.get(&format!("/v1/payment_records{query}"), &[]).await;
        assert!(
            (400..500).contains(&r.status) && r.error("type") == "invalid_request_error",
            "GET {query} → {} {}",
            r.status,
            r.body
        );
    }
}
