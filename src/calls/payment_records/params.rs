//! The Payment Records report calls' parameters, declared once (`params!`): the declaration
//! validates a call (from an HTTP request or an imported line), types it, and describes it in
//! the API document. Every rule about what a client may send lives here; rules about the
//! record's state live in the lifecycle. Fields are read in the order they are declared.

use super::values::{AmountValue, Country, CustomType, DefaultedCustomType, Email, RefundOutcome};
use crate::records::model::{
    Address, Amount, BillingDetails, Currency, CustomPaymentMethod, CustomerDetails, CustomerPresence, MetadataPatch,
    Outcome, PaymentMethodDetails, ShippingDetails,
};
use crate::wire::error::ApiError;
use crate::wire::params::{Expand, ExpandPaths, ParamObject, Text, Timestamp, Unsettable, UnsettableText, params};

/// `expand[]` of the calls that answer with a record.
#[derive(Debug, Clone)]
pub struct RecordExpansion;
impl ExpandPaths for RecordExpansion {
    const PATHS: &'static [&'static str] = &["latest_payment_attempt_record"];
}

params! {
    /// `amount_requested` / `amount`.
    pub struct AmountParams {
        pub currency: Currency,
        pub value: AmountValue,
    }
}

impl From<AmountParams> for Amount {
    fn from(p: AmountParams) -> Self {
        Amount {
            currency: p.currency,
            value: p.value.0,
        }
    }
}

params! {
    pub struct AddressParams {
        pub country: Option<Country>,
        pub city: Option<Text>,
        pub line1: Option<Text>,
        pub line2: Option<Text>,
        pub postal_code: Option<Text>,
        pub state: Option<Text>,
    }
}

fn text(value: Option<Text>) -> Option<String> {
    value.map(|t| t.0)
}

fn address(p: Option<AddressParams>) -> Address {
    let Some(p) = p else { return Address::default() };
    Address {
        city: text(p.city),
        country: p.country.map(|c| c.0),
        line1: text(p.line1),
        line2: text(p.line2),
        postal_code: text(p.postal_code),
        state: text(p.state),
    }
}

params! {
    pub struct CustomerDetailsParams {
        pub customer: Option<Text>,
        pub email: Option<Email>,
        pub name: Option<Text>,
        pub phone: Option<Text>,
    }
}

impl From<CustomerDetailsParams> for CustomerDetails {
    fn from(p: CustomerDetailsParams) -> Self {
        CustomerDetails {
            customer: text(p.customer),
            email: p.email.map(|e| e.0),
            name: text(p.name),
            phone: text(p.phone),
        }
    }
}

params! {
    pub struct ShippingDetailsParams {
        pub address: Option<AddressParams>,
        pub name: Option<Text>,
        pub phone: Option<Text>,
    }
}

impl From<ShippingDetailsParams> for ShippingDetails {
    fn from(p: ShippingDetailsParams) -> Self {
        ShippingDetails {
            address: address(p.address),
            name: text(p.name),
            phone: text(p.phone),
        }
    }
}

params! {
    pub struct BillingDetailsParams {
        pub address: Option<AddressParams>,
        pub email: Option<Email>,
        pub name: Option<Text>,
        pub phone: Option<Text>,
    }
}

params! {
    pub struct CustomPaymentMethodParams {
        pub display_name: Option<Text>,
        pub kind ("type"): Option<Text>,
    }
}

params! {
    /// `payment_method_details`: `type` (only `custom`) or `payment_method` is required; `type`
    /// defaults to `custom` when only `payment_method` is given **[payrec]**.
    pub struct PaymentMethodDetailsParams {
        pub kind ("type"): DefaultedCustomType,
        pub payment_method: Option<Text>,
        pub billing_details: Option<BillingDetailsParams>,
        pub custom: Option<CustomPaymentMethodParams>,
    }
}

