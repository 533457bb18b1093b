//! Concurrency (issue 7): many clients reporting outcomes, new attempts and refunds on the same
//! few records at once. Afterwards every record has at most one guarantee, no refund beyond it,
//! amounts that agree with its attempts, and no client saw a 5xx or waited forever.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{Auth, Resp, TestServer};
use payrec::records::lifecycle::invariant_violations;
use payrec::records::model::{AttemptState, PaymentAttemptRecord, PaymentRecord};
use payrec::store::{ListQuery, Tenant};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use tokio::sync::Barrier;

/// Concurrent clients in the mixed workload.
const CLIENTS: usize = 32;
const OPS_PER_CLIENT: usize = 20;
/// The few records every client reports on.
const RECORDS: usize = 3;
const AMOUNT: i64 = 10_000;
/// A deadlock shows up as this deadline passing.
const DEADLINE: Duration = Duration::from_secs(60);
const INITIATED_AT: &str = "1730211300";
const OUTCOME_AT: &str = "1730211400";

/// One report call a client makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Guaranteed,
    Failed,
    Canceled,
    NewAttempt,
    NewAttemptGuaranteed,
    /// A refund of this many cents, or of the remainder.
    Refund(Option<i64>),
    Informational,
}

/// An answered call.
#[derive(Debug)]
struct Answer {
    record: usize,
    op: Op,
    resp: Resp,
}

fn random_op(rng: &mut StdRng) -> Op {
    match rng.random_range(0..100) {
        0..8 => Op::Guaranteed,
        8..30 => Op::Failed,
        30..48 => Op::Canceled,
        48..72 => Op::NewAttempt,
        72..75 => Op::NewAttemptGuaranteed,
        75..92 if rng.random_bool(0.1) => Op::Refund(None),
        75..92 => Op::Refund(Some(rng.random_range(1..=1_500))),
        _ => Op::Informational,
    }
}

/// Sends `op` on record `id`; every other call carries an Idempotency-Key of its own.
async fn send(server: &TestServer, id: &str, op: Op, tag: &str, keyed: bool) -> Resp {
    let path = |end: &str| format!("/v1/payment_records/{id}/{end}");
    let amount;
    let (path, form): (String, Vec<(&str, &str)>) = match op {
        Op::Guaranteed => (
            path("report_payment_attempt_guaranteed"),
            vec![("guaranteed_at", OUTCOME_AT)],
        ),
        Op::Failed => (path("report_payment_attempt_failed"), vec![("failed_at", OUTCOME_AT)]),
        Op::Canceled => (
            path("report_payment_attempt_canceled"),
            vec![("canceled_at", OUTCOME_AT)],
        ),
        Op::NewAttempt => (path("report_payment_attempt"), vec![("initiated_at", INITIATED_AT)]),
        Op::NewAttemptGuaranteed => (
            path("report_payment_attempt"),
            vec![
                ("initiated_at", INITIATED_AT),
                ("outcome", "guaranteed"),
                ("guaranteed[guaranteed_at]", OUTCOME_AT),
            ],
        ),
        Op::Refund(value) => {
            let mut form = vec![
                ("outcome", "refunded"),
                ("processor_details[type]", "custom"),
                ("processor_details[custom][refund_reference]", tag),
            ];
            if let Some(value) = value {
                amount = value.to_string();
                form.extend([("amount[currency]", "usd"), ("amount[value]", amount.as_str())]);
            }
            (path("report_refund"), form)
        }
        Op::Informational => (
            path("report_payment_attempt_informational"),
            vec![("metadata[last_writer]", tag), ("description", tag)],
        ),
    };
    let idempotency = [("Idempotency-Key", tag)];
    let headers: &[(&str, &str)] = if keyed { &idempotency } else { &[] };
    let auth = Auth::Basic(server.test_key.clone());
    server.request(Method::POST, &path, auth, &form, headers).await
}

fn tenant(server: &TestServer) -> Tenant {
    Tenant {
        account_id: server.account_id.clone(),
        livemode: false,
    }
}

/// The record and its attempts, oldest first, as stored.
async fn stored(server: &TestServer, id: &str) -> (PaymentRecord, Vec<PaymentAttemptRecord>) {
    let tenant = tenant(server);
    let record = server
        .store
        .get_record(&tenant, id)
        .await
        .unwrap()
        .expect("record stored");
    let query = ListQuery {
        limit: 100,
        ..ListQuery::default()
    };
    let page = server.store.list_attempts(&tenant, id, &query).await.unwrap();
    assert!(!page.has_more, "fewer than 100 attempts");
    let mut attempts = page.data;
    attempts.reverse();
    (record, attempts)
}

