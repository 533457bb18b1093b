//! The replicas test's checks on what came back and what was stored, and the figures it prints.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use payrec::records::lifecycle::invariant_violations;
use payrec::records::model::{AttemptState, PaymentAttemptRecord, PaymentRecord};
use payrec::store::Tenant;
use payrec::store::postgres::PgStore;

use super::{AMOUNT, CLIENTS, Call, Cluster, RECORDS, REPLICAS, Reply, Retry};
use crate::common::Api;
use crate::common::calls::{Op, stored};

/// Counts every check made, so the figures say how many held.
#[derive(Debug, Default)]
pub(crate) struct Checks(usize);

impl Checks {
    pub(crate) fn hold(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.0 += 1;
        assert!(ok, "{}", what());
    }
}

/// Every copy of a call got the same status and body; exactly one executed, the others say
/// `Idempotent-Replayed: true` and name it; the executed answer is a 200 or a lifecycle 400.
pub(crate) fn check_call(call: &Call, checks: &mut Checks) {
    let executions = call.replies.iter().filter(|r| !r.replayed).count();
    checks.hold(executions == 1, || {
        format!("{}: executed {executions} times: {:?}", call.key, call.replies)
    });
    let executed = call.executed();
    for copy in &call.replies {
        checks.hold((copy.status, &copy.body) == (executed.status, &executed.body), || {
            format!("{}: copies differ: {:?}", call.key, call.replies)
        });
        if copy.replayed {
            checks.hold(copy.original_request.as_ref() == Some(&executed.request_id), || {
                format!(
                    "{}: Original-Request does not name the execution: {:?}",
                    call.key, call.replies
                )
            });
        }
    }
    let error = &executed.json()["error"];
    let lifecycle = executed.status == 400 && error["type"] == "invalid_request_error" && error["code"].is_null();
    checks.hold(executed.status == 200 || lifecycle, || {
        format!(
            "{} {:?}: unexpected answer {}: {}",
            call.key, call.op, executed.status, executed.body
        )
    });
}

/// A refund row, as stored.
#[derive(Debug)]
pub(crate) struct RefundRow {
    reference: String,
    attempt: String,
    value: i64,
}

pub(crate) async fn refund_rows(store: &PgStore, tenant: &Tenant) -> HashMap<String, Vec<RefundRow>> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT payment_record, refund_reference, payment_attempt_record, value FROM refunds \
         WHERE account_id = $1 AND livemode = $2",
    )
    .bind(&tenant.account_id)
    .bind(tenant.livemode)
    .fetch_all(&store.pool().expect("a primary"))
    .await
    .expect("read refunds");
    let mut by_record: HashMap<String, Vec<RefundRow>> = HashMap::new();
    for (record, reference, attempt, value) in rows {
        by_record.entry(record).or_default().push(RefundRow {
            reference,
            attempt,
            value,
        });
    }
    by_record
}

/// Checks one record against the calls that executed on it, in the store and on every replica.
pub(crate) async fn check_record(
    cluster: &Cluster,
    store: &PgStore,
    tenant: &Tenant,
    id: &str,
    calls: &[&Call],
    refunds: &[RefundRow],
    checks: &mut Checks,
) {
    let (record, attempts) = stored(store, tenant, id).await;
    let violations = invariant_violations(&record, &attempts);
    checks.hold(violations.is_empty(), || format!("{id}: {violations:?}"));
    check_outcomes(id, &attempts, calls, checks);
    check_refunds(id, &record, &attempts, calls, refunds, checks);
    check_views(cluster, &record, attempts.len(), checks).await;
}

/// One stored outcome per acknowledged outcome call, one attempt per acknowledged new attempt.
fn check_outcomes(id: &str, attempts: &[PaymentAttemptRecord], calls: &[&Call], checks: &mut Checks) {
    let succeeded = |op: Op| calls.iter().filter(|c| c.succeeded() && c.op == op).count();
    let guarantees = succeeded(Op::Guaranteed);
    checks.hold(guarantees <= 1, || {
        format!("{id}: {guarantees} guarantees acknowledged")
    });
    for (op, state) in [
        (Op::Guaranteed, "guaranteed"),
        (Op::Failed, "failed"),
        (Op::Canceled, "canceled"),
    ] {
        let acknowledged = succeeded(op);
        let stored = attempts.iter().filter(|a| a.state.as_str() == state).count();
        checks.hold(acknowledged == stored, || {
            format!("{id}: {acknowledged} {state} acknowledged, {stored} stored")
        });
    }
    let new_attempts = succeeded(Op::NewAttempt);
    checks.hold(attempts.len() == 1 + new_attempts, || {
        format!("{id}: {} attempts, {new_attempts} new acknowledged", attempts.len())
    });
}

