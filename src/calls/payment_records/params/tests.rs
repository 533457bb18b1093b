//! What the declarations read, by example; the rules themselves are tested over HTTP.

use super::*;
use crate::wire::form::decode;
use crate::wire::params::read;

fn report(query: &str) -> Result<ReportPaymentParams, ApiError> {
    let base =
        "amount_requested[currency]=usd&amount_requested[value]=100&initiated_at=1&payment_method_details[type]=custom";
    read(&decode(format!("{base}&{query}").as_bytes()).expect("decodes"))
}

#[test]
fn a_country_is_two_letters_of_either_case_kept_uppercase() {
    for (code, ok) in [("DE", true), ("de", true), ("D", false), ("DEU", false), ("D1", false)] {
        let read = report(&format!("shipping_details[address][country]={code}"));
        assert_eq!(read.is_ok(), ok, "{code}");
        if let Ok(p) = read {
            let country = p.shipping_details.and_then(|s| s.address).and_then(|a| a.country);
            assert_eq!(country.map(|c| c.0), Some(code.to_ascii_uppercase()));
        }
    }
}

#[test]
fn every_supported_currency_is_read() {
    for code in crate::records::currency::ISO_4217 {
        let query = format!(
            "amount[currency]={code}&amount[value]=1&outcome=refunded&processor_details[type]=custom&processor_details[custom][refund_reference]=r"
        );
        let tree = decode(query.as_bytes()).expect("decodes");
        let p: ReportRefundParams = read(&tree).expect(code);
        assert_eq!(p.amount.map(|a| a.currency.as_str().to_owned()).as_deref(), Some(*code));
    }
}

#[test]
fn payment_method_type_defaults_to_custom_only_when_a_payment_method_is_given() {
    let with_method = report("payment_method_details[payment_method]=pm_1").expect("reads");
    assert!(with_method.payment_method_details.into_details().is_ok());
    let tree = decode(b"amount_requested[currency]=usd&amount_requested[value]=100&initiated_at=1&payment_method_details[billing_details][name]=A").expect("decodes");
    let neither: ReportPaymentParams = read(&tree).expect("reads");
    let missing = neither.payment_method_details.into_details().unwrap_err();
    assert_eq!(missing.param(), Some("payment_method_details[type]"));
}
