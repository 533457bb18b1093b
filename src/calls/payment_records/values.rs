//! The parameter values particular to Payment Records: currencies and amounts, countries,
//! `type=custom`, the outcome enums and metadata, each read, validated and described in one
//! place (`FromParam`).

use crate::records::currency::{ISO_4217, parse_currency};
use crate::records::model::{
    AMOUNT_VALUE_MAX, AMOUNT_VALUE_MIN, Currency, CustomerPresence, METADATA_KEY_CHARS_MAX, METADATA_KEYS_MAX,
    METADATA_VALUE_CHARS_MAX, MetadataPatch, Outcome,
};
use crate::wire::error::{ApiError, ParamErrorCode};
use crate::wire::form::Param;
use crate::wire::params::{FromParam, Params, Shape, TextMax, enum_param};

/// Longest email accepted (Stripe's limit on `billing_details[email]`).
pub const EMAIL_CHARS_MAX: usize = 800;
/// An email address: a string of at most `EMAIL_CHARS_MAX` characters.
pub type Email = TextMax<EMAIL_CHARS_MAX>;

/// The only `payment_method_details[type]` and `processor_details[type]` payrec records.
pub const CUSTOM: &[&str] = &["custom"];

enum_param!(CustomerPresence: OnSession, OffSession);
enum_param!(Outcome: Guaranteed, Failed, Canceled);

/// A supported currency: a lowercase ISO 4217 code.
impl FromParam for Currency {
    const SHAPE: Shape = Shape::Enum(ISO_4217);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let code = parent.required_string(key)?;
        parse_currency(code).ok_or_else(|| {
            ApiError::invalid(
                ParamErrorCode::InvalidCurrency,
                parent.path(key),
                format!("Invalid currency: {code}. Currencies are lowercase three-letter ISO 4217 codes, such as usd."),
            )
        })
    }
}

/// An amount in minor units, `AMOUNT_VALUE_MIN ..= AMOUNT_VALUE_MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountValue(pub i64);

impl FromParam for AmountValue {
    const SHAPE: Shape = Shape::Integer {
        min: AMOUNT_VALUE_MIN,
        max: AMOUNT_VALUE_MAX,
    };
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let value = parent.required_integer(key)?;
        if !(AMOUNT_VALUE_MIN..=AMOUNT_VALUE_MAX).contains(&value) {
            let param = parent.path(key);
            return Err(ApiError::invalid(
                ParamErrorCode::InvalidInteger,
                &param,
                format!("Invalid {param}: {value}. It must be between {AMOUNT_VALUE_MIN} and {AMOUNT_VALUE_MAX}."),
            ));
        }
        Ok(AmountValue(value))
    }
}

/// A two-letter ISO 3166-1 alpha-2 country code, either case; kept uppercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(pub String);

impl FromParam for Country {
    const SHAPE: Shape = Shape::Country;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let code = parent.string(key)?.ok_or_else(|| parent.missing(key))?;
        if !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())) {
            return Err(ApiError::invalid(
                ParamErrorCode::InvalidString,
                parent.path(key),
                format!("Invalid country: {code}. Countries are two-letter ISO 3166-1 alpha-2 codes, such as US."),
            ));
        }
        Ok(Country(code.to_ascii_uppercase()))
    }
}

/// `type=custom`, required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomType;

impl FromParam for CustomType {
    const SHAPE: Shape = Shape::Enum(CUSTOM);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        parent
            .one_of(key, &[("custom", CustomType)])?
            .ok_or_else(|| parent.missing(key))
    }
}

/// `payment_method_details[type]`: described as required (Stripe's SDKs send it), but payrec
/// defaults it to `custom` when `payment_method` is given instead **[payrec]**.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultedCustomType {
    pub given: bool,
}

impl FromParam for DefaultedCustomType {
    const SHAPE: Shape = Shape::Enum(CUSTOM);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        let given = parent.one_of(key, &[("custom", ())])?.is_some();
        Ok(DefaultedCustomType { given })
    }
}

/// `outcome=refunded` of report_refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundOutcome;

impl FromParam for RefundOutcome {
    const SHAPE: Shape = Shape::Enum(&["refunded"]);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        parent
            .one_of(key, &[("refunded", RefundOutcome)])?
            .ok_or_else(|| parent.missing(key))
    }
}

/// `metadata`: `metadata=` clears, `metadata[k]=v` sets, `metadata[k]=` removes.
impl FromParam for MetadataPatch {
    const SHAPE: Shape = Shape::Metadata;
    const REQUIRED: bool = false;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        if parent.is_unset(key) {
            return Ok(MetadataPatch {
                clear_all: true,
                entries: Vec::new(),
            });
        }
        let Some(m) = parent.object(key) else {
            return Ok(MetadataPatch::default());
        };
        let mut entries = Vec::new();
        for (name, value) in m.entries() {
            let param = m.path(name);
            let Param::Str(value) = value else {
                return Err(ApiError::invalid(
                    ParamErrorCode::InvalidString,
                    param,
                    "Metadata values must be strings.",
                ));
            };
            if name.contains(['\0', '[', ']']) || value.contains('\0') {
                return Err(ApiError::invalid(
                    ParamErrorCode::InvalidString,
                    param,
                    "Invalid metadata: keys may not contain [ or ], and neither keys nor values may contain NUL characters.",
                ));
            }
            if name.chars().count() > METADATA_KEY_CHARS_MAX {
                return Err(ApiError::invalid(
                    ParamErrorCode::InvalidStringLength,
                    param,
                    format!("Invalid metadata key: keys must be at most {METADATA_KEY_CHARS_MAX} characters long."),
                ));
            }
            if value.chars().count() > METADATA_VALUE_CHARS_MAX {
                return Err(ApiError::invalid(
                    ParamErrorCode::InvalidStringLength,
                    param,
                    format!(
                        "Invalid metadata value: values must be at most {METADATA_VALUE_CHARS_MAX} characters long."
                    ),
                ));
            }
            entries.push((name.to_owned(), (!value.is_empty()).then(|| value.clone())));
        }
        if entries.len() > METADATA_KEYS_MAX {
            return Err(ApiError::invalid(
                ParamErrorCode::InvalidMetadata,
                key.to_owned(),
                crate::metadata::TooManyMetadataKeys::message(),
            ));
        }
        Ok(MetadataPatch {
            clear_all: false,
            entries,
        })
    }
}
