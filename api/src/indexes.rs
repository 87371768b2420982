//! The indexes every domain asks for, created at start-up over data we did
//! not write. The database Avenue already runs holds documents from the old
//! back end: a unique index over `slug` fails with E11000 when a few hundred
//! products have none. So unique indexes cover only documents that hold the
//! field in our shape (a partial filter), and an index the data refuses is
//! reported (log and storage status), never a reason not to start.

use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};
use serde::Serialize;
use utoipa::ToSchema;

/// One index a domain needs.
#[derive(Debug, Clone)]
pub struct IndexSpec {
    pub collection: &'static str,
    keys: Document,
    options: IndexOptions,
}

impl IndexSpec {
    /// A plain (non-unique) index.
    pub fn plain(collection: &'static str, keys: Document) -> Self {
        Self {
            collection,
            keys,
            options: IndexOptions::default(),
        }
    }

    /// A unique index over the documents where every key field has BSON
    /// type `bson_type` (`"string"`, `"objectId"`): documents written by
    /// the old back end that lack the field, or hold it in another type,
    /// are outside it instead of colliding on `null`. Named apart from
    /// the default name, so an older index over the same keys does not
    /// make its creation fail.
    pub fn unique_where(collection: &'static str, keys: Document, bson_type: &str) -> Self {
        let mut filter = Document::new();
        let mut name = String::new();
        for (field, _) in &keys {
            filter.insert(field.clone(), doc! { "$type": bson_type });
            name.push_str(field);
            name.push('_');
        }
        name.push_str("unique");
        Self::unique_filtered(collection, keys, filter, name)
    }

    /// A unique index over the documents `filter` selects, named `name`.
    pub fn unique_filtered(
        collection: &'static str,
        keys: Document,
        filter: Document,
        name: String,
    ) -> Self {
        Self {
            collection,
            keys,
            options: IndexOptions::builder()
                .unique(true)
                .partial_filter_expression(filter)
                .name(name)
                .build(),
        }
    }

    /// A TTL index: documents go once `field` (a date) is in the past.
    pub fn expiring(collection: &'static str, field: &str, name: &str) -> Self {
        Self {
            collection,
            keys: doc! { field: 1 },
            options: IndexOptions::builder()
                .expire_after(Duration::ZERO)
                .name(name.to_owned())
                .build(),
        }
    }

    /// The old string id, kept by `adopt-data` so old links still resolve.
    pub fn legacy_id(collection: &'static str) -> Self {
        Self::unique_where(collection, doc! { "legacy_id": 1 }, "string")
    }

    fn label(&self) -> String {
        let keys: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        format!("{}({})", self.collection, keys.join(","))
    }
}

/// An index that could not be created, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndexProblem {
    pub collection: String,
    /// The keys, as `collection(a,b)`.
    pub index: String,
    /// The server's words, e.g. `E11000 duplicate key ...`.
    pub error: String,
}

/// What start-up could not create; empty when every index exists.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct IndexReport {
    pub problems: Vec<IndexProblem>,
}

/// Creates every index in `specs`, one at a time, and reports the ones the
/// data or the server refused instead of failing: the service starts, the
/// operator sees what to repair (`adopt-data`, or a duplicate to merge).
///
/// # Errors
/// Only when the database cannot be reached at all.
pub async fn ensure(db: &Database, specs: &[IndexSpec]) -> anyhow::Result<Arc<IndexReport>> {
    db.run_command(doc! { "ping": 1 })
        .await
        .map_err(|err| anyhow::anyhow!("MongoDB is not reachable: {err}"))?;
    let mut report = IndexReport::default();
    for spec in specs {
        let model = IndexModel::builder()
            .keys(spec.keys.clone())
            .options(spec.options.clone())
            .build();
        if let Err(err) = db
            .collection::<Document>(spec.collection)
            .create_index(model)
            .await
        {
            if avenue_shared::db::unavailable_in_chain(&err) {
                return Err(anyhow::anyhow!("MongoDB went away creating indexes: {err}"));
            }
            tracing::warn!(index = %spec.label(), error = %err,
                "index not created; the service runs without it (see /api/shop/debug/storage-status)");
            report.problems.push(IndexProblem {
                collection: spec.collection.to_owned(),
                index: spec.label(),
                error: err.to_string(),
            });
        }
    }
    Ok(Arc::new(report))
}
