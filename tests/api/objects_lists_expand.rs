//! The Objects section of API.md and the expand convention: field order and presence, ids, and
//! `expand[]`. EXAMPLES.md replayed and the tenancy rules are in `objects_examples_and_modes.rs`,
//! lists in `objects_lists_pagination.rs`, parameter and metadata rules in
//! `objects_params_and_metadata.rs`.

use crate::common::backend_test;
use std::fmt;

use crate::common::form::payment_with;
use crate::common::{Api, Endpoint, Report, Resp, TestServer, id_of};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

/// payrec's extensions on: these tests use an expansion or a cursor Stripe does not have.
fn extensions() -> payrec::ServerConfig {
    crate::common::with_extensions()
}

/// A JSON value that keeps object keys in the order they were sent (serde_json's map sorts them).
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Scalar,
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_str<E>(self, _: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered::Object(entries))
            }
        }
        deserializer.deserialize_any(OrderedVisitor)
    }
}

/// Asserts every object in `value`: `id` and `object` first, then the rest alphabetically
/// (Stripe renders `processor_details` as `type`, `custom`). Returns how many objects it checked.
fn assert_stripe_key_order(value: &Ordered, path: &str) -> usize {
    match value {
        Ordered::Scalar => 0,
        Ordered::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| assert_stripe_key_order(item, &format!("{path}[{i}]")))
            .sum(),
        Ordered::Object(entries) => {
            let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            let mut expected: Vec<&str> = ["id", "object"].into_iter().filter(|k| keys.contains(k)).collect();
            let mut rest: Vec<&str> = keys.iter().copied().filter(|k| !expected.contains(k)).collect();
            rest.sort_unstable();
            expected.extend(rest);
            if path.ends_with(".processor_details") {
                expected = vec!["type", "custom"];
            }
            assert_eq!(keys, expected, "key order of {path}");
            1 + entries
                .iter()
                .map(|(k, v)| assert_stripe_key_order(v, &format!("{path}.{k}")))
                .sum::<usize>()
        }
    }
}

#[test]
#[should_panic(expected = "key order of .outer")]
fn the_key_order_check_catches_an_object_out_of_order() {
    let body = r#"{"id": "pr_1", "object": "x", "a": 1, "outer": {"b": 1, "a": 2}}"#;
    assert_stripe_key_order(&serde_json::from_str(body).expect("JSON"), "");
}

fn ordered(r: &Resp) -> Ordered {
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).expect("a JSON body")
}

/// A guaranteed, partly refunded payment with every optional field; returns the record.
async fn full_record(server: &TestServer) -> Value {
    let form = payment_with(&[
        ("customer_details[customer]", "cus_1"),
        ("customer_details[email]", "jenny@example.com"),
        ("customer_details[name]", "Jenny Rosen"),
        ("customer_details[phone]", "+15555550100"),
        ("customer_presence", "on_session"),
        ("description", "software"),
        ("metadata[zeta]", "z"),
        ("metadata[alpha]", "a"),
        ("payment_method_details[billing_details][address][city]", "Berlin"),
        ("payment_method_details[billing_details][address][country]", "de"),
        ("payment_method_details[billing_details][email]", "billing@example.com"),
        ("payment_method_details[custom][display_name]", "newpay"),
        ("payment_method_details[payment_method]", "pm_1"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][payment_reference]", "ref_1"),
        ("shipping_details[address][line1]", "Hauptstr. 1"),
        ("shipping_details[name]", "Jenny"),
    ]);
    let id = id_of(&server.report_payment(&form).await.ok());
    server
        .report_guaranteed(&id, &[("guaranteed_at", "1730260000")])
        .await
        .ok()
}

#[backend_test(config = extensions)]
async fn every_object_renders_id_and_object_first_then_its_fields_alphabetically(server: TestServer) {
    let record = full_record(&server).await;
    let (id, attempt) = (
        id_of(&record),
        record["latest_payment_attempt_record"].as_str().unwrap(),
    );
    let expand_latest = [("expand[]", "latest_payment_attempt_record")];
    let bodies = [
        server.retrieve_record(&id, &[]).await,
        server.retrieve_record(&id, &expand_latest).await,
        server.retrieve_attempt(attempt, &[]).await,
        server
            .retrieve_attempt(attempt, &[("expand[]", "payment_record")])
            .await,
        server
            .list_records(&[("expand[]", "data.latest_payment_attempt_record")])
            .await,
        server.list_attempts(&id, &[]).await,
        server.report_informational(&id, &expand_latest).await,
    ];
    for r in &bodies {
        let checked = assert_stripe_key_order(&ordered(r), "");
        assert!(checked >= 8, "every nested object is checked: {checked}");
    }
    let Ordered::Object(entries) = ordered(&bodies[0]) else {
        panic!("an object")
    };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys[..3], ["id", "object", "amount"], "{}", bodies[0].body);
}

