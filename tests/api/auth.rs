//! API keys over HTTP: Bearer or Basic auth, Stripe's 401 texts, masked keys, revoked keys,
//! `accept_any_key`, and the unsupported `Stripe-Account` header.

use crate::common::backend_test;
use crate::common::{Api, Auth, Endpoint, Resp, TestServer};
use base64::Engine;
use payrec::wire::error::NO_API_KEY_MESSAGE;
use reqwest::Method;

/// A record that does not exist: a 404 here proves the key was accepted.
fn unknown_record() -> Endpoint {
    Endpoint::RetrieveRecord("pr_doesnotexist".to_owned())
}

async fn get_unknown_record(server: &TestServer, auth: Auth) -> Resp {
    server.with_auth(auth).call(&unknown_record(), &[], None).await
}

/// The unknown record with `name: value` as the only authentication.
async fn get_unknown_record_with_header(server: &TestServer, name: &str, value: &str) -> Resp {
    let path = unknown_record().path();
    server
        .request(Method::GET, &path, Auth::None, &[], &[(name, value)])
        .await
}

fn assert_key_accepted(r: &Resp) {
    assert_eq!(r.status, 404, "expected the key to be accepted: {}", r.body);
    assert_eq!(r.error("code"), "resource_missing", "{}", r.body);
    assert_eq!(r.error("message"), "No such payment_record: 'pr_doesnotexist'");
}

fn assert_no_api_key(r: &Resp) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    assert_eq!(r.error("message"), NO_API_KEY_MESSAGE);
}

fn assert_invalid_key(r: &Resp, masked: &str) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    assert_eq!(
        r.error("message").as_str(),
        Some(format!("Invalid API Key provided: {masked}").as_str())
    );
}

fn basic(credentials: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[backend_test]
async fn a_request_without_a_key_gets_stripes_401_text(server: TestServer) {
    let r = get_unknown_record(&server, Auth::None).await;
    assert_no_api_key(&r);
    assert!(NO_API_KEY_MESSAGE.starts_with("You did not provide an API key."));
    let fields = r.json["error"].as_object().expect("error object");
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["message", "type"],
        "no code, param or doc_url on a 401: {}",
        r.body
    );
}

#[backend_test]
async fn a_post_without_a_key_is_rejected_before_its_parameters_are_read(server: TestServer) {
    let r = server.with_auth(Auth::None).report_payment(&[("foo", "1")]).await;
    assert_no_api_key(&r);
}

#[backend_test]
async fn an_authorization_header_with_an_unknown_scheme_counts_as_no_key(server: TestServer) {
    let value = format!("Token {}", server.test_key);
    let r = get_unknown_record_with_header(&server, "authorization", &value).await;
    assert_no_api_key(&r);
}

#[backend_test]
async fn an_empty_bearer_token_counts_as_no_key(server: TestServer) {
    let r = get_unknown_record_with_header(&server, "authorization", "Bearer ").await;
    assert_no_api_key(&r);
}

#[backend_test]
async fn basic_auth_with_an_empty_user_name_counts_as_no_key(server: TestServer) {
    let r = get_unknown_record_with_header(&server, "authorization", &basic(":password")).await;
    assert_no_api_key(&r);
}

#[backend_test]
async fn basic_auth_that_is_not_base64_is_a_401_not_a_500(server: TestServer) {
    let r = get_unknown_record_with_header(&server, "authorization", "Basic !!!not-base64!!!").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
}

#[backend_test]
async fn a_bearer_key_is_accepted(server: TestServer) {
    let r = get_unknown_record(&server, Auth::Bearer(server.test_key.clone())).await;
    assert_key_accepted(&r);
}

#[backend_test]
async fn the_bearer_scheme_name_is_case_insensitive(server: TestServer) {
    let value = format!("bearer {}", server.test_key);
    let r = get_unknown_record_with_header(&server, "authorization", &value).await;
    assert_key_accepted(&r);
}

#[backend_test]
async fn a_basic_key_as_user_name_is_accepted(server: TestServer) {
    let r = get_unknown_record(&server, Auth::Basic(server.test_key.clone())).await;
    assert_key_accepted(&r);
}

#[backend_test]
async fn basic_auth_ignores_the_password_and_accepts_a_missing_colon(server: TestServer) {
    let with_password = basic(&format!("{}:whatever", server.test_key));
    assert_key_accepted(&get_unknown_record_with_header(&server, "authorization", &with_password).await);
    let without_colon = basic(&server.test_key);
    assert_key_accepted(&get_unknown_record_with_header(&server, "authorization", &without_colon).await);
}

#[backend_test]
async fn a_live_key_is_accepted(server: TestServer) {
    let r = get_unknown_record(&server, Auth::Bearer(server.live_key.clone())).await;
    assert_key_accepted(&r);
}

