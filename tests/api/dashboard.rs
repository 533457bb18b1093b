//! The dashboard over HTTP (issue 16): sign in with a secret or restricted key, sessions in
//! HttpOnly SameSite=Strict cookies, CSRF on every form, a strict Content-Security-Policy, the
//! payments list and a payment's page, and the walls: no session, another account's payment, a
//! signed-out or revoked session.

use crate::common::backend_test;
use crate::common::dashboard::Browser;
use crate::common::form::payment_with;
use crate::common::rules::refund;
use crate::common::{Api, TestServer, id_of};

async fn paid(server: &TestServer, reference: &str) -> String {
    let r = server
        .report_payment(&payment_with(&[
            ("amount_requested[value]", "123456"),
            ("amount_requested[currency]", "jpy"),
            ("outcome", "guaranteed"),
            ("guaranteed[guaranteed_at]", "1730211310"),
            ("processor_details[type]", "custom"),
            ("processor_details[custom][payment_reference]", reference),
            ("customer_details[email]", "jenny@example.com"),
            ("description", "Order 1001"),
        ]))
        .await;
    id_of(&r.ok())
}

#[backend_test]
async fn without_a_session_every_page_redirects_to_sign_in(server: TestServer) {
    let mut browser = Browser::new(&server.base);
    for path in ["/dashboard/", "/dashboard/payments", "/dashboard/payments/pr_x"] {
        let page = browser.get(path).await;
        assert!(matches!(page.status, 302 | 303), "{path}: {}", page.status);
        let to = page.header("location").unwrap_or_default();
        assert!(to == "/dashboard/sign-in" || path == "/dashboard/", "{path} → {to}");
    }
    let forged = browser.post("/dashboard/sign-out", &[("csrf", "x")]).await;
    assert_eq!(forged.header("location"), Some("/dashboard/sign-in"));
    let form = browser.get("/dashboard/sign-in").await;
    assert_eq!(form.status, 200);
    assert!(form.header("content-type").unwrap().starts_with("text/html"));
    let csp = form.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!form.body.contains("<script"), "no scripts to read the dashboard");
}

#[backend_test]
async fn a_restricted_key_signs_in_and_sees_its_payments_and_their_pages(server: TestServer) {
    let id = paid(&server, "bank-ref-7731").await;
    assert_eq!(
        refund(
            &server,
            &id,
            "rf-1",
            &[("amount[value]", "456"), ("amount[currency]", "jpy")]
        )
        .await
        .status,
        200
    );
    let key = server.new_restricted_key(false).await;
    let mut browser = Browser::new(&server.base);
    let signed_in = browser.sign_in(&key).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let cookie = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("payrec_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(&key));
    let list = browser.get("/dashboard/payments").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("bank-ref-7731"), "{}", list.body);
    assert!(list.body.contains("123456 JPY"), "JPY has no decimals");
    assert!(list.body.contains("test mode"));
    assert!(list.body.contains("read only"));
    assert!(!list.body.contains(&key), "never the key in a page");
    let detail = browser.get(&format!("/dashboard/payments/{id}")).await;
    assert_eq!(detail.status, 200);
    for shown in [
        "initiated",
        "guaranteed",
        "Refund of 456 JPY",
        "rf-1",
        "payment_record.created",
        "jenny@example.com",
        "Raw JSON",
    ] {
        assert!(detail.body.contains(shown), "{shown} on the payment's page");
    }
    assert!(
        detail.body.contains(&format!("&quot;id&quot;: &quot;{id}&quot;")),
        "the raw JSON, escaped"
    );
}

