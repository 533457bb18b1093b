//! ISO 4217 currency codes, lowercase, as Stripe takes them.

use super::model::Currency;

/// Active ISO 4217 alphabetic codes, sorted.
pub const ISO_4217: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bhd", "bif",
    "bmd", "bnd", "bob", "bov", "brl", "bsd", "btn", "bwp", "byn", "bzd", "cad", "cdf", "che", "chf", "chw", "clf",
    "clp", "cny", "cop", "cou", "crc", "cuc", "cup", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "ern", "etb",
    "eur", "fjd", "fkp", "gbp", "gel", "ghs", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr",
    "ils", "inr", "iqd", "irr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "kpw", "krw", "kwd", "kyd",
    "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "lyd", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mru", "mur",
    "mvr", "mwk", "mxn", "mxv", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen", "pgk",
    "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sdg", "sek", "sgd", "shp",
    "sle", "sll", "sos", "srd", "ssp", "stn", "svc", "syp", "szl", "thb", "tjs", "tmt", "tnd", "top", "try", "ttd",
    "twd", "tzs", "uah", "ugx", "usd", "usn", "uyi", "uyu", "uyw", "uzs", "ved", "ves", "vnd", "vuv", "wst", "xaf",
    "xag", "xau", "xba", "xbb", "xbc", "xbd", "xcd", "xcg", "xdr", "xof", "xpd", "xpf", "xpt", "xsu", "xts", "xua",
    "xxx", "yer", "zar", "zmw", "zwg", "zwl",
];

/// The currency for a lowercase ISO 4217 code; None for anything else (including uppercase).
pub fn parse_currency(code: &str) -> Option<Currency> {
    ISO_4217
        .binary_search(&code)
        .ok()
        .map(|_| Currency::new_unchecked(code))
}

/// Currencies whose minor unit is the unit itself (ISO 4217 exponent 0), sorted.
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "pyg", "rwf", "ugx", "uyi", "vnd", "vuv", "xaf", "xof",
    "xpf",
];
/// Currencies with three decimals (ISO 4217 exponent 3), sorted.
const THREE_DECIMAL: &[&str] = &["bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd"];

/// Decimals of the currency's minor unit: JPY 0, USD 2, KWD 3.
pub fn exponent(code: &str) -> u32 {
    if ZERO_DECIMAL.binary_search(&code).is_ok() {
        0
    } else if THREE_DECIMAL.binary_search(&code).is_ok() {
        3
    } else {
        2
    }
}

/// An amount in minor units as a decimal string in its currency's exponent: `1234` usd →
/// `12.34`, jpy → `1234`, kwd → `1.234`; negative amounts keep their sign.
pub fn decimal(value: i64, code: &str) -> String {
    let exponent = exponent(code);
    if exponent == 0 {
        return value.to_string();
    }
    let scale = 10_i64.pow(exponent);
    let sign = if value < 0 { "-" } else { "" };
    let units = value.unsigned_abs() / scale as u64;
    let fraction = value.unsigned_abs() % scale as u64;
    format!("{sign}{units}.{fraction:0width$}", width = exponent as usize)
}

/// A decimal amount in its currency's units as minor units: `12.34` usd → `1234`, `12` usd →
/// `1200`, `1000` jpy → `1000`; None when it has more decimals than the currency or is no number.
pub fn parse_decimal(text: &str, code: &str) -> Option<i64> {
    let exponent = exponent(code) as usize;
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() || !all_digits(units) || !all_digits(fraction) || fraction.len() > exponent {
        return None;
    }
    let scale = 10_i64.pow(exponent as u32);
    let fraction_value: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i64>().ok()? * 10_i64.pow((exponent - fraction.len()) as u32)
    };
    let value = units
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(fraction_value)?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_in_the_currency_s_exponent() {
        assert_eq!(parse_decimal("12.34", "usd"), Some(1234));
        assert_eq!(parse_decimal("12", "usd"), Some(1200));
        assert_eq!(parse_decimal("12.3", "usd"), Some(1230));
        assert_eq!(parse_decimal("1000", "jpy"), Some(1000));
        assert_eq!(parse_decimal("1.234", "kwd"), Some(1234));
        assert_eq!(parse_decimal("-0.50", "usd"), Some(-50));
        assert_eq!(parse_decimal("1.5", "jpy"), None);
        assert_eq!(parse_decimal("12.345", "usd"), None);
        assert_eq!(parse_decimal("", "usd"), None);
        assert_eq!(parse_decimal("1e3", "usd"), None);
        for (value, code) in [(1234, "usd"), (7, "jpy"), (-1005, "kwd")] {
            assert_eq!(parse_decimal(&decimal(value, code), code), Some(value));
        }
    }

    #[test]
    fn amounts_print_in_their_currency_s_exponent() {
        assert_eq!(decimal(1234, "usd"), "12.34");
        assert_eq!(decimal(5, "usd"), "0.05");
        assert_eq!(decimal(1234, "jpy"), "1234");
        assert_eq!(decimal(1234, "kwd"), "1.234");
        assert_eq!(decimal(-150, "eur"), "-1.50");
        assert!(ZERO_DECIMAL.windows(2).all(|w| w[0] < w[1]));
        assert!(THREE_DECIMAL.windows(2).all(|w| w[0] < w[1]));
        assert!(ZERO_DECIMAL.iter().chain(THREE_DECIMAL).all(|c| ISO_4217.contains(c)));
    }

    #[test]
    fn the_code_list_is_sorted_so_binary_search_works() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lowercase_iso_codes_parse_and_others_do_not() {
        assert!(parse_currency("usd").is_some());
        assert!(parse_currency("jpy").is_some());
        assert!(parse_currency("USD").is_none());
        assert!(parse_currency("usdx").is_none());
        assert!(parse_currency("abc").is_none());
        assert!(parse_currency("").is_none());
    }
}
