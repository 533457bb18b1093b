//! payrec's extensions: what payrec's API answers and Stripe's refuses. They are off unless the
//! server runs with `--extensions` (`PAYREC_EXTENSIONS`): a suite tested against payrec must not
//! come to rely on a request real Stripe would refuse, so by default each is refused with the
//! error Stripe gives. Each endpoint names its extensions and checks them before reading its
//! parameters, as an unknown parameter is refused before any value is read.

use crate::state::AppState;
use crate::wire::error::ApiError;
use crate::wire::params::Params;
use crate::wire::request::ApiRequest;

/// One request Stripe refuses that payrec can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// A parameter Stripe's endpoint does not have: refused as unknown.
    Parameter(&'static str),
    /// An `expand[]` path naming a field Stripe does not expand: refused as not expandable.
    Expand(&'static str),
}

/// `ending_before` on the list of attempts (Stripe's SDKs page attempts forwards only).
pub const ATTEMPTS_ENDING_BEFORE: Extension = Extension::Parameter("ending_before");
/// `expand[]=latest_payment_attempt_record` on a record (Stripe types it as an id only).
pub const EXPAND_LATEST_ATTEMPT: Extension = Extension::Expand("latest_payment_attempt_record");
/// `expand[]=data.latest_payment_attempt_record` on the list of records.
pub const EXPAND_LIST_LATEST_ATTEMPT: Extension = Extension::Expand("data.latest_payment_attempt_record");
/// `expand[]=payment_record` on an attempt (Stripe types it as an id only).
pub const EXPAND_PAYMENT_RECORD: Extension = Extension::Expand("payment_record");
/// `expand[]=data.payment_record` on the list of attempts.
pub const EXPAND_LIST_PAYMENT_RECORD: Extension = Extension::Expand("data.payment_record");

/// Every extension, for the documentation and its test.
pub const EXTENSIONS: &[Extension] = &[
    ATTEMPTS_ENDING_BEFORE,
    EXPAND_LATEST_ATTEMPT,
    EXPAND_LIST_LATEST_ATTEMPT,
    EXPAND_PAYMENT_RECORD,
    EXPAND_LIST_PAYMENT_RECORD,
];

/// Refuses `request` as Stripe would when it uses one of `extensions` and the server does not
/// run with `--extensions`.
pub fn stripe_exact(app: &AppState, request: &ApiRequest, extensions: &[Extension]) -> Result<(), ApiError> {
    if app.config.extensions {
        return Ok(());
    }
    refuse_any(&Params::root(&request.params), extensions)
}

fn refuse_any(params: &Params<'_>, extensions: &[Extension]) -> Result<(), ApiError> {
    let expanded = params.string_list("expand");
    for extension in extensions {
        match *extension {
            Extension::Parameter(name) if params.contains(name) => {
                return Err(ApiError::ParameterUnknown { param: name.to_owned() });
            }
            Extension::Expand(path) if expanded.contains(&path) => {
                return Err(ApiError::InvalidExpand { path: path.to_owned() });
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::form;

    fn refused(query: &str, extensions: &[Extension]) -> Option<ApiError> {
        let tree = form::decode(query.as_bytes()).expect("a query");
        refuse_any(&Params::root(&tree), extensions).err()
    }

    #[test]
    fn an_extension_parameter_is_refused_as_unknown() {
        assert_eq!(
            refused("ending_before=par_1&limit=3", &[ATTEMPTS_ENDING_BEFORE]),
            Some(ApiError::ParameterUnknown {
                param: "ending_before".into()
            })
        );
        assert_eq!(refused("starting_after=par_1", &[ATTEMPTS_ENDING_BEFORE]), None);
    }

    #[test]
    fn an_extension_expand_path_is_refused_as_not_expandable_in_either_list_form() {
        for query in ["expand[]=payment_record", "expand[0]=payment_record"] {
            assert_eq!(
                refused(query, &[EXPAND_PAYMENT_RECORD]),
                Some(ApiError::InvalidExpand {
                    path: "payment_record".into()
                })
            );
        }
        assert_eq!(refused("expand[]=other", &[EXPAND_PAYMENT_RECORD]), None);
    }

    #[test]
    fn every_extension_is_listed_once() {
        for (i, e) in EXTENSIONS.iter().enumerate() {
            assert!(!EXTENSIONS[i + 1..].contains(e), "{e:?} twice");
        }
    }
}
