//! The list conventions of API.md: newest first, a stable order for equal `created`, `limit`,
//! exact `has_more`, cursors both ways, exclusive `created_*` bounds, and the attempts list.
//! Records that need a given `created` are written through the store (the lifecycle's own
//! report_payment, the server's write path); everything is read back over HTTP.

use crate::common::backend_test;
use crate::common::{Api, Endpoint, Resp, TestServer, id_of};
use payrec::base62::random_base62;
use payrec::records::command::RecordCommand;
use payrec::records::lifecycle::{self, NewPayment};
use payrec::records::model::{Amount, Currency, PaymentAttemptRecordId, PaymentDetails, PaymentRecordId};
use payrec::store::{RecordWrite, Tenant, TypedWrites, Write};
use serde_json::json;

/// payrec's extensions on: these tests use an expansion or a cursor Stripe does not have.
fn extensions() -> payrec::ServerConfig {
    crate::common::with_extensions()
}

/// A pending test-mode record created at `created`, written through the store; returns its id.
async fn seed(server: &TestServer, created: i64) -> String {
    let id = format!("pr_{}", random_base62(24));
    let state = lifecycle::report_payment(NewPayment {
        record_id: PaymentRecordId::new_unchecked(id.clone()),
        attempt_id: PaymentAttemptRecordId::new_unchecked(format!("par_{}", random_base62(24))),
        livemode: false,
        now: created,
        amount_requested: Amount {
            currency: Currency::new_unchecked("usd"),
            value: 1000,
        },
        initiated_at: created,
        details: PaymentDetails {
            payment_method_details: Some(Default::default()),
            ..Default::default()
        },
        metadata: Default::default(),
        outcome: None,
    })
    .expect("a valid payment");
    let command = Write {
        tenant: Tenant {
            account_id: server.account_id.clone(),
            livemode: false,
        },
        mutation: RecordWrite::from(RecordCommand::Create(state)),
        idempotency: None,
        request: payrec::events::render::EventRequest {
            request_id: Some("req_seeded".into()),
            idempotency_key: None,
        },
        now: created,
    };
    server.store.write(command).await.expect("seeded");
    id
}

/// Seeds one record per `created`, in order; returns their ids in the same order.
async fn seed_all(server: &TestServer, created: &[i64]) -> Vec<String> {
    let mut ids = Vec::new();
    for c in created {
        ids.push(seed(server, *c).await);
    }
    ids
}

/// The ids on one page of records and `has_more`.
async fn page(server: &TestServer, query: &[(&str, &str)]) -> (Vec<String>, bool) {
    ids_and_has_more(server.list_records(query).await, query)
}

/// The ids on one page of `record`'s attempts and `has_more`.
async fn attempts_page(server: &TestServer, record: &str, query: &[(&str, &str)]) -> (Vec<String>, bool) {
    ids_and_has_more(server.list_attempts(record, query).await, query)
}

fn ids_and_has_more(r: Resp, query: &[(&str, &str)]) -> (Vec<String>, bool) {
    assert_eq!(r.status, 200, "{query:?}: {}", r.body);
    let ids = r.json["data"].as_array().expect("data").iter();
    let ids = ids.map(|o| o["id"].as_str().expect("id").to_owned()).collect();
    (ids, r.json["has_more"].as_bool().expect("has_more"))
}

fn reversed(ids: &[String]) -> Vec<String> {
    ids.iter().rev().cloned().collect()
}

fn assert_400(r: &Resp, param: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error", "{}", r.body);
    assert_eq!(r.error("param"), param, "{}", r.body);
}

#[backend_test]
async fn a_list_is_an_envelope_with_object_data_has_more_and_url(server: TestServer) {
    let r = server.list_records(&[]).await;
    assert_eq!(
        r.body,
        r#"{"object":"list","data":[],"has_more":false,"url":"/v1/payment_records"}"#
    );
    let id = id_of(&server.pending_payment(1000).await);
    let r = server.list_attempts(&id, &[]).await;
    assert_eq!(r.json["object"], "list");
    assert_eq!(r.json["url"], "/v1/payment_attempt_records");
    assert_eq!(r.json["has_more"], false);
    assert_eq!(r.json["data"][0]["object"], "payment_attempt_record");
}

#[backend_test]
async fn records_are_listed_newest_first(server: TestServer) {
    let ids = seed_all(&server, &[1_700_000_100, 1_700_000_300, 1_700_000_200]).await;
    let (listed, _) = page(&server, &[]).await;
    assert_eq!(listed, [ids[1].clone(), ids[2].clone(), ids[0].clone()]);
}