#[backend_test]
async fn every_field_is_always_present_with_null_where_empty(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let usd = |value: i64| json!({"currency": "usd", "value": value});
    let mut expected = json!({
        "id": record["id"], "object": "payment_record",
        "amount": usd(1000), "amount_authorized": usd(0), "amount_canceled": usd(0), "amount_failed": usd(0),
        "amount_guaranteed": usd(0), "amount_refunded": usd(0), "amount_requested": usd(1000),
        "application": null, "created": record["created"], "customer_details": null, "customer_presence": null,
        "description": null, "latest_payment_attempt_record": record["latest_payment_attempt_record"],
        "livemode": false, "metadata": {},
        "payment_method_details": {"billing_details": null, "custom": null, "payment_method": null, "type": "custom"},
        "processor_details": {"type": "custom", "custom": null}, "reported_by": "self", "shipping_details": null,
    });
    assert_eq!(record, expected);
    let attempt_id = record["latest_payment_attempt_record"].as_str().expect("attempt id");
    let attempt = server.retrieve_attempt(attempt_id, &[]).await.ok();
    let fields = expected.as_object_mut().expect("object");
    fields.remove("latest_payment_attempt_record");
    fields.insert("id".into(), json!(attempt_id));
    fields.insert("object".into(), json!("payment_attempt_record"));
    fields.insert("payment_record".into(), record["id"].clone());
    fields.insert("created".into(), attempt["created"].clone());
    assert_eq!(attempt, expected);
    // A nested object given in part has every one of its fields.
    let form = payment_with(&[
        ("payment_method_details[billing_details][email]", "a@example.com"),
        ("shipping_details[name]", "Jenny"),
        ("customer_details[name]", "Jenny"),
    ]);
    let record = server.report_payment(&form).await.ok();
    let address =
        json!({"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null});
    assert_eq!(
        record["payment_method_details"]["billing_details"],
        json!({"address": address, "email": "a@example.com", "name": null, "phone": null})
    );
    assert_eq!(
        record["shipping_details"],
        json!({"address": address, "name": "Jenny", "phone": null})
    );
    assert_eq!(
        record["customer_details"],
        json!({"customer": null, "email": null, "name": "Jenny", "phone": null})
    );
}

/// `prefix` then 24 ASCII letters or digits.
fn assert_id(id: &Value, prefix: &str) {
    let id = id.as_str().expect("a string id");
    let random = id
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{id} starts with {prefix}"));
    assert_eq!(random.len(), 24, "{id}");
    assert!(random.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
}

#[backend_test]
async fn record_ids_are_pr_and_attempt_ids_par_followed_by_24_base62_characters(server: TestServer) {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5 {
        let record = server.pending_payment(1000).await;
        assert_id(&record["id"], "pr_");
        assert_id(&record["latest_payment_attempt_record"], "par_");
        assert!(seen.insert(record["id"].to_string()), "ids are unique");
        assert!(seen.insert(record["latest_payment_attempt_record"].to_string()));
    }
}

#[backend_test(config = extensions)]
async fn expanding_latest_payment_attempt_record_embeds_the_latest_attempt(server: TestServer) {
    let id = id_of(&server.pending_payment(1000).await);
    let attempt_of = |record: &Value| {
        record["latest_payment_attempt_record"]["id"]
            .as_str()
            .map(str::to_owned)
    };
    for form in [
        [("expand[]", "latest_payment_attempt_record")],
        [("expand[0]", "latest_payment_attempt_record")],
    ] {
        let record = server.retrieve_record(&id, &form).await.ok();
        let attempt_id = attempt_of(&record).expect("an embedded attempt");
        let attempt = server.retrieve_attempt(&attempt_id, &[]).await.ok();
        assert_eq!(record["latest_payment_attempt_record"], attempt);
    }
    let expand = ("expand[]", "latest_payment_attempt_record");
    let reported = server.report_payment(&payment_with(&[expand])).await.ok();
    assert_eq!(
        reported["latest_payment_attempt_record"]["object"],
        "payment_attempt_record"
    );
    let failed = server
        .report_failed(&id, &[("failed_at", "1730260000"), expand])
        .await
        .ok();
    assert_eq!(failed["latest_payment_attempt_record"]["amount_failed"]["value"], 1000);
    let retried = server
        .report_attempt(&id, &[("initiated_at", "1730260000"), expand])
        .await
        .ok();
    assert_ne!(attempt_of(&retried), attempt_of(&failed), "the new attempt is embedded");
    assert_eq!(attempt_of(&retried), attempts_ids(&server, &id).await.first().cloned());
    let refund = [
        ("outcome", "refunded"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", "r1"),
        expand,
    ];
    let calls: [(Report, &[(&str, &str)]); 4] = [
        (Report::Guaranteed, &[("guaranteed_at", "1730260000"), expand]),
        (Report::Informational, &[("description", "x"), expand]),
        (Report::Refund, &refund),
        (Report::Informational, &[expand]),
    ];
    for (call, form) in calls {
        let record = server.report(&id, call, form).await.ok();
        assert_eq!(attempt_of(&record), attempt_of(&retried), "{call:?}");
        assert_eq!(
            record["latest_payment_attempt_record"]["amount_guaranteed"]["value"], 1000,
            "{call:?}"
        );
    }
    let canceled = id_of(&server.pending_payment(1000).await);
    let record = server
        .report_canceled(&canceled, &[("canceled_at", "1730260000"), expand])
        .await
        .ok();
    assert_eq!(
        record["latest_payment_attempt_record"]["amount_canceled"]["value"],
        1000
    );
}

async fn attempts_ids(server: &TestServer, id: &str) -> Vec<String> {
    let list = server.list_attempts(id, &[]).await.ok();
    list["data"].as_array().expect("data").iter().map(id_of).collect()
}

#[backend_test(config = extensions)]
async fn expanding_payment_record_on_an_attempt_embeds_its_record(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let attempt = record["latest_payment_attempt_record"].as_str().expect("attempt");
    let r = server
        .retrieve_attempt(attempt, &[("expand[]", "payment_record")])
        .await;
    assert_eq!(r.ok()["payment_record"], record);
}

#[backend_test(config = extensions)]
async fn lists_expand_with_the_data_prefix(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let id = id_of(&record);
    let list = server
        .list_records(&[("expand[]", "data.latest_payment_attempt_record")])
        .await
        .ok();
    assert_eq!(
        list["data"][0]["latest_payment_attempt_record"]["id"],
        record["latest_payment_attempt_record"]
    );
    let list = server
        .list_attempts(&id, &[("expand[]", "data.payment_record")])
        .await
        .ok();
    assert_eq!(list["data"][0]["payment_record"], record);
}

/// A request (endpoint, params) and the expand path it adds.
type ExpandCase<'a> = (Endpoint, Vec<(&'a str, &'a str)>, &'a str);

#[backend_test(config = extensions)]
async fn any_other_expand_path_is_rejected_naming_it(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let (id, attempt) = (
        id_of(&record),
        record["latest_payment_attempt_record"].as_str().unwrap(),
    );
    let record = || Endpoint::RetrieveRecord(id.clone());
    let cases: Vec<ExpandCase<'_>> = vec![
        (record(), vec![], "x"),
        (record(), vec![], "payment_record"),
        (record(), vec![], "data.latest_payment_attempt_record"),
        (record(), vec![], "latest_payment_attempt_record.payment_record"),
        (
            Endpoint::RetrieveAttempt(attempt.to_owned()),
            vec![],
            "latest_payment_attempt_record",
        ),
        (Endpoint::ListRecords, vec![], "latest_payment_attempt_record"),
        (Endpoint::ListAttempts, vec![("payment_record", &id)], "payment_record"),
        (Endpoint::ReportPayment, payment_with(&[]), "customer"),
        (
            Endpoint::Report(id.clone(), Report::Informational),
            vec![],
            "data.latest_payment_attempt_record",
        ),
    ];
    for (endpoint, mut form, expand) in cases {
        form.push(("expand[]", expand));
        let r = server.call(&endpoint, &form, None).await;
        let path = endpoint.path();
        assert_eq!(r.status, 400, "{path} {expand}: {}", r.body);
        let message = format!("This property cannot be expanded ({expand}).");
        assert_eq!(r.error("message").as_str(), Some(message.as_str()), "{path}");
        assert_eq!(r.error("type"), "invalid_request_error");
        assert_eq!(r.error("param"), "expand");
    }
}
