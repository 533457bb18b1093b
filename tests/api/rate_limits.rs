//! Rate limits like Stripe's: a 429 `rate_limit` past a key's or an account's requests per
//! second, and failed authentications throttled per address (API and dashboard sign-in), the
//! right key too until the address's budget refills. Other addresses and accounts are not
//! touched. The attacker connects from 127.0.0.2.

use crate::common::backend_test;
use std::net::IpAddr;

use crate::common::dashboard::Browser;
use crate::common::{Api, Auth, Client, TestServer};
use crate::hostile_clients::ATTACKER;
use payrec::ServerConfig;
use payrec::ratelimit::{AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT, Rate, RateLimits};

fn attacker() -> IpAddr {
    IpAddr::V4(ATTACKER)
}

fn wrong_key(i: usize) -> String {
    format!("sk_test_{i:0>24}")
}

#[backend_test(config = default_auth_budget)]
async fn failed_api_keys_from_one_address_are_throttled_and_then_so_is_the_right_key(server: TestServer) {
    let burst = AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT as usize;
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..(burst + 50) {
        let r = Client::new(&server.base, Auth::Basic(wrong_key(i)))
            .connecting_from(attacker())
            .list_records(&[])
            .await;
        *statuses.entry(r.status).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&401), Some(&burst), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&50), "{statuses:?}");
    let right = Client::new(&server.base, Auth::Basic(server.test_key.clone()))
        .connecting_from(attacker())
        .list_records(&[])
        .await;
    assert_eq!(right.status, 429, "the right key is not checked either: {}", right.body);
    assert_eq!(right.error("code"), "rate_limit");
    assert_eq!(right.error("type"), "invalid_request_error");
    assert_eq!(right.header("stripe-should-retry"), Some("false"));
    assert!(
        right
            .header("retry-after")
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1)
    );
    let elsewhere = server.list_records(&[]).await;
    assert_eq!(elsewhere.status, 200, "127.0.0.1 is not throttled: {}", elsewhere.body);
    let metrics = server.metrics().await.body;
    assert!(metrics.contains("payrec_auth_failures_total"), "{metrics}");
}

#[backend_test(config = default_auth_budget)]
async fn wrong_dashboard_sign_ins_are_throttled_and_then_so_is_the_right_key(server: TestServer) {
    let mut browser = Browser::from_address(&server.base, attacker());
    let burst = AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT as usize;
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..(burst + 20) {
        *statuses.entry(browser.sign_in(&wrong_key(i)).await.status).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&401), Some(&burst), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&20), "{statuses:?}");
    let right = browser.sign_in(&server.test_key).await;
    assert_eq!(right.status, 429, "{}", right.body);
    assert!(right.body.contains("Too many sign-ins"), "{}", right.body);
    assert!(right.header("retry-after").is_some());
    let mut elsewhere = Browser::new(&server.base);
    assert_eq!(
        elsewhere.sign_in(&server.test_key).await.status,
        303,
        "127.0.0.1 signs in"
    );
}

/// Bursts of 3 per key and 5 per account that refill too slowly to matter in a test.
fn three_per_key() -> ServerConfig {
    let slow = |burst| Rate {
        per_second: 0.001,
        burst,
    };
    ServerConfig {
        rate_limits: RateLimits {
            per_key: slow(3.0),
            per_account: slow(5.0),
            ..RateLimits::default()
        },
        ..ServerConfig::default()
    }
}

#[backend_test(config = three_per_key)]
async fn a_key_past_its_rate_gets_stripes_429_and_another_account_does_not(server: TestServer) {
    let statuses: Vec<u16> = futures_util::future::join_all((0..6).map(|_| server.list_records(&[])))
        .await
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    let limited = server.list_records(&[]).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.error("code"), "rate_limit");
    assert!(
        limited.error("message").as_str().unwrap().contains("rate limit"),
        "{}",
        limited.body
    );
    assert_eq!(limited.header("stripe-should-retry"), Some("true"), "the SDKs retry it");
    let other = server.with_key(&server.new_account_key(false).await);
    assert_eq!(
        other.list_records(&[]).await.status,
        200,
        "another account has its own budget"
    );
}

#[backend_test(config = three_per_key)]
async fn an_accounts_keys_share_the_accounts_rate(server: TestServer) {
    // Three requests of the test key and two of the live key spend the account's five.
    for _ in 0..3 {
        assert_eq!(server.list_records(&[]).await.status, 200);
    }
    let live = server.with_key(&server.live_key);
    for _ in 0..2 {
        assert_eq!(live.list_records(&[]).await.status, 200);
    }
    let restricted = server.with_key(&server.new_restricted_key(false).await);
    assert_eq!(
        restricted.list_records(&[]).await.status,
        429,
        "the account's budget is spent"
    );
}

/// The default budget of failed authentications, refilling too slowly to matter in a test (a
/// slow machine would otherwise earn a token or two during the loop).
fn default_auth_budget() -> ServerConfig {
    let default = RateLimits::default().auth_failures_per_address;
    assert_eq!(default.burst, AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT as f64);
    ServerConfig {
        rate_limits: RateLimits {
            auth_failures_per_address: Rate {
                per_second: 0.001,
                ..default
            },
            ..RateLimits::default()
        },
        ..ServerConfig::default()
    }
}

/// 127.0.0.2 is a trusted proxy, with a small per-address cap that its connections ignore.
fn behind_a_proxy() -> ServerConfig {
    let mut config = default_auth_budget();
    config.limits.trusted_proxies = payrec::server::client::TrustedProxies::parse("127.0.0.2").unwrap();
    config.limits.connections_per_address_max = 2;
    config
}

#[backend_test(config = behind_a_proxy)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(server: TestServer) {
    let through_proxy = |key: String, client: &'static str| {
        let http = reqwest::Client::builder().local_address(attacker()).build().unwrap();
        let url = format!("{}/v1/events", server.base);
        async move {
            http.get(url)
                .basic_auth(key, Some(""))
                .header("x-forwarded-for", client)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let burst = AUTH_FAILURES_PER_ADDRESS_PER_MINUTE_DEFAULT as usize;
    for i in 0..burst {
        assert_eq!(through_proxy(wrong_key(i), "203.0.113.7").await, 401);
    }
    assert_eq!(
        through_proxy(wrong_key(0), "203.0.113.7").await,
        429,
        "that client is throttled"
    );
    assert_eq!(
        through_proxy(server.test_key.clone(), "198.51.100.9").await,
        200,
        "another client is not"
    );
    // The proxy's connections are not limited to its address's share.
    let statuses =
        futures_util::future::join_all((0..6).map(|_| through_proxy(server.test_key.clone(), "198.51.100.9"))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}
