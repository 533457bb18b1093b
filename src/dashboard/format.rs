//! How the dashboard writes amounts and times: amounts in their currency's exponent (JPY 0
//! decimals, USD 2, KWD 3), times in UTC with the offset shown.

use crate::clock::utc;
use crate::records::currency::decimal;

/// `12.34 USD`.
pub fn money(value: i64, currency: &str) -> String {
    format!("{} {}", decimal(value, currency), currency.to_ascii_uppercase())
}

/// `2026-12-01 14:05:09 UTC+00:00`.
pub fn time(unix: i64) -> String {
    let ((year, month, day), (h, m, s)) = utc(unix);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC+00:00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_with_the_offset_shown() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC+00:00");
        assert_eq!(time(1_730_211_300), "2024-10-29 14:15:00 UTC+00:00");
        assert_eq!(time(951_782_400), "2000-02-29 00:00:00 UTC+00:00");
        assert_eq!(time(-1), "1969-12-31 23:59:59 UTC+00:00");
    }

    #[test]
    fn money_uses_the_currency_s_exponent() {
        assert_eq!(money(1234, "usd"), "12.34 USD");
        assert_eq!(money(1234, "jpy"), "1234 JPY");
        assert_eq!(money(1234, "kwd"), "1.234 KWD");
    }
}