#[backend_test]
async fn a_wrong_csrf_token_is_refused(server: TestServer) {
    let mut browser = Browser::new(&server.base);
    browser.get("/dashboard/sign-in").await;
    let forged = browser
        .post("/dashboard/sign-in", &[("key", &server.test_key), ("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403);
    assert!(!browser.cookies.contains_key("payrec_session"));
    assert_eq!(browser.sign_in(&server.test_key).await.status, 303);
    let refused = browser.post("/dashboard/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(browser.get("/dashboard/payments").await.status, 200, "still signed in");
}

#[backend_test]
async fn a_bad_key_is_refused_without_echoing_it(server: TestServer) {
    let mut browser = Browser::new(&server.base);
    let bad = browser.sign_in("sk_test_notakeyofthisserver1234").await;
    assert_eq!(bad.status, 401);
    assert!(!bad.body.contains("notakeyofthisserver"));
    assert!(!browser.cookies.contains_key("payrec_session"));
}

#[backend_test]
async fn one_account_s_session_never_shows_another_s_data(server: TestServer) {
    let mine = paid(&server, "mine-ref").await;
    let other_key = server.new_account_key(false).await;
    let other = server.with_key(&other_key);
    let theirs = id_of(&other.pending_payment(777).await);
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    let list = browser.get("/dashboard/payments").await;
    assert!(list.body.contains(&mine) && !list.body.contains(&theirs));
    assert_eq!(browser.get(&format!("/dashboard/payments/{theirs}")).await.status, 404);
    let mut live = Browser::new(&server.base);
    live.sign_in(&server.live_key).await;
    let live_list = live.get("/dashboard/payments").await;
    assert!(live_list.body.contains("live mode") && !live_list.body.contains(&mine));
}

#[backend_test]
async fn signing_out_or_revoking_the_key_ends_the_session(server: TestServer) {
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    let kept = browser.cookies.clone();
    let page = browser.get("/dashboard/payments").await;
    let out = browser.post("/dashboard/sign-out", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/dashboard/sign-in"));
    // The old cookie, kept by someone, no longer opens anything.
    browser.cookies = kept;
    assert_eq!(browser.get("/dashboard/payments").await.status, 303);
    let key = server.new_restricted_key(false).await;
    let mut reader = Browser::new(&server.base);
    reader.sign_in(&key).await;
    assert_eq!(reader.get("/dashboard/payments").await.status, 200);
    let listing = server.store.list_keys().await.unwrap();
    let id = listing
        .iter()
        .find(|k| key.ends_with(&k.last4) && k.prefix.starts_with("rk_"))
        .unwrap()
        .key_id
        .clone();
    server.store.revoke_key(&id, payrec::clock::unix_now()).await.unwrap();
    assert_eq!(
        reader.get("/dashboard/payments").await.status,
        303,
        "a revoked key's session ends"
    );
}

#[backend_test]
async fn search_finds_payments_by_id_reference_refund_reference_customer_and_metadata(server: TestServer) {
    let id = paid(&server, "BANK-REF-555").await;
    assert_eq!(
        refund(
            &server,
            &id,
            "RF-555",
            &[("amount[value]", "6"), ("amount[currency]", "jpy")]
        )
        .await
        .status,
        200
    );
    let other = paid(&server, "BANK-REF-999").await;
    server
        .report_informational(
            &other,
            &[
                ("metadata[invoice]", "INV-7788"),
                ("customer_details[name]", "Ada Lovelace"),
            ],
        )
        .await
        .ok();
    let record = server.record(&id).await;
    let attempt = record["latest_payment_attempt_record"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    for (q, expected, not_expected) in [
        ("BANK-REF-555", &id, &other),
        ("RF-555", &id, &other),
        (id.as_str(), &id, &other),
        (attempt.as_str(), &id, &other),
        ("INV-7788", &other, &id),
        ("ada lovelace", &other, &id),
    ] {
        let page = browser
            .get(&format!(
                "/dashboard/payments?q={}",
                crate::common::encode(&[("", q)]).trim_start_matches('=')
            ))
            .await;
        assert_eq!(page.status, 200, "{q}");
        assert!(page.body.contains(expected.as_str()), "{q} finds {expected}");
        assert!(
            !page.body.contains(not_expected.as_str()),
            "{q} does not find {not_expected}"
        );
    }
    let none = browser.get("/dashboard/payments?q=nothing-like-this").await;
    assert!(none.body.contains("No payment matches"));
    let theirs = server.with_key(&server.new_account_key(false).await);
    theirs
        .report_payment(&payment_with(&[
            ("processor_details[type]", "custom"),
            ("processor_details[custom][payment_reference]", "BANK-REF-555"),
        ]))
        .await
        .ok();
    let mine = browser.get("/dashboard/payments?q=BANK-REF-555").await;
    assert!(
        mine.body.contains("1 payment(s) match"),
        "another account's payment is not found"
    );
}

#[backend_test]
async fn the_webhooks_page_lists_endpoints_and_deliveries_and_a_secret_key_resends(server: TestServer) {
    let receiver = crate::common::receiver::Receiver::start(None).await;
    let endpoint = id_of(
        &server
            .create_webhook_endpoint(&[("url", &receiver.url), ("enabled_events[]", "payment_record.created")])
            .await
            .ok(),
    );
    server.pending_payment(100).await;
    let event = receiver.wait_for(1).await[0].event_id();
    let mut reader = Browser::new(&server.base);
    reader.sign_in(&server.new_restricted_key(false).await).await;
    let page = reader.get("/dashboard/webhooks").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&endpoint) && page.body.contains(&receiver.url));
    assert!(page.body.contains(&event), "the delivery is listed");
    assert!(!page.body.contains(">Resend<"), "no resend for a read-only key");
    let csrf = page.csrf();
    let refused = reader
        .post(
            "/dashboard/webhooks/resend",
            &[("csrf", &csrf), ("event", &event), ("endpoint", &endpoint)],
        )
        .await;
    assert_eq!(refused.status, 403);
    let mut admin = Browser::new(&server.base);
    admin.sign_in(&server.test_key).await;
    let page = admin.get("/dashboard/webhooks").await;
    assert!(page.body.contains(">Resend<"));
    let forged = admin
        .post(
            "/dashboard/webhooks/resend",
            &[("csrf", "forged"), ("event", &event), ("endpoint", &endpoint)],
        )
        .await;
    assert_eq!(forged.status, 403);
    let csrf = page.csrf();
    let sent = admin
        .post(
            "/dashboard/webhooks/resend",
            &[("csrf", &csrf), ("event", &event), ("endpoint", &endpoint)],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let again = receiver.wait_for(2).await;
    assert_eq!(again[1].event_id(), event, "delivered again");
    // Another account's event and endpoint are not this session's to resend.
    let other = server.with_key(&server.new_account_key(false).await);
    let theirs = id_of(&other.webhook_endpoint("http://127.0.0.1:9/x").await);
    let missing = admin
        .post(
            "/dashboard/webhooks/resend",
            &[("csrf", &csrf), ("event", &event), ("endpoint", &theirs)],
        )
        .await;
    assert_eq!(missing.status, 404);
}

/// The dashboard's own error path: a request a page cannot serve is answered with a page (never
/// the API's JSON) naming its request id, the one in the `Request-Id` header.
#[backend_test]
async fn a_request_a_page_cannot_serve_gets_an_html_page_naming_its_request_id(server: TestServer) {
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    let http = reqwest::Client::new();
    let cookie: Vec<String> = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sent = http
        .post(format!("{}/dashboard/sign-out", server.base))
        .header("cookie", cookie.join("; "))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 400);
    let request_id = sent.headers()["request-id"].to_str().unwrap().to_owned();
    assert!(
        sent.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = sent.text().await.unwrap();
    assert!(page.contains(&request_id), "{page}");
    assert!(!page.contains("\"error\""), "not the API's JSON: {page}");
}

/// The database gone while a page loads: a 503 page with the request id (retry), not JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]
async fn a_page_while_the_database_is_gone_is_a_503_page_naming_its_request_id() {
    let schema = crate::common::postgres_schema().await;
    let (relay, relayed) = crate::common::relay::CuttableRelay::before(schema.url()).await;
    let server = crate::common::child::ChildServer::spawn(&relayed, &[]).await;
    let mut browser = Browser::new(&server.base);
    assert_eq!(browser.sign_in(&server.test_key.clone().unwrap()).await.status, 303);
    relay.cut();
    let page = browser.get("/dashboard/payments").await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let request_id = page.header("request-id").unwrap().to_owned();
    assert!(page.body.contains(&request_id), "{}", page.body);
    assert!(page.header("retry-after").is_some());
    relay.restore();
}
