//! No request blocks the server: a search or filtered list that would scan a large tenant runs
//! off the async workers, one at a time, within a deadline, and past it is answered "narrow
//! your search". With 2·10⁵ records and events in one tenant, its worst-case searches running
//! four at a time leave /healthz and another tenant's retrieve under 100 ms at the 99th
//! percentile.

use crate::common::backend_test;
use std::time::{Duration, Instant};

use crate::common::dashboard::Browser;
use crate::common::{Api, Backend, TestServer, id_of};

/// Rows seeded in the searched tenant.
const SEEDED: u64 = 200_000;
/// How long the worst-case searches run while the other requests are timed.
const UNDER_LOAD: Duration = Duration::from_secs(3);

/// `SEEDED` copies of the tenant's one record and one event, written beside the server (on
/// SQLite with negative row numbers: the writer numbers its own rows from the largest).
async fn seed(server: &TestServer, record_id: &str, event_id: &str) {
    let sql = match server.backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SEEDED}) \
             INSERT INTO payment_records (seq, account_id, livemode, id, created, doc, payment_reference, currency, amount, state) \
             SELECT -i, account_id, livemode, id || '_' || i, created - i, doc, payment_reference || '_' || i, currency, amount, state \
             FROM payment_records, n WHERE id = '{record_id}'; \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SEEDED}) \
             INSERT INTO events (seq, account_id, livemode, id, created, type, record_id, head, tail) \
             SELECT -i, account_id, livemode, id || '_' || i, created - i, type, record_id, head, tail \
             FROM events, n WHERE id = '{event_id}';"
        ),
        Backend::Postgres => format!(
            "INSERT INTO payment_records (account_id, livemode, id, created, doc, payment_reference, currency, amount, state) \
             SELECT account_id, livemode, id || '_' || i, created - i, doc, payment_reference || '_' || i, currency, amount, state \
             FROM payment_records, generate_series(1, {SEEDED}) AS i WHERE id = '{record_id}'; \
             INSERT INTO events (account_id, livemode, id, created, type, record_id, head, tail) \
             SELECT account_id, livemode, id || '_' || i, created - i, type, record_id, head, tail \
             FROM events, generate_series(1, {SEEDED}) AS i WHERE id = '{event_id}'; \
             ANALYZE payment_records; ANALYZE events;"
        ),
    };
    server.execute_sql(&sql).await;
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

/// The searched tenant's record and event, each copied `SEEDED` times.
async fn seeded(server: &TestServer) {
    let record = id_of(&server.pending_payment(100).await);
    let event = server.list_events(&[("limit", "1")]).await.ok()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    seed(server, &record, &event).await;
}

/// Runs the tenant's worst-case searches four at a time for `UNDER_LOAD` while timing
/// /healthz and another tenant's retrieve; answers the searches' statuses and latencies.
async fn under_worst_case_searches(server: &TestServer) -> Vec<(u16, Duration)> {
    let other = server.with_key(&server.new_account_key(false).await);
    let theirs = id_of(&other.pending_payment(200).await);
    let stop = Instant::now() + UNDER_LOAD;
    let mut load = tokio::task::JoinSet::new();
    for i in 0..4 {
        let (client, mut browser) = (server.with_key(&server.test_key), Browser::new(&server.base));
        assert_eq!(browser.sign_in(&server.test_key).await.status, 303);
        load.spawn(async move {
            let mut answers = Vec::new();
            while Instant::now() < stop {
                let started = Instant::now();
                let status = if i % 2 == 0 {
                    browser.get("/dashboard/payments?q=matches-nothing-at-all").await.status
                } else {
                    client
                        .list_events(&[("type", "webhook_endpoint.disabled")])
                        .await
                        .status
                };
                answers.push((status, started.elapsed()));
            }
            answers
        });
    }
    let (mut health, mut retrieve) = (Vec::new(), Vec::new());
    while Instant::now() < stop {
        let started = Instant::now();
        assert_eq!(server.healthz().await.status, 200);
        health.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(other.retrieve_record(&theirs, &[]).await.status, 200);
        retrieve.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answers: Vec<(u16, Duration)> = load.join_all().await.into_iter().flatten().collect();
    println!(
        "{} worst-case searches; healthz p99 {:?}, retrieve p99 {:?}",
        answers.len(),
        p99(health.clone()),
        p99(retrieve.clone())
    );
    assert!(p99(health) < Duration::from_millis(100), "healthz");
    assert!(p99(retrieve) < Duration::from_millis(100), "another tenant's retrieve");
    answers
}

#[backend_test]
async fn worst_case_searches_of_one_tenant_never_stall_the_server_or_another_tenant(server: TestServer) {
    let _alone = crate::alone().await;
    seeded(&server).await;
    let answers = under_worst_case_searches(&server).await;
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 400), "{answers:?}");
    // Each waits for its turn and scans within its deadline: none takes much more than both.
    let bound = payrec::store::scan::SCAN_DEADLINE * 4;
    let slowest = answers.iter().map(|(_, d)| *d).max().unwrap();
    assert!(slowest < bound, "a search took {slowest:?}");
    // Alone, a search the deadline cuts says to narrow it; a type of no event reads nothing.
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&server.test_key).await;
    let page = browser.get("/dashboard/payments?q=matches-nothing-at-all").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("narrow it"), "{}", page.body);
    let started = Instant::now();
    let unknown = server.list_events(&[("type", "no_such.type")]).await.ok();
    assert!(unknown["data"].as_array().unwrap().is_empty());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    let scanned = server.list_events(&[("type", "webhook_endpoint.disabled")]).await;
    match scanned.status {
        200 => assert!(scanned.json["data"].as_array().unwrap().is_empty()),
        400 => assert!(scanned.error("message").as_str().unwrap().contains("narrow it")),
        other => panic!("{other}: {}", scanned.body),
    }
}
