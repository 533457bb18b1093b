//! Each endpoint's parameters: their declared shape (unknown ones are rejected by full path)
//! and their typed reading into lifecycle commands. Every rule about what a client may send
//! lives here; rules about the record's state live in `lifecycle`.

use super::currency::{ISO_4217, parse_currency};
use super::model::{
    AMOUNT_VALUE_MAX, AMOUNT_VALUE_MIN, Address, Amount, BillingDetails, CustomPaymentMethod, CustomerDetails,
    CustomerPresence, METADATA_KEY_CHARS_MAX, METADATA_KEYS_MAX, METADATA_VALUE_CHARS_MAX, MetadataPatch, Outcome,
    PaymentMethodDetails, ProcessorDetails, ShippingDetails,
};
use crate::wire::error::ApiError;
use crate::wire::form::Param;
use crate::wire::list::LIST_LIMIT_MAX;
use crate::wire::params::{Field, Params, Shape};

/// Longest email accepted (Stripe's limit on `billing_details[email]`).
pub const EMAIL_CHARS_MAX: usize = 800;

use Shape::{Enum, Integer, Metadata, Object, Scalar, ScalarMax, StringList, Timestamp, UnsettableObject};

/// `customer_presence` values, as `customer_presence` reads them.
pub const CUSTOMER_PRESENCE_VALUES: &[&str] = &["on_session", "off_session"];
/// `outcome` values of a report call, as `outcome` reads them.
pub const OUTCOME_VALUES: &[&str] = &["guaranteed", "failed", "canceled"];
/// The only `payment_method_details[type]` and `processor_details[type]` payrec records.
pub const CUSTOM: &[&str] = &["custom"];
/// `outcome` of report_refund.
pub const REFUND_OUTCOME_VALUES: &[&str] = &["refunded"];

const ADDRESS: &[(&str, Shape)] = &[
    ("city", Scalar),
    ("country", Shape::Country),
    ("line1", Scalar),
    ("line2", Scalar),
    ("postal_code", Scalar),
    ("state", Scalar),
];
const CUSTOMER_DETAILS: &[(&str, Shape)] = &[
    ("customer", Scalar),
    ("email", ScalarMax(EMAIL_CHARS_MAX)),
    ("name", Scalar),
    ("phone", Scalar),
];
const SHIPPING_DETAILS: &[(&str, Shape)] = &[("address", Object(ADDRESS)), ("name", Scalar), ("phone", Scalar)];
const BILLING_DETAILS: &[(&str, Shape)] = &[
    ("address", Object(ADDRESS)),
    ("email", ScalarMax(EMAIL_CHARS_MAX)),
    ("name", Scalar),
    ("phone", Scalar),
];
const PAYMENT_METHOD_DETAILS: &[(&str, Shape)] = &[
    ("billing_details", Object(BILLING_DETAILS)),
    ("custom", Object(&[("display_name", Scalar), ("type", Scalar)])),
    ("payment_method", Scalar),
    ("type", Enum(CUSTOM)),
];
const AMOUNT: &[(&str, Shape)] = &[
    ("currency", Enum(ISO_4217)),
    (
        "value",
        Integer {
            min: AMOUNT_VALUE_MIN,
            max: AMOUNT_VALUE_MAX,
        },
    ),
];
const LIMIT: Shape = Integer {
    min: 1,
    max: LIST_LIMIT_MAX as i64,
};

pub const REPORT_PAYMENT: &[(&str, Shape)] = &[
    ("amount_requested", Object(AMOUNT)),
    ("canceled", Object(&[("canceled_at", Timestamp)])),
    ("customer_details", Object(CUSTOMER_DETAILS)),
    ("customer_presence", Enum(CUSTOMER_PRESENCE_VALUES)),
    ("description", Scalar),
    ("expand", StringList),
    ("failed", Object(&[("failed_at", Timestamp)])),
    ("guaranteed", Object(&[("guaranteed_at", Timestamp)])),
    ("initiated_at", Timestamp),
    ("metadata", Metadata),
    ("outcome", Enum(OUTCOME_VALUES)),
    ("payment_method_details", Object(PAYMENT_METHOD_DETAILS)),
    (
        "processor_details",
        Object(&[
            ("custom", Object(&[("payment_reference", Scalar)])),
            ("type", Enum(CUSTOM)),
        ]),
    ),
    ("shipping_details", Object(SHIPPING_DETAILS)),
];

