//! Wire rendering of Payment Records objects: `id` and `object` first, then every field in
//! alphabetical order, nulls included, as in Stripe's reference examples.

use serde::Serialize;

use super::model::{
    Address, Amount, BillingDetails, CustomerDetails, PaymentAttemptRecord, PaymentDetails, PaymentMethodDetails,
    PaymentRecord, ShippingDetails, portions,
};

#[derive(Serialize)]
struct AmountView<'a> {
    currency: &'a str,
    value: i64,
}

fn amount(template: &Amount, value: i64) -> AmountView<'_> {
    AmountView {
        currency: template.currency.as_str(),
        value,
    }
}

#[derive(Serialize)]
struct AddressView<'a> {
    city: Option<&'a str>,
    country: Option<&'a str>,
    line1: Option<&'a str>,
    line2: Option<&'a str>,
    postal_code: Option<&'a str>,
    state: Option<&'a str>,
}

fn address(a: &Address) -> AddressView<'_> {
    AddressView {
        city: a.city.as_deref(),
        country: a.country.as_deref(),
        line1: a.line1.as_deref(),
        line2: a.line2.as_deref(),
        postal_code: a.postal_code.as_deref(),
        state: a.state.as_deref(),
    }
}

#[derive(Serialize)]
struct CustomerDetailsView<'a> {
    customer: Option<&'a str>,
    email: Option<&'a str>,
    name: Option<&'a str>,
    phone: Option<&'a str>,
}

fn customer_details(c: &CustomerDetails) -> CustomerDetailsView<'_> {
    CustomerDetailsView {
        customer: c.customer.as_deref(),
        email: c.email.as_deref(),
        name: c.name.as_deref(),
        phone: c.phone.as_deref(),
    }
}

#[derive(Serialize)]
struct ShippingDetailsView<'a> {
    address: AddressView<'a>,
    name: Option<&'a str>,
    phone: Option<&'a str>,
}

fn shipping_details(s: &ShippingDetails) -> ShippingDetailsView<'_> {
    ShippingDetailsView {
        address: address(&s.address),
        name: s.name.as_deref(),
        phone: s.phone.as_deref(),
    }
}

#[derive(Serialize)]
struct BillingDetailsView<'a> {
    address: AddressView<'a>,
    email: Option<&'a str>,
    name: Option<&'a str>,
    phone: Option<&'a str>,
}

fn billing_details(b: &BillingDetails) -> BillingDetailsView<'_> {
    BillingDetailsView {
        address: address(&b.address),
        email: b.email.as_deref(),
        name: b.name.as_deref(),
        phone: b.phone.as_deref(),
    }
}

#[derive(Serialize)]
struct CustomView<'a> {
    display_name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
}

#[derive(Serialize)]
struct PaymentMethodDetailsView<'a> {
    billing_details: Option<BillingDetailsView<'a>>,
    custom: Option<CustomView<'a>>,
    payment_method: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn payment_method_details(p: &PaymentMethodDetails) -> PaymentMethodDetailsView<'_> {
    PaymentMethodDetailsView {
        billing_details: p.billing_details.as_ref().map(billing_details),
        custom: p.custom.as_ref().map(|c| CustomView {
            display_name: c.display_name.as_deref(),
            kind: c.kind.as_deref(),
        }),
        payment_method: p.payment_method.as_deref(),
        kind: "custom",
    }
}

#[derive(Serialize)]
struct ProcessorCustomView<'a> {
    payment_reference: Option<&'a str>,
}

/// Stripe renders `type` before `custom` here.
#[derive(Serialize)]
struct ProcessorDetailsView<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    custom: Option<ProcessorCustomView<'a>>,
}

/// The fields a record and an attempt share, in alphabetical order around the ones that differ.
#[derive(Serialize)]
struct Amounts<'a> {
    amount: AmountView<'a>,
    amount_authorized: AmountView<'a>,
    amount_canceled: AmountView<'a>,
    amount_failed: AmountView<'a>,
    amount_guaranteed: AmountView<'a>,
    amount_refunded: AmountView<'a>,
    amount_requested: AmountView<'a>,
    application: Option<&'a str>,
    created: i64,
    customer_details: Option<CustomerDetailsView<'a>>,
    customer_presence: Option<&'static str>,
    description: Option<&'a str>,
}

