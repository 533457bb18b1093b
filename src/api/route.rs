//! An endpoint as data: method, path, summary, declared parameters, what it answers with and
//! its handler. The router and the API description (`openapi`) are both built from the
//! resources' tables of these, so the two always list the same routes with the same parameters.

use axum::routing::{MethodFilter, MethodRouter};

use crate::state::AppState;
use crate::wire::params::Field;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }

    pub fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Delete => MethodFilter::DELETE,
        }
    }
}

/// What a successful call answers with: its schema in the API description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Returns {
    /// `payment_record`, `payment_record_list`, …
    pub schema: &'static str,
    /// The 200 response's description.
    pub description: &'static str,
}

#[derive(Debug)]
pub struct Route {
    pub method: Method,
    /// In axum's route syntax, which is also OpenAPI's: `/v1/payment_records/{id}`.
    pub path: &'static str,
    pub summary: &'static str,
    /// Query parameters for GET, form body for POST: the `FIELDS` of the endpoint's `params!`.
    pub params: &'static [Field],
    pub returns: Returns,
    /// The handler, routed for `method`.
    pub route: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl Route {
    pub const fn get(
        path: &'static str,
        summary: &'static str,
        params: &'static [Field],
        returns: Returns,
        route: fn(MethodFilter) -> MethodRouter<AppState>,
    ) -> Self {
        Route {
            method: Method::Get,
            path,
            summary,
            params,
            returns,
            route,
        }
    }

    pub const fn post(
        path: &'static str,
        summary: &'static str,
        params: &'static [Field],
        returns: Returns,
        route: fn(MethodFilter) -> MethodRouter<AppState>,
    ) -> Self {
        Route {
            method: Method::Post,
            ..Route::get(path, summary, params, returns, route)
        }
    }

    pub const fn delete(
        path: &'static str,
        summary: &'static str,
        params: &'static [Field],
        returns: Returns,
        route: fn(MethodFilter) -> MethodRouter<AppState>,
    ) -> Self {
        Route {
            method: Method::Delete,
            ..Route::get(path, summary, params, returns, route)
        }
    }

    /// Full paths (`amount_requested[value]`) of the parameters every call must send: the
    /// required scalars whose every enclosing hash is required too.
    pub fn required(&self) -> Vec<String> {
        let mut out = Vec::new();
        required_in(self.params, "", &mut out);
        out
    }
}

fn required_in(fields: &[Field], parent: &str, out: &mut Vec<String>) {
    use crate::wire::params::{Shape, join_path};
    for field in fields.iter().filter(|f| f.required) {
        let name = join_path(parent, field.name);
        match field.shape {
            Shape::Object(inner) => required_in(inner, &name, out),
            shape if shape.is_scalar() => out.push(name),
            _ => {}
        }
    }
}