#[backend_test]
async fn records_created_in_the_same_second_keep_one_order_newest_first_across_pages(server: TestServer) {
    let ids = seed_all(&server, &[1_700_000_000; 7]).await;
    let newest_first = reversed(&ids);
    assert_eq!(page(&server, &[]).await.0, newest_first, "the last reported first");
    assert_eq!(page(&server, &[]).await.0, newest_first, "the same order every time");
    let mut forward = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("starting_after", c));
        }
        let (ids, more) = page(&server, &query).await;
        cursor = ids.last().cloned();
        forward.extend(ids);
        if !more {
            break;
        }
    }
    assert_eq!(forward, newest_first, "no gaps or repeats paging forward");
    let mut backward = Vec::new();
    let mut cursor = newest_first.last().cloned().expect("an oldest");
    loop {
        let (ids, more) = page(&server, &[("limit", "2"), ("ending_before", &cursor)]).await;
        cursor = ids.first().cloned().unwrap_or(cursor);
        backward.splice(0..0, ids);
        if !more {
            break;
        }
    }
    assert_eq!(backward, newest_first[..6], "no gaps or repeats paging backward");
}

#[backend_test]
async fn limit_defaults_to_10_and_may_be_from_1_to_100(server: TestServer) {
    let created: Vec<i64> = (0..101).map(|i| 1_700_000_000 + i).collect();
    let ids = reversed(&seed_all(&server, &created).await);
    assert_eq!(page(&server, &[]).await, (ids[..10].to_vec(), true));
    assert_eq!(page(&server, &[("limit", "1")]).await, (ids[..1].to_vec(), true));
    assert_eq!(page(&server, &[("limit", "100")]).await, (ids[..100].to_vec(), true));
    for limit in ["0", "101", "-1", "1000"] {
        assert_400(&server.list_records(&[("limit", limit)]).await, "limit");
    }
    let r = server.list_records(&[("limit", "ten")]).await;
    assert_400(&r, "limit");
    assert_eq!(r.error("code"), "parameter_invalid_integer");
}

#[backend_test]
async fn has_more_is_exact(server: TestServer) {
    let created: Vec<i64> = (0..10).map(|i| 1_700_000_000 + i).collect();
    let ids = reversed(&seed_all(&server, &created).await);
    assert_eq!(page(&server, &[]).await, (ids.clone(), false), "exactly a page");
    assert!(page(&server, &[("limit", "9")]).await.1);
    let after_ninth = [("starting_after", ids[8].as_str())];
    assert_eq!(page(&server, &after_ninth).await, (ids[9..].to_vec(), false));
    let before_second = [("ending_before", ids[1].as_str())];
    assert_eq!(page(&server, &before_second).await, (ids[..1].to_vec(), false));
    let newest = seed(&server, 1_700_000_100).await;
    assert!(page(&server, &[]).await.1, "eleven records");
    assert!(!page(&server, &[("limit", "11")]).await.1);
    assert_eq!(page(&server, &before_second).await.0, [newest, ids[0].clone()]);
}

#[backend_test]
async fn starting_after_and_ending_before_page_in_both_directions(server: TestServer) {
    let created: Vec<i64> = (1..=5).map(|i| 1_700_000_000 + i).collect();
    let ids = reversed(&seed_all(&server, &created).await); // ids[0] is the newest
    let query = |cursor: &'static str, id: &str| vec![("limit", "2".to_owned()), (cursor, id.to_owned())];
    let get = |query: Vec<(&'static str, String)>| {
        let server = &server;
        async move {
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            page(server, &query).await
        }
    };
    assert_eq!(get(query("starting_after", &ids[0])).await, (ids[1..3].to_vec(), true));
    assert_eq!(get(query("starting_after", &ids[2])).await, (ids[3..5].to_vec(), false));
    assert_eq!(get(query("starting_after", &ids[4])).await, (vec![], false));
    assert_eq!(get(query("ending_before", &ids[4])).await, (ids[2..4].to_vec(), true));
    assert_eq!(get(query("ending_before", &ids[2])).await, (ids[0..2].to_vec(), false));
    assert_eq!(get(query("ending_before", &ids[0])).await, (vec![], false));
}

#[backend_test]
async fn starting_after_and_ending_before_exclude_each_other(server: TestServer) {
    let ids = seed_all(&server, &[1_700_000_001, 1_700_000_002]).await;
    let query = [("starting_after", ids[0].as_str()), ("ending_before", ids[1].as_str())];
    let r = server.list_records(&query).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.error("param") == "ending_before" || r.error("param") == "starting_after",
        "{}",
        r.body
    );
    let query = [("starting_after", "par_a"), ("ending_before", "par_b")];
    assert_eq!(server.list_attempts(&ids[0], &query).await.status, 400);
}