pub const REPORT_PAYMENT_ATTEMPT: &[(&str, Shape)] = &[
    ("canceled", Object(&[("canceled_at", Timestamp)])),
    ("description", Scalar),
    ("expand", StringList),
    ("failed", Object(&[("failed_at", Timestamp)])),
    ("guaranteed", Object(&[("guaranteed_at", Timestamp)])),
    ("initiated_at", Timestamp),
    ("metadata", Metadata),
    ("outcome", Enum(OUTCOME_VALUES)),
    ("payment_method_details", Object(PAYMENT_METHOD_DETAILS)),
    ("shipping_details", Object(SHIPPING_DETAILS)),
];

pub const REPORT_GUARANTEED: &[(&str, Shape)] = &[
    ("expand", StringList),
    ("guaranteed_at", Timestamp),
    ("metadata", Metadata),
];
pub const REPORT_FAILED: &[(&str, Shape)] = &[("expand", StringList), ("failed_at", Timestamp), ("metadata", Metadata)];
pub const REPORT_CANCELED: &[(&str, Shape)] = &[
    ("canceled_at", Timestamp),
    ("expand", StringList),
    ("metadata", Metadata),
];

pub const REPORT_INFORMATIONAL: &[(&str, Shape)] = &[
    ("customer_details", Object(CUSTOMER_DETAILS)),
    ("description", Shape::UnsettableScalar),
    ("expand", StringList),
    ("metadata", Metadata),
    ("shipping_details", UnsettableObject(SHIPPING_DETAILS)),
];

pub const REPORT_REFUND: &[(&str, Shape)] = &[
    ("amount", Object(AMOUNT)),
    ("expand", StringList),
    ("initiated_at", Timestamp),
    ("metadata", Metadata),
    ("outcome", Enum(REFUND_OUTCOME_VALUES)),
    (
        "processor_details",
        Object(&[
            ("custom", Object(&[("refund_reference", Scalar)])),
            ("type", Enum(CUSTOM)),
        ]),
    ),
    ("refunded", Object(&[("refunded_at", Timestamp)])),
];

pub const RETRIEVE: &[(&str, Shape)] = &[("expand", StringList)];
pub const LIST_RECORDS: &[(&str, Shape)] = &[
    ("created_after", Timestamp),
    ("created_before", Timestamp),
    ("ending_before", Scalar),
    ("expand", StringList),
    ("limit", LIMIT),
    ("starting_after", Scalar),
];
pub const LIST_ATTEMPTS: &[(&str, Shape)] = &[
    ("ending_before", Scalar),
    ("expand", StringList),
    ("limit", LIMIT),
    ("payment_record", Scalar),
    ("starting_after", Scalar),
];

fn owned(value: Option<&str>) -> Option<String> {
    value.map(str::to_owned)
}

/// `amount_requested` / `amount`: a supported currency and 1 ≤ value ≤ AMOUNT_VALUE_MAX.
pub fn amount(params: &Params<'_>, key: &str) -> Result<Amount, ApiError> {
    let hash = params.object(key).ok_or_else(|| params.missing(key))?;
    let code = hash.required_string("currency")?;
    let currency = parse_currency(code).ok_or_else(|| {
        ApiError::invalid(
            "parameter_invalid_currency",
            hash.path("currency"),
            format!("Invalid currency: {code}. Currencies are lowercase three-letter ISO 4217 codes, such as usd."),
        )
    })?;
    let value = hash.required_integer("value")?;
    if !(AMOUNT_VALUE_MIN..=AMOUNT_VALUE_MAX).contains(&value) {
        return Err(ApiError::invalid(
            "parameter_invalid_integer",
            hash.path("value"),
            format!(
                "Invalid {}: {value}. It must be between {AMOUNT_VALUE_MIN} and {AMOUNT_VALUE_MAX}.",
                hash.path("value")
            ),
        ));
    }
    Ok(Amount { currency, value })
}

fn address(params: &Params<'_>) -> Result<Address, ApiError> {
    let Some(a) = params.object("address") else {
        return Ok(Address::default());
    };
    let country = a.string("country")?;
    if let Some(code) = country
        && !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(ApiError::invalid(
            "parameter_invalid_string",
            a.path("country"),
            format!("Invalid country: {code}. Countries are two-letter ISO 3166-1 alpha-2 codes, such as US."),
        ));
    }
    Ok(Address {
        city: owned(a.string("city")?),
        country: country.map(str::to_ascii_uppercase),
        line1: owned(a.string("line1")?),
        line2: owned(a.string("line2")?),
        postal_code: owned(a.string("postal_code")?),
        state: owned(a.string("state")?),
    })
}

