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

#[cfg(test)]
mod tests {
    use super::*;

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
