//! `ugc_campaigns`: a brand drafts, publishes, pauses and closes
//! campaigns. Publishing for the first time uses one campaign of the
//! brand's running package, in one transaction with the status change, so
//! concurrent publishes cannot exceed the quota.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::FutureExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::Database;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::applications::APPLICATIONS;
use super::campaign_docs::{
    collection, CampaignDoc, CampaignStatus, CampaignView, DeliverableType, Requirements, CAMPAIGNS,
};
use super::common;
use super::notifications::{self, Notice};
use super::profiles::{self, brands, BrandDoc, SubscriptionStatus};
use crate::db::{transaction, TxError};
use crate::fields;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::shop::money::Money;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(publish))
        .routes(routes!(pause))
        .routes(routes!(close))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    title: String,
    description: Option<String>,
    budget: i64,
    deliverable_types: Vec<DeliverableType>,
    /// RFC 3339.
    deadline: String,
    #[serde(default)]
    requirements: Requirements,
    slots: i64,
}

/// A campaign's terms, checked.
struct Terms {
    title: String,
    description: String,
    budget: i64,
    deliverable_types: Vec<DeliverableType>,
    deadline: DateTime,
    requirements: Requirements,
    slots: i64,
}

fn parse_input(input: CampaignInput) -> Result<Terms, ApiError> {
    let deadline = OffsetDateTime::parse(&input.deadline, &Rfc3339).map_err(|_| {
        ApiError::invalid(
            "deadline",
            "an RFC 3339 time such as 2026-12-20T18:00:00-03:00",
        )
    })?;
    if deadline <= OffsetDateTime::now_utc() {
        return Err(ApiError::invalid(
            "deadline",
            "the deadline is in the future",
        ));
    }
    if input.deliverable_types.is_empty() {
        return Err(ApiError::invalid(
            "deliverable_types",
            "at least one deliverable type",
        ));
    }
    if !(1..=100).contains(&input.slots) {
        return Err(ApiError::invalid("slots", "1 to 100 creators"));
    }
    let mut types = input.deliverable_types;
    types.dedup();
    Ok(Terms {
        title: fields::text(&input.title, "title", 150)?,
        description: fields::optional_text(
            input.description.as_deref().unwrap_or(""),
            "description",
            5000,
        )?,
        budget: Money::parse(input.budget, "budget")?.amount(),
        deliverable_types: types,
        deadline: DateTime::from_millis((deadline.unix_timestamp_nanos() / 1_000_000) as i64),
        requirements: Requirements {
            min_level: input.requirements.min_level,
            niches: common::niches(&input.requirements.niches, "requirements.niches")?,
        },
        slots: input.slots,
    })
}

/// Drafts a campaign for the caller's brand.
#[utoipa::path(post, path = "/api/ugc/campaigns", tag = "ugc", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 403, description = "not a brand"),
        (status = 409, description = "no brand profile yet"), (status = 422, description = "invalid field")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    let brand = profiles::mine::<BrandDoc>(&state.db, &user).await?;
    let terms = parse_input(input)?;
    let now = DateTime::now();
    let campaign = CampaignDoc {
        id: ObjectId::new(),
        brand_id: brand.id,
        brand_user_id: user.id,
        title: terms.title,
        description: terms.description,
        budget: terms.budget,
        deliverable_types: terms.deliverable_types,
        deadline: terms.deadline,
        requirements: terms.requirements,
        slots: terms.slots,
        accepted: 0,
        status: CampaignStatus::Draft,
        counted: false,
        created_at: now,
        updated_at: now,
    };
    collection(&state.db).insert_one(&campaign).await?;
    Ok((StatusCode::CREATED, Json(CampaignView::from(&campaign))))
}