#[backend_test]
async fn a_wrong_key_gets_401_naming_only_its_last_four_characters(server: TestServer) {
    let wrong = "sk_test_ThisKeyWasNeverIssued0wxyz";
    let r = get_unknown_record(&server, Auth::Bearer(wrong.into())).await;
    assert_invalid_key(&r, "sk_test_****wxyz");
    assert!(!r.body.contains(wrong), "the full key leaked: {}", r.body);
    assert!(
        !r.body.contains("ThisKeyWasNeverIssued"),
        "part of the key leaked: {}",
        r.body
    );
    for (name, value) in &r.headers {
        let value = value.to_str().unwrap_or_default();
        assert!(!value.contains(wrong), "the key leaked in header {name}");
    }
    let fields = r.json["error"].as_object().expect("error object");
    assert!(!fields.contains_key("code") && !fields.contains_key("param") && !fields.contains_key("doc_url"));
}

#[backend_test]
async fn a_wrong_key_sent_with_basic_auth_is_masked_the_same_way(server: TestServer) {
    let r = get_unknown_record(&server, Auth::Basic("sk_test_NeverIssuedEither1234".into())).await;
    assert_invalid_key(&r, "sk_test_****1234");
}

#[backend_test]
async fn a_wrong_live_key_is_masked_with_the_live_prefix(server: TestServer) {
    let r = get_unknown_record(&server, Auth::Bearer("sk_live_NotARealLiveKeyAtAll9876".into())).await;
    assert_invalid_key(&r, "sk_live_****9876");
}

#[backend_test]
async fn a_real_key_with_one_character_changed_is_rejected(server: TestServer) {
    let mut altered = server.test_key.clone();
    let last = altered.pop().expect("non-empty key");
    altered.push(if last == 'a' { 'b' } else { 'a' });
    let r = get_unknown_record(&server, Auth::Bearer(altered.clone())).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(!r.body.contains(&altered));
}

#[backend_test]
async fn an_overlong_key_is_a_401_that_does_not_echo_it(server: TestServer) {
    let long = format!("sk_test_{}", "A".repeat(1000));
    let r = get_unknown_record(&server, Auth::Bearer(long.clone())).await;
    assert_invalid_key(&r, "sk_test_****AAAA");
    assert!(!r.body.contains(&long));
}

#[backend_test]
async fn a_key_from_another_account_is_accepted(server: TestServer) {
    let other_test = server.new_account_key(false).await;
    assert_key_accepted(&get_unknown_record(&server, Auth::Bearer(other_test)).await);
    let other_live = server.new_account_key(true).await;
    assert_key_accepted(&get_unknown_record(&server, Auth::Basic(other_live)).await);
}

