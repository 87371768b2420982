//! Request bodies made from the OpenAPI document's schemas, for fuzzing
//! the api: values that fit the schema (so a request gets past the parser
//! into the handler) and values one mutation away from fitting (a missing
//! field, a wrong type, an unknown key), drawn from pools of the inputs
//! that break servers (empty, huge, negative, unicode, operator-like).

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Map, Value};

pub struct Generator<'a> {
    components: &'a Value,
    pub rng: StdRng,
}

const STRINGS: &[&str] = &[
    "",
    "a",
    "Vestido Azul",
    "ñandutí 🧵 moda",
    "6b1157491d55a1669a9cc473",
    "000000000000000000000000",
    "2026-12-20T18:00:00-03:00",
    "1999-01-01T00:00:00Z",
    "not a time",
    "https://cdn.example.com/a.png",
    "javascript:alert(1)",
    "../../etc/passwd",
    "{\"$gt\": \"\"}",
    "$where",
    "-1",
    "ana@example.com",
    "admin",
    "published",
    "\u{0000}",
];

const INTEGERS: &[i64] = &[
    0,
    1,
    -1,
    2,
    5,
    100,
    150_000,
    9_007_199_254_740_993,
    i64::MAX,
    i64::MIN,
];

impl<'a> Generator<'a> {
    pub fn new(components: &'a Value, rng: StdRng) -> Self {
        Self { components, rng }
    }

    /// A value that fits `schema`.
    pub fn fitting(&mut self, schema: &Value) -> Value {
        self.fit(schema, 0)
    }

    /// A value that fits `schema` but for one mutation.
    pub fn mutated(&mut self, schema: &Value) -> Value {
        let mut value = self.fit(schema, 0);
        match self.rng.random_range(0..6) {
            0 => json!([value]),
            1 => Value::Null,
            2 => json!("text where an object was"),
            _ => {
                let object = self.resolve(schema).clone();
                if let Some(map) = value.as_object_mut() {
                    self.mutate_object(&object, map);
                }
                value
            }
        }
    }

    fn mutate_object(&mut self, schema: &Value, map: &mut Map<String, Value>) {
        let keys: Vec<String> = map.keys().cloned().collect();
        match (self.rng.random_range(0..3), keys.choose(&mut self.rng)) {
            (0, Some(key)) => {
                map.remove(key);
            }
            (1, Some(key)) => {
                let wrong = match &map[key] {
                    Value::String(_) => json!(12),
                    Value::Number(_) => json!("12"),
                    Value::Bool(_) => json!("true"),
                    Value::Array(_) => json!({}),
                    Value::Object(_) => json!([]),
                    Value::Null => json!(false),
                };
                map.insert(key.clone(), wrong);
            }
            _ => {
                let _ = schema;
                map.insert("unexpected".into(), json!({ "$ne": null }));
            }
        }
    }

    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or_default();
                self.components
                    .pointer(&format!("/schemas/{name}"))
                    .map_or(&Value::Null, |s| self.resolve(s))
            }
            None => schema,
        }
    }

    fn fit(&mut self, schema: &Value, depth: usize) -> Value {
        let schema = self.resolve(schema).clone();
        if depth > 6 {
            return Value::Null;
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
            return choices
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or(Value::Null);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                let pick = options
                    .choose(&mut self.rng)
                    .cloned()
                    .unwrap_or(Value::Null);
                return self.fit(&pick, depth + 1);
            }
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts.clone() {
                if let Value::Object(map) = self.fit(&part, depth + 1) {
                    merged.extend(map);
                }
            }
            return Value::Object(merged);
        }
        let kind = match schema.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(types)) => types
                .choose(&mut self.rng)
                .and_then(Value::as_str)
                .unwrap_or("null")
                .to_owned(),
            _ if schema.get("properties").is_some() => "object".to_owned(),
            _ => return self.anything(depth),
        };
        match kind.as_str() {
            "object" => self.object(&schema, depth),
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(Value::Null);
                let n = self.rng.random_range(0..4);
                Value::Array((0..n).map(|_| self.fit(&items, depth + 1)).collect())
            }
            "string" => json!(self.string()),
            "integer" => json!(self.integer()),
            "number" => json!([0.5, -1.0, 1e300, 3.0][self.rng.random_range(0..4)]),
            "boolean" => json!(self.rng.random_bool(0.5)),
            _ => Value::Null,
        }
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Value {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut map = Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if properties.is_empty() {
            return self.anything(depth);
        }
        for (name, property) in &properties {
            if required.contains(&name.as_str()) || self.rng.random_bool(0.5) {
                map.insert(name.clone(), self.fit(property, depth + 1));
            }
        }
        Value::Object(map)
    }

    /// Any JSON at all, for schemas that allow any (a setting's value).
    fn anything(&mut self, depth: usize) -> Value {
        match self.rng.random_range(0..6) {
            0 => json!(self.string()),
            1 => json!(self.integer()),
            2 => json!(self.rng.random_bool(0.5)),
            3 if depth < 4 => json!([self.anything(depth + 1)]),
            4 if depth < 4 => json!({ "k": self.anything(depth + 1) }),
            _ => Value::Null,
        }
    }

    pub fn string(&mut self) -> String {
        if self.rng.random_bool(0.1) {
            return "x".repeat(self.rng.random_range(200..20_000));
        }
        STRINGS
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("")
            .to_owned()
    }

    pub fn integer(&mut self) -> i64 {
        if self.rng.random_bool(0.3) {
            return self.rng.random_range(0..1000);
        }
        INTEGERS.choose(&mut self.rng).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fitting_values_fit_and_mutated_ones_mostly_do_not() {
        let components = json!({ "schemas": {
            "Line": { "type": "object", "required": ["sku", "quantity"], "additionalProperties": false,
                      "properties": { "sku": { "type": "string" }, "quantity": { "type": "integer" },
                                      "size": { "type": ["string", "null"] } } }
        } });
        let schema = json!({ "$ref": "#/components/schemas/Line" });
        let mut root = schema.clone();
        root["components"] = components.clone();
        let validator = jsonschema::validator_for(&root).expect("compiles");
        let mut generator = Generator::new(&components, StdRng::seed_from_u64(7));
        for _ in 0..200 {
            let value = generator.fitting(&schema);
            assert!(validator.is_valid(&value), "{value}");
        }
        let broken = (0..200)
            .filter(|_| !validator.is_valid(&generator.mutated(&schema)))
            .count();
        assert!(
            broken > 150,
            "only {broken} of 200 mutations broke the schema"
        );
    }
}
