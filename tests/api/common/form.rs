//! Report forms and the assertions on request errors that many suites share.

use serde_json::json;

use super::{Api, Resp, TestServer};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const BODY_BYTES_MAX: usize = 256 * 1024;

/// A complete report_payment; tests add one mistake to it.
pub const VALID_PAYMENT: [(&str, &str); 4] = [
    ("amount_requested[currency]", "usd"),
    ("amount_requested[value]", "1000"),
    ("initiated_at", "1730211300"),
    ("payment_method_details[type]", "custom"),
];

/// EXAMPLES.md case 9: a report_payment without `amount_requested[value]`.
pub const WITHOUT_AMOUNT_VALUE: [(&str, &str); 3] = [
    ("amount_requested[currency]", "usd"),
    ("initiated_at", "1730211300"),
    ("payment_method_details[type]", "custom"),
];

/// `VALID_PAYMENT` with `extra` added or replacing the same name.
pub fn payment_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = VALID_PAYMENT
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .copied()
        .collect();
    form.extend_from_slice(extra);
    form
}

pub async fn post_form(server: &TestServer, body: &str) -> Resp {
    server.report_payment_raw(FORM, body.as_bytes().to_vec()).await
}

/// The answer EXAMPLES.md documents for case 9, exactly.
pub fn assert_examples_case_9(r: &Resp) {
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

/// A Stripe-shaped 400: JSON body, `invalid_request_error`, Stripe's headers.
pub fn assert_bad_request(r: &Resp) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("request-id").is_some_and(|id| id.starts_with("req_")));
}

pub fn assert_error(r: &Resp, code: &str, param: &str, message: &str) {
    assert_bad_request(r);
    assert_eq!(r.error("code"), code, "{}", r.body);
    assert_eq!(r.error("param"), param, "{}", r.body);
    assert_eq!(r.error("message"), message, "{}", r.body);
}

pub fn assert_unknown(r: &Resp, param: &str) {
    assert_error(
        r,
        "parameter_unknown",
        param,
        &format!("Received unknown parameter: {param}"),
    );
}

/// 400 for input that cannot be decoded at all: no code, a message naming the problem.
pub fn assert_malformed(r: &Resp, message_part: &str) {
    assert_bad_request(r);
    assert!(r.error("code").is_null(), "{}", r.body);
    let message = r.error("message").as_str().unwrap_or_default();
    assert!(
        message.contains(message_part),
        "expected {message_part:?} in {message:?}"
    );
}

pub fn assert_invalid_param(r: &Resp, param: &str) {
    assert_bad_request(r);
    assert_eq!(r.error("param"), param, "{}", r.body);
    let code = r.error("code").as_str().unwrap_or_default();
    assert!(code.starts_with("parameter_invalid_"), "code {code:?}: {}", r.body);
}
