//! Events (API.md, "Events and webhook endpoints"): which calls emit which events, in which
//! order, with `previous_attributes`; nothing for a replay or a rejected call; the list's filters
//! and cursors; tenant and mode walls.

use crate::common::backend_test;
use serde_json::Value;

use crate::common::form::payment_with;
use crate::common::rules::{refund, settle};
use crate::common::{Api, TestServer, id_of};

fn guaranteed_payment<'a>() -> Vec<(&'a str, &'a str)> {
    payment_with(&[("outcome", "guaranteed"), ("guaranteed[guaranteed_at]", "1730211310")])
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().expect("data").iter().map(id_of).collect()
}

fn types_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect()
}

#[backend_test]
async fn each_call_emits_one_event_per_object_it_changed_in_the_catalogue_order(server: TestServer) {
    let record = server.report_payment(&guaranteed_payment()).await.ok();
    let id = id_of(&record);
    assert_eq!(
        server.event_types().await,
        [
            "payment_record.created",
            "payment_attempt_record.created",
            "payment_attempt_record.guaranteed"
        ]
    );
    assert_eq!(
        refund(
            &server,
            &id,
            "ref-1",
            &[("amount[value]", "100"), ("amount[currency]", "usd")]
        )
        .await
        .status,
        200
    );
    server
        .report_informational(&id, &[("description", "changed")])
        .await
        .ok();
    let types = server.event_types().await;
    assert_eq!(
        types[3..],
        [
            "payment_record.updated",
            "payment_attempt_record.refunded",
            "payment_record.updated",
            "payment_attempt_record.updated"
        ]
    );
    // A failed attempt, then a new one reported with its outcome.
    let second = id_of(&server.pending_payment(500).await);
    settle(&server, &second, "failed").await;
    server
        .report_attempt(
            &second,
            &[
                ("initiated_at", "1730253425"),
                ("outcome", "guaranteed"),
                ("guaranteed[guaranteed_at]", "1730253430"),
            ],
        )
        .await
        .ok();
    let types = server.event_types().await;
    assert_eq!(
        types[7..],
        [
            "payment_record.created",
            "payment_attempt_record.created",
            "payment_record.updated",
            "payment_attempt_record.failed",
            "payment_record.updated",
            "payment_attempt_record.created",
            "payment_attempt_record.guaranteed"
        ]
    );
}

#[backend_test]
async fn an_event_is_stripes_event_object_and_data_object_is_the_object_after_the_call(server: TestServer) {
    let r = server.report_payment_keyed("key-evt-1", &guaranteed_payment()).await;
    let request_id = r.header("request-id").expect("Request-Id").to_owned();
    let record = r.ok();
    let page = server.list_events(&[]).await.ok();
    assert_eq!(page["object"], "list");
    assert_eq!(page["url"], "/v1/events");
    let created = &page["data"][2];
    assert_eq!(created["type"], "payment_record.created");
    let id = created["id"].as_str().expect("id");
    assert!(id.starts_with("evt_") && id.len() == 28, "{id}");
    assert_eq!(created["object"], "event");
    assert_eq!(created["account"], server.account_id.as_str());
    assert_eq!(created["api_version"], "2026-10-28.endive");
    assert_eq!(created["context"], Value::Null);
    assert_eq!(created["livemode"], false);
    assert_eq!(created["pending_webhooks"], 0);
    assert_eq!(created["request"]["id"], request_id.as_str());
    assert_eq!(created["request"]["idempotency_key"], "key-evt-1");
    assert_eq!(created["data"]["object"], record);
    assert!(
        created["data"].get("previous_attributes").is_none(),
        "none on *.created"
    );
    let retrieved = server.retrieve_event(id).await;
    // Stripe's field order: id and object first, then alphabetical.
    let data = retrieved.body.find("\"data\":").expect("data");
    let after_data = retrieved.body.rfind(",\"livemode\":").expect("livemode");
    let text = &format!("{}\"data\":0{}", &retrieved.body[..data], &retrieved.body[after_data..]);
    let at = |key: &str| {
        text.find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in {text}"))
    };
    let order = [
        "id",
        "object",
        "account",
        "api_version",
        "context",
        "created",
        "data",
        "livemode",
        "pending_webhooks",
        "request",
        "type",
    ];
    assert!(text.starts_with("{\"id\":\"evt_"), "{text}");
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    assert_eq!(&retrieved.ok(), created);
    let attempt = server
        .retrieve_attempt(record["latest_payment_attempt_record"].as_str().expect("attempt"), &[])
        .await
        .ok();
    assert_eq!(page["data"][0]["data"]["object"], attempt);
    assert_eq!(page["data"][0]["request"]["idempotency_key"], "key-evt-1");
}

