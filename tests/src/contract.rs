//! The api's OpenAPI document held as a contract: every response the tests
//! receive through [`crate::ApiApp`] is checked here, in one place, against
//! the schema the document declares for its route and status. A drift
//! between a handler and its annotation then fails whichever test met it.
//!
//! Rules, in order:
//! - no JSON body ever carries BSON extended JSON (`{"$oid": ...}`,
//!   `{"$date": ...}`): a typed client cannot read it;
//! - an error status (4xx, 5xx) answers the error envelope `{code, message}`;
//! - a success status must be one the operation declares, and its body
//!   must match the declared JSON schema.
//!
//! Routes the document does not describe (health, pages, old links) are
//! only held to the first two rules.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::Validator;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

pub struct Contract {
    operations: Vec<Operation>,
    envelope: Validator,
}

struct Operation {
    method: Method,
    template: Vec<Segment>,
    path: String,
    /// Per declared status: the JSON body's validator, `None` when the
    /// status declares no JSON body.
    responses: HashMap<u16, Option<Validator>>,
}

#[derive(PartialEq)]
enum Segment {
    Literal(String),
    Param,
}

/// This build's OpenAPI document, as `/api/openapi.json` serves it.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let limits = avenue_api::config::Limits::default();
        let (_, openapi) = avenue_api::routes::routes(&limits);
        serde_json::to_value(&openapi).expect("the OpenAPI document serializes")
    })
}

/// The contract of this build's api, made once per test binary.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract::from_document(document()))
}

/// Sends a request to the api and holds its response to the contract
/// (panicking with what broke); answers the response, body intact.
pub async fn send(request: RequestBuilder) -> Response {
    let (client, request) = request.build_split();
    let request = request.expect("the request builds");
    let method = request.method().clone();
    let path = request.url().path().to_owned();
    let response = client.execute(request).await.expect("api answers");
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("the body arrives");
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Err(broken) = contract().check(&method, &path, status.as_u16(), content_type, &body) {
        panic!("the api broke its OpenAPI contract: {broken}");
    }
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Response::from(rebuilt)
}

impl Contract {
    pub fn from_document(document: &Value) -> Self {
        let components = document.get("components").cloned().unwrap_or(Value::Null);
        let compile = |schema: &Value| -> Validator {
            let mut schema = schema.clone();
            // Keep `#/components/schemas/...` references resolvable: the
            // schema becomes its own root with the components beside it.
            if let Some(object) = schema.as_object_mut() {
                object.insert("components".into(), components.clone());
            }
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&schema)
                .unwrap_or_else(|e| panic!("a schema does not compile: {e}"))
        };
        let mut operations = Vec::new();
        let paths = document["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, operation) in item {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                let mut responses = HashMap::new();
                for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                    let Ok(status) = status.parse::<u16>() else {
                        continue;
                    };
                    let schema = response
                        .pointer("/content/application~1json/schema")
                        .map(compile);
                    responses.insert(status, schema);
                }
                operations.push(Operation {
                    method,
                    template: parse_template(path),
                    path: path.clone(),
                    responses,
                });
            }
        }
        // Errors are not declared per operation: every one is this envelope.
        let envelope =
            serde_json::to_value(<avenue_shared::ErrorBody as utoipa::PartialSchema>::schema())
                .expect("the envelope's schema serializes");
        let envelope = compile(&envelope);
        Self {
            operations,
            envelope,
        }
    }

    /// The operations the document declares, as `(method, path template)`.
    pub fn operations(&self) -> impl Iterator<Item = (&Method, &str)> {
        self.operations.iter().map(|o| (&o.method, o.path.as_str()))
    }

    /// Checks one response; answers every broken rule, with where.
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let is_json = content_type.is_some_and(|c| c.starts_with("application/json"));
        let parsed: Option<Value> = if is_json {
            match serde_json::from_slice(body) {
                Ok(value) => Some(value),
                Err(e) => return Err(format!("{method} {path} -> {status}: invalid JSON: {e}")),
            }
        } else {
            None
        };
        if let Some(value) = &parsed {
            if let Some(at) = extended_json_at(value, String::new()) {
                return Err(format!(
                    "{method} {path} -> {status}: BSON extended JSON at {at}: {value}"
                ));
            }
        }
        if status >= 400 {
            return match &parsed {
                Some(value) if self.envelope.is_valid(value) => Ok(()),
                _ => Err(format!(
                    "{method} {path} -> {status}: not the error envelope: {}",
                    String::from_utf8_lossy(body)
                )),
            };
        }
        let Some(operation) = self.operation(method, path) else {
            return Ok(());
        };
        let Some(declared) = operation.responses.get(&status) else {
            if (300..400).contains(&status) {
                return Ok(());
            }
            return Err(format!(
                "{method} {path} -> {status}: the document declares only {:?} for {}",
                operation.responses.keys().collect::<Vec<_>>(),
                operation.path
            ));
        };
        match (declared, &parsed) {
            (None, _) => Ok(()),
            (Some(_), None) if body.is_empty() => Ok(()),
            (Some(_), None) => Err(format!(
                "{method} {path} -> {status}: declared JSON, answered {content_type:?}"
            )),
            (Some(validator), Some(value)) => {
                let errors: Vec<String> = validator
                    .iter_errors(value)
                    .take(5)
                    .map(|e| format!("at {}: {e}", e.instance_path()))
                    .collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{method} {path} -> {status} breaks the schema of {}: {}\nbody: {value}",
                        operation.path,
                        errors.join("; ")
                    ))
                }
            }
        }
    }

    /// The operation `path` is an instance of: among the templates that
    /// match, the one with most literal segments (`/products/grouped` over
    /// `/products/{id}`).
    fn operation(&self, method: &Method, path: &str) -> Option<&Operation> {
        let path = path.split('?').next().unwrap_or(path);
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.operations
            .iter()
            .filter(|o| o.method == *method && matches(&o.template, &segments))
            .max_by_key(|o| {
                o.template
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count()
            })
    }
}

