//! The events endpoints' parameters.

use crate::wire::list::ListLimit;
use crate::wire::params::{Flag, LookupId, Strings, Text, TimeRange, params};

/// Most types in one `types[]` filter (Stripe's).
pub const EVENT_TYPES_FILTER_MAX: usize = 20;

params! {
    pub struct ListEventsParams {
        pub created: Option<TimeRange>,
        pub delivery_success: Option<Flag>,
        pub ending_before: Option<LookupId>,
        pub limit: Option<ListLimit>,
        pub starting_after: Option<LookupId>,
        pub kind ("type"): Option<Text>,
        pub types: Option<Strings<EVENT_TYPES_FILTER_MAX>>,
    }
}

params! {
    pub struct RetrieveEventParams {}
}