impl PaymentMethodDetailsParams {
    /// The details, once the one rule across fields holds.
    pub fn into_details(self) -> Result<PaymentMethodDetails, ApiError> {
        if !self.kind.given && self.payment_method.is_none() {
            return Err(ApiError::ParameterMissing {
                param: "payment_method_details[type]".into(),
            });
        }
        Ok(PaymentMethodDetails {
            billing_details: self.billing_details.map(|b| BillingDetails {
                address: address(b.address),
                email: b.email.map(|e| e.0),
                name: text(b.name),
                phone: text(b.phone),
            }),
            custom: self.custom.map(|c| CustomPaymentMethod {
                display_name: text(c.display_name),
                kind: text(c.kind),
            }),
            payment_method: text(self.payment_method),
        })
    }
}

params! {
    pub struct PaymentReferenceParams {
        pub payment_reference: Text,
    }
}

params! {
    /// `processor_details` on report_payment: `type=custom` and optionally
    /// `custom[payment_reference]`.
    pub struct ProcessorDetailsParams {
        pub kind ("type"): CustomType,
        pub custom: Option<PaymentReferenceParams>,
    }
}

params! {
    pub struct GuaranteedParams {
        pub guaranteed_at: Timestamp,
    }
}

params! {
    pub struct FailedParams {
        pub failed_at: Timestamp,
    }
}

params! {
    pub struct CanceledParams {
        pub canceled_at: Timestamp,
    }
}

/// `outcome` with its one matching sub-object (`guaranteed[guaranteed_at]`, …): the outcome
/// and its time, once the two agree.
pub fn outcome_of(
    outcome: Option<Outcome>,
    guaranteed: &Option<GuaranteedParams>,
    failed: &Option<FailedParams>,
    canceled: &Option<CanceledParams>,
) -> Result<Option<(Outcome, i64)>, ApiError> {
    let given = [
        (Outcome::Guaranteed, guaranteed.as_ref().map(|g| g.guaranteed_at.0)),
        (Outcome::Failed, failed.as_ref().map(|f| f.failed_at.0)),
        (Outcome::Canceled, canceled.as_ref().map(|c| c.canceled_at.0)),
    ];
    for (sub, at) in given {
        if at.is_some() && outcome != Some(sub) {
            let name = sub.as_str();
            let message = match outcome {
                Some(o) => format!(
                    "{name} cannot be given with outcome={}: give only the sub-object that matches the outcome.",
                    o.as_str()
                ),
                None => format!("{name} can only be given together with outcome={name}."),
            };
            return Err(ApiError::Invalid {
                message,
                param: Some(name.to_owned()),
            });
        }
    }
    let Some(outcome) = outcome else { return Ok(None) };
    let at = given
        .iter()
        .find(|(sub, _)| *sub == outcome)
        .and_then(|(_, at)| *at)
        .ok_or_else(|| ApiError::ParameterMissing {
            param: outcome.as_str().to_owned(),
        })?;
    Ok(Some((outcome, at)))
}

params! {
    /// POST /v1/payment_records/report_payment
    pub struct ReportPaymentParams {
        pub expand: Expand<RecordExpansion>,
        pub amount_requested: AmountParams,
        pub initiated_at: Timestamp,
        pub payment_method_details: PaymentMethodDetailsParams,
        pub customer_details: Option<CustomerDetailsParams>,
        pub customer_presence: Option<CustomerPresence>,
        pub description: Option<Text>,
        pub processor_details: Option<ProcessorDetailsParams>,
        pub shipping_details: Option<ShippingDetailsParams>,
        pub metadata: MetadataPatch,
        pub outcome: Option<Outcome>,
        pub guaranteed: Option<GuaranteedParams>,
        pub failed: Option<FailedParams>,
        pub canceled: Option<CanceledParams>,
    }
}

