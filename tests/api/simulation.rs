//! Injected faults (`--allow-simulation`, `Payrec-Simulate`) and Stripe's own rate limits
//! (`--stripe-rate-limits`), issue 31: what a client-resilience test can ask of payrec.

use crate::common::backend_test;

use payrec::ServerConfig;
use payrec::ratelimit::{Rate, RateLimits, StripeRates};
use reqwest::Method;

use crate::common::form::payment_with;
use crate::common::{Api, Endpoint, Resp, TestServer, id_of};
use crate::sdk_conformance::{run_script, sdk_python};

fn simulation() -> ServerConfig {
    ServerConfig {
        allow_simulation: true,
        ..ServerConfig::default()
    }
}

async fn retrieve_simulating(client: &impl Api, id: &str, fault: &str) -> Resp {
    let path = Endpoint::RetrieveRecord(id.to_owned()).path();
    client
        .request(Method::GET, &path, client.auth(), &[], &[("Payrec-Simulate", fault)])
        .await
}

#[backend_test(config = simulation)]
async fn each_simulated_fault_behaves_as_listed_through_the_python_sdk(server: TestServer) {
    let Some(python) = sdk_python() else { return };
    let stdout = run_script(python, "simulate.py", server.base(), &server.test_key).await;
    assert!(stdout.contains("SDK simulation: all checks passed"), "{stdout}");
}

#[backend_test(config = simulation)]
async fn each_fault_answers_stripes_shape_once_per_identical_request(server: TestServer) {
    let record = server.pending_payment(1000).await;
    let id = id_of(&record);
    let r = retrieve_simulating(&server, &id, "lock_timeout").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error("code"), "lock_timeout");
    assert_eq!(r.header("stripe-should-retry"), Some("true"));
    let retried = retrieve_simulating(&server, &id, "lock_timeout").await;
    assert_eq!(retried.status, 200, "the retry goes through: {}", retried.body);
    let r = retrieve_simulating(&server, &id, "api_error").await;
    assert_eq!(
        (r.status, r.error("type").as_str()),
        (500, Some("api_error")),
        "{}",
        r.body
    );
    let r = retrieve_simulating(&server, &id, "rate_limit").await;
    assert_eq!(
        (r.status, r.error("code").as_str()),
        (429, Some("rate_limit")),
        "{}",
        r.body
    );
    let r = retrieve_simulating(&server, &id, "no_such_fault").await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[backend_test(config = simulation)]
async fn drop_after_commit_commits_then_closes_the_connection_without_an_answer(server: TestServer) {
    let path = Endpoint::ReportPayment.path();
    let headers = [
        ("Payrec-Simulate", "drop_after_commit"),
        ("Idempotency-Key", "dropped-1"),
    ];
    let form = payment_with(&[]);
    let sent = server
        .try_request(Method::POST, &path, server.auth(), &form, &headers)
        .await;
    assert!(sent.is_err(), "no answer: {sent:?}");
    let page = server.list_records(&[]).await.ok();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1), "the change committed");
    let retry = server.call(&Endpoint::ReportPayment, &form, Some("dropped-1")).await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.ok(), page["data"][0]);
}

#[backend_test(config = simulation)]
async fn a_live_key_ignores_the_simulation_header(server: TestServer) {
    let live = server.with_key(&server.live_key);
    let record = live.report_payment(&payment_with(&[])).await.ok();
    let r = retrieve_simulating(&live, &id_of(&record), "api_error").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[backend_test]
async fn without_allow_simulation_the_header_is_ignored(server: TestServer) {
    let record = server.pending_payment(1000).await;
    for fault in ["rate_limit", "api_error", "no_such_fault"] {
        let r = retrieve_simulating(&server, &id_of(&record), fault).await;
        assert_eq!(r.status, 200, "{fault}: {}", r.body);
    }
}

/// Stripe's limits, with the test mode's burst cut to 3 so that the test is quick.
fn stripe_limits() -> ServerConfig {
    ServerConfig {
        rate_limits: RateLimits {
            stripe: Some(StripeRates {
                test: Rate {
                    per_second: 0.001,
                    burst: 3.0,
                },
                ..StripeRates::default()
            }),
            ..RateLimits::default()
        },
        ..ServerConfig::default()
    }
}

#[backend_test(config = stripe_limits)]
async fn stripe_rate_limits_refuse_an_account_past_its_test_mode_rate_and_no_one_else(server: TestServer) {
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(server.list_records(&[]).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let r = server.list_records(&[]).await;
    assert_eq!(r.error("code"), "rate_limit");
    let message = r.error("message");
    assert!(
        message
            .as_str()
            .unwrap_or_default()
            .starts_with("Testmode request rate limit exceeded"),
        "{message}"
    );
    assert_eq!(r.header("stripe-should-retry"), Some("true"));
    let live = server.with_key(&server.live_key);
    assert_eq!(live.list_records(&[]).await.status, 200, "live mode has its own rate");
    let other = server.with_key(&server.new_account_key(false).await);
    assert_eq!(other.list_records(&[]).await.status, 200, "another account has its own");
}
