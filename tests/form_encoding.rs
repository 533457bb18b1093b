//! Stripe's form encoding over HTTP: bodies and query strings, bracket nesting, arrays, the
//! decoding limits, typed parameter errors, and that malformed input is never a 5xx.
//!
//! Every request here fails validation before the lifecycle runs, so no test needs a stored
//! record.

mod common;

use common::{Resp, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REPORT_PAYMENT: &str = "/v1/payment_records/report_payment";
const FORM: &str = "application/x-www-form-urlencoded";
const BODY_BYTES_MAX: usize = 256 * 1024;

/// A complete report_payment; tests add one mistake to it.
const VALID_PAYMENT: [(&str, &str); 4] = [
    ("amount_requested[currency]", "usd"),
    ("amount_requested[value]", "1000"),
    ("initiated_at", "1730211300"),
    ("payment_method_details[type]", "custom"),
];

/// `VALID_PAYMENT` with `extra` added or replacing the same name.
fn payment_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = VALID_PAYMENT
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .copied()
        .collect();
    form.extend_from_slice(extra);
    form
}

async fn post_form(server: &TestServer, body: &str) -> Resp {
    server.post_raw(REPORT_PAYMENT, FORM, body.as_bytes().to_vec()).await
}

/// A Stripe-shaped 400: JSON body, `invalid_request_error`, Stripe's headers.
fn assert_bad_request(r: &Resp) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("request-id").is_some_and(|id| id.starts_with("req_")));
}

fn assert_error(r: &Resp, code: &str, param: &str, message: &str) {
    assert_bad_request(r);
    assert_eq!(r.error("code"), code, "{}", r.body);
    assert_eq!(r.error("param"), param, "{}", r.body);
    assert_eq!(r.error("message"), message, "{}", r.body);
}

fn assert_unknown(r: &Resp, param: &str) {
    assert_error(
        r,
        "parameter_unknown",
        param,
        &format!("Received unknown parameter: {param}"),
    );
}

/// 400 for input that cannot be decoded at all: no code, a message naming the problem.
fn assert_malformed(r: &Resp, message_part: &str) {
    assert_bad_request(r);
    assert!(r.error("code").is_null(), "{}", r.body);
    let message = r.error("message").as_str().unwrap_or_default();
    assert!(
        message.contains(message_part),
        "expected {message_part:?} in {message:?}"
    );
}

fn assert_invalid_param(r: &Resp, param: &str) {
    assert_bad_request(r);
    assert_eq!(r.error("param"), param, "{}", r.body);
    let code = r.error("code").as_str().unwrap_or_default();
    assert!(code.starts_with("parameter_invalid_"), "code {code:?}: {}", r.body);
}

// Unknown and missing parameters.

async fn an_unknown_parameter_is_rejected_by_its_full_path(server: TestServer) {
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("shipping_details[foo]", "1")]))
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

async fn an_unknown_top_level_parameter_is_rejected_by_name(server: TestServer) {
    assert_unknown(
        &server.post(REPORT_PAYMENT, &payment_with(&[("foo", "1")])).await,
        "foo",
    );
}

async fn an_unknown_parameter_deep_in_a_known_hash_is_named_by_its_whole_path(server: TestServer) {
    let form = payment_with(&[("payment_method_details[billing_details][address][planet]", "mars")]);
    let r = server.post(REPORT_PAYMENT, &form).await;
    assert_unknown(&r, "payment_method_details[billing_details][address][planet]");
}

async fn unknown_parameters_are_reported_before_missing_ones(server: TestServer) {
    assert_unknown(&server.post(REPORT_PAYMENT, &[("foo", "1")]).await, "foo");
}

async fn a_missing_amount_value_is_exactly_examples_case_9(server: TestServer) {
    let form = [
        ("amount_requested[currency]", "usd"),
        ("initiated_at", "1730211300"),
        ("payment_method_details[type]", "custom"),
    ];
    let r = server.post(REPORT_PAYMENT, &form).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"error": {
            "code": "parameter_missing",
            "doc_url": "https://stripe.com/docs/error-codes/parameter-missing",
            "message": "Missing required param: amount_requested[value].",
            "param": "amount_requested[value]",
            "type": "invalid_request_error",
        }})
    );
}

