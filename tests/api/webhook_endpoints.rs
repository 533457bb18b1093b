//! Webhook endpoints (API.md, "Endpoints"): the five calls with Stripe's shapes and errors, the
//! secret in the create response only, idempotency keys, tenant and mode walls.

use crate::common::backend_test;
use serde_json::{Value, json};

use crate::common::{Api, TestServer, id_of};

const URL: &str = "https://hooks.example.com/payrec";

async fn create(server: &TestServer, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![("url", URL), ("enabled_events[0]", "payment_record.created")];
    form.extend_from_slice(extra);
    server.create_webhook_endpoint(&form).await.ok()
}

#[backend_test]
async fn create_answers_the_endpoint_with_its_secret_and_retrieve_never_does(server: TestServer) {
    let created = create(
        &server,
        &[
            ("enabled_events[1]", "payment_attempt_record.refunded"),
            ("description", "ledger sync"),
            ("metadata[team]", "finance"),
            ("api_version", "2026-10-28.endive"),
        ],
    )
    .await;
    let id = id_of(&created);
    assert!(id.starts_with("we_") && id.len() == 27, "{id}");
    let secret = created["secret"].as_str().expect("secret on create");
    assert!(secret.starts_with("whsec_") && secret.len() > 30, "{secret}");
    assert_eq!(created["object"], "webhook_endpoint");
    assert_eq!(created["url"], URL);
    assert_eq!(created["status"], "enabled");
    assert_eq!(created["livemode"], false);
    assert_eq!(created["application"], Value::Null);
    assert_eq!(created["description"], "ledger sync");
    assert_eq!(created["api_version"], "2026-10-28.endive");
    assert_eq!(created["metadata"], json!({"team": "finance"}));
    assert_eq!(
        created["enabled_events"],
        json!(["payment_record.created", "payment_attempt_record.refunded"])
    );
    let retrieved = server.retrieve_webhook_endpoint(&id).await;
    assert!(!retrieved.body.contains(secret), "the secret is shown once");
    let retrieved = retrieved.ok();
    assert!(retrieved.get("secret").is_none());
    let mut without_secret = created.clone();
    without_secret.as_object_mut().expect("object").remove("secret");
    assert_eq!(retrieved, without_secret);
    let listed = server.list_webhook_endpoints(&[]).await;
    assert!(!listed.body.contains(secret));
    assert_eq!(listed.json["data"], json!([without_secret]));
    assert_eq!(listed.json["url"], "/v1/webhook_endpoints");
}

#[backend_test]
async fn update_replaces_fields_merges_metadata_and_disables(server: TestServer) {
    let id = id_of(&create(&server, &[("metadata[a]", "1"), ("description", "old")]).await);
    let updated = server
        .update_webhook_endpoint(
            &id,
            &[
                ("url", "http://127.0.0.1:1/new"),
                ("enabled_events[]", "*"),
                ("metadata[b]", "2"),
                ("description", ""),
                ("disabled", "true"),
            ],
        )
        .await
        .ok();
    assert_eq!(updated["url"], "http://127.0.0.1:1/new");
    assert_eq!(updated["enabled_events"], json!(["*"]));
    assert_eq!(updated["metadata"], json!({"a": "1", "b": "2"}));
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["status"], "disabled");
    assert!(updated.get("secret").is_none());
    let enabled = server.update_webhook_endpoint(&id, &[("disabled", "false")]).await.ok();
    assert_eq!(enabled["status"], "enabled");
    assert_eq!(server.retrieve_webhook_endpoint(&id).await.ok(), enabled);
}

#[backend_test]
async fn delete_answers_a_deleted_object_and_the_endpoint_is_gone(server: TestServer) {
    let id = id_of(&create(&server, &[]).await);
    let deleted = server.delete_webhook_endpoint(&id).await.ok();
    assert_eq!(
        deleted,
        json!({"id": id, "object": "webhook_endpoint", "deleted": true})
    );
    for r in [
        server.retrieve_webhook_endpoint(&id).await,
        server.update_webhook_endpoint(&id, &[("description", "x")]).await,
        server.delete_webhook_endpoint(&id).await,
    ] {
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.error("type"), "invalid_request_error");
        assert_eq!(r.error("code"), "resource_missing");
        assert_eq!(r.error("message"), format!("No such webhook_endpoint: '{id}'").as_str());
    }
    assert_eq!(server.list_webhook_endpoints(&[]).await.ok()["data"], json!([]));
}

