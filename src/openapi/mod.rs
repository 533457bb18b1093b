//! payrec's OpenAPI 3.1 description, generated from the code it describes: paths, methods and
//! parameters from every resource's endpoint table (`api::RESOURCES`, which the router is built
//! from) and the `params!` declaration of each endpoint's parameters; response schemas written
//! to match `records::render` field for field (one file per resource). Served at
//! `GET /openapi.json` and committed as `openapi.json` (a test fails when the two differ).

mod events;
mod params;
mod payment_records;
mod reconciliation;
pub mod schema;

use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::api::route::{Method, Route};
use crate::server::LISTEN_DEFAULT;
use crate::wire::idempotency::IDEMPOTENCY_KEY_CHARS_MAX;
use crate::wire::request::STRIPE_VERSION;
use schema::schema_ref;

/// A resource as the document describes it: its routes (the table the router serves), its
/// objects' schemas, and the links between its operations.
struct Described {
    routes: &'static [&'static Route],
    schemas: fn() -> Value,
    links: fn(&Route) -> Map<String, Value>,
}

const DESCRIBED: &[Described] = &[
    Described {
        routes: crate::api::payment_records::ROUTES,
        schemas: payment_records::schemas,
        links: payment_records::links,
    },
    Described {
        routes: crate::api::events::ROUTES,
        schemas: events::schemas,
        links: events::links,
    },
    Described {
        routes: crate::api::webhook_endpoints::ROUTES,
        schemas: events::schemas_none,
        links: events::links,
    },
    Described {
        routes: crate::api::test_data::ROUTES,
        schemas: events::test_data_schemas,
        links: events::links,
    },
    Described {
        routes: crate::api::reconciliation::ROUTES,
        schemas: reconciliation::schemas,
        links: events::links,
    },
];

fn endpoints() -> impl Iterator<Item = (&'static Described, &'static Route)> {
    DESCRIBED
        .iter()
        .flat_map(|d| d.routes.iter().map(move |endpoint| (d, *endpoint)))
}

/// `components.schemas`: every resource's objects and Stripe's error.
fn schemas() -> Value {
    let mut all = Map::new();
    all.insert("error".into(), schema::error());
    for described in DESCRIBED {
        if let Value::Object(schemas) = (described.schemas)() {
            all.extend(schemas);
        }
    }
    Value::Object(all)
}