fn amounts<'a>(
    requested: &'a Amount,
    state: super::model::AttemptState,
    refunded: i64,
    created: i64,
    d: &'a PaymentDetails,
) -> Amounts<'a> {
    let (guaranteed, failed, canceled) = portions(state, requested.value);
    Amounts {
        amount: amount(requested, requested.value),
        amount_authorized: amount(requested, guaranteed),
        amount_canceled: amount(requested, canceled),
        amount_failed: amount(requested, failed),
        amount_guaranteed: amount(requested, guaranteed),
        amount_refunded: amount(requested, refunded),
        amount_requested: amount(requested, requested.value),
        application: None,
        created,
        customer_details: d.customer_details.as_ref().map(customer_details),
        customer_presence: d.customer_presence.map(|p| p.as_str()),
        description: d.description.as_deref(),
    }
}

#[derive(Serialize)]
struct Trailer<'a> {
    livemode: bool,
    metadata: &'a std::collections::BTreeMap<String, String>,
    payment_method_details: Option<PaymentMethodDetailsView<'a>>,
}

#[derive(Serialize)]
struct Tail<'a> {
    processor_details: ProcessorDetailsView<'a>,
    reported_by: &'static str,
    shipping_details: Option<ShippingDetailsView<'a>>,
}

fn trailer(livemode: bool, d: &PaymentDetails) -> Trailer<'_> {
    Trailer {
        livemode,
        metadata: &d.metadata,
        payment_method_details: d.payment_method_details.as_ref().map(payment_method_details),
    }
}

fn tail(d: &PaymentDetails) -> Tail<'_> {
    Tail {
        processor_details: ProcessorDetailsView {
            kind: "custom",
            custom: d
                .processor_details
                .payment_reference
                .as_deref()
                .map(|r| ProcessorCustomView {
                    payment_reference: Some(r),
                }),
        },
        reported_by: "self",
        shipping_details: d.shipping_details.as_ref().map(shipping_details),
    }
}

/// A `latest_payment_attempt_record` or `payment_record` field: an id, or the expanded object.
#[derive(Serialize)]
#[serde(untagged)]
enum Expandable<'a> {
    Id(&'a str),
    Object(Box<AttemptView<'a>>),
    Record(Box<RecordView<'a>>),
}

#[derive(Serialize)]
pub struct RecordView<'a> {
    id: &'a str,
    object: &'static str,
    #[serde(flatten)]
    amounts: Amounts<'a>,
    latest_payment_attempt_record: Expandable<'a>,
    #[serde(flatten)]
    trailer: Trailer<'a>,
    #[serde(flatten)]
    tail: Tail<'a>,
}

#[derive(Serialize)]
pub struct AttemptView<'a> {
    id: &'a str,
    object: &'static str,
    #[serde(flatten)]
    amounts: Amounts<'a>,
    #[serde(flatten)]
    trailer: Trailer<'a>,
    payment_record: Expandable<'a>,
    #[serde(flatten)]
    tail: Tail<'a>,
}

/// A record; `latest` is given when `latest_payment_attempt_record` is expanded.
pub fn record<'a>(r: &'a PaymentRecord, latest: Option<&'a PaymentAttemptRecord>) -> RecordView<'a> {
    debug_assert!(latest.is_none_or(|a| a.id == r.latest_attempt));
    RecordView {
        id: r.id.as_str(),
        object: "payment_record",
        amounts: amounts(
            &r.amount_requested,
            r.latest_attempt_state,
            r.amount_refunded,
            r.created,
            &r.details,
        ),
        latest_payment_attempt_record: match latest {
            Some(a) => Expandable::Object(Box::new(attempt(a, None))),
            None => Expandable::Id(r.latest_attempt.as_str()),
        },
        trailer: trailer(r.livemode, &r.details),
        tail: tail(&r.details),
    }
}

/// An attempt; `parent` is given when `payment_record` is expanded.
pub fn attempt<'a>(a: &'a PaymentAttemptRecord, parent: Option<&'a PaymentRecord>) -> AttemptView<'a> {
    debug_assert!(parent.is_none_or(|r| r.id == a.payment_record));
    AttemptView {
        id: a.id.as_str(),
        object: "payment_attempt_record",
        amounts: amounts(&a.amount_requested, a.state, a.amount_refunded, a.created, &a.details),
        trailer: trailer(a.livemode, &a.details),
        payment_record: match parent {
            Some(r) => Expandable::Record(Box::new(record(r, None))),
            None => Expandable::Id(a.payment_record.as_str()),
        },
        tail: tail(&a.details),
    }
}
