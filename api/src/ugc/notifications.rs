//! `ugc_notifications`: what happened to a user's campaigns, applications
//! and deliverables; listed with an unread count, marked read one by one
//! or all at once. Only their recipient sees them.

use crate::indexes::IndexSpec;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
}

pub const NOTIFICATIONS: &str = "ugc_notifications";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub kind: String,
    pub message: String,
    pub related: String,
    pub read: bool,
    pub created_at: DateTime,
}

fn collection(db: &Database) -> Collection<NotificationDoc> {
    db.collection(NOTIFICATIONS)
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::plain(
            NOTIFICATIONS,
            doc! { "user_id": 1, "read": 1, "created_at": -1 },
        ),
        IndexSpec::legacy_id(NOTIFICATIONS),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    id: String,
    kind: String,
    message: String,
    related: String,
    read: bool,
    created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    items: Vec<NotificationView>,
    unread: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct NotificationQuery {
    unread_only: Option<bool>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// The caller's notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/ugc/notifications", tag = "ugc", params(NotificationQuery),
    responses((status = 200, body = NotificationPage)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<NotificationQuery>,
) -> Result<Json<NotificationPage>, ApiError> {
    let notifications = collection(&state.db);
    let mut filter = doc! { "user_id": user.id };
    if query.unread_only == Some(true) {
        filter.insert("read", false);
    }
    let docs: Vec<NotificationDoc> = crate::db::find_page(
        &notifications,
        filter,
        doc! { "created_at": -1, "_id": -1 },
        crate::db::Page::of(query.page, query.limit),
    )
    .await?;
    let unread = notifications
        .count_documents(doc! { "user_id": user.id, "read": false })
        .await?;
    Ok(Json(NotificationPage {
        items: docs
            .into_iter()
            .map(|n| NotificationView {
                id: n.id.to_hex(),
                kind: n.kind,
                message: n.message,
                related: n.related,
                read: n.read,
                created_at: n.created_at.try_to_rfc3339_string().unwrap_or_default(),
            })
            .collect(),
        unread,
    }))
}

/// Marks one notification read; someone else's is 404.
#[utoipa::path(post, path = "/api/ugc/notifications/{id}/read", tag = "ugc",
    responses((status = 204), (status = 404, description = "no such notification of yours")),
    security(("bearer" = [])))]
pub async fn mark_read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = crate::db::resolve_id(&state.db, NOTIFICATIONS, &id, "notification").await?;
    let marked = collection(&state.db)
        .update_one(
            doc! { "_id": id, "user_id": user.id },
            doc! { "$set": { "read": true } },
        )
        .await?;
    if marked.matched_count == 0 {
        return Err(ApiError::NotFound("notification"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Marks every notification of the caller read.
#[utoipa::path(post, path = "/api/ugc/notifications/read-all", tag = "ugc",
    responses((status = 204)), security(("bearer" = [])))]
pub async fn mark_all_read(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode, ApiError> {
    collection(&state.db)
        .update_many(
            doc! { "user_id": user.id, "read": false },
            doc! { "$set": { "read": true } },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Something that happened, for `user` to read.
pub struct Notice {
    pub user: ObjectId,
    pub kind: &'static str,
    pub message: String,
    /// `collection:id` of what it is about.
    pub related: String,
}

fn notification(notice: Notice) -> NotificationDoc {
    NotificationDoc {
        id: ObjectId::new(),
        user_id: notice.user,
        kind: notice.kind.to_owned(),
        message: notice.message,
        related: notice.related,
        read: false,
        created_at: DateTime::now(),
    }
}

/// Records `notice` inside the transaction of the change it reports.
///
/// # Errors
/// Database failures (the transaction retries or fails as a whole).
pub async fn notify_in(
    db: &Database,
    session: &mut ClientSession,
    notice: Notice,
) -> Result<(), mongodb::error::Error> {
    db.collection::<NotificationDoc>(NOTIFICATIONS)
        .insert_one(notification(notice))
        .session(session)
        .await?;
    Ok(())
}

/// Records `notice` after a single-document change; a failure is logged
/// (the change itself stands).
pub async fn notify(db: &Database, notice: Notice) {
    if let Err(err) = db
        .collection::<NotificationDoc>(NOTIFICATIONS)
        .insert_one(notification(notice))
        .await
    {
        tracing::error!(error = %err, "notification lost");
    }
}
