//! Concurrency (issue 7): many clients reporting outcomes, new attempts and refunds on the same
//! few records at once. Afterwards every record has at most one guarantee, no refund beyond it,
//! amounts that agree with its attempts, and no client saw a 5xx or waited forever.

use crate::common::backend_test;
use std::sync::Arc;
use std::time::Duration;

use crate::common::calls::{Op, borrowed, stored};
use crate::common::{Api, Resp, TestServer, id_of};
use payrec::records::lifecycle::invariant_violations;
use payrec::records::model::{AttemptState, PaymentAttemptRecord, PaymentRecord};
use payrec::store::Tenant;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Barrier;

/// Concurrent clients in the mixed workload.
const CLIENTS: usize = 32;
const OPS_PER_CLIENT: usize = 20;
/// The few records every client reports on.
const RECORDS: usize = 3;
const AMOUNT: i64 = 10_000;
/// A deadlock shows up as this deadline passing.
const DEADLINE: Duration = Duration::from_secs(60);

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

/// Sends `op` on record `id`, with `tag` as its Idempotency-Key when `keyed`.
async fn send(server: &TestServer, id: &str, op: Op, tag: &str, keyed: bool) -> Resp {
    let (call, form) = op.request(tag);
    let form = borrowed(&form);
    match keyed {
        true => server.report_keyed(tag, id, call, &form).await,
        false => server.report(id, call, &form).await,
    }
}

fn tenant(server: &TestServer) -> Tenant {
    Tenant {
        account_id: server.account_id.clone(),
        livemode: false,
    }
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
    let (record, attempts) = stored(server.store.as_ref(), &tenant(server), id).await;
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
    let api = server.retrieve_record(id, &[]).await;
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

#[backend_test]
async fn many_clients_reporting_on_the_same_records_keep_every_invariant(server: TestServer) {
    let server = Arc::new(server);
    let mut ids = Vec::new();
    for _ in 0..RECORDS {
        ids.push(id_of(&server.pending_payment(AMOUNT).await));
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

#[backend_test]
async fn racing_outcomes_on_one_pending_attempt_have_exactly_one_winner(server: TestServer) {
    let server = Arc::new(server);
    for round in 0..5 {
        let id = id_of(&server.pending_payment(AMOUNT).await);
        let outcomes = [Op::Guaranteed, Op::Failed, Op::Canceled];
        let answers = race(&server, &id, CLIENTS, |c| (outcomes[c % 3], format!("r{round}-{c}"))).await;
        let winners: Vec<&Answer> = answers.iter().filter(|a| a.resp.status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: one outcome wins");
        let state = winners[0].resp.json["amount_guaranteed"]["value"].as_i64().unwrap();
        let (_, attempts) = stored(server.store.as_ref(), &tenant(&server), &id).await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(state > 0, count(&attempts, "guaranteed") == 1, "round {round}");
        check_record(&server, &id, &answers.iter().collect::<Vec<_>>()).await;
    }
}

#[backend_test]
async fn racing_refunds_never_exceed_the_guarantee(server: TestServer) {
    let server = Arc::new(server);
    let id = id_of(&server.pending_payment(AMOUNT).await);
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

#[backend_test]
async fn one_refund_reference_raced_by_many_clients_is_taken_once(server: TestServer) {
    let server = Arc::new(server);
    let id = id_of(&server.pending_payment(AMOUNT).await);
    let g = send(&server, &id, Op::Guaranteed, "g", false).await;
    assert_eq!(g.status, 200, "{}", g.body);
    // Distinct idempotency keys, one refund reference: the database's uniqueness decides.
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for client in 0..16 {
        let (server, id, barrier) = (server.clone(), id.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let key = format!("same-ref-{client}");
            let (call, form) = Op::Refund(Some(100)).request("the-one-refund");
            server.report_keyed(&key, &id, call, &borrowed(&form)).await
        }));
    }
    let answers = tokio::time::timeout(DEADLINE, futures_util::future::join_all(tasks))
        .await
        .expect("no deadlock");
    let statuses: Vec<u16> = answers.iter().map(|r| r.as_ref().expect("task").status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
    let (record, _) = stored(server.store.as_ref(), &tenant(&server), &id).await;
    assert_eq!(record.amount_refunded, 100);
}

/// Reports sent at once beside the one that fails, so that on SQLite they share its group
/// commit.
const NEIGHBOURS: usize = 16;

/// A trigger makes one payment's event insert fail, after its record is written: that payment
/// is answered with an error and leaves nothing behind, and the payments committed beside it
/// (on SQLite, in the same group commit) are all kept.
#[backend_test]
async fn a_write_that_fails_partway_undoes_itself_and_nothing_else(server: TestServer) {
    let poison = "poison_pill";
    match server.backend {
        crate::common::Backend::Sqlite => {
            server
                .execute_sql(&format!(
                    "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.record_id IN \
                     (SELECT id FROM payment_records WHERE doc LIKE '%{poison}%') \
                     BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
                ))
                .await
        }
        crate::common::Backend::Postgres => {
            server
                .execute_sql(&format!(
                    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.record_id IN (SELECT id FROM payment_records WHERE doc::text LIKE '%{poison}%') THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$"
                ))
                .await;
            server
                .execute_sql("CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison()")
                .await
        }
    }
    let server = Arc::new(server);
    let barrier = Arc::new(Barrier::new(NEIGHBOURS + 1));
    let mut tasks = Vec::new();
    for i in 0..=NEIGHBOURS {
        let (server, barrier) = (server.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let tag = if i == 0 { poison.to_owned() } else { format!("good_{i}") };
            let form = crate::common::form::payment_with(&[("metadata[tag]", &tag)]);
            barrier.wait().await;
            server.report_payment_keyed(&format!("key_{tag}"), &form).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("the client ran"));
    }
    assert!(
        answers[0].status >= 500,
        "the poisoned write fails: {}",
        answers[0].body
    );
    for answer in &answers[1..] {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(server.retrieve_record(&id_of(&answer.json), &[]).await.status, 200);
    }
    let listed = server.list_records(&[("limit", "100")]).await;
    let data = listed.json["data"].as_array().expect("a list").clone();
    assert_eq!(
        data.len(),
        NEIGHBOURS,
        "every neighbour is kept, the poisoned payment is not"
    );
    assert!(data.iter().all(|r| r["metadata"]["tag"] != poison));
}