/// The error statuses every endpoint can answer with.
const ERROR_STATUSES: &[(u16, &str)] = &[
    (
        400,
        "Invalid parameters, a broken lifecycle rule, or a reused idempotency key.",
    ),
    (401, "No API key, or one payrec does not know."),
    (404, "No such object, or an unrecognized URL."),
    (
        500,
        "An internal error; the Request-Id header identifies it in the server log.",
    ),
    (
        503,
        "The database cannot take the request right now (its disk is full, or it is unreachable): nothing was \
         stored; retry (`Stripe-Should-Retry: true`), with the same Idempotency-Key.",
    ),
];
/// The error statuses only a POST can answer with.
const POST_ERROR_STATUSES: &[(u16, &str)] = &[
    (403, "A restricted key (rk_…): it may call every GET and nothing else."),
    (409, "Another request with the same Idempotency-Key is in flight."),
    (413, "The request body is too large."),
];

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (described, endpoint) in endpoints() {
        let path = paths.entry(endpoint.path).or_insert_with(|| json!({}));
        path[method_key(endpoint.method)] = operation(endpoint, (described.links)(endpoint));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "payrec",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "A self-hostable, Stripe-compatible Payment Records server.",
            "description": format!(
                "Stripe's Payment Records API as payrec serves it, at Stripe API version {STRIPE_VERSION}. \
                 Request bodies and query strings are form-encoded with bracket nesting (`a[b]=v`); \
                 arrays are sent as `expand[]=x` or `expand[0]=x`; an empty value unsets where the \
                 parameter says so."
            ),
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
            "x-stripe-api-version": STRIPE_VERSION,
        },
        "servers": [{
            "url": format!("http://{LISTEN_DEFAULT}"),
            "description": "payrec's default listen address",
        }],
        "security": [{ "bearer": [] }, { "basic": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer sk_test_…` (test mode) or `sk_live_…` (live mode).",
                },
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "The secret key as user name, empty password (`curl -u sk_test_…:`).",
                },
            },
            "headers": {
                "Request-Id": {
                    "description": "Identifies the request in payrec's log.",
                    "required": true,
                    "schema": { "type": "string", "pattern": "^req_[0-9A-Za-z]+$" },
                },
                "Stripe-Version": {
                    "description": format!("The request's Stripe-Version, else {STRIPE_VERSION}."),
                    "required": true,
                    "schema": { "type": "string" },
                },
            },
        },
    })
}

/// The document as served and committed: pretty JSON and a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serializes");
    text.push('\n');
    text
}

/// GET /openapi.json (no key needed).
pub async fn serve() -> Response {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(document_text).as_str();
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn method_key(method: Method) -> &'static str {
    match method {
        Method::Get => "get",
        Method::Post => "post",
        Method::Delete => "delete",
    }
}

/// Stripe's operation ids: the method and the path's words, `{id}` as `Id`
/// (`POST /v1/payment_records/{id}/report_refund` → `PostPaymentRecordsIdReportRefund`).
pub fn operation_id(endpoint: &Route) -> String {
    let words = endpoint
        .path
        .trim_start_matches("/v1/")
        .split(['/', '_'])
        .map(|w| w.trim_matches(['{', '}']));
    let method = match endpoint.method {
        Method::Get => "Get",
        Method::Post => "Post",
        Method::Delete => "Delete",
    };
    std::iter::once(method.to_owned())
        .chain(words.map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        }))
        .collect()
}

fn operation(endpoint: &Route, links: Map<String, Value>) -> Value {
    let mut parameters = Vec::new();
    if endpoint.path.contains("{id}") {
        parameters.push(json!({
            "name": "id",
            "in": "path",
            "required": true,
            "description": "Any string: an id that names no object is a 404.",
            "schema": { "type": "string", "minLength": 1 },
        }));
    }
    let mut operation = json!({
        "operationId": operation_id(endpoint),
        "summary": endpoint.summary,
        "responses": responses(endpoint, links),
    });
    match endpoint.method {
        Method::Get => parameters.extend(params::query_parameters(endpoint)),
        Method::Delete => {}
        Method::Post => {
            parameters.push(json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": "Replays the first result of a request with the same key and parameters.",
                "schema": { "type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_CHARS_MAX },
            }));
            operation["requestBody"] = params::request_body(endpoint);
        }
    }
    operation["parameters"] = Value::Array(parameters);
    operation
}

fn responses(endpoint: &Route, links: Map<String, Value>) -> Value {
    let mut responses = Map::new();
    let mut ok = response(endpoint.returns.description, endpoint.returns.schema);
    if !links.is_empty() {
        ok["links"] = Value::Object(links);
    }
    responses.insert("200".into(), ok);
    let post_only = match endpoint.method {
        Method::Post => POST_ERROR_STATUSES,
        Method::Delete => &POST_ERROR_STATUSES[..1],
        Method::Get => &[],
    };
    for (status, description) in ERROR_STATUSES.iter().chain(post_only) {
        responses.insert(status.to_string(), response(description, "error"));
    }
    responses.insert(
        "431".into(),
        json!({ "description": "The request's head (its URL with the query, and its headers) is larger than the HTTP layer \
                 accepts: answered before payrec sees the request, with an empty body and none of payrec's headers." }),
    );
    responses.insert(
        "414".into(),
        json!({ "description": "The URL is longer than the HTTP layer accepts (64 KiB): answered before payrec \
                 sees the request, with an empty body and none of payrec's headers." }),
    );
    Value::Object(responses)
}

fn response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "headers": {
            "Request-Id": { "$ref": "#/components/headers/Request-Id" },
            "Stripe-Version": { "$ref": "#/components/headers/Stripe-Version" },
        },
        "content": { "application/json": { "schema": schema_ref(schema) } },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_resource_is_described() {
        use crate::api::RESOURCES;
        let routes = |tables: Vec<&[&Route]>| -> Vec<(&str, &str)> {
            tables
                .iter()
                .flat_map(|t| t.iter().map(|e| (e.method.as_str(), e.path)))
                .collect()
        };
        let described = routes(DESCRIBED.iter().map(|d| d.routes).collect());
        assert_eq!(described, routes(RESOURCES.to_vec()));
    }

    #[test]
    fn operation_ids_are_stripes() {
        let ids: Vec<String> = endpoints().map(|(_, e)| operation_id(e)).collect();
        for expected in [
            "PostPaymentRecordsReportPayment",
            "GetPaymentRecordsId",
            "GetPaymentRecords",
            "PostPaymentRecordsIdReportPaymentAttemptInformational",
            "PostPaymentRecordsIdReportRefund",
            "GetPaymentAttemptRecordsId",
            "GetPaymentAttemptRecords",
        ] {
            assert!(ids.iter().any(|id| id == expected), "{expected} not in {ids:?}");
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "operation ids are unique");
    }

    #[test]
    fn every_endpoint_is_described_with_its_method() {
        let document = document();
        for (_, endpoint) in endpoints() {
            let operation = &document["paths"][endpoint.path][method_key(endpoint.method)];
            assert_eq!(operation["operationId"], json!(operation_id(endpoint)));
        }
        let described: usize = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(described, endpoints().count());
    }

    #[test]
    fn form_bodies_use_stripes_bracketed_names() {
        let document = document();
        let body = &document["paths"]["/v1/payment_records/report_payment"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
            ["schema"];
        for name in [
            "amount_requested[currency]",
            "payment_method_details[billing_details][address][city]",
            "expand[]",
            "metadata",
        ] {
            assert!(body["properties"][name].is_object(), "{name}: {body}");
        }
        assert_eq!(body["properties"]["amount_requested[value]"]["type"], "integer");
        assert_eq!(body["required"][0], "amount_requested[currency]");
    }
}
