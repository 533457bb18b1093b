//! Webhook destinations are safe by default: deliveries go to public addresses only (live
//! mode over https), test mode may also reach loopback unless the deployment denies it, and
//! `--webhook-allow` extends the rule explicitly. The rule holds for every spelling of an
//! internal address, for a name that resolves to one (checked where the worker connects), for
//! a redirect (never followed) and with a proxy in the environment (never used). A failure is
//! shown to the tenant as a category, never the transport's message.

use crate::common::backend_test;
use std::time::Duration;

use payrec::ServerConfig;
use payrec::events::allow::AllowList;
use payrec::events::destination::Destinations;
use payrec::store::{DeliveryInfo, Tenant};

use crate::common::child::ChildServer;
use crate::common::dashboard::Browser;
use crate::common::receiver::Receiver;
use crate::common::{Api, TestServer};
use crate::webhooks::fast_webhooks;

fn ruled(test_mode_loopback: bool, allow: Option<&str>) -> ServerConfig {
    let mut config = fast_webhooks();
    config.webhooks.destinations = Destinations {
        allow: allow.map(|a| AllowList::parse(a).expect("a valid list")),
        test_mode_loopback,
    };
    config
}

fn denying_loopback() -> ServerConfig {
    ruled(false, None)
}

fn tenant(server: &TestServer, livemode: bool) -> Tenant {
    Tenant {
        account_id: server.account_id.clone(),
        livemode,
    }
}

/// The first delivery of the tenant once it has been attempted.
async fn attempted(server: &TestServer, livemode: bool) -> DeliveryInfo {
    for _ in 0..1000 {
        let stored = server
            .store
            .list_deliveries(&tenant(server, livemode), None, None, 10)
            .await
            .unwrap();
        if let Some(d) = stored.into_iter().find(|d| d.attempts > 0) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no delivery was attempted");
}

#[backend_test(config = fast_webhooks)]
async fn every_spelling_of_an_internal_address_is_refused_at_create(server: TestServer) {
    let live = server.with_key(&server.live_key);
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://2130706433/x",
        "https://0x7f.0.0.1/x",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/x",
        "https://172.16.5.4/x",
        "https://192.168.1.1/x",
        "https://[fd12::1]/x",
        "https://0.0.0.0/x",
    ] {
        let r = live
            .create_webhook_endpoint(&[("url", url), ("enabled_events[]", "*")])
            .await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        assert_eq!(r.error("param"), "url", "{url}");
    }
    let public = live
        .create_webhook_endpoint(&[("url", "https://hooks.example.com/x"), ("enabled_events[]", "*")])
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    // Test mode: loopback is a developer's receiver; the rest stays refused.
    for url in ["http://169.254.169.254/", "http://10.0.0.8/", "http://[fd12::1]/"] {
        let r = server
            .create_webhook_endpoint(&[("url", url), ("enabled_events[]", "*")])
            .await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
    }
    let local = server
        .create_webhook_endpoint(&[("url", "http://127.0.0.1:9/x"), ("enabled_events[]", "*")])
        .await;
    assert_eq!(local.status, 200, "{}", local.body);
    // An update is held to the same rule.
    let id = public.json["id"].as_str().unwrap().to_owned();
    let moved = live
        .update_webhook_endpoint(&id, &[("url", "https://169.254.169.254/")])
        .await;
    assert_eq!(moved.status, 400, "{}", moved.body);
}

#[backend_test(config = fast_webhooks)]
async fn a_name_that_resolves_to_loopback_is_refused_where_it_is_not_allowed(server: TestServer) {
    let receiver = Receiver::start(None).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let live = server.with_key(&server.live_key);
    let https_name = by_name.replace("http://", "https://");
    let created = live
        .create_webhook_endpoint(&[("url", &https_name), ("enabled_events[]", "*")])
        .await;
    assert_eq!(created.status, 200, "a name is judged at delivery: {}", created.body);
    live.pending_payment(100).await;
    let delivery = attempted(&server, true).await;
    assert_eq!(delivery.last_error.as_deref(), Some("blocked"), "{delivery:?}");
    assert!(receiver.deliveries().is_empty());
}

