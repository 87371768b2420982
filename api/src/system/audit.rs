//! `audit_logs`: every admin write records who did what to which record,
//! with the record before and after.

use axum::extract::State;
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::auth::{Admin, CurrentUser};
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::AppState;

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

    /// # Errors
    /// When the database refuses.
    pub async fn ensure_indexes(&self) -> Result<(), mongodb::error::Error> {
        for keys in [
            doc! { "at": -1 },
            doc! { "collection": 1, "record_id": 1, "at": -1 },
        ] {
            self.logs
                .create_index(mongodb::IndexModel::builder().keys(keys).build())
                .await?;
        }
        Ok(())
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

fn role_name(user: &CurrentUser) -> String {
    serde_json::to_value(&user.role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".to_owned())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    collection: Option<String>,
    record_id: Option<String>,
    /// At most 200; default 50.
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    at: String,
    actor: String,
    actor_role: String,
    action: String,
    collection: String,
    record_id: String,
    #[schema(value_type = Object)]
    before: serde_json::Value,
    #[schema(value_type = Object)]
    after: serde_json::Value,
}

/// Newest entries first.
#[utoipa::path(get, path = "/api/admin/audit-logs", tag = "system",
    params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 403, description = "not an admin")),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let mut filter = Document::new();
    if let Some(collection) = query.collection {
        filter.insert("collection", collection);
    }
    if let Some(record_id) = query.record_id {
        filter.insert("record_id", record_id);
    }
    let docs: Vec<Document> = state
        .audit
        .logs
        .find(filter)
        .sort(doc! { "at": -1, "_id": -1 })
        .limit(i64::from(query.limit.unwrap_or(50).clamp(1, 200)))
        .await?
        .try_collect()
        .await?;
    Ok(Json(
        docs.into_iter()
            .map(|d| AuditEntry {
                at: d
                    .get_datetime("at")
                    .ok()
                    .and_then(|t| t.try_to_rfc3339_string().ok())
                    .unwrap_or_default(),
                actor: d
                    .get_object_id("actor")
                    .map(ObjectId::to_hex)
                    .unwrap_or_default(),
                actor_role: d.get_str("actor_role").unwrap_or_default().to_owned(),
                action: d.get_str("action").unwrap_or_default().to_owned(),
                collection: d.get_str("collection").unwrap_or_default().to_owned(),
                record_id: d.get_str("record_id").unwrap_or_default().to_owned(),
                before: d
                    .get("before")
                    .map(|b| b.clone().into_relaxed_extjson())
                    .unwrap_or_default(),
                after: d
                    .get("after")
                    .map(|a| a.clone().into_relaxed_extjson())
                    .unwrap_or_default(),
            })
            .collect(),
    ))
}
