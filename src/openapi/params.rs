//! Request parameters in the API description, flattened from each endpoint's declared `Shape`:
//! Stripe's bracketed names (`payment_method_details[billing_details][address][city]`) become
//! the properties of a form body or the names of query parameters, as clients send them.

use serde_json::{Map, Value, json};

use crate::api::route::{Method, Route};
use crate::records::model::{METADATA_KEY_CHARS_MAX, METADATA_VALUE_CHARS_MAX};
use crate::wire::expand::EXPAND_PATHS_MAX;
use crate::wire::params::{Field, STRING_CHARS_MAX, Shape, TIMESTAMP_MAX, join_path};

/// An endpoint's parameters by full name, plus the name patterns of its hashes with free keys.
#[derive(Debug, Default)]
pub struct Flat {
    pub properties: Map<String, Value>,
    /// Regex over full names (`^metadata\[…\]$`) → the schema of their values.
    pub patterns: Map<String, Value>,
}

impl Flat {
    pub fn of(endpoint: &Route) -> Self {
        let mut flat = Flat::default();
        flat.walk(endpoint.params, "");
        flat
    }

    fn walk(&mut self, fields: &[Field], parent: &str) {
        for field in fields {
            let name = join_path(parent, field.name);
            match field.shape {
                Shape::Object(inner) => self.walk(inner, &name),
                Shape::UnsettableObject(inner) => {
                    self.properties
                        .insert(name.clone(), unset(&format!("`{name}=` unsets the hash.")));
                    self.walk(inner, &name);
                }
                Shape::Metadata => {
                    let description = format!("`{name}=` removes every key; `{name}[key]=` removes one.");
                    self.properties.insert(name.clone(), unset(&description));
                    let pattern = format!(
                        "^{}\\[[^\\[\\]\\x00]{{1,{METADATA_KEY_CHARS_MAX}}}\\]$",
                        name.replace('[', "\\[").replace(']', "\\]")
                    );
                    let value = json!({ "type": "string", "maxLength": METADATA_VALUE_CHARS_MAX });
                    self.patterns.insert(pattern, value);
                }
                Shape::RangeFilter => {
                    let bound = scalar_schema(Shape::Timestamp);
                    self.properties.insert(name.clone(), bound.clone());
                    for key in crate::wire::params::RANGE_BOUNDS {
                        self.properties.insert(format!("{name}[{key}]"), bound.clone());
                    }
                }
                Shape::StringList(values) => {
                    let items = match values {
                        Some(values) => json!({ "type": "string", "enum": values }),
                        None => json!({ "type": "string" }),
                    };
                    let list = json!({ "type": "array", "items": items, "maxItems": EXPAND_PATHS_MAX });
                    self.properties.insert(format!("{name}[]"), list);
                }
                scalar => {
                    self.properties.insert(name, scalar_schema(scalar));
                }
            }
        }
    }
}

fn unset(description: &str) -> Value {
    json!({ "type": "string", "const": "", "description": description })
}

/// The JSON Schema of a value that arrives as one string.
pub fn scalar_schema(shape: Shape) -> Value {
    match shape {
        Shape::Scalar => json!({ "type": "string", "minLength": 1, "maxLength": STRING_CHARS_MAX }),
        Shape::ScalarMax(max) => json!({ "type": "string", "minLength": 1, "maxLength": max }),
        Shape::UnsettableScalar => json!({
            "type": "string",
            "maxLength": STRING_CHARS_MAX,
            "description": "`''` unsets the value.",
        }),
        Shape::Integer { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Shape::Timestamp => json!({
            "type": "integer",
            "minimum": 0,
            "maximum": TIMESTAMP_MAX,
            "description": "Unix timestamp in seconds.",
        }),
        Shape::Enum(values) => json!({ "type": "string", "enum": values }),
        Shape::Country => json!({
            "type": "string",
            "pattern": "^[A-Za-z]{2}$",
            "description": "Two-letter ISO 3166-1 alpha-2 code.",
        }),
        Shape::Boolean => json!({ "type": "boolean" }),
        Shape::Object(_) | Shape::UnsettableObject(_) | Shape::Metadata | Shape::StringList(_) | Shape::RangeFilter => {
            unreachable!("{shape:?} is not a scalar")
        }
    }
}

/// `application/x-www-form-urlencoded` body of a POST.
pub fn request_body(endpoint: &Route) -> Value {
    debug_assert_eq!(endpoint.method, Method::Post);
    let flat = Flat::of(endpoint);
    let mut schema = json!({
        "type": "object",
        "properties": flat.properties,
        "additionalProperties": false,
    });
    if !flat.patterns.is_empty() {
        schema["patternProperties"] = Value::Object(flat.patterns);
    }
    let required = endpoint.required();
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    json!({
        "required": !required.is_empty(),
        "content": { "application/x-www-form-urlencoded": { "schema": schema } },
    })
}

/// Query parameters of a GET.
pub fn query_parameters(endpoint: &Route) -> Vec<Value> {
    debug_assert_eq!(endpoint.method, Method::Get);
    let flat = Flat::of(endpoint);
    let required = endpoint.required();
    assert!(
        flat.patterns.is_empty(),
        "{}: free-key hashes in a query",
        endpoint.path
    );
    flat.properties
        .into_iter()
        .map(|(name, schema)| {
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name),
                "schema": schema,
            });
            if schema_is_array(&parameter["schema"]) {
                parameter["style"] = json!("form");
                parameter["explode"] = json!(true);
            }
            parameter
        })
        .collect()
}

fn schema_is_array(schema: &Value) -> bool {
    schema["type"] == "array"
}