async fn an_empty_body_is_missing_its_first_required_parameter(server: TestServer) {
    let r = server.post_raw(REPORT_PAYMENT, FORM, Vec::new()).await;
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

async fn a_decimal_amount_is_an_invalid_integer(server: TestServer) {
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("amount_requested[value]", "12.5")]))
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

async fn anything_but_a_plain_64_bit_integer_is_an_invalid_integer(server: TestServer) {
    for value in ["abc", "1e3", "0x10", "12 ", "99999999999999999999", "1,000"] {
        let r = server
            .post(REPORT_PAYMENT, &payment_with(&[("amount_requested[value]", value)]))
            .await;
        assert_error(
            &r,
            "parameter_invalid_integer",
            "amount_requested[value]",
            &format!("Invalid integer: {value}"),
        );
    }
}

async fn a_value_outside_an_enum_is_rejected_with_its_param(server: TestServer) {
    let cases = [
        ("customer_presence", "sometimes"),
        ("outcome", "maybe"),
        ("payment_method_details[type]", "card"),
        ("processor_details[type]", "stripe"),
    ];
    for (param, value) in cases {
        let r = server.post(REPORT_PAYMENT, &payment_with(&[(param, value)])).await;
        assert_invalid_param(&r, param);
        assert!(
            r.error("message").as_str().unwrap_or_default().contains(param),
            "{}",
            r.body
        );
    }
}

async fn an_empty_description_is_parameter_invalid_empty(server: TestServer) {
    let r = server.post(REPORT_PAYMENT, &payment_with(&[("description", "")])).await;
    assert_bad_request(&r);
    assert_eq!(r.error("code"), "parameter_invalid_empty", "{}", r.body);
    assert_eq!(r.error("param"), "description");
}

async fn a_string_longer_than_5000_characters_is_rejected_with_its_param(server: TestServer) {
    let long = "x".repeat(5001);
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("description", &long)]))
        .await;
    assert_invalid_param(&r, "description");
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("shipping_details[name]", &long)]))
        .await;
    assert_invalid_param(&r, "shipping_details[name]");
}

async fn a_string_of_5000_characters_is_accepted_even_when_they_are_multibyte(server: TestServer) {
    for description in ["x".repeat(5000), "é".repeat(5000)] {
        // The description passes; the outcome read after it is what fails.
        let form = payment_with(&[("description", &description), ("outcome", "bogus")]);
        let r = server.post(REPORT_PAYMENT, &form).await;
        assert_invalid_param(&r, "outcome");
    }
}

async fn a_hash_where_a_string_is_expected_is_rejected(server: TestServer) {
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("description[a]", "1")]))
        .await;
    assert_invalid_param(&r, "description");
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("customer_presence[]", "on_session")]))
        .await;
    assert_invalid_param(&r, "customer_presence");
}

async fn a_string_where_a_hash_is_expected_is_rejected(server: TestServer) {
    let r = server
        .post(REPORT_PAYMENT, &payment_with(&[("shipping_details", "abc")]))
        .await;
    assert_invalid_param(&r, "shipping_details");
}

async fn expand_sent_as_a_plain_string_is_not_an_array(server: TestServer) {
    let r = server
        .post(
            REPORT_PAYMENT,
            &payment_with(&[("expand", "latest_payment_attempt_record")]),
        )
        .await;
    assert_invalid_param(&r, "expand");
}

// Expand.

async fn expanding_an_unknown_path_is_rejected_in_indexed_and_appended_form(server: TestServer) {
    for name in ["expand[0]", "expand[]"] {
        let r = server.post(REPORT_PAYMENT, &payment_with(&[(name, "bogus")])).await;
        assert_bad_request(&r);
        assert_eq!(
            r.error("message"),
            "This property cannot be expanded (bogus).",
            "{name}"
        );
        assert_eq!(r.error("param"), "expand");
    }
}

async fn every_expand_path_is_checked_not_just_the_first(server: TestServer) {
    let form = payment_with(&[
        ("expand[0]", "latest_payment_attempt_record"),
        ("expand[1]", "customer"),
    ]);
    let r = server.post(REPORT_PAYMENT, &form).await;
    assert_eq!(
        r.error("message"),
        "This property cannot be expanded (customer).",
        "{}",
        r.body
    );
}

