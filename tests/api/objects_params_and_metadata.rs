//! What a client may send, per API.md's parameter lists and conventions and the payrec rules
//! (docs/api.md): required report_payment params, `payment_method_details` and `processor_details`
//! types, `customer_presence`, lengths of emails and strings, countries, and metadata limits.

use crate::common::backend_test;
use crate::common::form::{WITHOUT_AMOUNT_VALUE, assert_examples_case_9, payment_with};
use crate::common::{Api, Resp, TestServer, id_of};
use serde_json::json;

/// A 400 on `param`, with `code` when given.
fn assert_rejected(r: &Resp, param: &str, code: Option<&str>) {
    assert_eq!(r.status, 400, "{param}: {}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert_eq!(r.error("param"), param, "{}", r.body);
    if let Some(code) = code {
        assert_eq!(r.error("code"), code, "{}", r.body);
    }
}

/// `n` metadata entries `metadata[k<i>]=v`.
fn metadata_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("metadata[k{i}]")).collect()
}

#[backend_test]
async fn report_payment_requires_amount_requested_initiated_at_and_payment_method_details(server: TestServer) {
    assert_examples_case_9(&server.report_payment(&WITHOUT_AMOUNT_VALUE).await);
    let full = payment_with(&[]);
    for (left_out, param) in [
        ("amount_requested[currency]", "amount_requested[currency]"),
        ("initiated_at", "initiated_at"),
        ("payment_method_details[type]", "payment_method_details"),
    ] {
        let form: Vec<(&str, &str)> = full.iter().copied().filter(|(k, _)| *k != left_out).collect();
        assert_rejected(&server.report_payment(&form).await, param, Some("parameter_missing"));
    }
    let form: Vec<(&str, &str)> = full.iter().copied().filter(|(k, _)| !k.starts_with("amount")).collect();
    assert_rejected(
        &server.report_payment(&form).await,
        "amount_requested",
        Some("parameter_missing"),
    );
    assert_eq!(server.list_records(&[]).await.json["data"], json!([]));
}

#[backend_test]
async fn payment_method_details_needs_a_type_or_a_payment_method(server: TestServer) {
    let form = payment_with(&[]);
    let mut form: Vec<(&str, &str)> = form
        .into_iter()
        .filter(|(k, _)| !k.starts_with("payment_method"))
        .collect();
    form.push(("payment_method_details[custom][display_name]", "newpay"));
    let r = server.report_payment(&form).await;
    assert_rejected(&r, "payment_method_details[type]", Some("parameter_missing"));
    assert_eq!(
        r.error("message"),
        "Missing required param: payment_method_details[type]."
    );
}

#[backend_test]
async fn payment_method_details_type_defaults_to_custom_given_only_a_payment_method(server: TestServer) {
    let form = payment_with(&[]);
    let mut form: Vec<(&str, &str)> = form
        .into_iter()
        .filter(|(k, _)| !k.starts_with("payment_method"))
        .collect();
    form.push(("payment_method_details[payment_method]", "pm_123"));
    let record = server.report_payment(&form).await.ok();
    assert_eq!(
        record["payment_method_details"],
        json!({"billing_details": null, "custom": null, "payment_method": "pm_123", "type": "custom"})
    );
}

#[backend_test]
async fn payment_method_details_type_may_only_be_custom(server: TestServer) {
    for kind in ["card", "Custom", ""] {
        let r = server
            .report_payment(&payment_with(&[("payment_method_details[type]", kind)]))
            .await;
        assert_rejected(&r, "payment_method_details[type]", None);
    }
}

#[backend_test]
async fn processor_details_type_must_be_custom(server: TestServer) {
    for kind in ["stripe", "CUSTOM"] {
        let r = server
            .report_payment(&payment_with(&[("processor_details[type]", kind)]))
            .await;
        assert_rejected(&r, "processor_details[type]", Some("parameter_invalid_enum"));
    }
    let r = server
        .report_payment(&payment_with(&[(
            "processor_details[custom][payment_reference]",
            "ref",
        )]))
        .await;
    assert_rejected(&r, "processor_details[type]", Some("parameter_missing"));
    let record = server
        .report_payment(&payment_with(&[("processor_details[type]", "custom")]))
        .await
        .ok();
    assert_eq!(record["processor_details"], json!({"type": "custom", "custom": null}));
}

#[backend_test]
async fn customer_presence_is_on_session_or_off_session(server: TestServer) {
    for presence in ["on_session", "off_session"] {
        let record = server
            .report_payment(&payment_with(&[("customer_presence", presence)]))
            .await
            .ok();
        assert_eq!(record["customer_presence"], presence);
    }
    for presence in ["ON_SESSION", "online", "offline"] {
        let r = server
            .report_payment(&payment_with(&[("customer_presence", presence)]))
            .await;
        assert_rejected(&r, "customer_presence", Some("parameter_invalid_enum"));
    }
}

