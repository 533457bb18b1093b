//! Property tests: random call sequences against the invariants.

use proptest::prelude::*;

use super::*;

/// One report call on an existing record; ids and `now` are filled in on replay.
#[derive(Debug, Clone)]
enum Command {
    Attempt {
        initiated_at: i64,
        outcome: Option<(Outcome, i64)>,
        description: Option<String>,
        metadata: MetadataPatch,
    },
    Outcome(Outcome, i64, MetadataPatch),
    Informational {
        email: Option<String>,
        /// None: left alone; Some(None): unset (`description=''`); the API's own three cases.
        #[allow(clippy::option_option)]
        description: Option<Option<String>>,
        metadata: MetadataPatch,
    },
    Refund {
        amount: Option<Amount>,
        refunded_at: Option<i64>,
        metadata: MetadataPatch,
    },
}

/// Timestamps are drawn from `0..TIME_MAX`, so many outcomes and refunds come too early.
const TIME_MAX: i64 = 2000;

/// Guarantees are drawn less often: they end a record's attempts, and longer histories test more.
fn outcomes() -> impl Strategy<Value = Outcome> {
    prop_oneof![1 => Just(Guaranteed), 2 => Just(Failed), 2 => Just(Canceled)]
}

/// Patches over ten keys, which alone never reach the key limit.
fn small_patches() -> impl Strategy<Value = MetadataPatch> {
    let entry = (0..10u8, proptest::option::of("[a-z]{1,3}")).prop_map(|(k, v)| (format!("k{k}"), v));
    (proptest::bool::weighted(0.1), proptest::collection::vec(entry, 0..4))
        .prop_map(|(clear_all, entries)| MetadataPatch { clear_all, entries })
}

/// Clears, then sets `keys` keys, the ten of `small_patches` among them.
fn bulk_patch(keys: usize) -> MetadataPatch {
    MetadataPatch {
        clear_all: true,
        entries: (0..keys).map(|k| (format!("k{k}"), Some("v".into()))).collect(),
    }
}

/// Mostly small patches; sometimes one of exactly the limit (fits, and small patches on top of it
/// still do) or one past it (never fits). So whether a patch fits is known without merging.
fn patches() -> impl Strategy<Value = MetadataPatch> {
    prop_oneof![
        20 => small_patches(),
        1 => Just(bulk_patch(METADATA_KEYS_MAX)),
        1 => Just(bulk_patch(METADATA_KEYS_MAX + 1)),
    ]
}

fn fits(patch: &MetadataPatch) -> bool {
    patch.entries.len() <= METADATA_KEYS_MAX
}

fn payments() -> impl Strategy<Value = NewPayment> {
    let outcome = proptest::option::of((outcomes(), 0..100i64));
    (1..=1000i64, 0..TIME_MAX, outcome, small_patches()).prop_map(|(value, initiated_at, outcome, metadata)| {
        let outcome = outcome.map(|(o, delay)| (o, initiated_at + delay));
        NewPayment {
            initiated_at,
            metadata,
            ..new_payment(value, outcome)
        }
    })
}

fn commands() -> impl Strategy<Value = Command> {
    use proptest::option::of;
    let attempt = (0..TIME_MAX, of((outcomes(), 0..TIME_MAX)), of("[a-z]{1,8}"), patches());
    let attempt = attempt.prop_map(|(initiated_at, outcome, description, metadata)| Command::Attempt {
        initiated_at,
        outcome,
        description,
        metadata,
    });
    let outcome = (outcomes(), 0..TIME_MAX, patches()).prop_map(|(o, at, m)| Command::Outcome(o, at, m));
    let informational =
        (of("[a-z]{1,8}@example.com"), of(of("[a-z]{1,8}")), patches()).prop_map(|(email, description, metadata)| {
            Command::Informational {
                email,
                description,
                metadata,
            }
        });
    let amount = prop_oneof![4 => (1..1200i64).prop_map(usd), 1 => (1..1200i64).prop_map(|v| money("eur", v))];
    let refund = (of(amount), of(0..TIME_MAX), patches()).prop_map(|(amount, refunded_at, metadata)| Command::Refund {
        amount,
        refunded_at,
        metadata,
    });
    prop_oneof![2 => attempt, 3 => outcome, 1 => informational, 3 => refund]
}

fn apply(state: &PaymentState, n: usize, cmd: Command) -> Result<Transition, LifecycleError> {
    match cmd {
        Command::Attempt {
            initiated_at,
            outcome,
            description,
            metadata,
        } => {
            let cmd = NewAttempt {
                outcome,
                description,
                metadata,
                ..new_attempt(n, initiated_at)
            };
            report_payment_attempt(state, cmd)
        }
        Command::Outcome(o, at, metadata) => report_outcome(state, o, at, &metadata),
        Command::Informational {
            email,
            description,
            metadata,
        } => {
            let customer_details = email.map(|e| CustomerDetails {
                email: Some(e),
                ..Default::default()
            });
            let cmd = Informational {
                customer_details,
                description,
                metadata,
                shipping_details: None,
            };
            report_informational(state, cmd)
        }
        Command::Refund {
            amount,
            refunded_at,
            metadata,
        } => report_refund(
            state,
            RefundReport {
                metadata,
                ..refund(amount, refunded_at)
            },
        ),
    }
}

