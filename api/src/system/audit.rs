//! `audit_logs`: every admin write records who did what to which record,
//! with the record before and after.

use crate::indexes::IndexSpec;
use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::{Collection, Database};
use serde::Serialize;

use crate::users::model::CurrentUser;

pub const AUDIT_LOGS: &str = "audit_logs";

#[derive(Clone)]
pub struct AuditLog {
    logs: Collection<Document>,
}

impl AuditLog {
    pub fn new(db: &Database) -> Self {
        Self {
            logs: db.collection(AUDIT_LOGS),
        }
    }

    pub fn indexes() -> Vec<IndexSpec> {
        vec![
            IndexSpec::plain(AUDIT_LOGS, doc! { "at": -1 }),
            IndexSpec::plain(
                AUDIT_LOGS,
                doc! { "collection": 1, "record_id": 1, "at": -1 },
            ),
        ]
    }

    /// Records one write. A failure here is logged loudly but does not undo
    /// the write it describes.
    pub async fn record<B: Serialize, A: Serialize>(
        &self,
        actor: &CurrentUser,
        action: &str,
        collection: &str,
        record_id: &str,
        before: Option<&B>,
        after: Option<&A>,
    ) {
        let to_bson = |value: Option<Bson>| value.unwrap_or(Bson::Null);
        let entry = doc! {
            "at": DateTime::now(),
            "actor": actor.id,
            "actor_role": Bson::String(role_name(actor)),
            "action": action,
            "collection": collection,
            "record_id": record_id,
            "before": to_bson(before.and_then(|b| mongodb::bson::to_bson(b).ok())),
            "after": to_bson(after.and_then(|a| mongodb::bson::to_bson(a).ok())),
        };
        if let Err(err) = self.logs.insert_one(entry).await {
            tracing::error!(error = %err, %action, %record_id, "audit log entry lost");
        }
    }
}

impl AuditLog {
    /// Newest entries matching `filter` first.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn recent(
        &self,
        filter: Document,
        limit: i64,
    ) -> Result<Vec<Document>, mongodb::error::Error> {
        crate::db::newest_first(&self.logs, filter, "at", limit).await
    }
}

fn role_name(user: &CurrentUser) -> String {
    serde_json::to_value(&user.role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".to_owned())
}