/// A campaign the caller may manage: its brand, or an admin.
async fn managed(db: &Database, user: &CurrentUser, id: &str) -> Result<CampaignDoc, ApiError> {
    let id = super::campaign_docs::resolve(db, id).await?;
    let campaign = collection(db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    if user.is_admin() || campaign.brand_user_id == user.id {
        Ok(campaign)
    } else if campaign.status == CampaignStatus::Published {
        Err(ApiError::forbidden("only the campaign's brand manages it"))
    } else {
        Err(ApiError::NotFound("campaign"))
    }
}

/// Replaces a draft or paused campaign's terms (its brand).
#[utoipa::path(put, path = "/api/ugc/campaigns/{id}", tag = "ugc", request_body = CampaignInput,
    responses((status = 200, body = CampaignView), (status = 409, description = "published or closed")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<Json<CampaignView>, ApiError> {
    let before = managed(&state.db, &user, &id).await?;
    let terms = parse_input(input)?;
    let slots = terms.slots;
    // Checked in the write itself: accepts move `accepted` concurrently.
    let updated = collection(&state.db)
        .find_one_and_update(
            doc! { "_id": before.id, "status": { "$in": ["draft", "paused"] },
                   "accepted": { "$lte": slots } },
            doc! { "$set": {
                "title": terms.title, "description": terms.description, "budget": terms.budget,
                "deliverable_types": mongodb::bson::to_bson(&terms.deliverable_types).map_err(anyhow::Error::from)?,
                "deadline": terms.deadline,
                "requirements": mongodb::bson::to_bson(&terms.requirements).map_err(anyhow::Error::from)?,
                "slots": terms.slots, "updated_at": DateTime::now(),
            } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?;
    let Some(updated) = updated else {
        let now = managed(&state.db, &user, &id).await?;
        return Err(if now.accepted > slots {
            ApiError::invalid(
                "slots",
                format!("{} creators are already accepted", now.accepted),
            )
        } else {
            ApiError::conflict(
                "invalid-transition",
                "only draft or paused campaigns are edited; pause it first",
            )
        });
    };
    Ok(Json(CampaignView::from(&updated)))
}

/// Deletes a draft (its brand or an admin). Once published a campaign has
/// applications and counts against the plan: close it instead (409).
#[utoipa::path(delete, path = "/api/ugc/campaigns/{id}", tag = "ugc",
    responses((status = 204), (status = 404, description = "no such campaign"),
        (status = 409, description = "not a draft")),
    security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let campaign = managed(&state.db, &user, &id).await?;
    let removed = collection(&state.db)
        .delete_one(doc! { "_id": campaign.id, "status": "draft", "counted": { "$ne": true } })
        .await?;
    if removed.deleted_count == 0 {
        return Err(ApiError::conflict(
            "not-a-draft",
            "only drafts are deleted; close a published campaign instead",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Moves `campaign` from one of `from` to `to`, conditionally.
async fn transition(
    db: &Database,
    campaign: &CampaignDoc,
    from: &[CampaignStatus],
    to: CampaignStatus,
) -> Result<CampaignDoc, ApiError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    collection(db)
        .find_one_and_update(
            doc! { "_id": campaign.id, "status": { "$in": &from } },
            doc! { "$set": { "status": to.as_str(), "updated_at": DateTime::now() } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "invalid-transition",
                format!(
                    "a {} campaign cannot become {}",
                    campaign.status.as_str(),
                    to.as_str()
                ),
            )
        })
}

/// Publishes a draft (using one campaign of the package) or resumes a
/// paused campaign (free).
#[utoipa::path(post, path = "/api/ugc/campaigns/{id}/publish", tag = "ugc",
    responses((status = 200, body = CampaignView),
        (status = 409, description = "quota used up, no running package, or not publishable")),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let campaign = managed(&state.db, &user, &id).await?;
    if campaign.counted {
        return Ok(Json(CampaignView::from(
            &transition(
                &state.db,
                &campaign,
                &[CampaignStatus::Paused],
                CampaignStatus::Published,
            )
            .await?,
        )));
    }
    if campaign.deadline <= DateTime::now() {
        return Err(ApiError::unprocessable(
            "deadline-passed",
            "move the deadline before publishing",
        ));
    }
    let db = state.db.clone();
    let published = transaction(&state.db, |session| {
        let (db, campaign) = (db.clone(), campaign.clone());
        async move {
            let brand: BrandDoc = brands(&db)
                .find_one(doc! { "_id": campaign.brand_id })
                .session(&mut *session)
                .await?
                .ok_or(ApiError::NotFound("brand"))?;
            let now = DateTime::now();
            let subscription = brand
                .subscription
                .filter(|s| s.ends_at > now)
                .ok_or_else(|| {
                    ApiError::conflict("no-package", "subscribe to a package to publish campaigns")
                })?;
            if subscription.status != SubscriptionStatus::Active {
                return Err(TxError::Abort(ApiError::conflict(
                    "payment-pending",
                    format!(
                        "the {} package is not paid yet; campaigns publish once it is activated",
                        subscription.name
                    ),
                )));
            }
            if subscription.used >= subscription.quota {
                return Err(TxError::Abort(ApiError::conflict(
                    "quota-exceeded",
                    format!(
                        "the {} package allows {} campaigns",
                        subscription.name, subscription.quota
                    ),
                )));
            }
            let counted = brands(&db)
                .update_one(
                    // The quota is compared in the write, with the plan as
                    // stored now (a new subscription may have replaced it).
                    doc! { "_id": brand.id, "subscription.used": subscription.used,
                    "subscription.status": { "$ne": "pending" },
                    "subscription.ends_at": { "$gt": now },
                    "$expr": { "$lt": ["$subscription.used", "$subscription.quota"] } },
                    doc! { "$inc": { "subscription.used": 1 } },
                )
                .session(&mut *session)
                .await?;
            if counted.matched_count == 0 {
                return Err(TxError::Retry);
            }
            let published = collection(&db)
                .find_one_and_update(
                    doc! { "_id": campaign.id, "status": "draft", "counted": false },
                    doc! { "$set": { "status": "published", "counted": true, "updated_at": now } },
                )
                .return_document(mongodb::options::ReturnDocument::After)
                .session(&mut *session)
                .await?
                .ok_or_else(|| {
                    ApiError::conflict("invalid-transition", "only drafts are published")
                })?;
            Ok(published)
        }
        .boxed()
    })
    .await?;
    Ok(Json(CampaignView::from(&published)))
}

/// The caller's campaign `id` moved from one of `from` to `to`.
///
/// # Errors
/// 404/403 as [`managed`], 409 when the campaign is in no state of `from`.
async fn move_managed(
    db: &Database,
    user: &CurrentUser,
    id: &str,
    from: &[CampaignStatus],
    to: CampaignStatus,
) -> Result<CampaignDoc, ApiError> {
    let campaign = managed(db, user, id).await?;
    transition(db, &campaign, from, to).await
}

/// Pauses a published campaign: hidden from creators, applications stop.
#[utoipa::path(post, path = "/api/ugc/campaigns/{id}/pause", tag = "ugc",
    responses((status = 200, body = CampaignView), (status = 409, description = "not published")),
    security(("bearer" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let paused = move_managed(
        &state.db,
        &user,
        &id,
        &[CampaignStatus::Published],
        CampaignStatus::Paused,
    )
    .await?;
    Ok(Json(CampaignView::from(&paused)))
}

/// Closes a campaign for good; accepted creators are told.
#[utoipa::path(post, path = "/api/ugc/campaigns/{id}/close", tag = "ugc",
    responses((status = 200, body = CampaignView), (status = 409, description = "already closed or a draft")),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let closed = move_managed(
        &state.db,
        &user,
        &id,
        &[CampaignStatus::Published, CampaignStatus::Paused],
        CampaignStatus::Closed,
    )
    .await?;
    let campaign = &closed;
    let accepted: Vec<ObjectId> = state
        .db
        .collection::<Document>(APPLICATIONS)
        .distinct(
            "creator_user_id",
            doc! { "campaign_id": campaign.id, "status": "accepted" },
        )
        .await?
        .into_iter()
        .filter_map(|v| v.as_object_id())
        .collect();
    for creator in accepted {
        notifications::notify(
            &state.db,
            Notice {
                user: creator,
                kind: "campaign-closed",
                message: format!("The campaign \"{}\" is closed.", campaign.title),
                related: format!("{CAMPAIGNS}:{}", campaign.id.to_hex()),
            },
        )
        .await;
    }
    Ok(Json(CampaignView::from(&closed)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CampaignQuery {
    niche: Option<String>,
    deliverable_type: Option<DeliverableType>,
    min_budget: Option<i64>,
    /// Brands and admins: filter their campaigns by status.
    status: Option<CampaignStatus>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// Creators and customers browse published campaigns; a brand sees its
/// own in every state; admins see all.
#[utoipa::path(get, path = "/api/ugc/campaigns", tag = "ugc", params(CampaignQuery),
    responses((status = 200, body = [CampaignView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<CampaignQuery>,
) -> Result<Json<Vec<CampaignView>>, ApiError> {
    let mut filter = common::listing_for(&user, doc! { "status": "published" });
    if let Some(status) = query
        .status
        .filter(|_| user.is_admin() || user.role == avenue_shared::Role::Brand)
    {
        filter.insert("status", status.as_str());
    }
    if let Some(niche) = query.niche {
        filter.insert("requirements.niches", niche.to_lowercase());
    }
    if let Some(kind) = query.deliverable_type {
        filter.insert(
            "deliverable_types",
            mongodb::bson::to_bson(&kind).map_err(anyhow::Error::from)?,
        );
    }
    if let Some(min) = query.min_budget {
        filter.insert("budget", doc! { "$gte": min });
    }
    let docs: Vec<CampaignDoc> = crate::db::find_page(
        &collection(&state.db),
        filter,
        doc! { "created_at": -1, "_id": -1 },
        crate::db::Page::of(query.page, query.limit),
    )
    .await?;
    Ok(Json(docs.iter().map(CampaignView::from).collect()))
}

/// One campaign: published ones for everyone signed in, others for their
/// brand and admins.
#[utoipa::path(get, path = "/api/ugc/campaigns/{id}", tag = "ugc",
    responses((status = 200, body = CampaignView), (status = 404, description = "no such campaign")),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let id = super::campaign_docs::resolve(&state.db, &id).await?;
    let campaign = collection(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .filter(|c| {
            c.status == CampaignStatus::Published || user.is_admin() || c.brand_user_id == user.id
        })
        .ok_or(ApiError::NotFound("campaign"))?;
    Ok(Json(CampaignView::from(&campaign)))
}
