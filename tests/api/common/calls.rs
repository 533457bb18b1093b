//! The report calls that the concurrency and replicas suites fire at a few shared records, and
//! how they read back what was stored.

use payrec::records::model::{PaymentAttemptRecord, PaymentRecord};
use payrec::store::{ListQuery, Store, Tenant};

use super::Report;

pub const INITIATED_AT: &str = "1730211300";
pub const OUTCOME_AT: &str = "1730211400";
/// More attempts than any record of these suites gets.
const ATTEMPTS_MAX: usize = 1_000;

/// One report call on a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Guaranteed,
    Failed,
    Canceled,
    NewAttempt,
    /// A new attempt reported already guaranteed.
    NewAttemptGuaranteed,
    /// A refund of this many cents, or of the remainder.
    Refund(Option<i64>),
    /// An informational update that writes its tag.
    Informational,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Guaranteed => "guaranteed",
            Op::Failed => "failed",
            Op::Canceled => "canceled",
            Op::NewAttempt => "new attempt",
            Op::NewAttemptGuaranteed => "new attempt guaranteed",
            Op::Refund(_) => "refund",
            Op::Informational => "informational",
        }
    }

    /// The call and its parameters; `tag` is the refund reference and the informational values.
    pub fn request(self, tag: &str) -> (Report, Vec<(&'static str, String)>) {
        let at = |name: &'static str| vec![(name, OUTCOME_AT.to_owned())];
        match self {
            Op::Guaranteed => (Report::Guaranteed, at("guaranteed_at")),
            Op::Failed => (Report::Failed, at("failed_at")),
            Op::Canceled => (Report::Canceled, at("canceled_at")),
            Op::NewAttempt => (Report::Attempt, vec![("initiated_at", INITIATED_AT.to_owned())]),
            Op::NewAttemptGuaranteed => (
                Report::Attempt,
                vec![
                    ("initiated_at", INITIATED_AT.to_owned()),
                    ("outcome", "guaranteed".to_owned()),
                    ("guaranteed[guaranteed_at]", OUTCOME_AT.to_owned()),
                ],
            ),
            Op::Refund(value) => {
                let mut form = vec![
                    ("outcome", "refunded".to_owned()),
                    ("processor_details[type]", "custom".to_owned()),
                    ("processor_details[custom][refund_reference]", tag.to_owned()),
                ];
                if let Some(value) = value {
                    form.extend([
                        ("amount[currency]", "usd".to_owned()),
                        ("amount[value]", value.to_string()),
                    ]);
                }
                (Report::Refund, form)
            }
            Op::Informational => (
                Report::Informational,
                vec![
                    ("metadata[last_writer]", tag.to_owned()),
                    ("description", tag.to_owned()),
                ],
            ),
        }
    }
}

/// `form` borrowed, as the harness's requests take it.
pub fn borrowed<'a>(form: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The record and its attempts, oldest first, as stored.
pub async fn stored(store: &dyn Store, tenant: &Tenant, id: &str) -> (PaymentRecord, Vec<PaymentAttemptRecord>) {
    let record = store
        .get_record(tenant, id)
        .await
        .expect("read")
        .expect("record stored");
    let query = ListQuery {
        limit: ATTEMPTS_MAX,
        ..ListQuery::default()
    };
    let page = store.list_attempts(tenant, id, &query).await.expect("read attempts");
    assert!(!page.has_more, "{id}: more than {ATTEMPTS_MAX} attempts");
    let mut attempts = page.data;
    attempts.reverse();
    (record, attempts)
}