/// One row per acknowledged refund, of the amount asked, on the guaranteed attempt; the rows
/// sum to the record's `amount_refunded`, which never exceeds the guarantee.
fn check_refunds(
    id: &str,
    record: &PaymentRecord,
    attempts: &[PaymentAttemptRecord],
    calls: &[&Call],
    refunds: &[RefundRow],
    checks: &mut Checks,
) {
    let acknowledged: HashMap<&str, Op> = calls
        .iter()
        .filter(|c| c.succeeded() && matches!(c.op, Op::Refund(_)))
        .map(|c| (c.reference.as_str(), c.op))
        .collect();
    let rows: HashSet<&str> = refunds.iter().map(|r| r.reference.as_str()).collect();
    checks.hold(
        rows.len() == refunds.len() && rows == acknowledged.keys().copied().collect(),
        || {
            format!(
                "{id}: refund rows {rows:?} are not the acknowledged refunds {:?}",
                acknowledged.keys()
            )
        },
    );
    let guaranteed = attempts
        .iter()
        .find(|a| matches!(a.state, AttemptState::Guaranteed { .. }));
    for row in refunds {
        if let Some(Op::Refund(Some(value))) = acknowledged.get(row.reference.as_str()) {
            checks.hold(row.value == *value, || {
                format!("{id}: {} stored {} of {value}", row.reference, row.value)
            });
        }
        checks.hold(guaranteed.is_some_and(|a| a.id.as_str() == row.attempt), || {
            format!("{id}: refund {} is not on the guaranteed attempt", row.reference)
        });
    }
    let refunded: i64 = refunds.iter().map(|r| r.value).sum();
    let guarantee = if guaranteed.is_some() { AMOUNT } else { 0 };
    checks.hold(refunded == record.amount_refunded, || {
        format!("{id}: rows sum to {refunded}, record says {}", record.amount_refunded)
    });
    checks.hold(refunded <= guarantee, || {
        format!("{id}: {refunded} refunded of a {guarantee} guarantee")
    });
}

/// Every replica renders the same record, agreeing with the store, and lists its attempts.
async fn check_views(cluster: &Cluster, record: &PaymentRecord, attempts: usize, checks: &mut Checks) {
    let id = record.id.as_str();
    let view = |r: usize| async move { Reply::new(r, cluster.replicas[r].retrieve_record(id, &[]).await) };
    let views: Vec<Reply> = futures_util::future::join_all((0..REPLICAS).map(view)).await;
    for view in &views {
        checks.hold(view.status == 200 && view.body == views[0].body, || {
            format!("{id}: replicas disagree: {views:?}")
        });
    }
    let json = views[0].json();
    checks.hold(json["amount_refunded"]["value"] == record.amount_refunded, || {
        format!("{id}: API shows {json}")
    });
    let listed = cluster.replicas[0].list_attempts(id, &[("limit", "100")]).await;
    let listed = listed.json["data"].as_array().map_or(0, Vec::len);
    checks.hold(listed == attempts, || {
        format!("{id}: API lists {listed} attempts of {attempts}")
    });
}

/// What the run did, printed at the end.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    http_requests: usize,
    statuses: BTreeMap<u16, usize>,
    refusals: BTreeMap<String, usize>,
    executed: BTreeMap<(&'static str, u16), usize>,
    per_replica: [usize; REPLICAS],
    in_use: usize,
    replays: usize,
    retried_after: usize,
    retried_concurrently: usize,
}

impl Figures {
    pub(crate) fn count(calls: &[Call]) -> Figures {
        let mut f = Figures::default();
        for call in calls {
            f.in_use += call.in_use;
            f.http_requests += call.replies.len() + call.in_use;
            if call.in_use > 0 {
                *f.statuses.entry(409).or_default() += call.in_use;
            }
            match call.retry {
                Retry::Never => {}
                Retry::After => f.retried_after += 1,
                Retry::Concurrently => f.retried_concurrently += 1,
            }
            for reply in &call.replies {
                *f.statuses.entry(reply.status).or_default() += 1;
                f.per_replica[reply.replica] += 1;
                f.replays += usize::from(reply.replayed);
            }
            let executed = call.executed();
            *f.executed.entry((call.op.name(), executed.status)).or_default() += 1;
            if executed.status != 200 {
                // The rule broken, with the amounts in it taken out.
                let message = executed.json()["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let rule: String = message.chars().filter(|c| !c.is_ascii_digit()).collect();
                *f.refusals.entry(format!("{} {rule}", executed.status)).or_default() += 1;
            }
        }
        f
    }

    pub(crate) fn print(&self, calls: usize, elapsed: Duration, checks: &Checks) {
        println!("replicas: {REPLICAS} payrec processes, {CLIENTS} clients, {RECORDS} records, {elapsed:.2?}");
        println!(
            "  {calls} logical requests, {} HTTP requests, per replica {:?}",
            self.http_requests, self.per_replica
        );
        println!("  statuses {:?} (no 5xx)", self.statuses);
        println!(
            "  retried: {} after the answer on another replica, {} concurrently; {} replays; {} 409 idempotency_key_in_use resent",
            self.retried_after, self.retried_concurrently, self.replays, self.in_use
        );
        for ((op, status), n) in &self.executed {
            println!("  executed {op:>11} -> {status}: {n}");
        }
        for (rule, n) in &self.refusals {
            println!("  refused {n:>4}x {rule}");
        }
        println!("  {} invariant checks held", checks.0);
    }
}
