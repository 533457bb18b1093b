//! The dashboard's overview, the payments filters and the CSV export (issue 16), over HTTP on
//! both backends. The overview's figures are checked against what the API lists, so they are
//! the ledger's, not the page's own arithmetic.

use crate::common::backend_test;
use serde_json::Value;

use crate::common::dashboard::{Browser, Page};
use crate::common::form::payment_with;
use crate::common::rules::{refund, report_outcome};
use crate::common::{Api, TestServer, id_of};

/// A payment of `value` minor units of `currency`, reported with `outcome` (or pending).
async fn payment(server: &TestServer, value: &str, currency: &str, outcome: Option<&str>, reference: &str) -> String {
    let mut form = payment_with(&[
        ("amount_requested[value]", value),
        ("amount_requested[currency]", currency),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][payment_reference]", reference),
    ]);
    let at = ("failed[failed_at]", "1730211310");
    match outcome {
        Some("guaranteed") => form.extend([("outcome", "guaranteed"), ("guaranteed[guaranteed_at]", "1730211310")]),
        Some("failed") => form.extend([("outcome", "failed"), at]),
        Some("canceled") => form.extend([("outcome", "canceled"), ("canceled[canceled_at]", "1730211310")]),
        _ => {}
    }
    let r = server.report_payment(&form).await;
    id_of(&r.ok())
}

async fn signed_in(server: &TestServer, key: &str) -> Browser {
    let mut browser = Browser::new(&server.base);
    assert_eq!(browser.sign_in(key).await.status, 303);
    browser
}

/// The overview's card called `name`: its amount and its count line.
fn card(page: &Page, name: &str) -> (String, String) {
    let at = page
        .body
        .find(&format!("<div class=\"name\">{name}</div>"))
        .unwrap_or_else(|| panic!("a {name} card: {}", page.body));
    let rest = &page.body[at..];
    let inner = |class: &str| {
        let open = format!("<div class=\"{class}\">");
        let from = rest.find(&open).expect(class) + open.len();
        rest[from..].split("</div>").next().unwrap().to_owned()
    };
    (inner("value"), inner("count muted"))
}

/// The tenant's records as the API lists them.
async fn listed(server: &TestServer) -> Vec<Value> {
    let page = server.list_records(&[("limit", "100")]).await.json;
    page["data"].as_array().expect("data").clone()
}

