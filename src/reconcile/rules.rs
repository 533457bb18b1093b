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
//! ```
//!
//! A line within the tolerance, but not exact, is `matched_with_tolerance`.

use serde::Deserialize;

/// Largest relative tolerance accepted: a tenth of the amount.
pub const RELATIVE_TOLERANCE_MAX: f64 = 0.1;
/// Largest absolute tolerance accepted, in minor units.
pub const ABSOLUTE_TOLERANCE_MAX: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub references: ReferenceRules,
    pub tolerance: Tolerance,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            references: ReferenceRules { in_text: true },
            tolerance: Tolerance::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
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