async fn retrieve_checks_expand_before_looking_the_record_up(server: TestServer) {
    let r = server.get("/v1/payment_records/pr_x", &[("expand[]", "bogus")]).await;
    assert_bad_request(&r);
    assert_eq!(r.error("message"), "This property cannot be expanded (bogus).");
    let r = server
        .get(
            "/v1/payment_records/pr_x",
            &[("expand[0]", "data.latest_payment_attempt_record")],
        )
        .await;
    assert_eq!(
        r.error("message"),
        "This property cannot be expanded (data.latest_payment_attempt_record)."
    );
}

// Content types and sizes.

async fn a_json_body_is_a_stripe_400_not_a_500_nor_plain_text(server: TestServer) {
    let body = br#"{"amount_requested":{"currency":"usd","value":1000},"initiated_at":1730211300}"#;
    let r = server.post_raw(REPORT_PAYMENT, "application/json", body.to_vec()).await;
    assert_malformed(&r, "application/x-www-form-urlencoded");
}

async fn a_text_plain_body_is_a_stripe_400(server: TestServer) {
    let r = server
        .post_raw(REPORT_PAYMENT, "text/plain", b"amount_requested[value]=1".to_vec())
        .await;
    assert_malformed(&r, "application/x-www-form-urlencoded");
    let r = server
        .post_raw(REPORT_PAYMENT, "multipart/form-data; boundary=x", b"--x--".to_vec())
        .await;
    assert_malformed(&r, "application/x-www-form-urlencoded");
}

async fn a_form_content_type_with_a_charset_or_other_case_is_accepted(server: TestServer) {
    for content_type in [
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-URLEncoded",
    ] {
        let r = server.post_raw(REPORT_PAYMENT, content_type, b"foo=1".to_vec()).await;
        assert_unknown(&r, "foo");
    }
}

/// A form body of exactly `len` bytes: one long description.
fn body_of_len(len: usize) -> Vec<u8> {
    let mut body = b"description=".to_vec();
    body.resize(len, b'x');
    body
}

async fn a_body_over_256_kib_is_a_stripe_413(server: TestServer) {
    let r = server
        .post_raw(REPORT_PAYMENT, FORM, body_of_len(BODY_BYTES_MAX + 1))
        .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.error("message").as_str().unwrap_or_default().contains("262144"),
        "{}",
        r.body
    );
}

async fn a_body_of_exactly_256_kib_is_read_and_validated(server: TestServer) {
    let r = server.post_raw(REPORT_PAYMENT, FORM, body_of_len(BODY_BYTES_MAX)).await;
    assert_bad_request(&r);
}

/// Sends raw bytes and returns the status and body: for a chunked body, which the harness's
/// client cannot send.
async fn raw_http(server: &TestServer, request: Vec<u8>) -> (u16, String) {
    let address = server.base.strip_prefix("http://").expect("an http base");
    let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let write = async move {
        // The server may answer and stop reading before the whole body is sent.
        let _ = writer.write_all(&request).await;
        writer
    };
    let read = async move {
        let mut response = Vec::new();
        let _ = reader.read_to_end(&mut response).await;
        response
    };
    let (_writer, response) = tokio::join!(write, read);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn a_chunked_body_over_256_kib_is_a_413(server: TestServer) {
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:", server.test_key),
    );
    let mut request = format!(
        "POST {REPORT_PAYMENT} HTTP/1.1\r\nHost: payrec\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    let chunk = body_of_len(64 * 1024);
    for _ in 0..5 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw_http(&server, request).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("invalid_request_error"), "{body}");
}

// Decoding limits.

async fn nesting_deeper_than_8_levels_is_rejected(server: TestServer) {
    let r = post_form(&server, "shipping_details[a][b][c][d][e][f][g][h]=1").await;
    assert_malformed(&r, "nested too deeply");
    assert!(r.error("message").as_str().unwrap_or_default().contains('8'));
}

async fn nesting_of_exactly_8_levels_is_decoded(server: TestServer) {
    let r = post_form(&server, "shipping_details[a][b][c][d][e][f][g]=1").await;
    assert_unknown(&r, "shipping_details[a]");
}