#[backend_test]
async fn bad_parameters_get_stripe_shaped_errors(server: TestServer) {
    let missing = server.create_webhook_endpoint(&[("enabled_events[]", "*")]).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error("code"), "parameter_missing");
    assert_eq!(missing.error("param"), "url");
    let no_events = server.create_webhook_endpoint(&[("url", URL)]).await;
    assert_eq!(no_events.error("param"), "enabled_events");
    let unknown_type = server
        .create_webhook_endpoint(&[("url", URL), ("enabled_events[]", "charge.succeeded")])
        .await;
    assert_eq!(unknown_type.status, 400);
    assert_eq!(unknown_type.error("type"), "invalid_request_error");
    assert_eq!(unknown_type.error("param"), "enabled_events");
    for url in ["ftp://example.com/x", "not a url", "http://", "/relative"] {
        let r = server
            .create_webhook_endpoint(&[("url", url), ("enabled_events[]", "*")])
            .await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        assert_eq!(r.error("param"), "url", "{url}");
    }
    let unknown = server
        .create_webhook_endpoint(&[("url", URL), ("enabled_events[]", "*"), ("colour", "red")])
        .await;
    assert_eq!(unknown.error("code"), "parameter_unknown");
    let id = id_of(&create(&server, &[]).await);
    let bad_flag = server.update_webhook_endpoint(&id, &[("disabled", "yes")]).await;
    assert_eq!(bad_flag.status, 400);
    assert_eq!(bad_flag.error("param"), "disabled");
    let bad_update = server
        .update_webhook_endpoint(&id, &[("enabled_events[]", "nope")])
        .await;
    assert_eq!(bad_update.error("param"), "enabled_events");
    assert_eq!(
        server.retrieve_webhook_endpoint(&id).await.ok()["enabled_events"],
        json!(["payment_record.created"]),
        "a refused update changes nothing"
    );
}

#[backend_test]
async fn an_idempotent_create_replays_the_same_endpoint_and_secret(server: TestServer) {
    let form = [("url", URL), ("enabled_events[]", "*")];
    let first = server.create_webhook_endpoint_keyed("we-key", &form).await;
    let second = server.create_webhook_endpoint_keyed("we-key", &form).await;
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.body, second.body);
    let secret = first.json["secret"].as_str().expect("a secret").to_owned();
    let tenant = payrec::store::Tenant {
        account_id: server.account_id.clone(),
        livemode: false,
    };
    let saved = server
        .store
        .find_idempotent(&tenant, "we-key")
        .await
        .unwrap()
        .expect("saved");
    assert!(
        !saved.response.body.contains(&secret) && !saved.response.body.contains("whsec_"),
        "the secret is stored once, in the endpoint's row: {}",
        saved.response.body
    );
    assert_eq!(
        server.list_webhook_endpoints(&[]).await.ok()["data"]
            .as_array()
            .expect("data")
            .len(),
        1
    );
    let other = server
        .create_webhook_endpoint_keyed(
            "we-key",
            &[("url", URL), ("enabled_events[]", "payment_record.created")],
        )
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.error("type"), "idempotency_error");
}

#[backend_test]
async fn an_account_has_at_most_sixteen_endpoints_in_each_mode(server: TestServer) {
    for _ in 0..16 {
        create(&server, &[]).await;
    }
    let seventeenth = server
        .create_webhook_endpoint(&[("url", URL), ("enabled_events[]", "*")])
        .await;
    assert_eq!(seventeenth.status, 400, "{}", seventeenth.body);
    assert_eq!(seventeenth.error("type"), "invalid_request_error");
    let live = server.with_key(&server.live_key);
    assert_eq!(
        live.create_webhook_endpoint(&[("url", URL), ("enabled_events[]", "*")])
            .await
            .status,
        200
    );
    let page = server.list_webhook_endpoints(&[("limit", "10")]).await.ok();
    assert_eq!(page["has_more"], true);
    let last = id_of(&page["data"][9]);
    let rest = server
        .list_webhook_endpoints(&[("limit", "10"), ("starting_after", &last)])
        .await
        .ok();
    assert_eq!(rest["data"].as_array().expect("data").len(), 6);
}

#[backend_test]
async fn tenants_and_modes_never_see_each_others_endpoints(server: TestServer) {
    let id = id_of(&create(&server, &[]).await);
    let other = server.with_key(&server.new_account_key(false).await);
    let live = server.with_key(&server.live_key);
    for them in [&other, &live] {
        assert_eq!(them.retrieve_webhook_endpoint(&id).await.status, 404);
        assert_eq!(
            them.update_webhook_endpoint(&id, &[("description", "x")]).await.status,
            404
        );
        assert_eq!(them.delete_webhook_endpoint(&id).await.status, 404);
        assert_eq!(them.list_webhook_endpoints(&[]).await.ok()["data"], json!([]));
    }
    assert_eq!(server.retrieve_webhook_endpoint(&id).await.status, 200);
}