params! {
    /// POST /v1/payment_records/:id/report_payment_attempt
    pub struct ReportPaymentAttemptParams {
        pub expand: Expand<RecordExpansion>,
        pub initiated_at: Timestamp,
        pub description: Option<Text>,
        pub metadata: MetadataPatch,
        pub outcome: Option<Outcome>,
        pub guaranteed: Option<GuaranteedParams>,
        pub failed: Option<FailedParams>,
        pub canceled: Option<CanceledParams>,
        pub payment_method_details: Option<PaymentMethodDetailsParams>,
        pub shipping_details: Option<ShippingDetailsParams>,
    }
}

params! {
    /// POST /v1/payment_records/:id/report_payment_attempt_guaranteed
    pub struct ReportGuaranteedParams {
        pub expand: Expand<RecordExpansion>,
        pub guaranteed_at: Timestamp,
        pub metadata: MetadataPatch,
    }
}

params! {
    /// POST /v1/payment_records/:id/report_payment_attempt_failed
    pub struct ReportFailedParams {
        pub expand: Expand<RecordExpansion>,
        pub failed_at: Timestamp,
        pub metadata: MetadataPatch,
    }
}

params! {
    /// POST /v1/payment_records/:id/report_payment_attempt_canceled
    pub struct ReportCanceledParams {
        pub expand: Expand<RecordExpansion>,
        pub canceled_at: Timestamp,
        pub metadata: MetadataPatch,
    }
}

/// The three outcome calls share one shape: `<outcome>_at` (required), metadata, expand.
pub trait OutcomeCall: ParamObject + Send + 'static {
    const OUTCOME: Outcome;
    /// The outcome's time, the metadata patch and `expand[]`.
    fn into_parts(self) -> (i64, MetadataPatch, Expand<RecordExpansion>);
}

impl OutcomeCall for ReportGuaranteedParams {
    const OUTCOME: Outcome = Outcome::Guaranteed;
    fn into_parts(self) -> (i64, MetadataPatch, Expand<RecordExpansion>) {
        (self.guaranteed_at.0, self.metadata, self.expand)
    }
}

impl OutcomeCall for ReportFailedParams {
    const OUTCOME: Outcome = Outcome::Failed;
    fn into_parts(self) -> (i64, MetadataPatch, Expand<RecordExpansion>) {
        (self.failed_at.0, self.metadata, self.expand)
    }
}

impl OutcomeCall for ReportCanceledParams {
    const OUTCOME: Outcome = Outcome::Canceled;
    fn into_parts(self) -> (i64, MetadataPatch, Expand<RecordExpansion>) {
        (self.canceled_at.0, self.metadata, self.expand)
    }
}

params! {
    /// POST /v1/payment_records/:id/report_payment_attempt_informational
    pub struct ReportInformationalParams {
        pub expand: Expand<RecordExpansion>,
        pub shipping_details: Option<Unsettable<ShippingDetailsParams>>,
        pub customer_details: Option<CustomerDetailsParams>,
        pub description: Option<UnsettableText>,
        pub metadata: MetadataPatch,
    }
}

params! {
    pub struct RefundReferenceParams {
        pub refund_reference: Text,
    }
}

params! {
    pub struct RefundProcessorDetailsParams {
        pub kind ("type"): CustomType,
        pub custom: RefundReferenceParams,
    }
}

params! {
    pub struct RefundedParams {
        pub refunded_at: Timestamp,
    }
}

params! {
    /// POST /v1/payment_records/:id/report_refund. `refunded` is optional (the SDK marks it
    /// so); when given, `refunded[refunded_at]` is required **[payrec]**.
    pub struct ReportRefundParams {
        pub expand: Expand<RecordExpansion>,
        pub outcome: RefundOutcome,
        pub processor_details: RefundProcessorDetailsParams,
        pub amount: Option<AmountParams>,
        pub refunded: Option<RefundedParams>,
        pub initiated_at: Option<Timestamp>,
        pub metadata: MetadataPatch,
    }
}

#[cfg(test)]
mod tests;
