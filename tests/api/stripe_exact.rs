//! Stripe-exact by default (issue 31): what Stripe refuses, payrec refuses the same way unless it
//! runs with `--extensions`; API versions are those payrec knows, and an endpoint's deliveries
//! carry its own.

use crate::common::backend_test;

use payrec::ServerConfig;
use payrec::api_version::{API_VERSION, API_VERSIONS};
use reqwest::Method;
use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{Api, Endpoint, Report, Resp, TestServer, id_of};

fn extensions() -> ServerConfig {
    crate::common::with_extensions()
}

/// Every use of an extension: (endpoint, query or form) for a record and its attempt.
fn extension_uses(record: &str, attempt: &str) -> Vec<(Endpoint, Vec<(&'static str, String)>)> {
    let expand = |path: &str| ("expand[]", path.to_owned());
    vec![
        (
            Endpoint::RetrieveRecord(record.into()),
            vec![expand("latest_payment_attempt_record")],
        ),
        (
            Endpoint::ListRecords,
            vec![expand("data.latest_payment_attempt_record")],
        ),
        (
            Endpoint::RetrieveAttempt(attempt.into()),
            vec![expand("payment_record")],
        ),
        (
            Endpoint::ListAttempts,
            vec![("payment_record", record.into()), expand("data.payment_record")],
        ),
        (
            Endpoint::ListAttempts,
            vec![("payment_record", record.into()), ("ending_before", attempt.into())],
        ),
        (
            Endpoint::Report(record.into(), Report::Informational),
            vec![
                ("description", "changed".into()),
                expand("latest_payment_attempt_record"),
            ],
        ),
    ]
}

async fn send(server: &TestServer, endpoint: &Endpoint, form: &[(&'static str, String)]) -> Resp {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    server.call(endpoint, &form, None).await
}

#[backend_test]
async fn the_extensions_are_refused_as_stripe_refuses_them_by_default(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let (id, attempt) = (
        id_of(&record),
        record["latest_payment_attempt_record"].as_str().unwrap().to_owned(),
    );
    for (endpoint, form) in extension_uses(&id, &attempt) {
        let r = send(&server, &endpoint, &form).await;
        let path = endpoint.path();
        assert_eq!(r.status, 400, "{path} {form:?}: {}", r.body);
        assert_eq!(r.error("type"), "invalid_request_error");
        match form.iter().find(|(k, _)| *k == "expand[]") {
            Some((_, expanded)) => {
                let message = format!("This property cannot be expanded ({expanded}).");
                assert_eq!(r.error("message").as_str(), Some(message.as_str()), "{path}");
            }
            None => {
                assert_eq!(r.error("code"), "parameter_unknown", "{path}: {}", r.body);
                assert_eq!(r.error("param"), "ending_before");
                assert_eq!(r.error("message"), "Received unknown parameter: ending_before");
            }
        }
    }
    let unchanged = server.retrieve_record(&id, &[]).await.ok();
    assert_eq!(unchanged, record, "a refused report changed nothing");
}

#[backend_test(config = extensions)]
async fn with_extensions_each_extension_answers(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let (id, attempt) = (
        id_of(&record),
        record["latest_payment_attempt_record"].as_str().unwrap().to_owned(),
    );
    for (endpoint, form) in extension_uses(&id, &attempt) {
        let r = send(&server, &endpoint, &form).await;
        assert_eq!(r.status, 200, "{} {form:?}: {}", endpoint.path(), r.body);
    }
    let expanded = server
        .retrieve_record(&id, &[("expand[]", "latest_payment_attempt_record")])
        .await
        .ok();
    assert_eq!(expanded["latest_payment_attempt_record"]["id"], attempt.as_str());
}

async fn with_version(server: &TestServer, versions: &[&str]) -> Resp {
    let headers: Vec<(&str, &str)> = versions.iter().map(|v| ("Stripe-Version", *v)).collect();
    let path = Endpoint::ListRecords.path();
    server.request(Method::GET, &path, server.auth(), &[], &headers).await
}

#[backend_test]
async fn a_stripe_version_header_must_name_a_known_version_and_is_echoed(server: TestServer) {
    for version in API_VERSIONS {
        let r = with_version(&server, &[version]).await;
        assert_eq!(r.status, 200, "{version}: {}", r.body);
        assert_eq!(r.header("stripe-version"), Some(*version));
    }
    for asked in [
        &["garbage"][..],
        &["2026-11-18.preview"],
        &["2020-08-27"],
        &[API_VERSION, API_VERSION],
    ] {
        let r = with_version(&server, asked).await;
        assert_eq!(r.status, 400, "{asked:?}: {}", r.body);
        let message = format!("Invalid Stripe API version: {}", asked.join(", "));
        assert_eq!(r.error("message").as_str(), Some(message.as_str()));
        assert_eq!(r.error("type"), "invalid_request_error");
        assert_eq!(
            r.header("stripe-version"),
            Some(API_VERSION),
            "the version payrec spoke"
        );
    }
    let r = with_version(&server, &[]).await;
    assert_eq!(r.header("stripe-version"), Some(API_VERSION));
}

#[backend_test]
async fn an_endpoint_api_version_must_be_one_payrec_knows(server: TestServer) {
    let url = "http://127.0.0.1:9/hook";
    let r = server
        .create_webhook_endpoint(&[("url", url), ("enabled_events[]", "*"), ("api_version", "garbage")])
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("param"), "api_version");
    assert_eq!(r.error("code"), "parameter_invalid_enum");
    let listed = server.list_webhook_endpoints(&[]).await.ok();
    assert_eq!(listed["data"], json!([]), "nothing was created");
    let pinned = "2026-07-29.dahlia";
    let r = server
        .create_webhook_endpoint(&[("url", url), ("enabled_events[]", "*"), ("api_version", pinned)])
        .await;
    assert_eq!(r.ok()["api_version"], pinned);
}

fn fast_deliveries() -> ServerConfig {
    crate::webhooks::fast_webhooks()
}

#[backend_test(config = fast_deliveries)]
async fn an_endpoints_deliveries_carry_its_api_version(server: TestServer) {
    let (pinned, unpinned) = (Receiver::start(None).await, Receiver::start(None).await);
    let version = "2026-07-29.dahlia";
    let form = [
        ("url", pinned.url.as_str()),
        ("enabled_events[]", "*"),
        ("api_version", version),
    ];
    let endpoint = server.create_webhook_endpoint(&form).await.ok();
    server.webhook_endpoint(&unpinned.url).await;
    let record = server.pending_payment(1000).await;
    let (to_pinned, to_unpinned) = (pinned.wait_for(2).await, unpinned.wait_for(2).await);
    for d in &to_pinned {
        let event = d.event();
        assert_eq!(event["api_version"], version, "{}", d.body);
        let read = server.retrieve_event(&d.event_id()).await.ok();
        assert_eq!(
            read["api_version"], API_VERSION,
            "the API answers in the account's version"
        );
        assert_eq!(event["data"], read["data"], "only the version differs");
    }
    for d in &to_unpinned {
        assert_eq!(d.event()["api_version"], API_VERSION, "{}", d.body);
    }
    assert!(
        to_pinned
            .iter()
            .any(|d| d.event()["data"]["object"]["id"] == record["id"])
    );
    let secret = endpoint["secret"].as_str().expect("secret");
    crate::webhooks::verify_with_python_sdk(&to_pinned, secret, Some(version)).await;
    crate::webhooks::verify_with_node_sdk(&to_pinned, secret, Some(version)).await;
}
