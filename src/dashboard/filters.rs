//! The payments list's filters, as query parameters (so a filtered page is a link, and the CSV
//! export downloads exactly what the page shows): `from` / `to` (UTC dates, inclusive), `state`
//! (the latest attempt's), `currency`, `min` / `max` (the requested amount in the currency's
//! units, so only with a currency: 10 USD and 10 JPY are not the same amount).

use maud::{Markup, html};
use serde::Deserialize;

use crate::clock::{civil, parse_date};
use crate::records::currency::{parse_currency, parse_decimal};
use crate::records::model::StateName;
use crate::records::totals::SECONDS_PER_DAY;
use crate::store::RecordFilter;

/// The query parameters of the filters, in the order links write them.
const PARAMS: [&str; 6] = ["from", "to", "state", "currency", "min", "max"];

/// The filters as typed (kept to show them again): the page's query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PaymentFilters {
    from: String,
    to: String,
    state: String,
    currency: String,
    min: String,
    max: String,
}

/// What the filters select, and what in them could not be understood.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    pub filter: RecordFilter,
    /// `created >= created_from`.
    pub created_from: Option<i64>,
    /// `created < created_until`.
    pub created_until: Option<i64>,
    pub problems: Vec<String>,
}

/// `YYYY-MM-DD` of a day number.
pub fn date(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

impl PaymentFilters {
    /// The filter `name` as typed, without surrounding spaces.
    fn get(&self, name: &str) -> &str {
        let value = match name {
            "from" => &self.from,
            "to" => &self.to,
            "state" => &self.state,
            "currency" => &self.currency,
            "min" => &self.min,
            "max" => &self.max,
            _ => unreachable!("a known parameter: {name}"),
        };
        value.trim()
    }

    pub fn is_empty(&self) -> bool {
        PARAMS.iter().all(|name| self.get(name).is_empty())
    }

    /// `from=…&state=…` of the filters set, to carry into links ("" when none is).
    pub fn query_string(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for name in PARAMS {
            let value = self.get(name);
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }

    pub fn select(&self) -> Selected {
        let mut s = Selected::default();
        let day = |name: &str, problems: &mut Vec<String>| match self.get(name) {
            "" => None,
            text => {
                let parsed = parse_date(text);
                if parsed.is_none() {
                    problems.push(format!("“{text}” is not a date (YYYY-MM-DD)."));
                }
                parsed
            }
        };
        s.created_from = day("from", &mut s.problems).map(|d| d * SECONDS_PER_DAY);
        s.created_until = day("to", &mut s.problems).map(|d| (d + 1) * SECONDS_PER_DAY);
        match self.get("state") {
            "" => {}
            state => match StateName::parse(state) {
                Some(name) => s.filter.state = Some(name),
                None => s.problems.push(format!("“{state}” is not a state.")),
            },
        }
        let currency = self.get("currency").to_ascii_lowercase();
        if !currency.is_empty() {
            match parse_currency(&currency) {
                Some(code) => s.filter.currency = Some(code),
                None => s
                    .problems
                    .push(format!("“{currency}” is not an ISO 4217 currency code.")),
            }
        }
        for (name, bound) in [
            ("min", &mut s.filter.amount_at_least),
            ("max", &mut s.filter.amount_at_most),
        ] {
            let text = self.get(name);
            if text.is_empty() {
                continue;
            }
            let Some(code) = s.filter.currency.as_ref().map(|c| c.as_str()) else {
                s.problems.push("Choose a currency to filter by amount.".to_owned());
                continue;
            };
            match parse_decimal(text, code) {
                Some(value) => *bound = Some(value),
                None => s
                    .problems
                    .push(format!("“{text}” is not an amount in {}.", code.to_ascii_uppercase())),
            }
        }
        s.problems.dedup();
        s
    }

    /// The filters' form (a GET: the page it leads to is a link).
    pub fn form(&self) -> Markup {
        html! {
            form.filters method="get" action=(super::paths::PAYMENTS) {
                label { "Created from " input type="date" name="from" value=(self.get("from")); }
                label { "to " input type="date" name="to" value=(self.get("to")); }
                label { "State "
                    select name="state" {
                        option value="" { "any" }
                        @for state in StateName::ALL.map(StateName::as_str) {
                            option value=(state) selected[self.get("state") == state] { (state) }
                        }
                    }
                }
                label { "Currency " input type="text" name="currency" size="4" maxlength="3" placeholder="usd" value=(self.get("currency")); }
                label { "Amount from " input type="text" name="min" size="8" inputmode="decimal" value=(self.get("min")); }
                label { "to " input type="text" name="max" size="8" inputmode="decimal" value=(self.get("max")); }
                button type="submit" { "Filter" }
                @if !self.is_empty() { a href=(super::paths::PAYMENTS) { "Clear" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(query: &str) -> PaymentFilters {
        let uri: axum::http::Uri = format!("/dashboard/payments?{query}").parse().unwrap();
        axum::extract::Query::<PaymentFilters>::try_from_uri(&uri).unwrap().0
    }

    fn select(query: &str) -> Selected {
        filters(query).select()
    }

    #[test]
    fn dates_are_whole_utc_days() {
        let s = select("from=2024-10-29&to=2024-10-30");
        assert_eq!(s.created_from, Some(1_730_160_000));
        assert_eq!(s.created_until, Some(1_730_160_000 + 2 * 86_400));
        assert!(s.problems.is_empty());
    }

    #[test]
    fn amounts_are_in_the_chosen_currency_s_units() {
        let s = select("currency=USD&min=10&max=12.5");
        assert_eq!(s.filter.currency.as_ref().map(|c| c.as_str()), Some("usd"));
        assert_eq!(
            (s.filter.amount_at_least, s.filter.amount_at_most),
            (Some(1000), Some(1250))
        );
        let s = select("currency=jpy&min=1000");
        assert_eq!(s.filter.amount_at_least, Some(1000));
    }

    #[test]
    fn what_cannot_be_understood_is_named_and_not_applied() {
        let s = select("from=yesterday&state=done&currency=zzz&min=5");
        assert_eq!(s.created_from, None);
        assert_eq!(s.filter, RecordFilter::default());
        assert_eq!(s.problems.len(), 4, "{:?}", s.problems);
    }

    #[test]
    fn links_carry_only_the_filters_set() {
        let f = filters("state=failed&q=abc&currency=usd&min=");
        assert_eq!(f.query_string(), "state=failed&currency=usd");
        assert!(PaymentFilters::default().query_string().is_empty());
    }
}
