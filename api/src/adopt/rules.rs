//! `--rules FILE`: what the defaults cannot guess, per collection.
//!
//! ```toml
//! [shop_products.rename]          # legacy field = our field
//! nombre = "name"
//! [orders.values.status]          # legacy value = our value
//! pendiente = "pending"
//! ```

use std::collections::BTreeMap;

use mongodb::bson::Bson;
use serde::Deserialize;

use super::Draft;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionRules {
    /// Legacy field name to our field name.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Per field: legacy value (as text) to our value.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

/// Rules for every collection; empty by default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Rules {
    collections: BTreeMap<String, CollectionRules>,
}

impl Rules {
    /// # Errors
    /// When the text is not TOML of the documented shape, naming where.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|err| err.to_string())
    }

    /// Renames, then value maps. A rename never overwrites a field that is
    /// already there (the document is then left for the converter to judge).
    pub fn apply(&self, collection: &str, draft: &mut Draft) {
        let Some(rules) = self.collections.get(collection) else {
            return;
        };
        for (legacy, ours) in &rules.rename {
            if draft.doc.contains_key(ours) {
                continue;
            }
            if let Some(value) = draft.doc.remove(legacy) {
                draft.doc.insert(ours.clone(), value);
                draft.note(format!("{legacy}: renamed to {ours} (rules)"));
            }
        }
        for (field, map) in &rules.values {
            let current = match draft.doc.get(field) {
                Some(Bson::String(s)) => s.clone(),
                Some(Bson::Boolean(b)) => b.to_string(),
                Some(Bson::Int32(n)) => n.to_string(),
                Some(Bson::Int64(n)) => n.to_string(),
                _ => continue,
            };
            if let Some(ours) = map.get(&current) {
                if Some(&Bson::String(ours.clone())) != draft.doc.get(field) {
                    draft.doc.insert(field.clone(), ours.clone());
                    draft.note(format!("{field}: '{current}' mapped to '{ours}' (rules)"));
                }
            }
        }
    }

    /// The collections the rules name, to warn about ones no converter has.
    pub fn collections(&self) -> impl Iterator<Item = &str> {
        self.collections.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    #[test]
    fn the_documented_form_renames_and_maps() {
        let rules = Rules::parse(
            "[shop_products.rename]\nnombre = \"name\"\n[orders.values.status]\npendiente = \"pending\"\n",
        )
        .expect("parses");
        let mut product = Draft::new("shop_products", &doc! { "nombre": "Vestido" }, &rules);
        assert_eq!(product.doc, doc! { "name": "Vestido" });
        product.changes.clear();
        let order = Draft::new("orders", &doc! { "status": "pendiente" }, &rules);
        assert_eq!(order.doc, doc! { "status": "pending" });
        assert!(Rules::parse("[orders]\nrenamed = 1\n").is_err());
    }
}
