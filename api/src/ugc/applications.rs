//! `ugc_applications`: a creator applies once per campaign (409 on the
//! second); its brand accepts or rejects. Acceptance takes one of the
//! campaign's slots with a conditional increment, in one transaction with
//! the application's change, so concurrent accepts stop at the slot count.
//! A creator may withdraw an application until it is decided.

use crate::indexes::IndexSpec;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::FutureExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::campaign_docs::{self as campaigns, CampaignDoc, CampaignStatus, CAMPAIGNS};
use super::common;
use super::notifications::{self, Notice};
use super::profiles::{self, CreatorDoc};
use crate::db::OnDuplicate;
use crate::db::{transaction, TxError};
use crate::fields;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(apply))
        .routes(routes!(list))
        .routes(routes!(show, withdraw))
        .routes(routes!(accept))
        .routes(routes!(reject))
}

pub const APPLICATIONS: &str = "ugc_applications";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    Pending,
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplicationDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub campaign_id: ObjectId,
    pub creator_id: ObjectId,
    pub creator_user_id: ObjectId,
    pub brand_user_id: ObjectId,
    pub pitch: String,
    pub status: ApplicationStatus,
    pub created_at: DateTime,
    pub decided_at: Option<DateTime>,
}

pub fn collection(db: &Database) -> Collection<ApplicationDoc> {
    db.collection(APPLICATIONS)
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::unique_where(
            APPLICATIONS,
            doc! { "campaign_id": 1, "creator_id": 1 },
            "objectId",
        ),
        IndexSpec::plain(APPLICATIONS, doc! { "brand_user_id": 1, "created_at": -1 }),
        IndexSpec::plain(
            APPLICATIONS,
            doc! { "creator_user_id": 1, "created_at": -1 },
        ),
        IndexSpec::legacy_id(APPLICATIONS),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    id: String,
    campaign_id: String,
    creator_id: String,
    pitch: String,
    status: ApplicationStatus,
    created_at: String,
}

impl From<&ApplicationDoc> for ApplicationView {
    fn from(a: &ApplicationDoc) -> Self {
        Self {
            id: a.id.to_hex(),
            campaign_id: a.campaign_id.to_hex(),
            creator_id: a.creator_id.to_hex(),
            pitch: a.pitch.clone(),
            status: a.status,
            created_at: a.created_at.try_to_rfc3339_string().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    pitch: String,
}

/// Applies to a published campaign whose requirements the creator meets.
#[utoipa::path(post, path = "/api/ugc/campaigns/{id}/applications", tag = "ugc", request_body = ApplicationInput,
    responses((status = 201, body = ApplicationView),
        (status = 409, description = "already applied, or the campaign is not open"),
        (status = 422, description = "requirements not met")),
    security(("bearer" = [])))]
pub async fn apply(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ApplicationInput>,
) -> Result<(StatusCode, Json<ApplicationView>), ApiError> {
    let creator = profiles::mine::<CreatorDoc>(&state.db, &user).await?;
    let id = crate::ugc::campaign_docs::resolve(&state.db, &id).await?;
    let campaign = campaigns::collection(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .filter(|c| c.status != CampaignStatus::Draft)
        .ok_or(ApiError::NotFound("campaign"))?;
    if campaign.status != CampaignStatus::Published {
        return Err(ApiError::conflict(
            "campaign-not-open",
            "this campaign takes no applications now",
        ));
    }
    if campaign
        .requirements
        .min_level
        .is_some_and(|min| creator.level < min)
    {
        return Err(ApiError::unprocessable(
            "requirements-not-met",
            "your level is below the campaign's minimum",
        ));
    }
    let niches = &campaign.requirements.niches;
    if !niches.is_empty() && !niches.iter().any(|n| creator.niches.contains(n)) {
        return Err(ApiError::unprocessable(
            "requirements-not-met",
            format!("the campaign is for {}", niches.join(", ")),
        ));
    }
    let application = ApplicationDoc {
        id: ObjectId::new(),
        campaign_id: campaign.id,
        creator_id: creator.id,
        creator_user_id: user.id,
        brand_user_id: campaign.brand_user_id,
        pitch: fields::text(&input.pitch, "pitch", 2000)?,
        status: ApplicationStatus::Pending,
        created_at: DateTime::now(),
        decided_at: None,
    };
    collection(&state.db)
        .insert_one(&application)
        .await
        .on_duplicate(
            "already-applied",
            "you have applied to this campaign already",
        )?;
    notifications::notify(
        &state.db,
        Notice {
            user: campaign.brand_user_id,
            kind: "application-received",
            message: format!("{} applied to \"{}\".", creator.name, campaign.title),
            related: format!("{APPLICATIONS}:{}", application.id.to_hex()),
        },
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationView::from(&application)),
    ))
}

