//! The dashboard's cookies are decided by the deployment, never by a client's header: behind an
//! https public URL (`--public-url`) they are `__Host-` and `Secure` and every response carries
//! HSTS, so a cookie planted from a sibling subdomain (without the prefix) is no session and no
//! sign-in token; on plain http a client's `X-Forwarded-Proto` changes nothing.

use crate::common::backend_test;
use crate::common::dashboard::Browser;
use crate::common::{Api, TestServer};
use payrec::ServerConfig;

fn behind_https() -> ServerConfig {
    ServerConfig {
        public_url: Some("https://payrec.example.com".parse().unwrap()),
        ..ServerConfig::default()
    }
}

fn set_cookies(page: &crate::common::dashboard::Page) -> Vec<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[backend_test(config = behind_https)]
async fn behind_an_https_public_url_cookies_are_host_prefixed_and_secure_with_hsts(server: TestServer) {
    let mut browser = Browser::new(&server.base);
    let signed_in = browser.sign_in(&server.test_key).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let session = set_cookies(&signed_in)
        .into_iter()
        .find(|c| c.starts_with("__Host-payrec_session="))
        .expect("a __Host- session cookie");
    for attribute in ["Secure", "Path=/;", "HttpOnly", "SameSite=Strict"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert_eq!(
        signed_in.header("strict-transport-security"),
        Some(payrec::app::STRICT_TRANSPORT_SECURITY)
    );
    assert_eq!(browser.get("/dashboard/payments").await.status, 200);
    let api = server.list_records(&[]).await;
    assert!(
        api.header("strict-transport-security").is_some(),
        "the API's answers too"
    );
}

#[backend_test(config = behind_https)]
async fn a_cookie_planted_without_the_host_prefix_is_neither_a_session_nor_a_sign_in_token(server: TestServer) {
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    let id = browser.cookies["__Host-payrec_session"].clone();
    let mut planted = Browser::new(&server.base);
    planted.cookies.insert("payrec_session".into(), id);
    let page = planted.get("/dashboard/payments").await;
    assert_eq!(page.status, 303, "sent to sign in: {}", page.body);
    // Login CSRF: an attacker's token in a bare cookie and in the form does not sign in.
    let mut victim = Browser::new(&server.base);
    victim
        .cookies
        .insert("payrec_sign_in".into(), "attackerchosentoken".into());
    let forced = victim
        .post(
            "/dashboard/sign-in",
            &[("key", &server.test_key), ("csrf", "attackerchosentoken")],
        )
        .await;
    assert_eq!(forced.status, 403, "{}", forced.body);
}

#[backend_test]
async fn on_plain_http_a_forwarded_proto_header_changes_nothing(server: TestServer) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{}/dashboard/sign-in", server.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("payrec_sign_in="), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(page.headers().get("strict-transport-security").is_none());
}
