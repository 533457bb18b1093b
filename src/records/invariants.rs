//! The invariants every record and its attempts keep, checked after every lifecycle step (in
//! debug builds) and by the property, crash and concurrency tests.

use crate::records::model::{
    AMOUNT_VALUE_MAX, AMOUNT_VALUE_MIN, Amount, AttemptState, PaymentAttemptRecord, PaymentRecord, portions,
};

/// What the amount checks need of a record or an attempt: (name, requested, state, refunded).
pub(crate) type Amounts<'a> = (&'a str, &'a Amount, AttemptState, i64);

pub(crate) fn record_amounts(r: &PaymentRecord) -> Amounts<'_> {
    ("record", &r.amount_requested, r.latest_attempt_state, r.amount_refunded)
}

pub(crate) fn attempt_amounts(a: &PaymentAttemptRecord) -> Amounts<'_> {
    (a.id.as_str(), &a.amount_requested, a.state, a.amount_refunded)
}

/// The amount invariants of one record or attempt.
pub(crate) fn amount_violations((what, requested, state, refunded): Amounts<'_>, out: &mut Vec<String>) {
    if !(AMOUNT_VALUE_MIN..=AMOUNT_VALUE_MAX).contains(&requested.value) {
        out.push(format!("{what}: requested {requested:?} out of range"));
    }
    let (guaranteed, failed, canceled) = portions(state, requested.value);
    if guaranteed + failed + canceled > requested.value {
        out.push(format!("{what}: canceled + failed + guaranteed > requested"));
    }
    if !(0..=guaranteed).contains(&refunded) {
        out.push(format!("{what}: refunded {refunded} not in 0..={guaranteed}"));
    }
}

/// Every invariant of a record and all its attempts (oldest first); one line per violation.
pub fn invariant_violations(record: &PaymentRecord, attempts: &[PaymentAttemptRecord]) -> Vec<String> {
    let mut out = Vec::new();
    amount_violations(record_amounts(record), &mut out);
    for a in attempts {
        amount_violations(attempt_amounts(a), &mut out);
        let id = &a.id;
        if a.payment_record != record.id || a.livemode != record.livemode {
            out.push(format!("{id}: belongs to another record or mode"));
        }
        if a.amount_requested.currency != record.amount_requested.currency {
            out.push(format!("{id}: currency differs from the record's"));
        }
        if a.amount_requested.value != record.amount_requested.value {
            out.push(format!("{id}: requested value differs from the record's"));
        }
        if let Some(at) = a.state.outcome_at()
            && at < a.initiated_at
        {
            out.push(format!("{id}: outcome at {at} precedes initiated_at"));
        }
    }
    history_violations(record, attempts, &mut out);
    out
}

/// The invariants that tie the attempts together and to the record.
fn history_violations(record: &PaymentRecord, attempts: &[PaymentAttemptRecord], out: &mut Vec<String>) {
    let Some((last, older)) = attempts.split_last() else {
        out.push("the record has no attempts".into());
        return;
    };
    let latest = &record.latest_attempt;
    if last.id != *latest {
        out.push(format!("latest_attempt {latest} is not the last attempt"));
    }
    let copies = attempts.iter().filter(|a| a.id == *latest).count();
    if copies != 1 {
        out.push(format!("latest_attempt {latest} appears {copies} times"));
    }
    if record.latest_attempt_state != last.state {
        out.push("the record does not mirror its latest attempt's state".into());
    }
    let guaranteed = attempts
        .iter()
        .filter(|a| matches!(a.state, AttemptState::Guaranteed { .. }));
    if guaranteed.count() > 1 {
        out.push("more than one attempt is guaranteed".into());
    }
    for a in older.iter().filter(|a| !a.state.is_failed_or_canceled()) {
        out.push(format!("{}: an older attempt is {}", a.id, a.state.as_str()));
    }
    let refunded: i64 = attempts.iter().map(|a| a.amount_refunded).sum();
    if refunded != record.amount_refunded {
        out.push(format!("attempts' refunds sum to {refunded}, not the record's"));
    }
}
