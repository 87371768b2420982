//! `ugc_deliverables`: an accepted creator submits post links; the brand
//! approves or asks for changes (every revision kept). The numbers a post
//! makes live in `metrics`, the ratings after approval in `ratings`. A creator
//! submits only while the campaign runs (published or paused, not closed)
//! and at most one deliverable per type the campaign asks for; both are
//! conditions of writes in the submission's transaction.

use crate::indexes::IndexSpec;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::{FutureExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::applications::{self, ApplicationStatus};
use super::campaign_docs as campaigns;
use super::common::http_url;
use super::notifications::{self, Notice};
use crate::db::{transaction, TxError};
use crate::fields;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::plain::rfc3339;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(approve))
        .routes(routes!(request_changes))
        .routes(routes!(resubmit))
}

pub const DELIVERABLES: &str = "ugc_deliverables";
pub const METRICS: &str = "ugc_metrics";
pub const RATINGS: &str = "ugc_ratings";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliverableStatus {
    Submitted,
    ChangesRequested,
    Approved,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revision {
    pub status: DeliverableStatus,
    pub post_url: String,
    pub file_url: Option<String>,
    pub note: String,
    pub at: DateTime,
    pub by: ObjectId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    status: DeliverableStatus,
    post_url: String,
    file_url: Option<String>,
    note: String,
    /// RFC 3339.
    at: String,
    /// Who: the creator submitting, the brand reviewing.
    by: String,
}

impl From<&Revision> for RevisionView {
    fn from(r: &Revision) -> Self {
        Self {
            status: r.status,
            post_url: r.post_url.clone(),
            file_url: r.file_url.clone(),
            note: r.note.clone(),
            at: rfc3339(r.at),
            by: r.by.to_hex(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverableDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub application_id: ObjectId,
    pub campaign_id: ObjectId,
    pub creator_user_id: ObjectId,
    pub brand_user_id: ObjectId,
    pub post_url: String,
    pub file_url: Option<String>,
    pub status: DeliverableStatus,
    pub history: Vec<Revision>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

pub(super) fn collection(db: &Database) -> Collection<DeliverableDoc> {
    db.collection(DELIVERABLES)
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::plain(DELIVERABLES, doc! { "campaign_id": 1, "created_at": -1 }),
        IndexSpec::plain(METRICS, doc! { "deliverable_id": 1, "reported_at": -1 }),
        IndexSpec::plain(METRICS, doc! { "campaign_id": 1 }),
        IndexSpec::unique_where(
            RATINGS,
            doc! { "deliverable_id": 1, "from_user": 1 },
            "objectId",
        ),
        IndexSpec::plain(RATINGS, doc! { "to_user": 1, "created_at": -1, "_id": -1 }),
        IndexSpec::legacy_id(DELIVERABLES),
        IndexSpec::legacy_id(METRICS),
        IndexSpec::legacy_id(RATINGS),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliverableView {
    id: String,
    application_id: String,
    campaign_id: String,
    post_url: String,
    file_url: Option<String>,
    status: DeliverableStatus,
    history: Vec<RevisionView>,
}

impl From<&DeliverableDoc> for DeliverableView {
    fn from(d: &DeliverableDoc) -> Self {
        Self {
            id: d.id.to_hex(),
            application_id: d.application_id.to_hex(),
            campaign_id: d.campaign_id.to_hex(),
            post_url: d.post_url.clone(),
            file_url: d.file_url.clone(),
            status: d.status,
            history: d.history.iter().map(RevisionView::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The published post (Instagram, TikTok or any http(s) link).
    post_url: String,
    /// Raw footage or files, an http(s) link.
    file_url: Option<String>,
    note: Option<String>,
}

fn parse_submission(input: Submission) -> Result<(String, Option<String>, String), ApiError> {
    Ok((
        http_url(&input.post_url, "post_url")?,
        input
            .file_url
            .filter(|f| !f.trim().is_empty())
            .map(|f| http_url(&f, "file_url"))
            .transpose()?,
        fields::optional_text(input.note.as_deref().unwrap_or(""), "note", 2000)?,
    ))
}

/// Submits a deliverable for an accepted application (its creator).
#[utoipa::path(post, path = "/api/ugc/applications/{id}/deliverables", tag = "ugc", request_body = Submission,
    responses((status = 201, body = DeliverableView), (status = 409, description = "the application is not accepted"),
        (status = 422, description = "invalid link")),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<Submission>,
) -> Result<(StatusCode, Json<DeliverableView>), ApiError> {
    let application = applications::visible(&state.db, &user, &id).await?;
    if application.creator_user_id != user.id {
        return Err(ApiError::forbidden("only the creator submits deliverables"));
    }
    if application.status != ApplicationStatus::Accepted {
        return Err(ApiError::conflict(
            "not-accepted",
            "deliverables follow an accepted application",
        ));
    }
    let (post_url, file_url, note) = parse_submission(input)?;
    let campaign = campaigns::collection(&state.db)
        .find_one(doc! { "_id": application.campaign_id })
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    let asked = i64::try_from(campaign.deliverable_types.len().max(1)).unwrap_or(1);
    let now = DateTime::now();
    let deliverable = DeliverableDoc {
        id: ObjectId::new(),
        application_id: application.id,
        campaign_id: application.campaign_id,
        creator_user_id: user.id,
        brand_user_id: application.brand_user_id,
        post_url: post_url.clone(),
        file_url: file_url.clone(),
        status: DeliverableStatus::Submitted,
        history: vec![Revision {
            status: DeliverableStatus::Submitted,
            post_url,
            file_url,
            note,
            at: now,
            by: user.id,
        }],
        created_at: now,
        updated_at: now,
    };
    let db = state.db.clone();
    transaction(&state.db, |session| {
        let (db, deliverable) = (db.clone(), deliverable.clone());
        async move {
            // Writing the campaign makes a concurrent close conflict with
            // this submission instead of slipping past it.
            let open = campaigns::collection(&db)
                .update_one(
                    doc! { "_id": deliverable.campaign_id, "status": { "$in": ["published", "paused"] } },
                    doc! { "$inc": { "deliverables_submitted": 1_i64 } },
                )
                .session(&mut *session)
                .await?;
            if open.matched_count == 0 {
                return Err(TxError::Abort(ApiError::conflict(
                    "campaign-closed",
                    "this campaign no longer takes deliverables",
                )));
            }
            let counted = applications::collection(&db)
                .update_one(
                    doc! { "_id": deliverable.application_id, "status": "accepted",
                           "deliverables": { "$not": { "$gte": asked } } },
                    doc! { "$inc": { "deliverables": 1_i64 } },
                )
                .session(&mut *session)
                .await?;
            if counted.matched_count == 0 {
                return Err(TxError::Abort(ApiError::conflict(
                    "deliverables-complete",
                    format!("the campaign asks for {asked} deliverables and all were submitted; resubmit one instead"),
                )));
            }
            collection(&db).insert_one(&deliverable).session(&mut *session).await?;
            Ok(())
        }
        .boxed()
    })
    .await?;
    notifications::notify(
        &state.db,
        Notice {
            user: deliverable.brand_user_id,
            kind: "deliverable-submitted",
            message: format!(
                "A deliverable is ready for review: {}",
                deliverable.post_url
            ),
            related: format!("{DELIVERABLES}:{}", deliverable.id.to_hex()),
        },
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(DeliverableView::from(&deliverable)),
    ))
}

pub(super) async fn visible(
    db: &Database,
    user: &CurrentUser,
    id: &str,
) -> Result<DeliverableDoc, ApiError> {
    let id = crate::db::resolve_id(db, DELIVERABLES, id, "deliverable").await?;
    collection(db)
        .find_one(doc! { "_id": id })
        .await?
        .filter(|d| user.is_admin() || d.creator_user_id == user.id || d.brand_user_id == user.id)
        .ok_or(ApiError::NotFound("deliverable"))
}

/// Applies a review step: `from` -> `to`, by the party allowed to take it.
async fn step(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    from: DeliverableStatus,
    to: DeliverableStatus,
    submission: Option<(String, Option<String>)>,
    note: String,
) -> Result<DeliverableDoc, ApiError> {
    let current = visible(&state.db, user, id).await?;
    let by_creator = to == DeliverableStatus::Submitted;
    let allowed = if by_creator {
        current.creator_user_id == user.id
    } else {
        current.brand_user_id == user.id || user.is_admin()
    };
    if !allowed {
        return Err(ApiError::forbidden(if by_creator {
            "only the creator resubmits"
        } else {
            "only the brand reviews"
        }));
    }
    let now = DateTime::now();
    let (post_url, file_url) =
        submission.unwrap_or_else(|| (current.post_url.clone(), current.file_url.clone()));
    let revision = Revision {
        status: to,
        post_url: post_url.clone(),
        file_url: file_url.clone(),
        note,
        at: now,
        by: user.id,
    };
    let status = |s: DeliverableStatus| mongodb::bson::to_bson(&s).map_err(anyhow::Error::from);
    let updated = collection(&state.db)
        .find_one_and_update(
            doc! { "_id": current.id, "status": status(from)? },
            doc! {
                "$set": { "status": status(to)?, "post_url": post_url, "file_url": file_url, "updated_at": now },
                "$push": { "history": mongodb::bson::to_bson(&revision).map_err(anyhow::Error::from)? },
            },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(|| ApiError::conflict("invalid-transition", "the deliverable is not at that step"))?;
    let (recipient, kind, message) = match to {
        DeliverableStatus::Submitted => (
            updated.brand_user_id,
            "deliverable-resubmitted",
            "A deliverable was resubmitted.",
        ),
        DeliverableStatus::ChangesRequested => (
            updated.creator_user_id,
            "changes-requested",
            "The brand asked for changes.",
        ),
        DeliverableStatus::Approved => (
            updated.creator_user_id,
            "deliverable-approved",
            "Your deliverable was approved.",
        ),
    };
    notifications::notify(
        &state.db,
        Notice {
            user: recipient,
            kind,
            message: message.to_owned(),
            related: format!("{DELIVERABLES}:{}", updated.id.to_hex()),
        },
    )
    .await;
    Ok(updated)
}

/// Approves a submitted deliverable (its brand).
#[utoipa::path(post, path = "/api/ugc/deliverables/{id}/approve", tag = "ugc",
    responses((status = 200, body = DeliverableView), (status = 409, description = "not awaiting review")),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DeliverableView>, ApiError> {
    let updated = step(
        &state,
        &user,
        &id,
        DeliverableStatus::Submitted,
        DeliverableStatus::Approved,
        None,
        String::new(),
    )
    .await?;
    Ok(Json(DeliverableView::from(&updated)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    note: String,
}

/// Asks the creator for changes (its brand), saying what.
#[utoipa::path(post, path = "/api/ugc/deliverables/{id}/request-changes", tag = "ugc", request_body = ChangeRequest,
    responses((status = 200, body = DeliverableView), (status = 409, description = "not awaiting review")),
    security(("bearer" = [])))]
pub async fn request_changes(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ChangeRequest>,
) -> Result<Json<DeliverableView>, ApiError> {
    let note = fields::text(&input.note, "note", 2000)?;
    let updated = step(
        &state,
        &user,
        &id,
        DeliverableStatus::Submitted,
        DeliverableStatus::ChangesRequested,
        None,
        note,
    )
    .await?;
    Ok(Json(DeliverableView::from(&updated)))
}

/// Resubmits after changes were requested (its creator).
#[utoipa::path(post, path = "/api/ugc/deliverables/{id}/resubmit", tag = "ugc", request_body = Submission,
    responses((status = 200, body = DeliverableView), (status = 409, description = "no changes were requested")),
    security(("bearer" = [])))]
pub async fn resubmit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<Submission>,
) -> Result<Json<DeliverableView>, ApiError> {
    let (post_url, file_url, note) = parse_submission(input)?;
    let updated = step(
        &state,
        &user,
        &id,
        DeliverableStatus::ChangesRequested,
        DeliverableStatus::Submitted,
        Some((post_url, file_url)),
        note,
    )
    .await?;
    Ok(Json(DeliverableView::from(&updated)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliverableQuery {
    campaign_id: Option<String>,
}

/// Deliverables the caller is party to.
#[utoipa::path(get, path = "/api/ugc/deliverables", tag = "ugc", params(DeliverableQuery),
    responses((status = 200, body = [DeliverableView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<DeliverableQuery>,
) -> Result<Json<Vec<DeliverableView>>, ApiError> {
    let mut filter = Document::new();
    if !user.is_admin() {
        filter.insert(
            "$or",
            vec![
                Bson::Document(doc! { "creator_user_id": user.id }),
                Bson::Document(doc! { "brand_user_id": user.id }),
            ],
        );
    }
    if let Some(campaign) = query.campaign_id {
        filter.insert(
            "campaign_id",
            crate::ugc::campaign_docs::resolve(&state.db, &campaign).await?,
        );
    }
    let docs: Vec<DeliverableDoc> = collection(&state.db)
        .find(filter)
        .sort(doc! { "created_at": -1, "_id": -1 })
        .limit(200)
        .await?
        .try_collect()
        .await?;
    Ok(Json(docs.iter().map(DeliverableView::from).collect()))
}

/// One deliverable with its history (its parties and admins).
#[utoipa::path(get, path = "/api/ugc/deliverables/{id}", tag = "ugc",
    responses((status = 200, body = DeliverableView), (status = 404, description = "no such deliverable of yours")),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DeliverableView>, ApiError> {
    Ok(Json(DeliverableView::from(
        &visible(&state.db, &user, &id).await?,
    )))
}