#[backend_test]
async fn the_overview_totals_each_state_for_the_period_and_currency(server: TestServer) {
    let guaranteed = payment(&server, "1000", "usd", Some("guaranteed"), "g-1").await;
    assert_eq!(
        refund(
            &server,
            &guaranteed,
            "rf-1",
            &[("amount[value]", "300"), ("amount[currency]", "usd")]
        )
        .await
        .status,
        200
    );
    payment(&server, "500", "usd", Some("failed"), "f-1").await;
    payment(&server, "200", "usd", Some("canceled"), "c-1").await;
    let pending = payment(&server, "700", "usd", None, "p-1").await;
    payment(&server, "5000", "jpy", Some("guaranteed"), "j-1").await;
    // Another account's and the live mode's payments are not this overview's.
    server
        .with_key(&server.new_account_key(false).await)
        .pending_payment(99_999)
        .await;
    server.with_key(&server.live_key).pending_payment(88_888).await;

    let mut browser = signed_in(&server, &server.new_restricted_key(false).await).await;
    let overview = browser.get("/dashboard/").await;
    assert_eq!(overview.status, 200);
    assert_eq!(
        card(&overview, "Guaranteed"),
        ("10.00 USD".into(), "1 payment".into()),
        "usd has the most records"
    );
    assert_eq!(card(&overview, "Refunded"), ("3.00 USD".into(), "1 payment".into()));
    assert_eq!(card(&overview, "Failed"), ("5.00 USD".into(), "1 payment".into()));
    assert_eq!(card(&overview, "Canceled"), ("2.00 USD".into(), "1 payment".into()));
    assert_eq!(card(&overview, "Pending"), ("7.00 USD".into(), "1 payment".into()));
    assert_eq!(
        card(&overview, "All requested"),
        ("24.00 USD".into(), "4 payments".into())
    );
    // The same figures from the API's own objects.
    let records = listed(&server).await;
    let usd: Vec<&Value> = records
        .iter()
        .filter(|r| r["amount_requested"]["currency"] == "usd")
        .collect();
    let sum = |field: &str| usd.iter().map(|r| r[field]["value"].as_i64().unwrap()).sum::<i64>();
    assert_eq!(
        (sum("amount_guaranteed"), sum("amount_refunded"), sum("amount_failed")),
        (1000, 300, 500)
    );
    assert!(overview.body.contains("<svg class=\"chart\""), "a chart");
    assert!(overview.body.contains("10.00 USD guaranteed") && overview.body.contains("3.00 USD refunded"));
    assert!(overview.body.contains(&pending), "the latest payments");

    // An outcome moves the pending payment; the other currency is a choice away.
    assert_eq!(
        report_outcome(&server, &pending, "guaranteed", "1730211320")
            .await
            .status,
        200
    );
    let after = browser.get("/dashboard/").await;
    assert_eq!(card(&after, "Guaranteed"), ("17.00 USD".into(), "2 payments".into()));
    assert_eq!(card(&after, "Pending"), ("0.00 USD".into(), "0 payments".into()));
    let jpy = browser.get("/dashboard/?currency=jpy").await;
    assert_eq!(card(&jpy, "Guaranteed"), ("5000 JPY".into(), "1 payment".into()));
    // A period without payments says so; a nonsensical one is named.
    let empty = browser.get("/dashboard/?from=2001-01-01&to=2001-01-31").await;
    assert!(
        empty
            .body
            .contains("No payments were created from 2001-01-01 to 2001-01-31"),
        "{}",
        empty.body
    );
    let wrong = browser.get("/dashboard/?from=someday").await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("“someday” is not a date"));
}

#[backend_test]
async fn the_payments_filters_select_by_created_range_state_currency_and_amount(server: TestServer) {
    let small = payment(&server, "1000", "usd", Some("guaranteed"), "small").await;
    let large = payment(&server, "2550", "usd", Some("failed"), "large").await;
    let yen = payment(&server, "2550", "jpy", None, "yen").await;
    let mut browser = signed_in(&server, &server.test_key).await;
    let shows = |page: &Page, ids: &[&String]| {
        for id in [&small, &large, &yen] {
            assert_eq!(
                page.body.contains(id.as_str()),
                ids.contains(&id),
                "{id}: {}",
                page.body
            );
        }
    };
    shows(&browser.get("/dashboard/payments?state=failed").await, &[&large]);
    shows(
        &browser.get("/dashboard/payments?currency=usd").await,
        &[&small, &large],
    );
    shows(
        &browser.get("/dashboard/payments?currency=usd&min=10.01").await,
        &[&large],
    );
    shows(&browser.get("/dashboard/payments?currency=usd&max=10").await, &[&small]);
    shows(
        &browser.get("/dashboard/payments?currency=jpy&min=2550&max=2550").await,
        &[&yen],
    );
    let today = payrec::clock::unix_now().div_euclid(86_400);
    let date = |day: i64| {
        let (y, m, d) = payrec::clock::civil(day);
        format!("{y:04}-{m:02}-{d:02}")
    };
    let page = browser
        .get(&format!(
            "/dashboard/payments?from={}&to={}",
            date(today - 1),
            date(today)
        ))
        .await;
    shows(&page, &[&small, &large, &yen]);
    shows(
        &browser
            .get(&format!("/dashboard/payments?to={}", date(today - 1)))
            .await,
        &[],
    );
    let unknown = browser.get("/dashboard/payments?state=lost&min=5").await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains("“lost” is not a state") && unknown.body.contains("Choose a currency"));
    // The export link carries the filters.
    let filtered = browser.get("/dashboard/payments?state=failed&currency=usd").await;
    assert!(
        filtered
            .body
            .contains("/dashboard/payments/export.csv?state=failed&amp;currency=usd"),
        "{}",
        filtered.body
    );
}

