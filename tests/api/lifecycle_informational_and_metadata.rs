//! The Lifecycle rules of API.md about report_payment_attempt_informational (always allowed;
//! updates the record and its latest attempt; `''` unsets; customer details merge, shipping
//! details are replaced whole) and about `metadata` on report calls (merged into the record and
//! the latest attempt).

use crate::common::backend_test;
use crate::common::form::payment_with;
use crate::common::rules::{new_attempt, refund, settle, settle_with};
use crate::common::{Api, TestServer, id_of};
use serde_json::{Value, json};

/// A record with a failed first attempt and a pending second one, reported with details.
async fn record_with_two_attempts(server: &TestServer) -> String {
    let form = payment_with(&[
        ("description", "first"),
        ("customer_details[email]", "jenny@example.com"),
        ("customer_details[name]", "Jenny Rosen"),
        ("shipping_details[name]", "Jenny"),
        ("shipping_details[address][city]", "Berlin"),
        ("shipping_details[address][line1]", "Hauptstr. 1"),
    ]);
    let id = id_of(&server.report_payment(&form).await.ok());
    settle(server, &id, "failed").await;
    new_attempt(server, &id, &[]).await.ok();
    id
}

#[backend_test]
async fn informational_is_allowed_in_every_state(server: TestServer) {
    for outcome in [None, Some("guaranteed"), Some("failed"), Some("canceled")] {
        let id = id_of(&server.pending_payment(1000).await);
        if let Some(outcome) = outcome {
            settle(&server, &id, outcome).await;
        }
        let r = server.report_informational(&id, &[("description", "noted")]).await;
        assert_eq!(r.status, 200, "{outcome:?}: {}", r.body);
    }
    let id = id_of(&server.pending_payment(1000).await);
    settle(&server, &id, "guaranteed").await;
    refund(&server, &id, "everything", &[]).await.ok();
    let r = server.report_informational(&id, &[("description", "refunded")]).await;
    assert_eq!(r.status, 200, "fully refunded: {}", r.body);
}

#[backend_test]
async fn informational_updates_the_record_and_its_latest_attempt_only(server: TestServer) {
    let id = record_with_two_attempts(&server).await;
    let r = server
        .report_informational(
            &id,
            &[
                ("description", "updated"),
                ("customer_details[phone]", "+15555550100"),
                ("shipping_details[name]", "Max"),
            ],
        )
        .await;
    let record = r.ok();
    let all = server.attempts_of(&id).await;
    assert_eq!(record, server.record(&id).await, "the response is the stored record");
    for object in [&record, &all[0]] {
        assert_eq!(object["description"], "updated");
        assert_eq!(object["customer_details"]["phone"], "+15555550100");
        assert_eq!(object["shipping_details"]["name"], "Max");
    }
    assert_eq!(all[1]["description"], "first", "older attempts keep their own");
    assert_eq!(all[1]["customer_details"]["phone"], Value::Null);
    assert_eq!(all[1]["shipping_details"]["name"], "Jenny");
}

#[backend_test]
async fn an_empty_description_on_informational_unsets_it(server: TestServer) {
    let id = record_with_two_attempts(&server).await;
    let record = server.report_informational(&id, &[("description", "")]).await.ok();
    assert_eq!(record["description"], Value::Null);
    assert_eq!(server.attempts_of(&id).await[0]["description"], Value::Null);
}

#[backend_test]
async fn empty_shipping_details_on_informational_unset_them(server: TestServer) {
    let id = record_with_two_attempts(&server).await;
    let record = server.report_informational(&id, &[("shipping_details", "")]).await.ok();
    assert_eq!(record["shipping_details"], Value::Null);
    assert_eq!(server.attempts_of(&id).await[0]["shipping_details"], Value::Null);
}

#[backend_test]
async fn informational_customer_details_merge_field_by_field(server: TestServer) {
    let id = record_with_two_attempts(&server).await;
    let record = server
        .report_informational(
            &id,
            &[
                ("customer_details[name]", "Jenny R."),
                ("customer_details[customer]", "cus_1"),
            ],
        )
        .await
        .ok();
    let expected = json!({
        "customer": "cus_1", "email": "jenny@example.com", "name": "Jenny R.", "phone": null,
    });
    assert_eq!(record["customer_details"], expected);
    assert_eq!(server.attempts_of(&id).await[0]["customer_details"], expected);
    // A record without customer details gets them.
    let bare = id_of(&server.pending_payment(1000).await);
    let record = server
        .report_informational(&bare, &[("customer_details[email]", "a@example.com")])
        .await
        .ok();
    assert_eq!(
        record["customer_details"],
        json!({"customer": null, "email": "a@example.com", "name": null, "phone": null})
    );
}