#[backend_test]
async fn created_after_and_created_before_are_exclusive_bounds(server: TestServer) {
    let ids = reversed(&seed_all(&server, &[100, 200, 300, 400]).await); // 400, 300, 200, 100
    let ids_of = |range: std::ops::Range<usize>| ids[range].to_vec();
    assert_eq!(page(&server, &[("created_after", "200")]).await.0, ids_of(0..2));
    assert_eq!(page(&server, &[("created_after", "199")]).await.0, ids_of(0..3));
    assert_eq!(page(&server, &[("created_before", "300")]).await.0, ids_of(2..4));
    assert_eq!(page(&server, &[("created_before", "301")]).await.0, ids_of(1..4));
    let both = [("created_after", "100"), ("created_before", "400")];
    assert_eq!(page(&server, &both).await.0, ids_of(1..3));
    let paged = [
        ("created_after", "100"),
        ("limit", "1"),
        ("starting_after", ids[0].as_str()),
    ];
    assert_eq!(page(&server, &paged).await, (ids_of(1..2), true));
    assert_400(
        &server.list_records(&[("created_after", "soon")]).await,
        "created_after",
    );
}

#[backend_test(config = extensions)]
async fn a_cursor_that_names_no_object_of_the_list_is_a_404_naming_the_cursor(server: TestServer) {
    for cursor in ["starting_after", "ending_before"] {
        let r = server.list_records(&[(cursor, "pr_nope")]).await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.error("param"), cursor);
        assert_eq!(r.error("code"), "resource_missing");
        assert_eq!(r.error("message"), "No such payment_record: 'pr_nope'");
    }
    let first = server.pending_payment(1000).await;
    let second = server.pending_payment(1000).await;
    let (id, foreign) = (
        first["id"].as_str().unwrap(),
        second["latest_payment_attempt_record"].as_str().unwrap(),
    );
    for cursor in ["starting_after", "ending_before"] {
        let r = server.list_attempts(id, &[(cursor, foreign)]).await;
        assert_eq!(r.status, 404, "another record's attempt: {}", r.body);
        assert_eq!(r.error("param"), cursor);
        let message = format!("No such payment_attempt_record: '{foreign}'");
        assert_eq!(r.error("message").as_str(), Some(message.as_str()));
    }
}

#[backend_test]
async fn listing_attempts_requires_the_payment_record(server: TestServer) {
    let r = server.call(&Endpoint::ListAttempts, &[], None).await;
    assert_400(&r, "payment_record");
    assert_eq!(r.error("code"), "parameter_missing");
    let r = server.list_attempts("pr_nope", &[]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error("param"), "payment_record");
    let id = id_of(&server.pending_payment(1000).await);
    for unknown in ["created_after", "created_before"] {
        let r = server.list_attempts(&id, &[(unknown, "1")]).await;
        assert_400(&r, unknown);
        assert_eq!(r.error("code"), "parameter_unknown");
    }
}

#[backend_test(config = extensions)]
async fn attempts_are_listed_newest_first_and_page_like_records(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let id = record["id"].as_str().expect("id");
    let mut expected = vec![record["latest_payment_attempt_record"].as_str().unwrap().to_owned()];
    for _ in 0..3 {
        let failed = server.report_failed(id, &[("failed_at", "1730260000")]).await;
        assert_eq!(failed.status, 200);
        let r = server.report_attempt(id, &[("initiated_at", "1730260000")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        expected.push(r.json["latest_payment_attempt_record"].as_str().unwrap().to_owned());
    }
    let expected = reversed(&expected);
    assert_eq!(attempts_page(&server, id, &[]).await, (expected.clone(), false));
    let first = [("limit", "1")];
    assert_eq!(attempts_page(&server, id, &first).await, (expected[..1].to_vec(), true));
    let next = [("limit", "2"), ("starting_after", &expected[0])];
    assert_eq!(attempts_page(&server, id, &next).await, (expected[1..3].to_vec(), true));
    let back = [("limit", "2"), ("ending_before", &expected[3])];
    assert_eq!(attempts_page(&server, id, &back).await, (expected[1..3].to_vec(), true));
    let other = server.pending_payment(1000).await;
    let (others, _) = attempts_page(&server, &id_of(&other), &[]).await;
    assert_eq!(
        json!(others),
        json!([other["latest_payment_attempt_record"]]),
        "only its own"
    );
}