fn parse_template(path: &str) -> Vec<Segment> {
    path.trim_end_matches('/')
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect()
}

fn matches(template: &[Segment], segments: &[&str]) -> bool {
    template.len() == segments.len()
        && template.iter().zip(segments).all(|(t, s)| match t {
            Segment::Param => !s.is_empty(),
            Segment::Literal(l) => l == s,
        })
}

/// The wrappers of MongoDB's extended JSON (a JSON Schema's own `$ref` is
/// not one of them).
const EXTENDED_JSON_KEYS: &[&str] = &[
    "$oid",
    "$date",
    "$numberLong",
    "$numberInt",
    "$numberDouble",
    "$numberDecimal",
    "$binary",
    "$timestamp",
    "$regularExpression",
    "$symbol",
    "$code",
    "$scope",
    "$minKey",
    "$maxKey",
    "$undefined",
    "$dbPointer",
    "$uuid",
];

/// Where in `value` an extended-JSON wrapper (`$oid`, `$date`,
/// `$numberLong`, ...) sits, if anywhere.
fn extended_json_at(value: &Value, at: String) -> Option<String> {
    match value {
        Value::Object(object) => {
            if let Some(key) = object
                .keys()
                .find(|k| EXTENDED_JSON_KEYS.contains(&k.as_str()))
            {
                return Some(format!("{at}/{key}"));
            }
            object
                .iter()
                .find_map(|(k, v)| extended_json_at(v, format!("{at}/{k}")))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| extended_json_at(v, format!("{at}/{i}"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiny() -> Contract {
        Contract::from_document(&json!({
            "paths": {
                "/api/things/{id}": { "get": { "responses": {
                    "200": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } }
                } } },
                "/api/things/special": { "get": { "responses": { "204": { "description": "none" } } } }
            },
            "components": { "schemas": {
                "Thing": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } } },
                "Unused": { "type": "object", "required": ["code", "message"],
                               "properties": { "code": { "type": "string" }, "message": { "type": "string" } } }
            } }
        }))
    }

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn a_body_matching_its_schema_passes_and_a_drift_fails() {
        let c = tiny();
        assert!(c
            .check(&Method::GET, "/api/things/1", 200, JSON, br#"{"id":"a"}"#)
            .is_ok());
        let drift = c.check(&Method::GET, "/api/things/1", 200, JSON, br#"{"id":7}"#);
        assert!(drift.unwrap_err().contains("breaks the schema"));
    }

    #[test]
    fn extended_json_fails_wherever_it_hides() {
        let c = tiny();
        let body = br#"{"id":"a","lines":[{"at":{"$date":{"$numberLong":"1"}}}]}"#;
        let err = c
            .check(&Method::GET, "/api/things/1", 200, JSON, body)
            .unwrap_err();
        assert!(err.contains("/lines/0/at/$date"), "{err}");
    }

    #[test]
    fn errors_must_be_the_envelope_and_statuses_declared() {
        let c = tiny();
        assert!(c
            .check(
                &Method::GET,
                "/api/things/1",
                404,
                JSON,
                br#"{"code":"not-found","message":"no"}"#
            )
            .is_ok());
        assert!(c
            .check(
                &Method::GET,
                "/nowhere",
                405,
                Some("text/plain"),
                b"Method Not Allowed"
            )
            .is_err());
        assert!(c
            .check(&Method::GET, "/api/things/1", 201, JSON, br#"{"id":"a"}"#)
            .is_err());
        // The literal template wins over the parameter.
        assert!(c
            .check(&Method::GET, "/api/things/special", 204, None, b"")
            .is_ok());
    }
}
