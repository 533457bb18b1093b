//! Stripe list envelopes and pagination parameters.

use serde::Serialize;

use super::error::ApiError;
use super::params::Params;
use crate::store::ListQuery;

pub const LIST_LIMIT_DEFAULT: usize = 10;
pub const LIST_LIMIT_MAX: usize = 100;
const _: () = assert!(LIST_LIMIT_DEFAULT <= LIST_LIMIT_MAX);

/// `{"object": "list", "data": [...], "has_more": …, "url": …}`.
#[derive(Debug, Serialize)]
pub struct ListEnvelope<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub has_more: bool,
    pub url: &'static str,
}

impl<T> ListEnvelope<T> {
    pub fn new(url: &'static str, data: Vec<T>, has_more: bool) -> Self {
        ListEnvelope {
            object: "list",
            data,
            has_more,
            url,
        }
    }
}

/// Reads `limit`, `starting_after`, `ending_before` (and, where the list has them,
/// `created_after` / `created_before`).
pub fn list_query(params: &Params<'_>, with_created: bool) -> Result<ListQuery, ApiError> {
    let limit = match params.integer("limit")? {
        None => LIST_LIMIT_DEFAULT,
        Some(n) if (1..=LIST_LIMIT_MAX as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::invalid(
                "parameter_invalid_integer",
                "limit",
                format!("Invalid limit: {n}. The limit must be between 1 and {LIST_LIMIT_MAX}."),
            ));
        }
    };
    let starting_after = params.lookup_id("starting_after")?.map(str::to_owned);
    let ending_before = params.lookup_id("ending_before")?.map(str::to_owned);
    if starting_after.is_some() && ending_before.is_some() {
        return Err(ApiError::ParametersExclusive {
            param: "ending_before".into(),
            message: "You may only specify one of these parameters: ending_before, starting_after.".into(),
        });
    }
    let (created_after, created_before) = if with_created {
        (params.timestamp("created_after")?, params.timestamp("created_before")?)
    } else {
        (None, None)
    };
    Ok(ListQuery {
        limit,
        starting_after,
        ending_before,
        created_after,
        created_before,
    })
}