/// An application the caller is party to (its creator, its brand, an admin).
pub async fn visible(
    db: &Database,
    user: &CurrentUser,
    id: &str,
) -> Result<ApplicationDoc, ApiError> {
    let id = crate::db::resolve_id(db, APPLICATIONS, id, "application").await?;
    collection(db)
        .find_one(doc! { "_id": id })
        .await?
        .filter(|a| user.is_admin() || a.creator_user_id == user.id || a.brand_user_id == user.id)
        .ok_or(ApiError::NotFound("application"))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ApplicationQuery {
    campaign_id: Option<String>,
    status: Option<ApplicationStatus>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// A creator sees its own applications, a brand those to its campaigns,
/// an admin all.
#[utoipa::path(get, path = "/api/ugc/applications", tag = "ugc", params(ApplicationQuery),
    responses((status = 200, body = [ApplicationView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ApplicationQuery>,
) -> Result<Json<Vec<ApplicationView>>, ApiError> {
    let mut filter = common::listing_for(&user, doc! { "creator_user_id": user.id });
    if let Some(campaign) = query.campaign_id {
        filter.insert(
            "campaign_id",
            crate::ugc::campaign_docs::resolve(&state.db, &campaign).await?,
        );
    }
    if let Some(status) = query.status {
        filter.insert(
            "status",
            mongodb::bson::to_bson(&status).map_err(anyhow::Error::from)?,
        );
    }
    let docs: Vec<ApplicationDoc> = crate::db::find_page(
        &collection(&state.db),
        filter,
        doc! { "created_at": -1, "_id": -1 },
        crate::db::Page::of(query.page, query.limit),
    )
    .await?;
    Ok(Json(docs.iter().map(ApplicationView::from).collect()))
}

/// One application (its parties and admins).
#[utoipa::path(get, path = "/api/ugc/applications/{id}", tag = "ugc",
    responses((status = 200, body = ApplicationView), (status = 404, description = "no such application of yours")),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    Ok(Json(ApplicationView::from(
        &visible(&state.db, &user, &id).await?,
    )))
}

async fn decidable(
    db: &Database,
    user: &CurrentUser,
    id: &str,
) -> Result<(ApplicationDoc, CampaignDoc), ApiError> {
    let application = visible(db, user, id).await?;
    if !(user.is_admin() || application.brand_user_id == user.id) {
        return Err(ApiError::forbidden("only the campaign's brand decides"));
    }
    let campaign = campaigns::collection(db)
        .find_one(doc! { "_id": application.campaign_id })
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    Ok((application, campaign))
}

/// Accepts an application: one of the campaign's slots, atomically.
#[utoipa::path(post, path = "/api/ugc/applications/{id}/accept", tag = "ugc",
    responses((status = 200, body = ApplicationView),
        (status = 409, description = "campaign full or closed, or already decided")),
    security(("bearer" = [])))]
pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let (application, campaign) = decidable(&state.db, &user, &id).await?;
    let db = state.db.clone();
    let accepted = transaction(&state.db, |session| {
        let (db, application, campaign) = (db.clone(), application.clone(), campaign.clone());
        async move {
            let took = campaigns::collection(&db)
                .update_one(
                    // Against the slots stored now, not as read before: an
                    // edit lowering them races this write.
                    doc! { "_id": campaign.id, "status": { "$in": ["published", "paused"] },
                    "$expr": { "$lt": ["$accepted", "$slots"] } },
                    doc! { "$inc": { "accepted": 1 }, "$set": { "updated_at": DateTime::now() } },
                )
                .session(&mut *session)
                .await?;
            if took.matched_count == 0 {
                return Err(TxError::Abort(ApiError::conflict(
                    "campaign-full",
                    "all places are taken, or the campaign is closed",
                )));
            }
            let decided = collection(&db)
                .find_one_and_update(
                    doc! { "_id": application.id, "status": "pending" },
                    doc! { "$set": { "status": "accepted", "decided_at": DateTime::now() } },
                )
                .return_document(mongodb::options::ReturnDocument::After)
                .session(&mut *session)
                .await?
                .ok_or_else(|| {
                    ApiError::conflict("already-decided", "this application is already decided")
                })?;
            notifications::notify_in(
                &db,
                session,
                Notice {
                    user: application.creator_user_id,
                    kind: "application-accepted",
                    message: format!("You are in: \"{}\".", campaign.title),
                    related: format!("{APPLICATIONS}:{}", application.id.to_hex()),
                },
            )
            .await?;
            Ok(decided)
        }
        .boxed()
    })
    .await?;
    Ok(Json(ApplicationView::from(&accepted)))
}

/// Rejects a pending application.
#[utoipa::path(post, path = "/api/ugc/applications/{id}/reject", tag = "ugc",
    responses((status = 200, body = ApplicationView), (status = 409, description = "already decided")),
    security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let (application, campaign) = decidable(&state.db, &user, &id).await?;
    let rejected = collection(&state.db)
        .find_one_and_update(
            doc! { "_id": application.id, "status": "pending" },
            doc! { "$set": { "status": "rejected", "decided_at": DateTime::now() } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(|| {
            ApiError::conflict("already-decided", "this application is already decided")
        })?;
    notifications::notify(
        &state.db,
        Notice {
            user: application.creator_user_id,
            kind: "application-rejected",
            message: format!("Not this time: \"{}\".", campaign.title),
            related: format!("{CAMPAIGNS}:{}", campaign.id.to_hex()),
        },
    )
    .await;
    Ok(Json(ApplicationView::from(&rejected)))
}

/// Withdraws one's own pending application: it is removed, so the
/// creator may apply again while the campaign is open. A decided one is
/// the brand's to change (409).
#[utoipa::path(delete, path = "/api/ugc/applications/{id}", tag = "ugc",
    responses((status = 204), (status = 404, description = "no such application of yours"),
        (status = 403, description = "not the creator who applied"),
        (status = 409, description = "already accepted or rejected")),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let application = visible(&state.db, &user, &id).await?;
    if application.creator_user_id != user.id {
        return Err(ApiError::forbidden(
            "only the creator who applied withdraws",
        ));
    }
    // Conditional: an accept landing first keeps the application (and
    // the slot it took).
    let removed = collection(&state.db)
        .delete_one(doc! { "_id": application.id, "status": "pending" })
        .await?;
    if removed.deleted_count == 0 {
        return Err(ApiError::conflict(
            "already-decided",
            "this application is already decided; ask the brand",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
