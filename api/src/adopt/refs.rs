//! References between old documents are the old string ids (`user_id`,
//! `product_id`, ...). After adoption they name our ObjectIds, so an order
//! still belongs to its user and lists its products. The index maps every
//! old id, whether still in `id` or already kept as `legacy_id`, to the
//! document's `_id`, so a dry run resolves what an apply will.

use std::collections::HashMap;

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::Database;

/// Old id -> `_id`, per referenced collection.
#[derive(Debug, Default, Clone)]
pub struct RefIndex {
    by_collection: HashMap<&'static str, HashMap<String, ObjectId>>,
}

impl RefIndex {
    /// Reads the old ids of `collections`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn load(db: &Database, collections: &[&'static str]) -> mongodb::error::Result<Self> {
        let mut index = Self::default();
        for &collection in collections {
            let mut cursor = db
                .collection::<Document>(collection)
                .find(doc! {})
                .projection(doc! { "_id": 1, "id": 1, "legacy_id": 1 })
                .await?;
            let map = index.by_collection.entry(collection).or_default();
            while let Some(stored) = cursor.try_next().await? {
                let Some(Bson::ObjectId(oid)) = stored.get("_id") else {
                    continue;
                };
                for field in ["legacy_id", "id"] {
                    if let Some(Bson::String(old)) = stored.get(field) {
                        map.insert(old.clone(), *oid);
                    }
                }
            }
        }
        Ok(index)
    }

    /// The `_id` a reference names: an ObjectId already, its hex, or an
    /// old id of `collection`.
    pub fn resolve(&self, collection: &str, value: &Bson) -> Option<ObjectId> {
        match value {
            Bson::ObjectId(id) => Some(*id),
            Bson::String(text) => ObjectId::parse_str(text).ok().or_else(|| {
                self.by_collection
                    .get(collection)
                    .and_then(|map| map.get(text.trim()))
                    .copied()
            }),
            _ => None,
        }
    }
}