#[backend_test(config = denying_loopback)]
async fn test_mode_loopback_can_be_denied(server: TestServer) {
    let receiver = Receiver::start(None).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let refused = server
        .create_webhook_endpoint(&[("url", &receiver.url), ("enabled_events[]", "*")])
        .await;
    assert_eq!(refused.status, 400, "a literal loopback address: {}", refused.body);
    server.webhook_endpoint(&by_name).await;
    server.pending_payment(100).await;
    let delivery = attempted(&server, false).await;
    assert_eq!(delivery.last_error.as_deref(), Some("blocked"), "{delivery:?}");
    assert!(receiver.deliveries().is_empty());
}

fn allowing_loopback_explicitly() -> ServerConfig {
    ruled(false, Some("127.0.0.0/8"))
}

#[backend_test(config = allowing_loopback_explicitly)]
async fn the_allow_list_extends_the_rule_to_an_internal_receiver(server: TestServer) {
    let receiver = Receiver::start(None).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    server.webhook_endpoint(&by_name).await;
    server.pending_payment(100).await;
    receiver.wait_for(2).await;
}

#[backend_test(config = fast_webhooks)]
async fn a_redirect_is_never_followed(server: TestServer) {
    let target = Receiver::start(None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector = format!("http://{}/hooks", listener.local_addr().unwrap());
    let location = target.url.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            let location = location.clone();
            async move { (axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", location)]) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    server.webhook_endpoint(&redirector).await;
    server.pending_payment(100).await;
    let delivery = attempted(&server, false).await;
    assert_eq!(delivery.last_status, Some(307), "{delivery:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(target.deliveries().is_empty(), "the redirect's target got nothing");
}

#[backend_test(config = fast_webhooks)]
async fn a_failure_is_shown_as_a_category_never_the_transport_message(server: TestServer) {
    // A port nothing listens on: the connection is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", closed.local_addr().unwrap());
    drop(closed);
    server.webhook_endpoint(&url).await;
    server.pending_payment(100).await;
    let delivery = attempted(&server, false).await;
    assert_eq!(delivery.last_error.as_deref(), Some("refused"), "{delivery:?}");
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    let page = browser.get("/dashboard/webhooks").await;
    assert!(page.body.contains("could not connect"), "{}", page.body);
    assert!(
        !page.body.to_ascii_lowercase().contains("connection refused"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("tcp connect error"), "{}", page.body);
}

/// A proxy in the environment (which reqwest would use by default, and which would resolve
/// the name itself, out of the rule's sight) is not used: deliveries go direct or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_in_the_environment_is_never_used() {
    let proxy = Receiver::start(None).await;
    let proxy_address = proxy.url.trim_end_matches("/hooks").to_owned();
    let receiver = Receiver::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("proxy.db").display());
    let env = [
        ("HTTP_PROXY", proxy_address.as_str()),
        ("http_proxy", proxy_address.as_str()),
        ("HTTPS_PROXY", proxy_address.as_str()),
        ("ALL_PROXY", proxy_address.as_str()),
    ];
    let server = ChildServer::spawn_with(&url, &["--webhook-deny-loopback"], &env).await;
    let client = server.with_key(&server.test_key.clone().unwrap());
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    client.webhook_endpoint(&by_name).await;
    client.pending_payment(100).await;
    // Denied: the attempt fails, and neither the receiver nor the proxy hears of it.
    for _ in 0..500 {
        if server.stderr.lock().unwrap().contains("webhook delivery failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logs = server.stderr.lock().unwrap().clone();
    assert!(logs.contains("webhook delivery failed"), "{logs}");
    assert!(receiver.deliveries().is_empty() && proxy.deliveries().is_empty());
    drop(server);
    // Allowed: it goes straight to the receiver.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("direct.db").display());
    let server = ChildServer::spawn_with(&url, &[], &env).await;
    let client = server.with_key(&server.test_key.clone().unwrap());
    client.webhook_endpoint(&by_name).await;
    client.pending_payment(100).await;
    receiver.wait_for(2).await;
    assert!(proxy.deliveries().is_empty(), "the proxy was not used");
}
