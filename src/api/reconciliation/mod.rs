//! Reconciliation runs and their outcomes, read-only **[payrec, beyond Stripe]** (issue 32,
//! item 5): what `payrec reconcile` kept, with Stripe's list conventions, under `/payrec/`,
//! payrec's own path namespace, so that they can never shadow a Stripe path. The breaks list is
//! the queue: the open outcomes, newest first.

use axum::extract::State;
use axum::response::Response;
use axum::routing::on;

use super::payment_records::respond::ok_json;
use super::route::{Returns, Route};
use crate::reconcile::kept::{RESULT_OBJECT, RUN_OBJECT};
use crate::reconcile::{CATEGORIES, Category};
use crate::state::AppState;
use crate::store::Tenant;
use crate::store::reconciliation::ResultFilter;
use crate::wire::error::ApiError;
use crate::wire::list::{ListEnvelope, ListLimit, list_error, list_query};
use crate::wire::params::{LookupId, ParamObject, params};
use crate::wire::request::{ApiRequest, PathId};

params! {
    pub struct ListRunsParams {
        pub ending_before: Option<LookupId>,
        pub limit: Option<ListLimit>,
        pub starting_after: Option<LookupId>,
    }
}

params! {
    pub struct ListResultsParams {
        pub category: Option<LookupId>,
        pub ending_before: Option<LookupId>,
        pub limit: Option<ListLimit>,
        pub payment_record: Option<LookupId>,
        pub run: Option<LookupId>,
        pub starting_after: Option<LookupId>,
    }
}

params! {
    pub struct RetrieveParams {}
}

pub const RUNS_PATH: &str = "/payrec/v1/reconciliation_runs";
pub const RESULTS_PATH: &str = "/payrec/v1/reconciliation_results";
pub const BREAKS_PATH: &str = "/payrec/v1/reconciliation_breaks";

pub const LIST_RUNS: Route = Route::get(
    RUNS_PATH,
    "List reconciliation runs, newest first.",
    ListRunsParams::FIELDS,
    Returns {
        schema: "reconciliation_run_list",
        description: "A page of runs.",
    },
    |m| on(m, list_runs),
);

pub const RETRIEVE_RUN: Route = Route::get(
    "/payrec/v1/reconciliation_runs/{id}",
    "Retrieve a reconciliation run.",
    RetrieveParams::FIELDS,
    Returns {
        schema: "reconciliation_run",
        description: "The run.",
    },
    |m| on(m, retrieve_run),
);

pub const LIST_RESULTS: Route = Route::get(
    RESULTS_PATH,
    "List the outcomes of reconciliation runs (every line and payment judged), newest first.",
    ListResultsParams::FIELDS,
    Returns {
        schema: "reconciliation_result_list",
        description: "A page of outcomes.",
    },
    |m| on(m, list_results),
);

pub const LIST_BREAKS: Route = Route::get(
    BREAKS_PATH,
    "List the open breaks: outcomes that are no match and that nothing resolved, newest first.",
    ListResultsParams::FIELDS,
    Returns {
        schema: "reconciliation_break_list",
        description: "A page of open breaks.",
    },
    |m| on(m, list_breaks),
);

pub const RETRIEVE_RESULT: Route = Route::get(
    "/payrec/v1/reconciliation_results/{id}",
    "Retrieve an outcome of a reconciliation run.",
    RetrieveParams::FIELDS,
    Returns {
        schema: "reconciliation_result",
        description: "The outcome.",
    },
    |m| on(m, retrieve_result),
);

pub const ROUTES: &[&Route] = &[&LIST_RUNS, &RETRIEVE_RUN, &LIST_RESULTS, &LIST_BREAKS, &RETRIEVE_RESULT];

async fn list_runs(State(app): State<AppState>, tenant: Tenant, request: ApiRequest) -> Result<Response, ApiError> {
    let p: ListRunsParams = request.read()?;
    let query = list_query(p.limit, p.starting_after, p.ending_before, (None, None))?;
    let page = app
        .store
        .list_runs(&tenant, &query)
        .await
        .map_err(list_error(RUN_OBJECT, &query))?;
    Ok(ok_json(&ListEnvelope::new(RUNS_PATH, page.data, page.has_more)))
}

async fn retrieve_run(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let _: RetrieveParams = request.read()?;
    let run = app
        .store
        .get_run(&tenant, &id)
        .await?
        .ok_or(ApiError::ResourceMissing {
            object: RUN_OBJECT,
            id,
            param: "id",
        })?;
    Ok(ok_json(&run))
}

/// A `category` parameter: one of the categories, else a 400 naming them.
fn category_of(name: &str) -> Result<Category, ApiError> {
    Category::parse(name).ok_or_else(|| {
        let names: Vec<&str> = CATEGORIES.iter().map(|c| c.as_str()).collect();
        ApiError::Invalid {
            message: format!("Invalid category: must be one of {}", names.join(", ")),
            param: Some("category".into()),
        }
    })
}

async fn results(
    app: &AppState,
    tenant: &Tenant,
    p: ListResultsParams,
    open_only: bool,
    url: &'static str,
) -> Result<Response, ApiError> {
    let filter = ResultFilter {
        run: p.run.map(|r| r.0),
        category: p.category.map(|c| category_of(&c.0)).transpose()?,
        open_only,
        payment_record: p.payment_record.map(|r| r.0),
    };
    let query = list_query(p.limit, p.starting_after, p.ending_before, (None, None))?;
    let page = app
        .store
        .list_results(tenant, &query, &filter)
        .await
        .map_err(list_error(RESULT_OBJECT, &query))?;
    Ok(ok_json(&ListEnvelope::new(url, page.data, page.has_more)))
}

async fn list_results(State(app): State<AppState>, tenant: Tenant, request: ApiRequest) -> Result<Response, ApiError> {
    let p: ListResultsParams = request.read()?;
    results(&app, &tenant, p, false, RESULTS_PATH).await
}

async fn list_breaks(State(app): State<AppState>, tenant: Tenant, request: ApiRequest) -> Result<Response, ApiError> {
    let p: ListResultsParams = request.read()?;
    results(&app, &tenant, p, true, BREAKS_PATH).await
}

async fn retrieve_result(
    State(app): State<AppState>,
    tenant: Tenant,
    PathId(id): PathId,
    request: ApiRequest,
) -> Result<Response, ApiError> {
    let _: RetrieveParams = request.read()?;
    let result = app
        .store
        .get_result(&tenant, &id)
        .await?
        .ok_or(ApiError::ResourceMissing {
            object: RESULT_OBJECT,
            id,
            param: "id",
        })?;
    Ok(ok_json(&result))
}
