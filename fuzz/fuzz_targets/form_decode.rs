//! Fuzzes the form decoder and report_payment's parameter extraction with arbitrary bytes: no
//! input may panic, and every rejection must render as a Stripe-shaped error body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payrec::records::params::{self as p, REPORT_PAYMENT};
use payrec::wire::error::ApiError;
use payrec::wire::expand::expand_paths;
use payrec::wire::form::{self, PARAM_DEPTH_MAX, Param, ParamMap};
use payrec::wire::params::{Params, check_shape};

/// A rejection must be a client error with Stripe's `error.type` and `error.message`.
fn assert_stripe_shaped(e: &ApiError) {
    assert!(e.status().is_client_error(), "a client's bytes caused {e:?}");
    let body: serde_json::Value = serde_json::from_str(&e.to_body()).expect("error body is JSON");
    assert!(
        body["error"]["type"].is_string() && body["error"]["message"].is_string(),
        "{body}"
    );
}

fn depth(map: &ParamMap) -> usize {
    map.values()
        .map(|v| match v {
            Param::Map(inner) => 1 + depth(inner),
            Param::Str(_) | Param::List(_) => 1,
        })
        .max()
        .unwrap_or(0)
}

/// Every typed getter report_payment's handler calls, in its order; stops at the first error.
fn extract(params: &Params<'_>) -> Result<(), ApiError> {
    expand_paths(params, &["latest_payment_attempt_record"])?;
    p::amount(params, "amount_requested")?;
    params.required_timestamp("initiated_at")?;
    p::payment_method_details(params)?.ok_or_else(|| params.missing("payment_method_details"))?;
    p::customer_details(params)?;
    p::customer_presence(params)?;
    p::description(params)?;
    p::processor_details(params)?;
    p::shipping_details(params)?;
    p::metadata(params)?;
    p::outcome(params)?;
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let tree = match form::decode(data) {
        Ok(tree) => tree,
        Err(e) => return assert_stripe_shaped(&e),
    };
    assert!(
        depth(&tree.0) <= PARAM_DEPTH_MAX,
        "nesting beyond the limit was accepted"
    );
    if let Err(e) = check_shape(&tree, REPORT_PAYMENT) {
        return assert_stripe_shaped(&e);
    }
    if let Err(e) = extract(&Params::root(&tree)) {
        assert_stripe_shaped(&e);
    }
});