/// Whether API.md's rules allow `cmd` on `state`, worked out apart from the code under test.
fn allowed(state: &PaymentState, cmd: &Command) -> bool {
    let latest = &state.latest;
    match cmd {
        Command::Attempt {
            initiated_at,
            outcome,
            metadata,
            ..
        } => {
            matches!(
                latest.state,
                AttemptState::Failed { .. } | AttemptState::Canceled { .. }
            ) && outcome.is_none_or(|(_, at)| at >= *initiated_at)
                && fits(metadata)
        }
        Command::Outcome(_, at, metadata) => latest.state.is_pending() && *at >= latest.initiated_at && fits(metadata),
        Command::Informational { metadata, .. } => fits(metadata),
        Command::Refund {
            amount,
            refunded_at,
            metadata,
        } => {
            let AttemptState::Guaranteed { at } = latest.state else {
                return false;
            };
            let requested = &state.record.amount_requested;
            let remaining = requested.value - state.record.amount_refunded;
            remaining > 0
                && amount
                    .as_ref()
                    .is_none_or(|a| a.currency == requested.currency && a.value <= remaining)
                && refunded_at.is_none_or(|r| r >= at)
                && fits(metadata)
        }
    }
}

/// Replays `commands` after `initial`, keeping every attempt as the store does (a new attempt is
/// inserted, the old latest updated), and checks the invariants after every step. The calls take
/// `&PaymentState`, so a failed one leaves the state as it was. `step` sees the state before
/// each call, the call and its result.
fn replay(
    initial: NewPayment,
    commands: Vec<Command>,
    mut step: impl FnMut(&PaymentState, &Command, &Result<Transition, LifecycleError>) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let mut state = report_payment(initial).expect("payments() draws valid payments");
    let mut attempts = vec![state.latest.clone()];
    let mut refunded = 0;
    for (i, cmd) in commands.into_iter().enumerate() {
        let result = apply(&state, i + 2, cmd.clone());
        step(&state, &cmd, &result)?;
        if let Ok(t) = result {
            if t.new_attempt() {
                attempts.push(t.state.latest.clone());
            } else {
                *attempts.last_mut().unwrap() = t.state.latest.clone();
            }
            refunded += t.refund().map_or(0, |r| r.amount.value);
            prop_assert_eq!(
                (&t.state.record.id, t.state.record.created),
                (&state.record.id, state.record.created)
            );
            prop_assert_eq!(&t.state.record.amount_requested, &state.record.amount_requested);
            state = t.state;
        }
        let violations = invariant_violations(&state.record, &attempts);
        prop_assert!(violations.is_empty(), "after {:?}: {:?}", cmd, violations);
        // Every call updates both alike and a new attempt copies the record, so they never drift.
        prop_assert_eq!(&state.record.details, &state.latest.details);
        prop_assert_eq!(
            refunded,
            state.record.amount_refunded,
            "refund rows add up to amount_refunded"
        );
    }
    Ok(())
}

proptest! {
    // No regression files: this runs from a shared tree that others edit.
    #![proptest_config(ProptestConfig { cases: 384, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_call_sequences_keep_every_invariant(
        initial in payments(),
        commands in proptest::collection::vec(commands(), 0..40),
    ) {
        replay(initial, commands, |before, cmd, result| {
            if let Ok(t) = result {
                prop_assert_eq!(t.new_attempt(), matches!(cmd, Command::Attempt { .. }));
                prop_assert_eq!(t.refund().is_some(), matches!(cmd, Command::Refund { .. }));
                prop_assert!(t.new_attempt() || t.state.latest.id == before.latest.id);
            }
            Ok(())
        })?;
    }

    #[test]
    fn calls_the_rules_allow_always_succeed_and_the_others_always_fail(
        initial in payments(),
        commands in proptest::collection::vec(commands(), 0..40),
    ) {
        replay(initial, commands, |before, cmd, result| {
            let expected = allowed(before, cmd);
            prop_assert_eq!(result.is_ok(), expected, "{:?} on {:?}: {:?}", cmd, before.latest.state, result);
            Ok(())
        })?;
    }

    #[test]
    fn the_totals_changes_of_any_call_sequence_add_up_to_the_records_totals(
        initial in payments(),
        commands in proptest::collection::vec(commands(), 0..40),
    ) {
        use crate::records::totals::{Totals, totals_change};
        let first = report_payment(initial.clone()).expect("payments() draws valid payments");
        let mut kept = totals_change(None, &first.record).expect("a new record counts").delta;
        let mut last = first.record.clone();
        replay(initial, commands, |before, _, result| {
            if let Ok(t) = result {
                if let Some(change) = totals_change(Some(&before.record), &t.state.record) {
                    kept = kept.plus(&change.delta);
                }
                last = t.state.record.clone();
            }
            Ok(())
        })?;
        prop_assert_eq!(kept, Totals::of(&last));
    }
}
