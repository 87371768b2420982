//! The admin's read-only views of the audit trail and the email outbox.

use axum::extract::State;
use axum::Json;
use mongodb::bson::{oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(list_emails))
}

/// At most 200 entries a page; 50 unless asked.
fn log_limit(asked: Option<u32>) -> i64 {
    i64::from(asked.unwrap_or(50).clamp(1, 200))
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
    let docs = state.audit.recent(filter, log_limit(query.limit)).await?;
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

#[derive(Debug, Deserialize, IntoParams)]
pub struct EmailQuery {
    /// `pending`, `sending`, `sent` or `failed`.
    status: Option<String>,
    /// For example `orders:65f0...`.
    related: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    id: String,
    to: String,
    template: String,
    subject: String,
    body: String,
    status: String,
    attempts: i32,
    related: String,
    created_at: String,
    sent_at: Option<String>,
    sender: Option<String>,
}

/// Newest first.
#[utoipa::path(get, path = "/api/admin/email-logs", tag = "system",
    params(EmailQuery),
    responses((status = 200, body = [EmailView]), (status = 403, description = "not an admin")),
    security(("bearer" = [])))]
pub async fn list_emails(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<EmailQuery>,
) -> Result<Json<Vec<EmailView>>, ApiError> {
    let mut filter = Document::new();
    if let Some(status) = query.status {
        filter.insert("status", status);
    }
    if let Some(related) = query.related {
        filter.insert("related", related);
    }
    let docs = state.outbox.recent(filter, log_limit(query.limit)).await?;
    let time = |t: DateTime| t.try_to_rfc3339_string().unwrap_or_default();
    Ok(Json(
        docs.into_iter()
            .map(|d| EmailView {
                id: d.id.to_hex(),
                to: d.to,
                template: d.template,
                subject: d.subject,
                body: d.body,
                status: d.status,
                attempts: d.attempts,
                related: d.related,
                created_at: time(d.created_at),
                sent_at: d.sent_at.map(time),
                sender: d.sender,
            })
            .collect(),
    ))
}
