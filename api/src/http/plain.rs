//! What a client sees of stored values: ids as hex strings, times as RFC
//! 3339, never BSON's extended JSON (`{"$oid": ...}`, `{"$date": ...}`),
//! which a client generated from the OpenAPI document cannot read.

use base64::Engine;
use mongodb::bson::{Bson, DateTime};
use serde_json::{Map, Number, Value};

/// `at` as RFC 3339; a time outside RFC 3339's years (which only a foreign
/// writer can store) as its milliseconds.
pub fn rfc3339(at: DateTime) -> String {
    at.try_to_rfc3339_string()
        .unwrap_or_else(|_| at.timestamp_millis().to_string())
}

/// A stored value (a setting, an audit snapshot, an old document's field)
/// as plain JSON.
pub fn plain_json(value: Bson) -> Value {
    match value {
        Bson::Null | Bson::Undefined | Bson::MaxKey | Bson::MinKey | Bson::DbPointer(_) => {
            Value::Null
        }
        Bson::Boolean(b) => Value::Bool(b),
        Bson::Int32(n) => Value::from(n),
        Bson::Int64(n) => Value::from(n),
        Bson::Double(n) => Number::from_f64(n).map_or(Value::Null, Value::Number),
        Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => Value::String(s),
        Bson::JavaScriptCodeWithScope(code) => Value::String(code.code),
        Bson::ObjectId(id) => Value::String(id.to_hex()),
        Bson::DateTime(at) => Value::String(rfc3339(at)),
        Bson::Timestamp(t) => Value::from(t.time),
        Bson::Decimal128(d) => Value::String(d.to_string()),
        Bson::RegularExpression(r) => Value::String(format!("/{}/{}", r.pattern, r.options)),
        Bson::Binary(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b.bytes)),
        Bson::Array(items) => Value::Array(items.into_iter().map(plain_json).collect()),
        Bson::Document(document) => Value::Object(
            document
                .into_iter()
                .map(|(k, v)| (k, plain_json(v)))
                .collect::<Map<String, Value>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, oid::ObjectId};

    #[test]
    fn ids_and_times_become_strings_at_any_depth() {
        let id = ObjectId::new();
        let at = DateTime::from_millis(1_700_000_000_000);
        let value = plain_json(Bson::Document(doc! {
            "_id": id, "lines": [{ "at": at, "n": 3_i64 }], "price": 1.5,
        }));
        assert_eq!(
            value,
            serde_json::json!({
                "_id": id.to_hex(),
                "lines": [{ "at": "2023-11-14T22:13:20Z", "n": 3 }],
                "price": 1.5,
            })
        );
    }
}