#[backend_test]
async fn a_stripe_account_header_is_rejected_with_400_saying_connect_is_not_served(server: TestServer) {
    let r = server
        .request(
            Method::GET,
            &unknown_record().path(),
            Auth::Bearer(server.test_key.clone()),
            &[],
            &[("stripe-account", "acct_1234567890")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    let message = r.error("message").as_str().expect("message");
    assert!(message.contains("Stripe-Account"), "{message}");
    assert!(message.contains("Connect"), "{message}");
}

#[backend_test]
async fn a_stripe_account_header_is_rejected_on_posts_too(server: TestServer) {
    let r = server
        .request(
            Method::POST,
            &Endpoint::ReportPayment.path(),
            Auth::Basic(server.test_key.clone()),
            &[("amount_requested[currency]", "usd")],
            &[("stripe-account", "acct_1234567890")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.error("message")
            .as_str()
            .unwrap_or_default()
            .contains("Stripe-Account")
    );
}

/// Revokes the server's own test-mode key through the store.
async fn revoke_test_key(server: &TestServer) {
    let keys = server.store.list_keys().await.expect("list keys");
    let key = keys
        .iter()
        .find(|k| k.account_id == server.account_id && !k.livemode && server.test_key.ends_with(&k.last4))
        .expect("the test key is listed");
    assert!(
        server
            .store
            .revoke_key(&key.key_id, payrec::clock::unix_now())
            .await
            .expect("revoke")
    );
}

#[backend_test]
async fn a_revoked_key_is_rejected_with_401(server: TestServer) {
    assert_key_accepted(&get_unknown_record(&server, Auth::Bearer(server.test_key.clone())).await);
    revoke_test_key(&server).await;
    let r = get_unknown_record(&server, Auth::Bearer(server.test_key.clone())).await;
    let last4: String = server
        .test_key
        .chars()
        .skip(server.test_key.chars().count() - 4)
        .collect();
    assert_invalid_key(&r, &format!("sk_test_****{last4}"));
}

#[backend_test]
async fn revoking_one_key_leaves_the_accounts_other_keys_working(server: TestServer) {
    revoke_test_key(&server).await;
    assert_key_accepted(&get_unknown_record(&server, Auth::Bearer(server.live_key.clone())).await);
}

#[backend_test]
async fn the_health_check_needs_no_key(server: TestServer) {
    let r = server.healthz().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["status"], "ok");
}

/// The same checks on servers started with `accept_any_key` (for stripe-mock-style suites).
mod any_key {
    use super::{assert_key_accepted, assert_no_api_key, get_unknown_record};
    use crate::common::{Auth, TestServer, backend_test};
    use payrec::ServerConfig;

    fn any_key_config() -> ServerConfig {
        ServerConfig {
            accept_any_key: true,
            ..Default::default()
        }
    }

    #[backend_test(config = any_key_config)]
    async fn with_accept_any_key_any_well_formed_key_is_accepted(server: TestServer) {
        for key in [
            "sk_test_anything123",
            "sk_live_anything123",
            "sk_test_with_underscores_42",
        ] {
            let r = get_unknown_record(&server, Auth::Bearer(key.into())).await;
            assert_key_accepted(&r);
        }
    }

    #[backend_test(config = any_key_config)]
    async fn with_accept_any_key_the_same_key_works_on_every_request(server: TestServer) {
        for _ in 0..3 {
            assert_key_accepted(&get_unknown_record(&server, Auth::Basic("sk_test_again456".into())).await);
        }
    }

    #[backend_test(config = any_key_config)]
    async fn with_accept_any_key_the_issued_keys_still_work(server: TestServer) {
        assert_key_accepted(&get_unknown_record(&server, Auth::Bearer(server.test_key.clone())).await);
    }

    #[backend_test(config = any_key_config)]
    async fn with_accept_any_key_a_malformed_key_is_still_401(server: TestServer) {
        for key in [
            "foo",
            "sk_test_",
            "pk_test_anything123",
            "rk_test_anything123",
            "sk_test_bad-char!",
        ] {
            let r = get_unknown_record(&server, Auth::Bearer(key.into())).await;
            assert_eq!(r.status, 401, "{key}: {}", r.body);
            assert!(
                r.error("message")
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("Invalid API Key provided: "),
                "{key}: {}",
                r.body
            );
        }
    }

    #[backend_test(config = any_key_config)]
    async fn with_accept_any_key_no_key_is_still_401(server: TestServer) {
        assert_no_api_key(&get_unknown_record(&server, Auth::None).await);
    }
}

/// Uses the server's test key twice (so that it is in the key cache), then revokes it with
/// `payrec keys revoke`, another process.
async fn revoke_a_cached_key_with_the_cli(server: &TestServer) {
    let bearer = || Auth::Bearer(server.test_key.clone());
    // Twice: the second answer comes from the server's key cache.
    assert_key_accepted(&get_unknown_record(server, bearer()).await);
    assert_key_accepted(&get_unknown_record(server, bearer()).await);
    let keys = server.store.list_keys().await.expect("list keys");
    let key = keys
        .iter()
        .find(|k| !k.livemode && server.test_key.ends_with(&k.last4))
        .expect("the test key is listed");
    let (ok, _, stderr) = crate::common::child::run_payrec(&server.database_url, &["keys", "revoke", &key.key_id]);
    assert!(ok, "{stderr}");
}

/// PostgreSQL servers remember keys between requests; a key revoked elsewhere (the CLI here,
/// another replica alike) is forgotten when the revocation's notification arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_key_revoked_by_the_cli_is_refused_by_a_running_postgresql_server() {
    let server = TestServer::start_on(crate::common::Backend::Postgres, payrec::ServerConfig::default()).await;
    let bearer = || Auth::Bearer(server.test_key.clone());
    revoke_a_cached_key_with_the_cli(&server).await;
    // The notification reaches the server's listener in about a millisecond; allow two seconds.
    let mut status = 0;
    for _ in 0..100 {
        status = get_unknown_record(&server, bearer()).await.status;
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 401, "the revoked key is refused");
}

/// SQLite servers remember keys between requests too; the CLI, another process, revokes a key
/// by the database and the signal file beside it, which the server looks at before every
/// lookup: the very next request is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_by_the_cli_is_refused_by_a_running_sqlite_server_at_once() {
    let server = TestServer::start_on(crate::common::Backend::Sqlite, payrec::ServerConfig::default()).await;
    let bearer = || Auth::Bearer(server.test_key.clone());
    revoke_a_cached_key_with_the_cli(&server).await;
    assert_eq!(
        get_unknown_record(&server, bearer()).await.status,
        401,
        "the revoked key is refused"
    );
}