fn count(attempts: &[PaymentAttemptRecord], state: &str) -> usize {
    attempts.iter().filter(|a| a.state.as_str() == state).count()
}

/// Every answer is a 200 or a lifecycle 400 (no code): the parameters were all valid.
fn assert_only_lifecycle_errors(answers: &[Answer]) {
    for a in answers {
        assert!(a.resp.status < 500, "{:?} got {}: {}", a.op, a.resp.status, a.resp.body);
        match a.resp.status {
            200 => {}
            400 => {
                assert_eq!(a.resp.error("type"), "invalid_request_error", "{}", a.resp.body);
                assert!(a.resp.error("code").is_null(), "{:?}: {}", a.op, a.resp.body);
            }
            other => panic!("{:?} got {other}: {}", a.op, a.resp.body),
        }
    }
}

/// Checks one record against the calls that succeeded on it.
async fn check_record(server: &TestServer, id: &str, answers: &[&Answer]) {
    let (record, attempts) = stored(server, id).await;
    let violations = invariant_violations(&record, &attempts);
    assert!(violations.is_empty(), "{id}: {violations:?}");
    let ok = |f: &dyn Fn(Op) -> bool| answers.iter().filter(|a| a.resp.status == 200 && f(a.op)).count();
    let guarantees = ok(&|op| matches!(op, Op::Guaranteed | Op::NewAttemptGuaranteed));
    assert!(guarantees <= 1, "{id}: {guarantees} guarantees acknowledged");
    assert_eq!(count(&attempts, "guaranteed"), guarantees, "{id}: guaranteed attempts");
    assert_eq!(
        count(&attempts, "failed"),
        ok(&|op| op == Op::Failed),
        "{id}: failed attempts"
    );
    assert_eq!(
        count(&attempts, "canceled"),
        ok(&|op| op == Op::Canceled),
        "{id}: canceled"
    );
    let new_attempts = ok(&|op| matches!(op, Op::NewAttempt | Op::NewAttemptGuaranteed));
    assert_eq!(
        attempts.len(),
        1 + new_attempts,
        "{id}: one attempt per acknowledged report"
    );
    let explicit: i64 = answers
        .iter()
        .filter(|a| a.resp.status == 200)
        .filter_map(|a| match a.op {
            Op::Refund(Some(v)) => Some(v),
            _ => None,
        })
        .sum();
    let remainders = ok(&|op| op == Op::Refund(None));
    assert!(remainders <= 1, "{id}: the remainder was refunded {remainders} times");
    let expected_refunded = if remainders == 1 { AMOUNT } else { explicit };
    assert_eq!(record.amount_refunded, expected_refunded, "{id}: refunds acknowledged");
    let guaranteed = if guarantees == 1 { AMOUNT } else { 0 };
    assert!(
        record.amount_refunded <= guaranteed,
        "{id}: refund beyond the guarantee"
    );
    let api = server.get(&format!("/v1/payment_records/{id}"), &[]).await;
    assert_eq!(
        api.json["amount_refunded"]["value"], record.amount_refunded,
        "{}",
        api.body
    );
    assert_eq!(
        api.json["amount_guaranteed"]["value"],
        guaranteed_now(&record),
        "{}",
        api.body
    );
}

fn guaranteed_now(record: &PaymentRecord) -> i64 {
    match record.latest_attempt_state {
        AttemptState::Guaranteed { .. } => record.amount_requested.value,
        _ => 0,
    }
}

async fn many_clients_reporting_on_the_same_records_keep_every_invariant(server: TestServer) {
    let server = Arc::new(server);
    let mut ids = Vec::new();
    for _ in 0..RECORDS {
        ids.push(server.report_payment(AMOUNT).await["id"].as_str().unwrap().to_owned());
    }
    let ids = Arc::new(ids);
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (server, ids, barrier) = (server.clone(), ids.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0xC0C0 + client as u64);
            let mut answers = Vec::new();
            barrier.wait().await;
            for i in 0..OPS_PER_CLIENT {
                let record = rng.random_range(0..ids.len());
                let op = random_op(&mut rng);
                let tag = format!("c{client}-{i}");
                let resp = send(&server, &ids[record], op, &tag, rng.random_bool(0.5)).await;
                answers.push(Answer { record, op, resp });
            }
            answers
        }));
    }
    let answers: Vec<Answer> = tokio::time::timeout(DEADLINE, futures_util::future::join_all(tasks))
        .await
        .expect("no deadlock: every client finished in time")
        .into_iter()
        .flat_map(|r| r.expect("client task"))
        .collect();
    assert_only_lifecycle_errors(&answers);
    let succeeded = answers.iter().filter(|a| a.resp.status == 200).count();
    println!(
        "{:?}: {} calls, {succeeded} succeeded, {} refused by the lifecycle",
        server.backend,
        answers.len(),
        answers.len() - succeeded
    );
    for (i, id) in ids.iter().enumerate() {
        let mine: Vec<&Answer> = answers.iter().filter(|a| a.record == i).collect();
        check_record(&server, id, &mine).await;
    }
}

