//! Reconciliation of a settlement or bank file against the ledger: each line of the file, and
//! each guaranteed payment of the window that no line names, ends in exactly one `Category`.
//! This module is the judging (pure); `cli::reconcile` reads the file and the store.
//!
//! A line's reference is looked up as a record's processor `payment_reference`, and failing
//! that as a refund's `refund_reference`. A payment line matches a guaranteed record of the
//! same currency whose guaranteed amount is the line's; a refund line one refund of the same
//! amount (a file may write refunds negative: the sign is ignored).

use crate::records::model::{AttemptState, PaymentRecord, Refund};

pub mod kept;
pub mod payout;
pub mod rules;

pub use rules::Rules;

/// Where a line (or a payment) ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Matched,
    /// Matched, the amounts differing by no more than the rules' tolerance.
    MatchedWithTolerance,
    /// A payout line whose payments (the settlement file's) are all there and add up to it,
    /// and each of those payments.
    MatchedInPayout,
    AmountMismatch,
    CurrencyMismatch,
    /// The payment's latest attempt failed, was canceled or is pending.
    NotGuaranteed,
    MissingInPayrec,
    /// A guaranteed payment of the window that no line names.
    MissingInFile,
    /// A line whose reference an earlier line of the file already named.
    DuplicateInFile,
}

/// Every category, in the order the summary prints them.
pub const CATEGORIES: [Category; 9] = [
    Category::Matched,
    Category::MatchedWithTolerance,
    Category::MatchedInPayout,
    Category::AmountMismatch,
    Category::CurrencyMismatch,
    Category::NotGuaranteed,
    Category::MissingInPayrec,
    Category::MissingInFile,
    Category::DuplicateInFile,
];

impl Category {
    /// A match of some kind (the exit code is 0 when every line and payment is one).
    pub fn is_match(self) -> bool {
        matches!(
            self,
            Category::Matched | Category::MatchedWithTolerance | Category::MatchedInPayout
        )
    }

    /// The category named `name` (its `as_str`).
    pub fn parse(name: &str) -> Option<Category> {
        CATEGORIES.into_iter().find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Matched => "matched",
            Category::MatchedWithTolerance => "matched_with_tolerance",
            Category::MatchedInPayout => "matched_in_payout",
            Category::AmountMismatch => "amount_mismatch",
            Category::CurrencyMismatch => "currency_mismatch",
            Category::NotGuaranteed => "not_guaranteed",
            Category::MissingInPayrec => "missing_in_payrec",
            Category::MissingInFile => "missing_in_file",
            Category::DuplicateInFile => "duplicate_in_file",
        }
    }
}

/// One line of the file, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLine {
    /// 1 is the header: the first data line is 2 (a statement: its entry's number).
    pub line: u64,
    pub reference: String,
    /// More references of a statement entry, tried after `reference` in this order: the line
    /// is judged by the first that names something in payrec.
    pub other_references: Vec<String>,
    /// Minor units of `currency`.
    pub amount: i64,
    /// Lowercase.
    pub currency: String,
    pub date: Option<i64>,
}

/// What payrec holds under a line's reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Record(PaymentRecord),
    Refund(Refund),
    Nothing,
}

impl Found {
    /// When what was found settled: a payment's guarantee, a refund's `refunded_at` (else when
    /// it was reported). None: nothing found, or a payment not guaranteed.
    pub fn settled_at(&self) -> Option<i64> {
        match self {
            Found::Record(r) => match r.latest_attempt_state {
                AttemptState::Guaranteed { at } => Some(at),
                _ => None,
            },
            Found::Refund(f) => Some(f.refunded_at.unwrap_or(f.created)),
            Found::Nothing => None,
        }
    }
}

/// The outcome for one line: its category, and what payrec holds (for the report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub category: Category,
    /// `pr_…`, or the refund's reference.
    pub payrec_object: String,
    pub payrec_amount: Option<i64>,
    pub payrec_currency: String,
    pub payrec_state: String,
}

/// Judges a line by what payrec holds under its reference (`duplicate`: an earlier line named
/// it already), amounts matching exactly.
pub fn judge(line: &FileLine, found: &Found, duplicate: bool) -> Judged {
    judge_with(line, found, duplicate, &rules::Tolerance::default())
}

/// `judge`, a line within `tolerance` of the payment's amount being `matched_with_tolerance`.
pub fn judge_with(line: &FileLine, found: &Found, duplicate: bool, tolerance: &rules::Tolerance) -> Judged {
    let mut judged = Judged {
        category: Category::MissingInPayrec,
        payrec_object: String::new(),
        payrec_amount: None,
        payrec_currency: String::new(),
        payrec_state: String::new(),
    };
    let (currency, amount, guaranteed) = match found {
        Found::Nothing => (None, None, false),
        Found::Record(r) => {
            judged.payrec_object = r.id.as_str().to_owned();
            judged.payrec_state = r.latest_attempt_state.as_str().to_owned();
            let guaranteed = matches!(r.latest_attempt_state, AttemptState::Guaranteed { .. });
            (
                Some(r.amount_requested.currency.as_str()),
                Some(r.amount_requested.value),
                guaranteed,
            )
        }
        Found::Refund(f) => {
            judged.payrec_object = f.refund_reference.clone();
            judged.payrec_state = "refunded".to_owned();
            (Some(f.amount.currency.as_str()), Some(f.amount.value), true)
        }
    };
    judged.payrec_amount = amount;
    judged.payrec_currency = currency.unwrap_or_default().to_owned();
    judged.category = if duplicate {
        Category::DuplicateInFile
    } else if currency.is_none() {
        Category::MissingInPayrec
    } else if currency != Some(line.currency.as_str()) {
        Category::CurrencyMismatch
    } else if !guaranteed {
        Category::NotGuaranteed
    } else if amount == Some(line.amount.abs()) {
        Category::Matched
    } else if amount.is_some_and(|a| (a - line.amount.abs()).abs() <= tolerance.allowed(a)) {
        Category::MatchedWithTolerance
    } else {
        Category::AmountMismatch
    };
    judged
}

/// How many of each category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    counts: [u64; CATEGORIES.len()],
}

impl Summary {
    pub fn add(&mut self, category: Category) {
        let i = CATEGORIES
            .iter()
            .position(|c| *c == category)
            .expect("every category is listed");
        self.counts[i] += 1;
    }

    pub fn count(&self, category: Category) -> u64 {
        let i = CATEGORIES
            .iter()
            .position(|c| *c == category)
            .expect("every category is listed");
        self.counts[i]
    }

    /// Whether everything matched, exactly or within the tolerance (the exit code is 0).
    pub fn all_matched(&self) -> bool {
        CATEGORIES.iter().all(|c| c.is_match() || self.count(*c) == 0)
    }
}

#[cfg(test)]
mod tests;
