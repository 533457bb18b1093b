//! The Payment Records reads' parameters (retrieve and list), declared once (`params!`); the
//! report calls' are below the HTTP surface, in `crate::calls::payment_records::params`, shared
//! with `payrec import`.

use crate::calls::payment_records::params::RecordExpansion;
use crate::wire::list::ListLimit;
use crate::wire::params::{Expand, ExpandPaths, LookupId, Timestamp, params};

/// `expand[]` of the list of records.
#[derive(Debug, Clone)]
pub struct RecordListExpansion;
impl ExpandPaths for RecordListExpansion {
    const PATHS: &'static [&'static str] = &["data.latest_payment_attempt_record"];
}

/// `expand[]` of an attempt.
#[derive(Debug, Clone)]
pub struct AttemptExpansion;
impl ExpandPaths for AttemptExpansion {
    const PATHS: &'static [&'static str] = &["payment_record"];
}

/// `expand[]` of the list of attempts.
#[derive(Debug, Clone)]
pub struct AttemptListExpansion;
impl ExpandPaths for AttemptListExpansion {
    const PATHS: &'static [&'static str] = &["data.payment_record"];
}

params! {
    /// GET /v1/payment_records/:id
    pub struct RetrieveRecordParams {
        pub expand: Expand<RecordExpansion>,
    }
}

params! {
    /// GET /v1/payment_records
    pub struct ListRecordsParams {
        pub expand: Expand<RecordListExpansion>,
        pub limit: Option<ListLimit>,
        pub starting_after: Option<LookupId>,
        pub ending_before: Option<LookupId>,
        pub created_after: Option<Timestamp>,
        pub created_before: Option<Timestamp>,
    }
}

params! {
    /// GET /v1/payment_attempt_records/:id
    pub struct RetrieveAttemptParams {
        pub expand: Expand<AttemptExpansion>,
    }
}

params! {
    /// GET /v1/payment_attempt_records?payment_record=pr_…
    pub struct ListAttemptsParams {
        pub expand: Expand<AttemptListExpansion>,
        pub payment_record: LookupId,
        pub limit: Option<ListLimit>,
        pub starting_after: Option<LookupId>,
        pub ending_before: Option<LookupId>,
    }
}