fn many_params(n: usize) -> String {
    (0..n).map(|i| format!("p{i}=1")).collect::<Vec<_>>().join("&")
}

async fn more_than_1024_parameters_are_rejected(server: TestServer) {
    let r = post_form(&server, &many_params(1025)).await;
    assert_malformed(&r, "1024");
}

async fn exactly_1024_parameters_are_decoded(server: TestServer) {
    let r = post_form(&server, &many_params(1024)).await;
    assert_bad_request(&r);
    assert_eq!(r.error("code"), "parameter_unknown");
}

async fn a_parameter_name_over_512_bytes_is_rejected(server: TestServer) {
    let r = post_form(&server, &format!("{}=1", "a".repeat(513))).await;
    assert_malformed(&r, "512");
    let r = post_form(&server, &format!("{}=1", "a".repeat(512))).await;
    assert_eq!(r.error("code"), "parameter_unknown", "{}", r.body);
}

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

async fn invalid_utf8_is_rejected_whether_percent_encoded_or_raw(server: TestServer) {
    for body in [
        &b"description=%FF"[..],
        b"description=%C3",
        b"shipping%C0%AF=1",
        b"description=\xff\xfe",
    ] {
        let r = server.post_raw(REPORT_PAYMENT, FORM, body.to_vec()).await;
        assert_malformed(&r, "UTF-8");
    }
}

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
        &server.post(REPORT_PAYMENT, &[("shipping_details[fo o]", "1")]).await,
        "shipping_details[fo o]",
    );
}

async fn a_percent_encoded_plus_stays_a_plus(server: TestServer) {
    assert_unknown(
        &post_form(&server, "shipping_details[a%2Bb]=1").await,
        "shipping_details[a+b]",
    );
}

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

async fn percent_encoded_unicode_in_a_name_is_decoded(server: TestServer) {
    assert_unknown(
        &post_form(&server, "shipping_details[%C3%A9t%C3%A9]=1").await,
        "shipping_details[été]",
    );
}

async fn empty_pairs_are_skipped_and_a_name_without_equals_is_a_parameter(server: TestServer) {
    assert_unknown(&post_form(&server, "&&foo&").await, "foo");
}

// Query strings decode the same way.

async fn a_non_integer_limit_in_the_query_is_an_invalid_integer(server: TestServer) {
    let r = server.get("/v1/payment_records", &[("limit", "abc")]).await;
    assert_error(&r, "parameter_invalid_integer", "limit", "Invalid integer: abc");
}

async fn a_limit_outside_1_to_100_is_rejected(server: TestServer) {
    for limit in ["0", "101", "-1", "1000000"] {
        let r = server.get("/v1/payment_records", &[("limit", limit)]).await;
        assert_bad_request(&r);
        assert_eq!(r.error("param"), "limit", "limit={limit}: {}", r.body);
    }
}

async fn a_limit_of_1_or_100_is_accepted(server: TestServer) {
    for limit in ["1", "100"] {
        let r = server.get("/v1/payment_records", &[("limit", limit)]).await;
        assert_eq!(r.status, 200, "limit={limit}: {}", r.body);
        assert_eq!(
            r.json,
            json!({"object": "list", "data": [], "has_more": false, "url": "/v1/payment_records"})
        );
    }
}

async fn starting_after_and_ending_before_exclude_each_other(server: TestServer) {
    let r = server
        .get(
            "/v1/payment_records",
            &[("starting_after", "pr_a"), ("ending_before", "pr_b")],
        )
        .await;
    assert_bad_request(&r);
    assert_eq!(r.error("code"), "parameters_exclusive");
    let message = r.error("message").as_str().unwrap_or_default();
    assert!(
        message.contains("starting_after") && message.contains("ending_before"),
        "{message}"
    );
}

async fn an_unknown_query_parameter_is_rejected(server: TestServer) {
    assert_unknown(&server.get("/v1/payment_records", &[("foo", "1")]).await, "foo");
    assert_unknown(
        &server.get("/v1/payment_records/pr_x", &[("limit", "1")]).await,
        "limit",
    );
}

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

