//! The totals a record adds to its day, and the changes a write makes to them. That the changes
//! of any call sequence add up to the final record's totals is a property test of the lifecycle
//! (`lifecycle/tests/props.rs`).

use super::*;
use crate::records::model::{Amount, Currency, PaymentAttemptRecordId, PaymentDetails, PaymentRecordId};

fn record(state: AttemptState, requested: i64, refunded: i64) -> PaymentRecord {
    PaymentRecord {
        id: PaymentRecordId::new_unchecked("pr_e079ffd1dcc04e1779fd0d71"),
        livemode: false,
        created: 1_795_467_469,
        amount_requested: Amount {
            currency: Currency::new_unchecked("jpy"),
            value: requested,
        },
        details: PaymentDetails::default(),
        latest_attempt: PaymentAttemptRecordId::new_unchecked("par_000000000000000000000001"),
        latest_attempt_state: state,
        amount_refunded: refunded,
    }
}

#[test]
fn a_record_counts_once_in_its_latest_attempts_state() {
    let cases = [
        (AttemptState::Pending, "pending"),
        (AttemptState::Guaranteed { at: 1 }, "guaranteed"),
        (AttemptState::Failed { at: 1 }, "failed"),
        (AttemptState::Canceled { at: 1 }, "canceled"),
    ];
    for (state, name) in cases {
        let t = Totals::of(&record(state, 500, 0));
        assert_eq!(t.requested, Tally { count: 1, amount: 500 });
        let by_state = [
            ("pending", t.pending),
            ("guaranteed", t.guaranteed),
            ("failed", t.failed),
            ("canceled", t.canceled),
        ];
        for (other, tally) in by_state {
            let expected = if other == name {
                Tally { count: 1, amount: 500 }
            } else {
                Tally::default()
            };
            assert_eq!(tally, expected, "{name}: {other}");
        }
        assert_eq!(t.refunded, Tally::default());
    }
}

#[test]
fn a_refunded_record_counts_in_refunded_with_the_sum_of_its_refunds() {
    let t = Totals::of(&record(AttemptState::Guaranteed { at: 1 }, 500, 120));
    assert_eq!(t.guaranteed, Tally { count: 1, amount: 500 });
    assert_eq!(t.refunded, Tally { count: 1, amount: 120 });
}

#[test]
fn values_and_columns_round_trip_in_one_order() {
    let t = Totals::of(&record(AttemptState::Guaranteed { at: 1 }, 500, 120));
    assert_eq!(Totals::from_values(t.values()), t);
    let v = t.values();
    let column = |name: &str| v[TOTALS_COLUMNS.iter().position(|c| *c == name).unwrap()];
    assert_eq!(column("guaranteed_amount"), 500);
    assert_eq!(column("refunded_amount"), 120);
    assert_eq!(column("requested_count"), 1);
    assert_eq!(column("pending_count"), 0);
}

#[test]
fn a_new_record_adds_itself_to_the_day_it_was_created() {
    let r = record(AttemptState::Pending, 500, 0);
    let change = totals_change(None, &r).unwrap();
    assert_eq!(change.day, 1_795_467_469 / SECONDS_PER_DAY);
    assert_eq!(change.currency, "jpy");
    assert_eq!(change.delta, Totals::of(&r));
}

#[test]
fn an_outcome_moves_the_record_between_states_of_its_day() {
    let before = record(AttemptState::Pending, 500, 0);
    let after = record(AttemptState::Guaranteed { at: 2 }, 500, 0);
    let d = totals_change(Some(&before), &after).unwrap().delta;
    assert_eq!(
        d.pending,
        Tally {
            count: -1,
            amount: -500
        }
    );
    assert_eq!(d.guaranteed, Tally { count: 1, amount: 500 });
    assert_eq!(d.requested, Tally::default());
}

#[test]
fn a_change_the_totals_do_not_count_changes_nothing() {
    let before = record(AttemptState::Failed { at: 2 }, 500, 0);
    let mut after = before.clone();
    after.details.description = Some("new".into());
    assert_eq!(totals_change(Some(&before), &after), None);
}

#[test]
fn days_are_utc_and_floor_before_the_epoch() {
    assert_eq!(day_of(0), 0);
    assert_eq!(day_of(SECONDS_PER_DAY - 1), 0);
    assert_eq!(day_of(SECONDS_PER_DAY), 1);
    assert_eq!(day_of(-1), -1);
}
