//! Assertions on report-call answers shared by the lifecycle suites.

use serde_json::Value;

use super::Resp;

pub fn value_of(object: &Value, field: &str) -> i64 {
    object[field]["value"]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {object}"))
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