/// The rows of a CSV download, header first.
fn csv_rows(page: &Page) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(page.body.as_bytes());
    reader
        .records()
        .map(|r| r.expect("a CSV row").iter().map(str::to_owned).collect())
        .collect()
}

#[backend_test]
async fn the_csv_export_downloads_what_the_filters_select(server: TestServer) {
    let guaranteed = payment(&server, "1234", "kwd", Some("guaranteed"), "bank-ref-1").await;
    assert_eq!(
        refund(
            &server,
            &guaranteed,
            "rf-9",
            &[("amount[value]", "34"), ("amount[currency]", "kwd")]
        )
        .await
        .status,
        200
    );
    let failed = payment(&server, "500", "usd", Some("failed"), "bank-ref-2").await;
    let mut browser = signed_in(&server, &server.new_restricted_key(false).await).await;
    let all = browser.get("/dashboard/payments/export.csv").await;
    assert_eq!(all.status, 200);
    assert!(all.header("content-type").unwrap().starts_with("text/csv"));
    assert!(all.header("content-disposition").unwrap().starts_with("attachment"));
    let rows = csv_rows(&all);
    assert_eq!(rows.len(), 3, "a header and two payments: {}", all.body);
    let header = &rows[0];
    assert_eq!(header.as_slice(), payrec::export::RECORD_COLUMNS.as_slice());
    let column = |row: &Vec<String>, name: &str| row[header.iter().position(|h| h == name).expect(name)].clone();
    assert_eq!(column(&rows[1], "id"), failed, "newest first");
    let kwd = &rows[2];
    assert_eq!(column(kwd, "id"), guaranteed);
    assert_eq!(column(kwd, "amount_requested"), "1234");
    assert_eq!(column(kwd, "amount_requested_decimal"), "1.234");
    assert_eq!(column(kwd, "amount_refunded_decimal"), "0.034");
    assert_eq!(column(kwd, "latest_attempt_state"), "guaranteed");
    assert_eq!(column(kwd, "latest_attempt_outcome_utc"), "2024-10-29T14:15:10Z");
    assert_eq!(column(kwd, "payment_reference"), "bank-ref-1");
    assert_eq!(column(kwd, "metadata"), "{}");
    let record = server.record(&guaranteed).await;
    assert_eq!(column(kwd, "created"), record["created"].to_string());
    let only_failed = csv_rows(&browser.get("/dashboard/payments/export.csv?state=failed").await);
    assert_eq!(only_failed.len(), 2);
    assert_eq!(column(&only_failed[1], "id"), failed);
    let none = csv_rows(&browser.get("/dashboard/payments/export.csv?currency=eur").await);
    assert_eq!(none.len(), 1, "the header alone");
    let bad = browser.get("/dashboard/payments/export.csv?from=soon").await;
    assert_eq!(bad.status, 400);
    // Without a session, no download.
    let stranger = Browser::new(&server.base).get("/dashboard/payments/export.csv").await;
    assert!(matches!(stranger.status, 302 | 303) && !stranger.body.contains(&guaranteed));
}

#[backend_test]
async fn an_export_longer_than_a_page_holds_every_payment_once(server: TestServer) {
    let count = payrec::export::EXPORT_PAGE_SIZE + 7;
    let mut made = Vec::with_capacity(count);
    for batch in 0..count.div_ceil(16) {
        let calls = (batch * 16..count.min(batch * 16 + 16)).map(|_| server.pending_payment(100));
        for record in futures_util::future::join_all(calls).await {
            made.push(id_of(&record));
        }
    }
    let mut browser = signed_in(&server, &server.test_key).await;
    let rows = csv_rows(&browser.get("/dashboard/payments/export.csv").await);
    let mut ids: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids.len(), count);
    ids.sort();
    ids.dedup();
    made.sort();
    assert_eq!(ids, made, "every payment exactly once");
}
