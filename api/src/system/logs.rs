//! The admin's views of the audit trail and the email outbox, and the
//! outbox's one action: send a failed email again.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use mongodb::bson::{oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::plain::plain_json;
use crate::http::window::{next_page_header, Cursor, Window};
use crate::state::AppState;
use crate::system::email::{EmailDoc, Resend, EMAIL_LOGS};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(list_emails))
        .routes(routes!(resend_email))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    collection: Option<String>,
    record_id: Option<String>,
    /// The acting user's id.
    actor: Option<String>,
    /// For example `product.update`.
    action: Option<String>,
    /// Entries at or after this time (RFC 3339).
    since: Option<String>,
    /// Entries before this time (RFC 3339).
    until: Option<String>,
    /// The `x-next-cursor` of the previous page.
    before: Option<String>,
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
    #[schema(value_type = Value)]
    before: serde_json::Value,
    #[schema(value_type = Value)]
    after: serde_json::Value,
}

/// Newest entries first, a page at a time: a full page answers the
/// `x-next-cursor` header, to pass as `before` for the next.
#[utoipa::path(get, path = "/api/admin/audit-logs", tag = "system",
    params(AuditQuery),
    responses((status = 200, body = [AuditEntry],
            headers(("x-next-cursor" = String, description = "Present when more entries follow: the next page's `before`."))),
        (status = 400, description = "a cursor this api did not give"),
        (status = 403, description = "not an admin"),
        (status = 422, description = "`since` or `until` not RFC 3339, or since after until")),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<(HeaderMap, Json<Vec<AuditEntry>>), ApiError> {
    let window = Window::parse(
        query.since.as_deref(),
        query.until.as_deref(),
        query.before.as_deref(),
        query.limit,
    )?;
    let mut filter = Document::new();
    if let Some(collection) = query.collection {
        filter.insert("collection", collection);
    }
    if let Some(record_id) = query.record_id {
        filter.insert("record_id", record_id);
    }
    if let Some(action) = query.action {
        filter.insert("action", action);
    }
    if let Some(actor) = query.actor {
        let actor = ObjectId::parse_str(actor.trim())
            .map_err(|_| ApiError::invalid("actor", "a user id"))?;
        filter.insert("actor", actor);
    }
    window.narrow(&mut filter, "at");
    let docs = state.audit.recent(filter, window.limit).await?;
    let last = docs.last().and_then(|d| {
        Some(Cursor::new(
            *d.get_datetime("at").ok()?,
            d.get_object_id("_id").ok()?,
        ))
    });
    let headers = next_page_header(window.next(docs.len(), last));
    Ok((
        headers,
        Json(
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
                        .map(|b| plain_json(b.clone()))
                        .unwrap_or_default(),
                    after: d
                        .get("after")
                        .map(|a| plain_json(a.clone()))
                        .unwrap_or_default(),
                })
                .collect(),
        ),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EmailQuery {
    /// `pending`, `sending`, `sent` or `failed`.
    status: Option<String>,
    /// For example `orders:65f0...`.
    related: Option<String>,
    /// The recipient's address.
    to: Option<String>,
    /// For example `order-confirmation`.
    template: Option<String>,
    /// Emails written at or after this time (RFC 3339).
    since: Option<String>,
    /// Emails written before this time (RFC 3339).
    until: Option<String>,
    /// The `x-next-cursor` of the previous page.
    before: Option<String>,
    /// At most 200; default 50.
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    id: String,
    to: String,
    template: String,
    subject: String,
    /// The text part.
    body: String,
    html: Option<String>,
    /// `pending`, `sending`, `sent` or `failed`.
    status: String,
    attempts: i32,
    related: String,
    created_at: String,
    /// When a pending email is tried next.
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    sender: Option<String>,
    last_error: Option<String>,
    /// The latest attempts, oldest first.
    history: Vec<AttemptView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    at: String,
    /// `sent`, `error`, `failed` (given up) or `resend`.
    outcome: String,
    detail: Option<String>,
}

fn time(t: DateTime) -> String {
    t.try_to_rfc3339_string().unwrap_or_default()
}

impl From<EmailDoc> for EmailView {
    fn from(d: EmailDoc) -> Self {
        Self {
            id: d.id.to_hex(),
            to: d.to,
            template: d.template,
            subject: d.subject,
            body: d.body,
            html: d.html,
            status: d.status,
            attempts: d.attempts,
            related: d.related,
            created_at: time(d.created_at),
            next_attempt_at: d.next_attempt_at.map(time),
            sent_at: d.sent_at.map(time),
            sender: d.sender,
            last_error: d.last_error,
            history: d
                .history
                .into_iter()
                .map(|h| AttemptView {
                    at: time(h.at),
                    outcome: h.outcome,
                    detail: h.detail,
                })
                .collect(),
        }
    }
}

/// Newest first, a page at a time (`x-next-cursor`, as the audit log).
/// `?status=failed` lists what gave up and waits for an admin's resend.
#[utoipa::path(get, path = "/api/admin/email-logs", tag = "system",
    params(EmailQuery),
    responses((status = 200, body = [EmailView],
            headers(("x-next-cursor" = String, description = "Present when more emails follow: the next page's `before`."))),
        (status = 400, description = "a cursor this api did not give"),
        (status = 403, description = "not an admin"),
        (status = 422, description = "`since` or `until` not RFC 3339, or since after until")),
    security(("bearer" = [])))]
pub async fn list_emails(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<EmailQuery>,
) -> Result<(HeaderMap, Json<Vec<EmailView>>), ApiError> {
    let window = Window::parse(
        query.since.as_deref(),
        query.until.as_deref(),
        query.before.as_deref(),
        query.limit,
    )?;
    let mut filter = Document::new();
    for (field, value) in [
        ("status", query.status),
        ("related", query.related),
        ("to", query.to),
        ("template", query.template),
    ] {
        if let Some(value) = value {
            filter.insert(field, value);
        }
    }
    window.narrow(&mut filter, "created_at");
    let docs = state.outbox.recent(filter, window.limit).await?;
    let last = docs.last().map(|d| Cursor::new(d.created_at, d.id));
    let headers = next_page_header(window.next(docs.len(), last));
    Ok((
        headers,
        Json(docs.into_iter().map(EmailView::from).collect()),
    ))
}

/// Sends a `failed` (or `sent`) email again, exactly as it was written;
/// its attempts start afresh.
#[utoipa::path(post, path = "/api/admin/email-logs/{id}/resend", tag = "system",
    responses((status = 202, body = EmailView), (status = 404, description = "no such email"),
        (status = 409, description = "still pending or sending"),
        (status = 422, description = "an old back end's entry that cannot be read")),
    security(("bearer" = [])))]
pub async fn resend_email(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<EmailView>), ApiError> {
    let id = ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound("email"))?;
    match state.outbox.resend(id).await? {
        Resend::Queued(email) => {
            state
                .audit
                .record::<(), _>(
                    &admin,
                    "email.resend",
                    EMAIL_LOGS,
                    &id.to_hex(),
                    None,
                    Some(&serde_json::json!({ "to": email.to, "template": email.template })),
                )
                .await;
            Ok((StatusCode::ACCEPTED, Json(EmailView::from(*email))))
        }
        Resend::InFlight(why) => Err(ApiError::conflict("email-in-flight", why)),
    }
}