pub fn customer_details(params: &Params<'_>) -> Result<Option<CustomerDetails>, ApiError> {
    let Some(c) = params.object("customer_details") else {
        return Ok(None);
    };
    Ok(Some(CustomerDetails {
        customer: owned(c.string("customer")?),
        email: owned(c.string_max("email", EMAIL_CHARS_MAX)?),
        name: owned(c.string("name")?),
        phone: owned(c.string("phone")?),
    }))
}

pub fn customer_presence(params: &Params<'_>) -> Result<Option<CustomerPresence>, ApiError> {
    params.one_of(
        "customer_presence",
        &[
            ("on_session", CustomerPresence::OnSession),
            ("off_session", CustomerPresence::OffSession),
        ],
    )
}

pub fn shipping_details_hash(s: &Params<'_>) -> Result<ShippingDetails, ApiError> {
    Ok(ShippingDetails {
        address: address(s)?,
        name: owned(s.string("name")?),
        phone: owned(s.string("phone")?),
    })
}

pub fn shipping_details(params: &Params<'_>) -> Result<Option<ShippingDetails>, ApiError> {
    params
        .object("shipping_details")
        .map(|s| shipping_details_hash(&s))
        .transpose()
}

/// `payment_method_details`: `type` (only `custom`) or `payment_method` is required; `type`
/// defaults to `custom` when only `payment_method` is given **[payrec]**.
pub fn payment_method_details(params: &Params<'_>) -> Result<Option<PaymentMethodDetails>, ApiError> {
    let Some(p) = params.object("payment_method_details") else {
        return Ok(None);
    };
    let kind = p.one_of("type", &[("custom", ())])?;
    let payment_method = owned(p.string("payment_method")?);
    if kind.is_none() && payment_method.is_none() {
        return Err(p.missing("type"));
    }
    let billing_details = match p.object("billing_details") {
        None => None,
        Some(b) => Some(BillingDetails {
            address: address(&b)?,
            email: owned(b.string_max("email", EMAIL_CHARS_MAX)?),
            name: owned(b.string("name")?),
            phone: owned(b.string("phone")?),
        }),
    };
    let custom = match p.object("custom") {
        None => None,
        Some(c) => Some(CustomPaymentMethod {
            display_name: owned(c.string("display_name")?),
            kind: owned(c.string("type")?),
        }),
    };
    Ok(Some(PaymentMethodDetails {
        billing_details,
        custom,
        payment_method,
    }))
}

/// `processor_details` on report_payment: `type=custom` and optionally
/// `custom[payment_reference]`.
pub fn processor_details(params: &Params<'_>) -> Result<ProcessorDetails, ApiError> {
    let Some(p) = params.object("processor_details") else {
        return Ok(ProcessorDetails::default());
    };
    p.one_of("type", &[("custom", ())])?.ok_or_else(|| p.missing("type"))?;
    let payment_reference = match p.object("custom") {
        None => None,
        Some(c) => Some(c.required_string("payment_reference")?.to_owned()),
    };
    Ok(ProcessorDetails { payment_reference })
}

/// `metadata`: `metadata=` clears, `metadata[k]=v` sets, `metadata[k]=` removes.
pub fn metadata(params: &Params<'_>) -> Result<MetadataPatch, ApiError> {
    if params.is_unset("metadata") {
        return Ok(MetadataPatch {
            clear_all: true,
            entries: Vec::new(),
        });
    }
    let Some(m) = params.object("metadata") else {
        return Ok(MetadataPatch::default());
    };
    let mut entries = Vec::new();
    for (key, value) in m.entries() {
        let param = m.path(key);
        let Param::Str(value) = value else {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                param,
                "Metadata values must be strings.",
            ));
        };
        if key.contains(['\0', '[', ']']) || value.contains('\0') {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                param,
                "Invalid metadata: keys may not contain [ or ], and neither keys nor values may contain NUL characters.",
            ));
        }
        if key.chars().count() > METADATA_KEY_CHARS_MAX {
            return Err(ApiError::invalid(
                "parameter_invalid_string_length",
                param,
                format!("Invalid metadata key: keys must be at most {METADATA_KEY_CHARS_MAX} characters long."),
            ));
        }
        if value.chars().count() > METADATA_VALUE_CHARS_MAX {
            return Err(ApiError::invalid(
                "parameter_invalid_string_length",
                param,
                format!("Invalid metadata value: values must be at most {METADATA_VALUE_CHARS_MAX} characters long."),
            ));
        }
        entries.push((key.to_owned(), (!value.is_empty()).then(|| value.clone())));
    }
    if entries.len() > METADATA_KEYS_MAX {
        return Err(ApiError::invalid(
            "parameter_invalid_metadata",
            "metadata",
            format!("Invalid metadata: an object can have at most {METADATA_KEYS_MAX} metadata keys."),
        ));
    }
    Ok(MetadataPatch {
        clear_all: false,
        entries,
    })
}

