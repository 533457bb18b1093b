//! Report calls and assertions shared by the lifecycle and amounts suites.

use serde_json::Value;

use super::{Api, Report, Resp, TestServer};

/// After every attempt's `initiated_at` in the suites that settle attempts.
pub const SETTLED_AT: &str = "1730260000";
/// The `initiated_at` of the attempts reported after the first.
pub const RETRIED_AT: &str = "1730253425";
pub const OUTCOMES: [&str; 3] = ["guaranteed", "failed", "canceled"];

pub fn value_of(object: &Value, field: &str) -> i64 {
    object[field]["value"]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {object}"))
}

/// A pending payment of 1000 usd; returns its id.
pub async fn pending(server: &TestServer) -> String {
    super::id_of(&server.pending_payment(1000).await)
}

/// report_payment_attempt_<outcome> with `<outcome>_at` = `at`.
pub async fn report_outcome(server: &TestServer, id: &str, outcome: &str, at: &str) -> Resp {
    let key = format!("{outcome}_at");
    server.report(id, Report::outcome(outcome), &[(&key, at)]).await
}

/// The latest attempt takes `outcome`; returns the record.
pub async fn settle(server: &TestServer, id: &str, outcome: &str) -> Value {
    settle_with(server, id, outcome, &[]).await
}

/// `settle` with `extra` parameters.
pub async fn settle_with(server: &TestServer, id: &str, outcome: &str, extra: &[(&str, &str)]) -> Value {
    let key = format!("{outcome}_at");
    let mut form = vec![(key.as_str(), SETTLED_AT)];
    form.extend_from_slice(extra);
    let r = server.report(id, Report::outcome(outcome), &form).await;
    assert_eq!(r.status, 200, "{outcome}: {}", r.body);
    r.json
}

/// report_payment_attempt at `RETRIED_AT` with `extra`.
pub async fn new_attempt(server: &TestServer, id: &str, extra: &[(&str, &str)]) -> Resp {
    let mut form = vec![("initiated_at", RETRIED_AT)];
    form.extend_from_slice(extra);
    server.report_attempt(id, &form).await
}

/// report_refund of `reference` with `extra` (by default the whole remainder).
pub async fn refund(server: &TestServer, id: &str, reference: &str, extra: &[(&str, &str)]) -> Resp {
    let mut form = vec![
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", reference),
    ];
    form.extend_from_slice(extra);
    server.report_refund(id, &form).await
}

/// A broken lifecycle rule: 400 `invalid_request_error` without a code, with a sentence.
pub fn assert_rule_broken(r: &Resp, message: Option<&str>, param: Option<&str>) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert!(
        r.json["error"].get("code").is_none(),
        "a lifecycle error has no code: {}",
        r.body
    );
    assert!(r.json["error"].get("doc_url").is_none(), "{}", r.body);
    let text = r.error("message").as_str().unwrap_or_default();
    assert!(text.ends_with('.') && text.len() > 20, "not a sentence: {}", r.body);
    if let Some(message) = message {
        assert_eq!(text, message);
    }
    assert_eq!(
        r.json["error"].get("param").and_then(Value::as_str),
        param,
        "{}",
        r.body
    );
}

/// A request error with `code` on `param`.
pub fn assert_param_error(r: &Resp, code: Option<&str>, param: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert_eq!(r.error("param"), param, "{}", r.body);
    assert_eq!(r.json["error"].get("code").and_then(Value::as_str), code, "{}", r.body);
}