#[backend_test]
async fn an_email_may_be_800_characters_but_not_801(server: TestServer) {
    let email = |n: usize| format!("{}@example.com", "a".repeat(n - "@example.com".len()));
    let (longest, too_long) = (email(800), email(801));
    let id = id_of(&server.pending_payment(1000).await);
    for param in [
        "customer_details[email]",
        "payment_method_details[billing_details][email]",
    ] {
        let record = server.report_payment(&payment_with(&[(param, &longest)])).await.ok();
        assert!(record.to_string().contains(&longest), "{param} kept whole");
        let r = server.report_payment(&payment_with(&[(param, &too_long)])).await;
        assert_rejected(&r, param, Some("parameter_invalid_string_length"));
    }
    let longest_email = [("customer_details[email]", longest.as_str())];
    server.report_informational(&id, &longest_email).await.ok();
    let r = server
        .report_informational(&id, &[("customer_details[email]", &too_long)])
        .await;
    assert_rejected(&r, "customer_details[email]", Some("parameter_invalid_string_length"));
}

#[backend_test]
async fn other_strings_may_be_5000_characters_but_not_5001(server: TestServer) {
    let (longest, too_long) = ("d".repeat(5000), "d".repeat(5001));
    for param in ["description", "shipping_details[name]", "customer_details[name]"] {
        server.report_payment(&payment_with(&[(param, &longest)])).await.ok();
        let r = server.report_payment(&payment_with(&[(param, &too_long)])).await;
        assert_rejected(&r, param, Some("parameter_invalid_string_length"));
    }
}

#[backend_test]
async fn a_country_is_a_two_letter_code_stored_uppercase(server: TestServer) {
    let shipping = "shipping_details[address][country]";
    let billing = "payment_method_details[billing_details][address][country]";
    let record = server
        .report_payment(&payment_with(&[(shipping, "de"), (billing, "Fr")]))
        .await
        .ok();
    assert_eq!(record["shipping_details"]["address"]["country"], "DE");
    assert_eq!(
        record["payment_method_details"]["billing_details"]["address"]["country"],
        "FR"
    );
    for country in ["DEU", "d", "d1", "12"] {
        for param in [shipping, billing] {
            assert_rejected(
                &server.report_payment(&payment_with(&[(param, country)])).await,
                param,
                None,
            );
        }
    }
}

#[backend_test]
async fn metadata_may_have_50_keys_but_not_51(server: TestServer) {
    let names = metadata_names(51);
    let pairs: Vec<(&str, &str)> = names.iter().map(|k| (k.as_str(), "v")).collect();
    let record = server.report_payment(&payment_with(&pairs[..50])).await.ok();
    assert_eq!(record["metadata"].as_object().expect("metadata").len(), 50);
    let r = server.report_payment(&payment_with(&pairs)).await;
    assert_rejected(&r, "metadata", None);
    assert_eq!(
        r.error("message"),
        "Invalid metadata: an object can have at most 50 metadata keys."
    );
}

#[backend_test]
async fn metadata_keys_may_be_40_characters_but_not_41(server: TestServer) {
    let longest = format!("metadata[{}]", "k".repeat(40));
    let too_long = format!("metadata[{}]", "k".repeat(41));
    let record = server.report_payment(&payment_with(&[(&longest, "v")])).await.ok();
    assert_eq!(record["metadata"]["k".repeat(40)], "v");
    let r = server.report_payment(&payment_with(&[(&too_long, "v")])).await;
    assert_rejected(&r, &too_long, Some("parameter_invalid_string_length"));
}

#[backend_test]
async fn metadata_values_may_be_500_characters_but_not_501(server: TestServer) {
    let record = server
        .report_payment(&payment_with(&[("metadata[k]", &"v".repeat(500))]))
        .await
        .ok();
    assert_eq!(record["metadata"]["k"].as_str().map(str::len), Some(500));
    let r = server
        .report_payment(&payment_with(&[("metadata[k]", &"v".repeat(501))]))
        .await;
    assert_rejected(&r, "metadata[k]", Some("parameter_invalid_string_length"));
}

#[backend_test]
async fn metadata_values_are_strings(server: TestServer) {
    let r = server
        .report_payment(&payment_with(&[("metadata[k][nested]", "v")]))
        .await;
    assert_rejected(&r, "metadata[k]", None);
    let r = server.report_payment(&payment_with(&[("metadata[list][]", "v")])).await;
    assert_rejected(&r, "metadata[list]", None);
}

#[backend_test]
async fn an_empty_metadata_value_removes_that_key(server: TestServer) {
    let form = payment_with(&[("metadata[a]", "1"), ("metadata[b]", "2"), ("metadata[gone]", "")]);
    let record = server.report_payment(&form).await.ok();
    assert_eq!(record["metadata"], json!({"a": "1", "b": "2"}));
    let id = record["id"].as_str().expect("id");
    let record = server.report_informational(id, &[("metadata[a]", "")]).await.ok();
    assert_eq!(record["metadata"], json!({"b": "2"}));
    let record = server.report_informational(id, &[("metadata[absent]", "")]).await.ok();
    assert_eq!(record["metadata"], json!({"b": "2"}), "removing an absent key is fine");
}

#[backend_test]
async fn empty_metadata_removes_every_key(server: TestServer) {
    let record = server
        .report_payment(&payment_with(&[("metadata[a]", "1"), ("metadata[b]", "2")]))
        .await
        .ok();
    let id = record["id"].as_str().expect("id");
    let record = server.report_informational(id, &[("metadata", "")]).await.ok();
    assert_eq!(record["metadata"], json!({}));
}
