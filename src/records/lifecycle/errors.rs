//! The lifecycle's one error type: each broken rule is one variant, with the sentence a client
//! reads and the parameter at fault.

use std::fmt;

use crate::metadata::TooManyMetadataKeys;
use crate::records::model::Currency;

/// A broken lifecycle rule. Each renders as a 400 with a sentence naming the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleError {
    /// A new attempt while the latest is pending or guaranteed.
    NewAttemptNotAllowed,
    /// An outcome reported on a latest attempt that is already guaranteed.
    AttemptAlreadyGuaranteed,
    /// An outcome reported on a latest attempt that has already failed.
    AttemptAlreadyFailed,
    /// An outcome reported on a latest attempt that has already been canceled.
    AttemptAlreadyCanceled,
    /// An outcome timestamp before the attempt's `initiated_at`; `param` names the timestamp as
    /// the endpoint spells it.
    OutcomeBeforeInitiated {
        param: &'static str,
        at: i64,
        initiated_at: i64,
    },
    /// A refund on a record whose latest attempt is not guaranteed.
    RefundWithoutGuarantee,
    /// A refund on a record with nothing left to refund.
    FullyRefunded,
    RefundCurrencyMismatch {
        refund: Currency,
        record: Currency,
    },
    RefundExceedsRemaining {
        amount: i64,
        remaining: i64,
    },
    /// A refund's `refunded_at` before the guarantee it refunds.
    RefundBeforeGuarantee {
        refunded_at: i64,
        guaranteed_at: i64,
    },
    /// The merged metadata would hold more than `METADATA_KEYS_MAX` keys.
    TooManyMetadataKeys,
}

impl From<TooManyMetadataKeys> for LifecycleError {
    fn from(_: TooManyMetadataKeys) -> Self {
        Self::TooManyMetadataKeys
    }
}

impl LifecycleError {
    /// The sentence a client reads, naming the rule that was broken.
    pub fn message(&self) -> String {
        let fixed = match self {
            Self::NewAttemptNotAllowed => {
                "A new payment attempt can only be reported if all other payment attempts are canceled or failed."
            }
            Self::AttemptAlreadyGuaranteed => {
                "The latest payment attempt on this Payment Record is already guaranteed."
            }
            Self::AttemptAlreadyFailed => "The latest payment attempt on this Payment Record has already failed.",
            Self::AttemptAlreadyCanceled => {
                "The latest payment attempt on this Payment Record has already been canceled."
            }
            Self::RefundWithoutGuarantee => {
                "A refund can only be reported for a Payment Record whose latest payment attempt is guaranteed."
            }
            Self::FullyRefunded => "This Payment Record has already been fully refunded.",
            Self::OutcomeBeforeInitiated {
                param,
                at,
                initiated_at,
            } => {
                return format!(
                    "The {param} timestamp ({at}) must not be earlier than the payment attempt's initiated_at ({initiated_at})."
                );
            }
            Self::RefundCurrencyMismatch { refund, record } => {
                return format!("The refund currency ({refund}) must match the Payment Record's currency ({record}).");
            }
            Self::RefundExceedsRemaining { amount, remaining } => {
                return format!(
                    "The refund amount ({amount}) exceeds the amount remaining to be refunded ({remaining}) on this Payment Record."
                );
            }
            Self::RefundBeforeGuarantee {
                refunded_at,
                guaranteed_at,
            } => {
                return format!(
                    "The refund's refunded_at ({refunded_at}) must not be earlier than the time the payment attempt was guaranteed ({guaranteed_at})."
                );
            }
            Self::TooManyMetadataKeys => return TooManyMetadataKeys::message(),
        };
        fixed.to_owned()
    }

    /// The request parameter at fault, when one is.
    pub fn param(&self) -> Option<&'static str> {
        match self {
            Self::OutcomeBeforeInitiated { param, .. } => Some(param),
            Self::RefundCurrencyMismatch { .. } => Some("amount[currency]"),
            Self::RefundExceedsRemaining { .. } => Some("amount[value]"),
            Self::RefundBeforeGuarantee { .. } => Some("refunded[refunded_at]"),
            Self::TooManyMetadataKeys => Some(TooManyMetadataKeys::PARAM),
            Self::NewAttemptNotAllowed
            | Self::AttemptAlreadyGuaranteed
            | Self::AttemptAlreadyFailed
            | Self::AttemptAlreadyCanceled
            | Self::RefundWithoutGuarantee
            | Self::FullyRefunded => None,
        }
    }
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for LifecycleError {}