#[backend_test]
async fn informational_shipping_details_replace_the_old_ones_whole(server: TestServer) {
    let id = record_with_two_attempts(&server).await;
    let record = server
        .report_informational(&id, &[("shipping_details[address][city]", "Paris")])
        .await
        .ok();
    let expected = json!({
        "address": {"city": "Paris", "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
        "name": null,
        "phone": null,
    });
    assert_eq!(record["shipping_details"], expected);
    assert_eq!(server.attempts_of(&id).await[0]["shipping_details"], expected);
}

fn keys(object: &Value) -> Vec<&str> {
    object["metadata"]
        .as_object()
        .expect("metadata")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The record's and its latest attempt's metadata keys.
async fn metadata_keys(server: &TestServer, id: &str) -> (Vec<String>, Vec<String>) {
    let owned = |v: &Value| keys(v).into_iter().map(str::to_owned).collect::<Vec<_>>();
    (owned(&server.record(id).await), owned(&server.attempts_of(id).await[0]))
}

/// The same keys expected on the record and on its latest attempt.
fn both(list: &[&str]) -> (Vec<String>, Vec<String>) {
    let owned: Vec<String> = list.iter().map(|k| (*k).to_owned()).collect();
    (owned.clone(), owned)
}

#[backend_test]
async fn metadata_on_every_report_call_merges_into_the_record_and_the_latest_attempt(server: TestServer) {
    let form = payment_with(&[("metadata[a]", "1")]);
    let id = id_of(&server.report_payment(&form).await.ok());
    assert_eq!(metadata_keys(&server, &id).await, both(&["a"]));
    settle_with(&server, &id, "failed", &[("metadata[b]", "2")]).await;
    assert_eq!(metadata_keys(&server, &id).await, both(&["a", "b"]));
    new_attempt(&server, &id, &[("metadata[c]", "3")]).await.ok();
    assert_eq!(
        metadata_keys(&server, &id).await,
        both(&["a", "b", "c"]),
        "the new attempt inherits"
    );
    settle_with(&server, &id, "guaranteed", &[("metadata[d]", "4")]).await;
    server.report_informational(&id, &[("metadata[e]", "5")]).await.ok();
    refund(
        &server,
        &id,
        "r1",
        &[
            ("amount[currency]", "usd"),
            ("amount[value]", "1"),
            ("metadata[f]", "6"),
        ],
    )
    .await
    .ok();
    assert_eq!(metadata_keys(&server, &id).await, both(&["a", "b", "c", "d", "e", "f"]));
    let record = server.record(&id).await;
    assert_eq!(record["metadata"]["a"], "1");
    assert_eq!(record["metadata"]["f"], "6");
    let first = &server.attempts_of(&id).await[1];
    assert_eq!(keys(first), ["a", "b"], "an older attempt is no longer the latest");
}

#[backend_test]
async fn metadata_removals_on_a_report_call_reach_the_record_and_the_latest_attempt(server: TestServer) {
    let form = payment_with(&[("metadata[a]", "1"), ("metadata[b]", "2"), ("metadata[c]", "3")]);
    let id = id_of(&server.report_payment(&form).await.ok());
    settle_with(
        &server,
        &id,
        "guaranteed",
        &[("metadata[a]", ""), ("metadata[b]", "two")],
    )
    .await;
    assert_eq!(metadata_keys(&server, &id).await, both(&["b", "c"]));
    assert_eq!(server.record(&id).await["metadata"]["b"], "two", "a set replaces");
    server.report_informational(&id, &[("metadata", "")]).await.ok();
    assert_eq!(metadata_keys(&server, &id).await, both(&[]));
}

#[backend_test]
async fn a_rejected_report_call_changes_nothing_not_even_metadata(server: TestServer) {
    let id = record_with_two_attempts(&server).await;
    let record = server.record(&id).await;
    let latest = server.attempts_of(&id).await[0].clone();
    let r = new_attempt(&server, &id, &[("metadata[x]", "1"), ("description", "no")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = refund(&server, &id, "r1", &[("metadata[y]", "1")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(server.record(&id).await, record);
    assert_eq!(server.attempts_of(&id).await[0], latest);
}

#[backend_test]
async fn merged_metadata_may_not_exceed_50_keys(server: TestServer) {
    let names: Vec<String> = (0..50).map(|i| format!("metadata[k{i}]")).collect();
    let mut form: Vec<(&str, &str)> = names.iter().map(|k| (k.as_str(), "v")).collect();
    form.extend(payment_with(&[]));
    let id = id_of(&server.report_payment(&form).await.ok());
    let r = server.report_informational(&id, &[("metadata[one_more]", "v")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("param"), "metadata");
    assert_eq!(keys(&server.record(&id).await).len(), 50);
    // Replacing a key or removing one to make room is fine.
    server.report_informational(&id, &[("metadata[k0]", "w")]).await.ok();
    let record = server
        .report_informational(&id, &[("metadata[k1]", ""), ("metadata[one_more]", "v")])
        .await
        .ok();
    assert_eq!(keys(&record).len(), 50);
}