#[backend_test]
async fn previous_attributes_hold_the_whole_previous_value_of_each_changed_field(server: TestServer) {
    let id = id_of(&server.pending_payment(1000).await);
    server
        .report_informational(&id, &[("description", "first"), ("metadata[order]", "1")])
        .await
        .ok();
    settle(&server, &id, "guaranteed").await;
    let page = server.list_events(&[("limit", "4")]).await.ok();
    // Newest first: attempt guaranteed, record updated, attempt updated, record updated.
    let [guaranteed, record_updated, attempt_updated, informational] = &page["data"].as_array().expect("data")[..]
    else {
        panic!("four events: {page}")
    };
    assert_eq!(guaranteed["type"], "payment_attempt_record.guaranteed");
    assert_eq!(
        guaranteed["data"]["previous_attributes"],
        serde_json::json!({
            "amount_authorized": {"currency": "usd", "value": 0},
            "amount_guaranteed": {"currency": "usd", "value": 0},
        })
    );
    assert_eq!(
        record_updated["data"]["previous_attributes"]["amount_guaranteed"]["value"],
        0
    );
    assert_eq!(attempt_updated["type"], "payment_attempt_record.updated");
    assert_eq!(
        informational["data"]["previous_attributes"],
        serde_json::json!({ "description": null, "metadata": {} })
    );
    assert_eq!(informational["data"]["object"]["metadata"]["order"], "1");
}

#[backend_test]
async fn an_idempotent_replay_and_a_rejected_call_emit_nothing(server: TestServer) {
    server
        .report_payment_keyed("replayed", &guaranteed_payment())
        .await
        .ok();
    let first = server.event_types().await.len();
    assert_eq!(first, 3);
    let replay = server.report_payment_keyed("replayed", &guaranteed_payment()).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(server.event_types().await.len(), first, "a replay emits nothing");
    let id = id_of(&server.pending_payment(1000).await);
    let count = server.event_types().await.len();
    settle(&server, &id, "failed").await;
    let after_outcome = server.event_types().await.len();
    assert_eq!(after_outcome, count + 2);
    // The attempt is terminal: this is refused and emits nothing.
    let rejected = refund(&server, &id, "ref-x", &[]).await;
    assert_eq!(rejected.status, 400, "{}", rejected.body);
    let invalid = server
        .report_informational(&id, &[("metadata[k]", &"x".repeat(501))])
        .await;
    assert_eq!(invalid.status, 400);
    let missing = server.report_informational("pr_missing", &[("description", "x")]).await;
    assert_eq!(missing.status, 404);
    // Nothing changes, nothing is emitted.
    server.report_informational(&id, &[]).await.ok();
    assert_eq!(server.event_types().await.len(), after_outcome);
}

#[backend_test]
async fn events_list_filters_by_type_wildcard_types_and_created(server: TestServer) {
    server.report_payment(&guaranteed_payment()).await.ok();
    server.pending_payment(100).await;
    let exact = server.list_events(&[("type", "payment_record.created")]).await.ok();
    assert_eq!(types_of(&exact), ["payment_record.created", "payment_record.created"]);
    let wildcard = server.list_events(&[("type", "payment_attempt_record.*")]).await.ok();
    assert_eq!(
        types_of(&wildcard),
        [
            "payment_attempt_record.created",
            "payment_attempt_record.guaranteed",
            "payment_attempt_record.created"
        ]
    );
    let several = server
        .list_events(&[
            ("types[0]", "payment_attempt_record.guaranteed"),
            ("types[1]", "payment_record.created"),
        ])
        .await
        .ok();
    assert_eq!(several["data"].as_array().expect("data").len(), 3);
    let none = server.list_events(&[("type", "charge.succeeded")]).await.ok();
    assert_eq!(none["data"], serde_json::json!([]));
    let both = server
        .list_events(&[
            ("type", "payment_record.created"),
            ("types[]", "payment_record.updated"),
        ])
        .await;
    assert_eq!(both.status, 400);
    assert_eq!(both.error("param"), "types");
    let too_many: Vec<(&str, &str)> = (0..21).map(|_| ("types[]", "payment_record.created")).collect();
    assert_eq!(server.list_events(&too_many).await.status, 400);
    let all = server.list_events(&[]).await.ok();
    let created = all["data"][0]["created"].as_i64().expect("created");
    let c = created.to_string();
    let (before, after) = ((created - 1).to_string(), (created + 1).to_string());
    for (query, n) in [
        (vec![("created", c.as_str())], 5),
        (vec![("created[gte]", c.as_str())], 5),
        (vec![("created[gt]", c.as_str())], 0),
        (vec![("created[lte]", c.as_str())], 5),
        (vec![("created[lt]", c.as_str())], 0),
        (
            vec![("created[gt]", before.as_str()), ("created[lt]", after.as_str())],
            5,
        ),
    ] {
        let page = server.list_events(&query).await.ok();
        assert_eq!(page["data"].as_array().expect("data").len(), n, "{query:?}");
    }
    assert_eq!(server.list_events(&[("created[after]", "1")]).await.status, 400);
    assert_eq!(server.list_events(&[("delivery_success", "maybe")]).await.status, 400);
}