/// `outcome` with its one matching sub-object (`guaranteed[guaranteed_at]`, …).
pub fn outcome(params: &Params<'_>) -> Result<Option<(Outcome, i64)>, ApiError> {
    let outcome = params.one_of(
        "outcome",
        &[
            ("guaranteed", Outcome::Guaranteed),
            ("failed", Outcome::Failed),
            ("canceled", Outcome::Canceled),
        ],
    )?;
    let given: Vec<Outcome> = [Outcome::Guaranteed, Outcome::Failed, Outcome::Canceled]
        .into_iter()
        .filter(|o| params.contains(o.as_str()))
        .collect();
    for sub in &given {
        if outcome != Some(*sub) {
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
    let name = outcome.as_str();
    let Some(sub) = params.object(name) else {
        return Err(params.missing(name));
    };
    let at = sub.required_timestamp(&format!("{name}_at"))?;
    Ok(Some((outcome, at)))
}

/// `description` where `''` is not allowed.
pub fn description(params: &Params<'_>) -> Result<Option<String>, ApiError> {
    Ok(owned(params.string("description")?))
}

/// `description` where `''` unsets (report_payment_attempt_informational).
pub fn unsettable_description(params: &Params<'_>) -> Result<Option<Option<String>>, ApiError> {
    Ok(match params.unsettable_string("description")? {
        Field::Absent => None,
        Field::Unset => Some(None),
        Field::Set(d) => Some(Some(d.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    //! The `Enum` shapes above describe the API; the getters validate. They must agree.

    use super::*;
    use crate::wire::form::decode;

    fn tree(query: &str) -> crate::wire::form::ParamTree {
        decode(query.as_bytes()).expect("decodes")
    }

    #[test]
    fn every_declared_customer_presence_is_read_and_nothing_else() {
        for value in CUSTOMER_PRESENCE_VALUES {
            let params = tree(&format!("customer_presence={value}"));
            let read = customer_presence(&Params::root(&params)).expect("accepted");
            assert_eq!(read.map(|p| p.as_str()), Some(*value));
        }
        assert!(customer_presence(&Params::root(&tree("customer_presence=sometimes"))).is_err());
    }

    #[test]
    fn every_declared_outcome_is_read_and_nothing_else() {
        for value in OUTCOME_VALUES {
            let params = tree(&format!("outcome={value}&{value}[{value}_at]=1"));
            let read = outcome(&Params::root(&params)).expect("accepted");
            assert_eq!(read.map(|(o, _)| o.as_str()), Some(*value));
        }
        assert!(outcome(&Params::root(&tree("outcome=refunded"))).is_err());
    }

    #[test]
    fn custom_is_the_one_declared_payment_method_and_processor_type() {
        assert_eq!(CUSTOM, ["custom"]);
        let params = tree("payment_method_details[type]=custom&processor_details[type]=custom");
        assert!(payment_method_details(&Params::root(&params)).is_ok());
        assert!(processor_details(&Params::root(&params)).is_ok());
        let params = tree("payment_method_details[type]=card&processor_details[type]=stripe");
        assert!(payment_method_details(&Params::root(&params)).is_err());
        assert!(processor_details(&Params::root(&params)).is_err());
    }

    #[test]
    fn a_country_is_two_letters_of_either_case() {
        for (code, ok) in [("DE", true), ("de", true), ("D", false), ("DEU", false), ("D1", false)] {
            let params = tree(&format!("shipping_details[address][country]={code}"));
            assert_eq!(shipping_details(&Params::root(&params)).is_ok(), ok, "{code}");
        }
    }

    #[test]
    fn every_declared_currency_is_read() {
        for code in ISO_4217 {
            let params = tree(&format!("amount[currency]={code}&amount[value]=1"));
            assert!(amount(&Params::root(&params), "amount").is_ok(), "{code}");
        }
    }
}
