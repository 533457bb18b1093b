//! What one worker does in each scenario, on its own keep-alive connection, until the window
//! closes. Requests are closed-loop (a worker sends the next one when the last has answered)
//! unless paced at a fixed rate (`pace`).

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::args::Scenario;
use super::client::{Conn, Reply, form};
use super::ids::RecordIds;
use super::pace::Pace;
use super::stats::{Recorder, Window};

/// `initiated_at` of every reported payment, and a later time for outcomes.
const INITIATED_AT: &str = "1730211300";
const OUTCOME_AT: &str = "1730211400";

/// The lifecycle's steps, in order; each is timed on its own.
pub const LIFECYCLE_STEPS: &[&str] = &["report", "failed", "new_attempt", "guaranteed", "refund"];

/// The mixed load's steps, in order.
pub const MIXED_STEPS: &[&str] = &["report", "retrieve", "list"];

pub fn step_names(scenario: Scenario) -> &'static [&'static str] {
    match scenario {
        Scenario::Lifecycle => LIFECYCLE_STEPS,
        Scenario::Mixed | Scenario::Soak => MIXED_STEPS,
        _ => &["all"],
    }
}

/// A version-4 UUID, the shape of the keys the SDKs generate.
pub fn uuid(rng: &mut SmallRng) -> String {
    let v: u128 = rng.random();
    let v = (v & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The report_payment form: what a typical integration sends (amount, customer, payment
/// method, processor reference, one metadata key).
pub fn report_form(rng: &mut SmallRng) -> String {
    let value = rng.random_range(100..100_000).to_string();
    let reference = format!("pi_{}", &uuid(rng)[..23]);
    let order = rng.random_range(1..1_000_000_000u64).to_string();
    form(&[
        ("amount_requested[currency]", "usd"),
        ("amount_requested[value]", &value),
        ("initiated_at", INITIATED_AT),
        ("customer_details[email]", "jenny.rosen@example.com"),
        ("customer_details[name]", "Jenny Rosen"),
        ("description", "Order from the web shop"),
        ("metadata[order_id]", &order),
        ("payment_method_details[type]", "custom"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][payment_reference]", &reference),
    ])
}

fn on(id: &str, call: &str) -> String {
    format!("/v1/payment_records/{id}/{call}")
}

/// Runs `scenario` on `conn` until the window closes; with a `pace`, each request when it is
/// due, timed from then.
pub async fn worker(
    scenario: Scenario,
    mut conn: Conn,
    ids: Arc<RecordIds>,
    window: Window,
    pace: Option<Arc<Pace>>,
) -> Recorder {
    let mut recorder = Recorder::new(window, step_names(scenario).len());
    let mut rng = SmallRng::from_os_rng();
    loop {
        let due = match &pace {
            Some(pace) => match pace.next_due().await {
                Some(due) => Some(due.into_std()),
                None => break,
            },
            None if recorder.running() => None,
            None => break,
        };
        match scenario {
            Scenario::Ceiling => {
                let started = due.unwrap_or_else(Instant::now);
                let result = conn.get("/ceiling").await;
                recorder.record(0, started, &result);
            }
            Scenario::Retrieve => {
                let path = format!("/v1/payment_records/{}", ids.pick(&mut rng));
                let started = due.unwrap_or_else(Instant::now);
                let result = conn.get(&path).await;
                recorder.record(0, started, &result);
            }
            Scenario::List => {
                let path = format!(
                    "/v1/payment_attempt_records?payment_record={}&limit=10",
                    ids.pick(&mut rng)
                );
                let started = due.unwrap_or_else(Instant::now);
                let result = conn.get(&path).await;
                recorder.record(0, started, &result);
            }
            Scenario::Report | Scenario::ReportNokey | Scenario::Deliver => {
                let body = report_form(&mut rng);
                let key = (scenario == Scenario::Report).then(|| uuid(&mut rng));
                let started = due.unwrap_or_else(Instant::now);
                let result = conn
                    .post("/v1/payment_records/report_payment", body, key.as_deref())
                    .await;
                recorder.record(0, started, &result);
            }
            Scenario::Lifecycle => lifecycle(&mut conn, &mut rng, &mut recorder).await,
            Scenario::Mixed | Scenario::Soak => mixed(&mut conn, &mut rng, &mut recorder).await,
            Scenario::Dashboard | Scenario::Amplification => {
                unreachable!("runs on its own (dashboard.rs, amplification.rs)")
            }
        }
    }
    recorder
}

/// One payment's life; a failed step ends the iteration (it is counted as an error).
async fn lifecycle(conn: &mut Conn, rng: &mut SmallRng, recorder: &mut Recorder) {
    let body = report_form(rng);
    let Some(reply) = timed_post(conn, rng, recorder, 0, "/v1/payment_records/report_payment", body).await else {
        return;
    };
    let Some(id) = reply.object_id("pr_") else { return };
    let reference = format!("re_{}", &uuid(rng)[..23]);
    let steps = [
        ("report_payment_attempt_failed", form(&[("failed_at", OUTCOME_AT)])),
        ("report_payment_attempt", form(&[("initiated_at", OUTCOME_AT)])),
        (
            "report_payment_attempt_guaranteed",
            form(&[("guaranteed_at", OUTCOME_AT)]),
        ),
        (
            "report_refund",
            form(&[
                ("outcome", "refunded"),
                ("processor_details[type]", "custom"),
                ("processor_details[custom][refund_reference]", &reference),
            ]),
        ),
    ];
    for (i, (call, body)) in steps.into_iter().enumerate() {
        if timed_post(conn, rng, recorder, i + 1, &on(&id, call), body)
            .await
            .is_none()
        {
            return;
        }
    }
}

/// A keyed report, then a retrieve and a list of the record it made.
async fn mixed(conn: &mut Conn, rng: &mut SmallRng, recorder: &mut Recorder) {
    let body = report_form(rng);
    let Some(reply) = timed_post(conn, rng, recorder, 0, "/v1/payment_records/report_payment", body).await else {
        return;
    };
    let Some(id) = reply.object_id("pr_") else { return };
    for (step, path) in [
        (1, format!("/v1/payment_records/{id}")),
        (2, format!("/v1/payment_attempt_records?payment_record={id}&limit=10")),
    ] {
        let started = Instant::now();
        let result = conn.get(&path).await;
        recorder.record(step, started, &result);
    }
}

/// A POST with a fresh Idempotency-Key, recorded as `step`; the reply when it succeeded.
async fn timed_post(
    conn: &mut Conn,
    rng: &mut SmallRng,
    recorder: &mut Recorder,
    step: usize,
    path: &str,
    body: String,
) -> Option<Reply> {
    let key = uuid(rng);
    let started = Instant::now();
    let result = conn.post(path, body, Some(&key)).await;
    recorder.record(step, started, &result);
    result.ok().filter(Reply::is_success)
}
