//! Every operation of the api's OpenAPI document, sent bodies, query
//! strings and path ids generated from the document's own schemas (fitting
//! ones, and ones a mutation away), as each kind of user: no answer may be
//! a 5xx, and every answer must keep the contract (errors in the envelope,
//! successes in their schema).
//!
//! The seed is fixed so CI repeats the same requests;
//! `AVENUE_FUZZ_SEED=n` explores others, `AVENUE_FUZZ_ROUNDS` sends more.

use std::collections::BTreeMap;

use avenue_tests::api::{spawn_stack, TestUser};
use avenue_tests::contract::{contract, document};
use avenue_tests::schema_gen::Generator;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::Value;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test]
async fn generated_requests_never_get_a_5xx_or_break_the_contract() {
    let seed = env_number("AVENUE_FUZZ_SEED", 18);
    let rounds = env_number("AVENUE_FUZZ_ROUNDS", 12);
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let users: Vec<Option<TestUser>> = vec![
        Some(admin.clone()),
        Some(api.user("customer").await),
        Some(api.user("brand").await),
        Some(api.user("creator").await),
        None,
    ];
    // Real ids beside junk, so some requests reach past the 404.
    let product = stack.published(&admin, "FUZZ-1", 100_000, 50).await;
    let mut ids = vec![
        product,
        admin.id.clone(),
        "000000000000000000000000".to_owned(),
        "not-an-id".to_owned(),
        "ñandú".to_owned(),
        "..".to_owned(),
        "site.title".to_owned(),
        "FUZZ-1".to_owned(),
        "x".repeat(3000),
    ];
    ids.push(stack.image(3).await);

    let document = document();
    let empty = Value::Null;
    let components = document.get("components").unwrap_or(&empty);
    let mut generator = Generator::new(components, StdRng::seed_from_u64(seed));
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    let mut sent = 0;
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let operations: Vec<(Method, String)> = contract()
        .operations()
        .map(|(m, p)| (m.clone(), p.to_owned()))
        .collect();
    for (method, template) in &operations {
        let operation = &document["paths"][template.as_str()][method.as_str().to_lowercase()];
        for _ in 0..rounds {
            let path = fill_path(template, &ids, &mut generator.rng);
            let query = query_string(operation, &mut generator);
            let url = api.url(&format!("{path}{query}"));
            let mut request = api.http.request(method.clone(), &url);
            if let Some(Some(user)) = users.choose(&mut generator.rng) {
                request = request.bearer_auth(&user.token);
            }
            let body_schema = operation.pointer("/requestBody/content/application~1json/schema");
            let body = body_schema.map(|schema| match generator.rng.random_range(0..20) {
                0 => b"{\"unterminated\": ".to_vec(),
                1..=6 => serde_json::to_vec(&generator.mutated(schema)).unwrap_or_default(),
                _ => serde_json::to_vec(&generator.fitting(schema)).unwrap_or_default(),
            });
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = request.send().await.expect("api answers");
            sent += 1;
            let status = response.status().as_u16();
            *statuses.entry(status).or_insert(0) += 1;
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let answer = response.bytes().await.expect("body");
            let broken = if status >= 500 {
                Err(format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(300)])
                ))
            } else {
                contract().check(method, &path, status, content_type.as_deref(), &answer)
            };
            if let Err(why) = broken {
                let sent_body = body
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
                    .unwrap_or_default();
                failures
                    .entry(format!("{method} {template} -> {status}"))
                    .or_insert(format!(
                        "{method} {}{query} body {sent_body}\n  {why}",
                        &path[..path.len().min(120)]
                    ));
            }
        }
    }
    eprintln!("seed {seed}: {sent} requests, statuses {statuses:?}");
    assert!(sent > operations.len() * 5, "only {sent} requests sent");
    let successes: usize = statuses.range(200..300).map(|(_, n)| n).sum();
    assert!(
        successes * 10 > sent,
        "too few requests got past validation: {statuses:?}"
    );
    assert!(
        failures.is_empty(),
        "seed {seed}: {} operations failed:\n{}",
        failures.len(),
        failures.values().cloned().collect::<Vec<_>>().join("\n")
    );
    // The api is still whole after all of it.
    api.expect(200, Method::GET, "/api/shop/products", None, None)
        .await;
    stack.stop().await;
}

/// `template` with each `{param}` replaced by one of `ids`, encoded.
fn fill_path(template: &str, ids: &[String], rng: &mut StdRng) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                let id = ids.choose(rng).map(String::as_str).unwrap_or("x");
                percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Some of the operation's query parameters, with generated values.
fn query_string(operation: &Value, generator: &mut Generator<'_>) -> String {
    let mut pairs = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] != "query" || !generator.rng.random_bool(0.5) {
            continue;
        }
        let name = parameter["name"].as_str().unwrap_or("q");
        let schema = parameter.get("schema").cloned().unwrap_or(Value::Null);
        let value = match generator.fitting(&schema) {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let value: String = value.chars().take(500).collect();
        pairs.push(format!(
            "{name}={}",
            percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}
