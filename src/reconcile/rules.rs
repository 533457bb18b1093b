//! The matching rules of `payrec reconcile --rules FILE` (TOML), with defaults that match
//! exactly, but also look for a payment reference inside a statement's free text:
//!
//! ```toml
//! [references]
//! in_text = true          # look for a reference inside remittance information, :86:, BAI2 text
//!
//! [tolerance]
//! absolute = 50           # minor units a line may differ from the payment by (bank charges)
//! relative = 0.005        # or this fraction of the payment's amount (FX rounding), if larger
//!
//! [date_window]
//! days_after = 5          # a line booked up to 5 days after the payment's guarantee (UTC days)
//! days_before = 1         # or 1 day before it (the default)
//! ```
//!
//! A line within the tolerance, but not exact, is `matched_with_tolerance`. A payment settled
//! outside the date window is not the line's: the line is `missing_in_payrec`, and the payment
//! may be `missing_in_file`.

use serde::{Deserialize, Serialize};

use crate::records::totals::SECONDS_PER_DAY;

/// Largest relative tolerance accepted: a tenth of the amount.
pub const RELATIVE_TOLERANCE_MAX: f64 = 0.1;
/// Largest absolute tolerance accepted, in minor units.
pub const ABSOLUTE_TOLERANCE_MAX: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub references: ReferenceRules,
    pub tolerance: Tolerance,
    /// None: a line's date does not matter.
    pub date_window: Option<DateWindow>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            references: ReferenceRules { in_text: true },
            tolerance: Tolerance::default(),
            date_window: None,
        }
    }
}

/// Longest date window, in days either side.
pub const DATE_WINDOW_DAYS_MAX: i64 = 366;

/// The days a line's booking date may be after (or before) the day its payment settled (UTC):
/// a bank books a payment a few days after its guarantee, rarely before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DateWindow {
    pub days_after: i64,
    #[serde(default = "one_day")]
    pub days_before: i64,
}

fn one_day() -> i64 {
    1
}

impl DateWindow {
    /// Whether a line dated `line_date` (Unix seconds) may be a payment settled at
    /// `settled_at`; a line or a payment without a date is not held to the window.
    pub fn admits(&self, settled_at: Option<i64>, line_date: Option<i64>) -> bool {
        let (Some(settled), Some(line)) = (settled_at, line_date) else {
            return true;
        };
        let days = line.div_euclid(SECONDS_PER_DAY) - settled.div_euclid(SECONDS_PER_DAY);
        (-self.days_before..=self.days_after).contains(&days)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceRules {
    /// Words of an entry's free text are tried as references after its own references.
    pub in_text: bool,
}

impl Default for ReferenceRules {
    fn default() -> Self {
        ReferenceRules { in_text: true }
    }
}

/// How far a line's amount may be from the payment's and still match it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tolerance {
    /// Minor units.
    pub absolute: i64,
    /// A fraction of the payment's amount.
    pub relative: f64,
}

impl Tolerance {
    /// The largest difference allowed from a payment of `amount`.
    pub fn allowed(&self, amount: i64) -> i64 {
        let relative = (amount.unsigned_abs() as f64 * self.relative).floor() as i64;
        self.absolute.max(relative)
    }
}

impl Rules {
    /// The rules of a TOML text, checked: what is out of range is named.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let rules: Rules = toml::from_str(text).map_err(|e| e.to_string())?;
        let t = rules.tolerance;
        if !(0..=ABSOLUTE_TOLERANCE_MAX).contains(&t.absolute) {
            return Err(format!(
                "tolerance.absolute: {} is not from 0 to {ABSOLUTE_TOLERANCE_MAX}",
                t.absolute
            ));
        }
        if !(0.0..=RELATIVE_TOLERANCE_MAX).contains(&t.relative) {
            return Err(format!(
                "tolerance.relative: {} is not from 0 to {RELATIVE_TOLERANCE_MAX}",
                t.relative
            ));
        }
        if let Some(w) = rules.date_window {
            for (name, days) in [("days_after", w.days_after), ("days_before", w.days_before)] {
                if !(0..=DATE_WINDOW_DAYS_MAX).contains(&days) {
                    return Err(format!(
                        "date_window.{name}: {days} is not from 0 to {DATE_WINDOW_DAYS_MAX}"
                    ));
                }
            }
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_match_exactly_and_read_references_in_text() {
        let rules = Rules::parse("").expect("an empty file");
        assert_eq!(rules, Rules::default());
        assert!(rules.references.in_text);
        assert_eq!(rules.tolerance.allowed(10_000), 0);
    }

    #[test]
    fn the_larger_of_the_absolute_and_relative_tolerance_applies() {
        let rules = Rules::parse("[tolerance]\nabsolute = 50\nrelative = 0.01\n").expect("valid");
        assert_eq!(rules.tolerance.allowed(1_000), 50);
        assert_eq!(rules.tolerance.allowed(100_000), 1_000);
    }

    #[test]
    fn a_date_window_admits_lines_booked_from_days_before_to_days_after_the_settlement() {
        let rules = Rules::parse("[date_window]\ndays_after = 3\n").expect("valid");
        let window = rules.date_window.expect("a window");
        let settled = Some(10 * SECONDS_PER_DAY + 3_600);
        let day = |d: i64| Some(d * SECONDS_PER_DAY);
        assert!(window.admits(settled, day(10)) && window.admits(settled, day(13)) && window.admits(settled, day(9)));
        assert!(!window.admits(settled, day(14)) && !window.admits(settled, day(8)));
        assert!(
            window.admits(None, day(100)) && window.admits(settled, None),
            "no date, no window"
        );
        let error = Rules::parse("[date_window]\ndays_after = 400\n").expect_err("too long");
        assert!(error.contains("days_after"), "{error}");
    }

    #[test]
    fn out_of_range_and_unknown_rules_are_named() {
        assert!(
            Rules::parse("[tolerance]\nrelative = 0.5\n")
                .expect_err("too large")
                .contains("tolerance.relative")
        );
        assert!(
            Rules::parse("[tolerance]\nabsolute = -1\n")
                .expect_err("negative")
                .contains("tolerance.absolute")
        );
        assert!(
            Rules::parse("[tolerance]\nabsolut = 1\n")
                .expect_err("a typo")
                .contains("absolut")
        );
    }
}