/// Sends `op` from `n` clients released together; returns the answers.
async fn race(server: &Arc<TestServer>, id: &str, n: usize, op: impl Fn(usize) -> (Op, String)) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for client in 0..n {
        let (server, id, barrier) = (server.clone(), id.to_owned(), barrier.clone());
        let (op, tag) = op(client);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let resp = send(&server, &id, op, &tag, client % 2 == 0).await;
            Answer { record: 0, op, resp }
        }));
    }
    let answers: Vec<Answer> = tokio::time::timeout(DEADLINE, futures_util::future::join_all(tasks))
        .await
        .expect("no deadlock")
        .into_iter()
        .map(|r| r.expect("client task"))
        .collect();
    assert_only_lifecycle_errors(&answers);
    answers
}

async fn racing_outcomes_on_one_pending_attempt_have_exactly_one_winner(server: TestServer) {
    let server = Arc::new(server);
    for round in 0..5 {
        let id = server.report_payment(AMOUNT).await["id"].as_str().unwrap().to_owned();
        let outcomes = [Op::Guaranteed, Op::Failed, Op::Canceled];
        let answers = race(&server, &id, CLIENTS, |c| (outcomes[c % 3], format!("r{round}-{c}"))).await;
        let winners: Vec<&Answer> = answers.iter().filter(|a| a.resp.status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: one outcome wins");
        let state = winners[0].resp.json["amount_guaranteed"]["value"].as_i64().unwrap();
        let (_, attempts) = stored(&server, &id).await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(state > 0, count(&attempts, "guaranteed") == 1, "round {round}");
        check_record(&server, &id, &answers.iter().collect::<Vec<_>>()).await;
    }
}

async fn racing_refunds_never_exceed_the_guarantee(server: TestServer) {
    let server = Arc::new(server);
    let id = server.report_payment(AMOUNT).await["id"].as_str().unwrap().to_owned();
    let g = send(&server, &id, Op::Guaranteed, "g", false).await;
    assert_eq!(g.status, 200, "{}", g.body);
    let answers = race(&server, &id, CLIENTS, |c| {
        (Op::Refund(Some(AMOUNT / 10)), format!("rf-{c}"))
    })
    .await;
    let refunded = answers.iter().filter(|a| a.resp.status == 200).count();
    assert_eq!(refunded, 10, "exactly ten tenths can be refunded");
    let mut all: Vec<&Answer> = answers.iter().collect();
    let guarantee = Answer {
        record: 0,
        op: Op::Guaranteed,
        resp: g,
    };
    all.push(&guarantee);
    check_record(&server, &id, &all).await;
}

async fn one_refund_reference_raced_by_many_clients_is_taken_once(server: TestServer) {
    let server = Arc::new(server);
    let id = server.report_payment(AMOUNT).await["id"].as_str().unwrap().to_owned();
    let g = send(&server, &id, Op::Guaranteed, "g", false).await;
    assert_eq!(g.status, 200, "{}", g.body);
    // Distinct idempotency keys, one refund reference: the database's uniqueness decides.
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for client in 0..16 {
        let (server, id, barrier) = (server.clone(), id.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let form = [
                ("outcome", "refunded"),
                ("processor_details[type]", "custom"),
                ("processor_details[custom][refund_reference]", "the-one-refund"),
                ("amount[currency]", "usd"),
                ("amount[value]", "100"),
            ];
            let key = format!("same-ref-{client}");
            let auth = Auth::Basic(server.test_key.clone());
            let path = format!("/v1/payment_records/{id}/report_refund");
            let headers = [("Idempotency-Key", key.as_str())];
            server.request(Method::POST, &path, auth, &form, &headers).await
        }));
    }
    let answers = tokio::time::timeout(DEADLINE, futures_util::future::join_all(tasks))
        .await
        .expect("no deadlock");
    let statuses: Vec<u16> = answers.iter().map(|r| r.as_ref().expect("task").status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
    let (record, _) = stored(&server, &id).await;
    assert_eq!(record.amount_refunded, 100);
}

backend_tests!(
    many_clients_reporting_on_the_same_records_keep_every_invariant,
    racing_outcomes_on_one_pending_attempt_have_exactly_one_winner,
    racing_refunds_never_exceed_the_guarantee,
    one_refund_reference_raced_by_many_clients_is_taken_once,
);
