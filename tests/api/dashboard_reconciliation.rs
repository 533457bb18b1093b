//! The dashboard's Reconciliation page over HTTP (issue 32, item 4), both backends: the runs
//! and the queue of open breaks; a secret key's session resolves a break by hand (matched to a
//! payment, or marked with a reason) and it leaves the queue, kept with who and when; a
//! restricted key's session sees the queue but cannot resolve; a forged token resolves nothing.

use crate::common::backend_test;
use crate::common::dashboard::Browser;
use crate::common::{Api, TestServer};
use crate::reconciliation_runs::{paid, reconcile, statement};

/// A statement of REF-A (matched) and REF-X (in no payment), with REF-B missing from it: two
/// open breaks. Answers (B's id, the breaks' ids: REF-X's, then B's).
async fn two_breaks(server: &TestServer) -> (String, String, String) {
    paid(server, "REF-A", "1000").await;
    let b = paid(server, "REF-B", "2000").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = statement(dir.path(), "day1.csv", &[("REF-A", "10.00"), ("REF-X", "5.00")]);
    reconcile(server, &file, &[]);
    let breaks = server.get("/payrec/v1/reconciliation_breaks", &[]).await.ok();
    let id_of = |category: &str| {
        breaks["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["category"] == category)
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("a {category} break: {breaks}"))
    };
    (b, id_of("missing_in_payrec"), id_of("missing_in_file"))
}

fn open_breaks(server_breaks: &serde_json::Value) -> usize {
    server_breaks["data"].as_array().unwrap().len()
}

#[backend_test]
async fn a_secret_key_resolves_a_break_by_hand_and_it_leaves_the_queue(server: TestServer) {
    let (b, line_x, missing_b) = two_breaks(&server).await;
    let mut admin = Browser::new(&server.base);
    admin.sign_in(&server.test_key).await;
    let page = admin.get("/dashboard/reconciliation").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("day1.csv") && page.body.contains("REF-X"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&line_x) && page.body.contains(&missing_b));
    let only = admin.get("/dashboard/reconciliation?category=missing_in_file").await;
    assert!(only.body.contains(&missing_b) && !only.body.contains(&line_x));
    let csrf = page.csrf();
    let forged = admin
        .post(
            "/dashboard/reconciliation/resolve",
            &[
                ("csrf", "forged"),
                ("result", &line_x),
                ("action", "mark"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let empty_reason = admin
        .post(
            "/dashboard/reconciliation/resolve",
            &[
                ("csrf", &csrf),
                ("result", &line_x),
                ("action", "mark"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(empty_reason.status, 400);
    assert_eq!(
        open_breaks(&server.get("/payrec/v1/reconciliation_breaks", &[]).await.ok()),
        2
    );
    // REF-X was B, paid under a wrong reference: matched by hand, B is no longer missing either.
    let matched = admin
        .post(
            "/dashboard/reconciliation/resolve",
            &[
                ("csrf", &csrf),
                ("result", &line_x),
                ("action", "match"),
                ("payment_record", &b),
            ],
        )
        .await;
    assert_eq!(matched.status, 303, "{}", matched.body);
    assert_eq!(
        open_breaks(&server.get("/payrec/v1/reconciliation_breaks", &[]).await.ok()),
        0
    );
    let kept = server
        .get(&format!("/payrec/v1/reconciliation_results/{line_x}"), &[])
        .await
        .ok();
    assert_eq!(kept["status"], "resolved");
    assert_eq!(kept["resolution"]["type"], "matched");
    assert_eq!(kept["resolution"]["payment_record"], b.as_str());
    assert!(
        kept["resolution"]["resolved_by"]
            .as_str()
            .unwrap()
            .starts_with("dashboard:key_")
    );
    assert!(kept["resolution"]["resolved_at"].as_i64().unwrap() > 0);
    let again = admin
        .post(
            "/dashboard/reconciliation/resolve",
            &[
                ("csrf", &csrf),
                ("result", &line_x),
                ("action", "mark"),
                ("reason", "twice"),
            ],
        )
        .await;
    assert_eq!(again.status, 409, "resolved already");
    let payment = admin.get(&format!("/dashboard/payments/{b}")).await;
    assert!(
        payment.body.contains("Reconciliation") && payment.body.contains(">matched<"),
        "{}",
        payment.body
    );
    assert!(
        server
            .event_types()
            .await
            .contains(&"payment_record.reconciled".to_owned())
    );
    let run = server.get("/payrec/v1/reconciliation_runs", &[]).await.ok();
    assert_eq!(run["data"][0]["open_breaks"], 0);
}

#[backend_test]
async fn a_restricted_key_sees_the_queue_but_cannot_resolve(server: TestServer) {
    let (_, line_x, _) = two_breaks(&server).await;
    let mut reader = Browser::new(&server.base);
    reader.sign_in(&server.new_restricted_key(false).await).await;
    let page = reader.get("/dashboard/reconciliation").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&line_x));
    assert!(
        !page.body.contains("form class=\"resolve\""),
        "no resolve form for a read-only key"
    );
    let refused = reader
        .post(
            "/dashboard/reconciliation/resolve",
            &[
                ("csrf", &page.csrf()),
                ("result", &line_x),
                ("action", "mark"),
                ("reason", "bank fee"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        open_breaks(&server.get("/payrec/v1/reconciliation_breaks", &[]).await.ok()),
        2
    );
    // Another account's session cannot resolve this account's break.
    let mut other = Browser::new(&server.base);
    other.sign_in(&server.new_account_key(false).await).await;
    let theirs = other.get("/dashboard/reconciliation").await;
    assert!(!theirs.body.contains(&line_x));
    let missing = other
        .post(
            "/dashboard/reconciliation/resolve",
            &[
                ("csrf", &theirs.csrf()),
                ("result", &line_x),
                ("action", "mark"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(missing.status, 404);
}