#[backend_test]
async fn events_pages_walk_newest_first_with_both_cursors(server: TestServer) {
    for _ in 0..3 {
        server.report_payment(&guaranteed_payment()).await.ok();
    }
    let all = ids(&server.list_events(&[("limit", "100")]).await.ok());
    assert_eq!(all.len(), 9);
    let first = server.list_events(&[("limit", "4")]).await.ok();
    assert_eq!(ids(&first), all[..4]);
    assert_eq!(first["has_more"], true);
    let next = server
        .list_events(&[("limit", "4"), ("starting_after", &all[3])])
        .await
        .ok();
    assert_eq!(ids(&next), all[4..8]);
    let back = server
        .list_events(&[("limit", "4"), ("ending_before", &all[4])])
        .await
        .ok();
    assert_eq!(ids(&back), all[..4]);
    assert_eq!(back["has_more"], false);
    let unknown = server.list_events(&[("starting_after", "evt_nope")]).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error("param"), "starting_after");
    let missing = server.retrieve_event("evt_nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error("message"), "No such event: 'evt_nope'");
}

#[backend_test]
async fn delivery_success_tells_delivered_events_from_the_others(server: TestServer) {
    server.pending_payment(100).await;
    let undelivered = server.list_events(&[("delivery_success", "false")]).await.ok();
    assert_eq!(
        undelivered["data"],
        serde_json::json!([]),
        "no endpoint: nothing outstanding"
    );
    // An endpoint nobody listens on: the next events stay pending.
    server.webhook_endpoint("http://127.0.0.1:9/nobody").await;
    server.pending_payment(200).await;
    let pending = server.list_events(&[("delivery_success", "false")]).await.ok();
    assert_eq!(
        types_of(&pending),
        ["payment_attempt_record.created", "payment_record.created"]
    );
    assert!(
        pending["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["pending_webhooks"] == 1)
    );
    let delivered = server.list_events(&[("delivery_success", "true")]).await.ok();
    assert_eq!(delivered["data"].as_array().expect("data").len(), 2);
}

#[backend_test]
async fn tenants_and_modes_never_see_each_others_events(server: TestServer) {
    server.report_payment(&guaranteed_payment()).await.ok();
    let mine = ids(&server.list_events(&[]).await.ok());
    let other = server.with_key(&server.new_account_key(false).await);
    let live = server.with_key(&server.live_key);
    for them in [&other, &live] {
        assert_eq!(them.list_events(&[]).await.ok()["data"], serde_json::json!([]));
        assert_eq!(them.retrieve_event(&mine[0]).await.status, 404);
        assert_eq!(them.list_events(&[("starting_after", &mine[0])]).await.status, 404);
    }
    other.report_payment(&guaranteed_payment()).await.ok();
    assert_eq!(ids(&server.list_events(&[]).await.ok()), mine);
}

#[backend_test]
async fn events_older_than_thirty_days_are_pruned_with_their_deliveries(server: TestServer) {
    server.webhook_endpoint("http://127.0.0.1:9/nobody").await;
    server.pending_payment(100).await;
    let old = ids(&server.list_events(&[]).await.ok());
    let thirty_one_days = 31 * 24 * 60 * 60;
    server
        .execute_sql(&format!("UPDATE events SET created = created - {thirty_one_days}"))
        .await;
    server
        .execute_sql(&format!(
            "UPDATE webhook_deliveries SET created = created - {thirty_one_days}"
        ))
        .await;
    server.pending_payment(200).await;
    let cutoff = payrec::clock::unix_now() - payrec::events::EVENT_RETENTION_SECS;
    assert_eq!(server.store.prune_events(cutoff).await.expect("pruned"), 2);
    for id in &old {
        assert_eq!(server.retrieve_event(id).await.status, 404);
    }
    let kept = server.list_events(&[]).await.ok();
    assert_eq!(kept["data"].as_array().expect("data").len(), 2, "the new events stay");
    let tenant = payrec::store::Tenant {
        account_id: server.account_id.clone(),
        livemode: false,
    };
    let deliveries = server
        .store
        .list_deliveries(&tenant, None, None, 10)
        .await
        .expect("deliveries");
    assert!(deliveries.iter().all(|d| !old.contains(&d.event_id)), "{deliveries:?}");
    assert_eq!(deliveries.len(), 2);
}
