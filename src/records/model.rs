//! Payment Records domain types. Pure data: no I/O, no rendering, no storage concerns.
//!
//! These types derive serde so the store can keep the non-indexed part of each object as one JSON
//! document; the wire rendering (field order, nulls) lives in `records::render`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Largest amount value payrec accepts, in minor units **[payrec bound]**.
pub const AMOUNT_VALUE_MAX: i64 = 999_999_999_999;
/// Smallest amount value payrec accepts, in minor units.
pub const AMOUNT_VALUE_MIN: i64 = 1;
pub use crate::metadata::{
    METADATA_KEY_CHARS_MAX, METADATA_KEYS_MAX, METADATA_VALUE_CHARS_MAX, Metadata, MetadataPatch,
};

/// A lowercase ISO 4217 currency code, validated at the edge (`wire::params`, declared per endpoint in `calls::payment_records::params`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    /// Wraps a code already checked against the ISO 4217 list.
    pub fn new_unchecked(code: impl Into<String>) -> Self {
        Currency(code.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Money in integer minor units of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: Currency,
    pub value: i64,
}

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// Wraps a string that is known to be an id of this kind (generated, or read back
            /// from the store). Client-supplied ids are looked up as plain strings instead.
            pub fn new_unchecked(id: impl Into<String>) -> Self {
                $name(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(PaymentRecordId, "pr_");
id_type!(PaymentAttemptRecordId, "par_");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerPresence {
    OnSession,
    OffSession,
}

impl CustomerPresence {
    pub const fn as_str(self) -> &'static str {
        match self {
            CustomerPresence::OnSession => "on_session",
            CustomerPresence::OffSession => "off_session",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDetails {
    pub customer: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub city: Option<String>,
    pub country: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postal_code: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingDetails {
    pub address: Address,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingDetails {
    pub address: Address,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomPaymentMethod {
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `payment_method_details`; its `type` is always `custom` in payrec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodDetails {
    pub billing_details: Option<BillingDetails>,
    pub custom: Option<CustomPaymentMethod>,
    pub payment_method: Option<String>,
}

/// `processor_details`; its `type` is always `custom` in payrec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorDetails {
    /// `processor_details.custom.payment_reference`; `custom` renders null when absent.
    pub payment_reference: Option<String>,
}

/// A reported payment attempt's state. Only `Pending` may change; the others are terminal
/// **[payrec]**. Timestamps are seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AttemptState {
    Pending,
    Guaranteed { at: i64 },
    Failed { at: i64 },
    Canceled { at: i64 },
}

impl AttemptState {
    pub fn is_pending(self) -> bool {
        matches!(self, AttemptState::Pending)
    }
    /// A record may take a new attempt only when its latest is one of these (all others are too).
    pub fn is_failed_or_canceled(self) -> bool {
        matches!(self, AttemptState::Failed { .. } | AttemptState::Canceled { .. })
    }
    /// When the attempt reached its terminal state; `None` while pending.
    pub fn outcome_at(self) -> Option<i64> {
        match self {
            AttemptState::Pending => None,
            AttemptState::Guaranteed { at } | AttemptState::Failed { at } | AttemptState::Canceled { at } => Some(at),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Pending => "pending",
            AttemptState::Guaranteed { .. } => "guaranteed",
            AttemptState::Failed { .. } => "failed",
            AttemptState::Canceled { .. } => "canceled",
        }
    }
}

/// An attempt's state without its time: what the dashboard filters on and the stores keep in
/// a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateName {
    Pending,
    Guaranteed,
    Failed,
    Canceled,
}

impl StateName {
    pub const ALL: [StateName; 4] = [
        StateName::Pending,
        StateName::Guaranteed,
        StateName::Failed,
        StateName::Canceled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StateName::Pending => "pending",
            StateName::Guaranteed => "guaranteed",
            StateName::Failed => "failed",
            StateName::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<StateName> {
        StateName::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl AttemptState {
    pub fn name(self) -> StateName {
        match self {
            AttemptState::Pending => StateName::Pending,
            AttemptState::Guaranteed { .. } => StateName::Guaranteed,
            AttemptState::Failed { .. } => StateName::Failed,
            AttemptState::Canceled { .. } => StateName::Canceled,
        }
    }
}

/// The three terminal outcomes a pending attempt can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Guaranteed,
    Failed,
    Canceled,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Guaranteed => "guaranteed",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
        }
    }
    pub fn state_at(self, at: i64) -> AttemptState {
        match self {
            Outcome::Guaranteed => AttemptState::Guaranteed { at },
            Outcome::Failed => AttemptState::Failed { at },
            Outcome::Canceled => AttemptState::Canceled { at },
        }
    }
}

/// The descriptive fields shared by a record and its attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDetails {
    pub customer_details: Option<CustomerDetails>,
    pub customer_presence: Option<CustomerPresence>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub payment_method_details: Option<PaymentMethodDetails>,
    pub processor_details: ProcessorDetails,
    pub shipping_details: Option<ShippingDetails>,
}

/// One payment (`pr_…`). Its outcome amounts mirror its latest attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: PaymentRecordId,
    pub livemode: bool,
    pub created: i64,
    pub amount_requested: Amount,
    pub details: PaymentDetails,
    pub latest_attempt: PaymentAttemptRecordId,
    /// State of the latest attempt, mirrored so the record renders without loading it.
    pub latest_attempt_state: AttemptState,
    /// Sum of every reported refund, in `amount_requested.currency` minor units.
    pub amount_refunded: i64,
}

/// One attempt (`par_…`) at collecting a payment record's amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAttemptRecord {
    pub id: PaymentAttemptRecordId,
    pub payment_record: PaymentRecordId,
    pub livemode: bool,
    pub created: i64,
    pub initiated_at: i64,
    pub amount_requested: Amount,
    pub details: PaymentDetails,
    pub state: AttemptState,
    /// Sum of refunds reported against this attempt (only a guaranteed attempt has any).
    pub amount_refunded: i64,
}

/// One reported refund of a record's guaranteed attempt, kept as its own row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub payment_record: PaymentRecordId,
    pub payment_attempt_record: PaymentAttemptRecordId,
    pub refund_reference: String,
    pub amount: Amount,
    pub refunded_at: Option<i64>,
    pub initiated_at: Option<i64>,
    pub created: i64,
}

/// The portion amounts an attempt in `state` carries, as (guaranteed, failed, canceled).
/// `amount_authorized` equals `amount_guaranteed`.
pub fn portions(state: AttemptState, requested: i64) -> (i64, i64, i64) {
    match state {
        AttemptState::Pending => (0, 0, 0),
        AttemptState::Guaranteed { .. } => (requested, 0, 0),
        AttemptState::Failed { .. } => (0, requested, 0),
        AttemptState::Canceled { .. } => (0, 0, requested),
    }
}