async fn a_query_string_over_16_kib_is_a_400(server: TestServer) {
    let r = server
        .get("/v1/payment_records", &[("foo", &"x".repeat(16 * 1024))])
        .await;
    assert_malformed(&r, "16384");
}

async fn list_timestamps_must_be_integers_in_range(server: TestServer) {
    let r = server
        .get("/v1/payment_records", &[("created_after", "yesterday")])
        .await;
    assert_error(
        &r,
        "parameter_invalid_integer",
        "created_after",
        "Invalid integer: yesterday",
    );
    let r = server.get("/v1/payment_records", &[("created_before", "-1")]).await;
    assert_invalid_param(&r, "created_before");
}

async fn listing_attempts_requires_a_payment_record(server: TestServer) {
    let r = server.get("/v1/payment_attempt_records", &[]).await;
    assert_error(
        &r,
        "parameter_missing",
        "payment_record",
        "Missing required param: payment_record.",
    );
}

// The sweep.

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
        let r = server.post_raw(REPORT_PAYMENT, content_type, body.clone()).await;
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

backend_tests!(
    an_unknown_parameter_is_rejected_by_its_full_path,
    an_unknown_top_level_parameter_is_rejected_by_name,
    an_unknown_parameter_deep_in_a_known_hash_is_named_by_its_whole_path,
    unknown_parameters_are_reported_before_missing_ones,
    a_missing_amount_value_is_exactly_examples_case_9,
    an_empty_body_is_missing_its_first_required_parameter,
    a_decimal_amount_is_an_invalid_integer,
    anything_but_a_plain_64_bit_integer_is_an_invalid_integer,
    a_value_outside_an_enum_is_rejected_with_its_param,
    an_empty_description_is_parameter_invalid_empty,
    a_string_longer_than_5000_characters_is_rejected_with_its_param,
    a_string_of_5000_characters_is_accepted_even_when_they_are_multibyte,
    a_hash_where_a_string_is_expected_is_rejected,
    a_string_where_a_hash_is_expected_is_rejected,
    expand_sent_as_a_plain_string_is_not_an_array,
    expanding_an_unknown_path_is_rejected_in_indexed_and_appended_form,
    every_expand_path_is_checked_not_just_the_first,
    retrieve_checks_expand_before_looking_the_record_up,
    a_json_body_is_a_stripe_400_not_a_500_nor_plain_text,
    a_text_plain_body_is_a_stripe_400,
    a_form_content_type_with_a_charset_or_other_case_is_accepted,
    a_body_over_256_kib_is_a_stripe_413,
    a_body_of_exactly_256_kib_is_read_and_validated,
    a_chunked_body_over_256_kib_is_a_413,
    nesting_deeper_than_8_levels_is_rejected,
    nesting_of_exactly_8_levels_is_decoded,
    more_than_1024_parameters_are_rejected,
    exactly_1024_parameters_are_decoded,
    a_parameter_name_over_512_bytes_is_rejected,
    invalid_percent_encoding_is_rejected,
    invalid_utf8_is_rejected_whether_percent_encoded_or_raw,
    malformed_parameter_names_are_rejected,
    a_parameter_that_is_both_a_string_and_a_hash_is_rejected,
    plus_and_percent_20_both_decode_to_a_space,
    a_percent_encoded_plus_stays_a_plus,
    brackets_work_both_raw_and_percent_encoded,
    raw_and_percent_encoded_brackets_fill_the_same_hash,
    percent_encoded_unicode_in_a_name_is_decoded,
    empty_pairs_are_skipped_and_a_name_without_equals_is_a_parameter,
    a_non_integer_limit_in_the_query_is_an_invalid_integer,
    a_limit_outside_1_to_100_is_rejected,
    a_limit_of_1_or_100_is_accepted,
    starting_after_and_ending_before_exclude_each_other,
    an_unknown_query_parameter_is_rejected,
    a_query_string_decodes_like_a_body,
    a_malformed_query_string_is_a_400,
    a_query_string_over_16_kib_is_a_400,
    list_timestamps_must_be_integers_in_range,
    listing_attempts_requires_a_payment_record,
    no_malformed_input_is_ever_a_5xx,
);
