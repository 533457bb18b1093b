//! `payrec trigger <event type>`: Stripe CLI's `stripe trigger` against payrec. It makes the
//! API calls (a fixture) whose change emits that event, printing each step as the Stripe CLI
//! does and what each created, with the key's account and mode.

use reqwest::Method;

use super::Failure;
use super::args::TriggerArgs;
use super::remote::Remote;
use crate::events::catalogue::EventType;

/// One call of a fixture: what it makes, its path (`{pr}`: the record the first call made)
/// and its form (`{now}`: the time, `{ref}`: a reference of this run).
struct Step {
    name: &'static str,
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
}

const REPORT_PAYMENT: Step = Step {
    name: "payment_record",
    path: "/v1/payment_records/report_payment",
    form: &[
        ("amount_requested[currency]", "usd"),
        ("amount_requested[value]", "1000"),
        ("initiated_at", "{now}"),
        ("payment_method_details[type]", "custom"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][payment_reference]", "{ref}"),
        ("description", "(created by payrec trigger)"),
    ],
};
const GUARANTEED: Step = Step {
    name: "payment_attempt_record_guaranteed",
    path: "/v1/payment_records/{pr}/report_payment_attempt_guaranteed",
    form: &[("guaranteed_at", "{now}")],
};
const FAILED: Step = Step {
    name: "payment_attempt_record_failed",
    path: "/v1/payment_records/{pr}/report_payment_attempt_failed",
    form: &[("failed_at", "{now}")],
};
const CANCELED: Step = Step {
    name: "payment_attempt_record_canceled",
    path: "/v1/payment_records/{pr}/report_payment_attempt_canceled",
    form: &[("canceled_at", "{now}")],
};
const REFUND: Step = Step {
    name: "refund",
    path: "/v1/payment_records/{pr}/report_refund",
    form: &[
        ("outcome", "refunded"),
        ("amount[currency]", "usd"),
        ("amount[value]", "1000"),
        ("processor_details[type]", "custom"),
        ("processor_details[custom][refund_reference]", "{ref}"),
        ("refunded[refunded_at]", "{now}"),
    ],
};
const INFORMATIONAL: Step = Step {
    name: "payment_record_informational",
    path: "/v1/payment_records/{pr}/report_payment_attempt_informational",
    form: &[("description", "(updated by payrec trigger)")],
};
/// The calls that emit `kind`, or None for an event no API call emits (an endpoint disabled
/// for failing; a reconciliation, which `payrec reconcile` does).
fn fixture(kind: EventType) -> Option<&'static [Step]> {
    Some(match kind {
        EventType::RecordCreated | EventType::AttemptCreated => &[REPORT_PAYMENT],
        EventType::RecordUpdated => &[REPORT_PAYMENT, INFORMATIONAL],
        EventType::AttemptGuaranteed => &[REPORT_PAYMENT, GUARANTEED],
        EventType::AttemptFailed => &[REPORT_PAYMENT, FAILED],
        EventType::AttemptCanceled => &[REPORT_PAYMENT, CANCELED],
        EventType::AttemptRefunded => &[REPORT_PAYMENT, GUARANTEED, REFUND],
        EventType::AttemptUpdated => &[REPORT_PAYMENT, INFORMATIONAL],
        EventType::EndpointDisabled | EventType::RecordReconciled | EventType::RecordReconciliationFailed => {
            return None;
        }
    })
}

/// `payrec trigger`.
pub async fn trigger(args: &TriggerArgs) -> Result<(), Failure> {
    let kind = EventType::parse(&args.event).ok_or_else(|| {
        Failure(format!(
            "{} is not an event payrec emits (the catalogue is in docs/events-and-webhooks.md)",
            args.event
        ))
    })?;
    let steps = fixture(kind).ok_or_else(|| {
        Failure(format!(
            "{} cannot be triggered: payrec emits it when an endpoint's deliveries have failed for days",
            args.event
        ))
    })?;
    let remote = Remote::new(&args.remote)?;
    let now = crate::clock::unix_now().to_string();
    let reference = format!("trigger_{}", crate::base62::random_base62(16));
    let mut record = String::new();
    for step in steps {
        println!("Setting up fixture for: {}", step.name);
        let path = step.path.replace("{pr}", &record);
        let fill = |v: &str| v.replace("{now}", &now).replace("{ref}", &reference);
        let form: Vec<(&str, String)> = step.form.iter().map(|(k, v)| (*k, fill(v))).collect();
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        println!("Running fixture for: {}", step.name);
        let made = remote.call(Method::POST, &path, &form).await?;
        record = made["id"].as_str().unwrap_or_default().to_owned();
        println!(
            "  {} {} (latest attempt {})",
            made["object"].as_str().unwrap_or("object"),
            record,
            made["latest_payment_attempt_record"].as_str().unwrap_or("-")
        );
    }
    println!("Trigger succeeded! Check dashboard for event details.");
    Ok(())
}
