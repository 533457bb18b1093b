//! Stripe list envelopes and pagination parameters.

use serde::Serialize;

use super::error::{ApiError, ParamErrorCode};
use super::params::{FromParam, LookupId, Params, Shape, Timestamp};
use crate::store::{ListError, ListQuery};

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

/// `limit`: 1 ..= `LIST_LIMIT_MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimit(pub usize);

impl FromParam for ListLimit {
    const SHAPE: Shape = Shape::Integer {
        min: 1,
        max: LIST_LIMIT_MAX as i64,
    };
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        match parent.required_integer(key)? {
            n if (1..=LIST_LIMIT_MAX as i64).contains(&n) => Ok(ListLimit(n as usize)),
            n => Err(ApiError::invalid(
                ParamErrorCode::InvalidInteger,
                parent.path(key),
                format!("Invalid limit: {n}. The limit must be between 1 and {LIST_LIMIT_MAX}."),
            )),
        }
    }
}

/// The page a list request asks for, from its typed parameters; `starting_after` and
/// `ending_before` exclude each other.
pub fn list_query(
    limit: Option<ListLimit>,
    starting_after: Option<LookupId>,
    ending_before: Option<LookupId>,
    created: (Option<Timestamp>, Option<Timestamp>),
) -> Result<ListQuery, ApiError> {
    if starting_after.is_some() && ending_before.is_some() {
        return Err(ApiError::ParametersExclusive {
            param: "ending_before".into(),
            message: "You may only specify one of these parameters: ending_before, starting_after.".into(),
        });
    }
    Ok(ListQuery {
        limit: limit.map_or(LIST_LIMIT_DEFAULT, |l| l.0),
        starting_after: starting_after.map(|id| id.0),
        ending_before: ending_before.map(|id| id.0),
        created_after: created.0.map(|t| t.0),
        created_before: created.1.map(|t| t.0),
    })
}

/// A list's failure as the API answers it: an unknown cursor is a 404 naming it.
pub fn list_error<'q>(object: &'static str, query: &'q ListQuery) -> impl FnOnce(ListError) -> ApiError + 'q {
    move |e| match e {
        ListError::UnknownCursor => cursor_missing(object, query),
        ListError::Store(e) => e.into(),
    }
}

/// A list's cursor that names no object of the list: a 404 naming the cursor parameter.
pub fn cursor_missing(object: &'static str, query: &ListQuery) -> ApiError {
    let (param, id) = match (&query.starting_after, &query.ending_before) {
        (Some(id), _) => ("starting_after", id.clone()),
        (None, Some(id)) => ("ending_before", id.clone()),
        (None, None) => ("starting_after", String::new()),
    };
    ApiError::ResourceMissing { object, id, param }
}
