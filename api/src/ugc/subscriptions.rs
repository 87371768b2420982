//! A brand's subscription to a package: subscribing (pending until paid
//! for a priced plan), an admin's activation, the brand cancelling, and
//! the history of every subscription that ended or was cancelled (kept in
//! `ugc_subscription_history`, written in the same transaction as the
//! change that closed it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::FutureExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{ClientSession, Database};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::packages::collection;
use super::profiles::{self, BrandDoc, SubscriptionView};
use super::profiles::{brands, BrandView, Subscription, SubscriptionStatus};
use crate::db::{transaction, DbError, Page};
use crate::http::auth::{Admin, CurrentUser};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::plain::rfc3339;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(subscribe, history))
        .routes(routes!(cancel))
        .routes(routes!(activate))
        .routes(routes!(cancel_for))
}

pub const HISTORY: &str = "ugc_subscription_history";

pub fn indexes() -> Vec<crate::indexes::IndexSpec> {
    vec![crate::indexes::IndexSpec::plain(
        HISTORY,
        doc! { "brand_id": 1, "closed_at": -1, "_id": -1 },
    )]
}

/// How a subscription left the brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Its period ran out (archived when the next one replaced it).
    Ended,
    /// The brand (or an admin) cancelled it.
    Cancelled,
}

/// Writes `old` to the history, inside `session`.
async fn archive(
    db: &Database,
    session: &mut ClientSession,
    brand: ObjectId,
    old: &Subscription,
    outcome: Outcome,
    closed_at: DateTime,
) -> Result<(), crate::db::TxError<ApiError>> {
    let old = mongodb::bson::to_bson(old).map_err(|e| ApiError::Internal(e.into()))?;
    archive_stored(db, session, brand, old, outcome, closed_at).await
}

/// Writes a subscription as stored (maybe the old back end's shape) to the
/// history, inside `session`.
pub(crate) async fn archive_stored(
    db: &Database,
    session: &mut ClientSession,
    brand: ObjectId,
    old: mongodb::bson::Bson,
    outcome: Outcome,
    closed_at: DateTime,
) -> Result<(), crate::db::TxError<ApiError>> {
    let entry = doc! {
        "brand_id": brand,
        "subscription": old,
        "outcome": mongodb::bson::to_bson(&outcome).map_err(|e| ApiError::Internal(e.into()))?,
        "closed_at": closed_at,
    };
    db.collection::<Document>(HISTORY)
        .insert_one(entry)
        .session(&mut *session)
        .await
        .map_err(DbError::from)
        .map_err(|e| crate::db::TxError::Abort(ApiError::from(e)))?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    package_id: String,
}

/// Subscribes the caller's brand to an active package. A brand with a
/// running subscription gets 409 until it ends.
#[utoipa::path(post, path = "/api/ugc/subscriptions", tag = "ugc", request_body = SubscribeRequest,
    responses((status = 201, body = BrandView), (status = 409, description = "already subscribed"),
        (status = 422, description = "no such active package")),
    security(("bearer" = [])))]
pub async fn subscribe(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<SubscribeRequest>,
) -> Result<(StatusCode, Json<BrandView>), ApiError> {
    let brand = profiles::mine::<BrandDoc>(&state.db, &user).await?;
    let package_id = mongodb::bson::oid::ObjectId::parse_str(&request.package_id)
        .map_err(|_| ApiError::invalid("package_id", "not a package id"))?;
    let package = collection(&state.db)
        .find_one(doc! { "_id": package_id, "active": true })
        .await?
        .ok_or_else(|| ApiError::invalid("package_id", "no such active package"))?;
    let now = DateTime::now();
    let ends_at = period_end(now, package.duration_days);
    let subscription = Subscription {
        package_id: package.id,
        name: package.name.clone(),
        quota: package.campaign_quota,
        used: 0,
        status: if package.price > 0 {
            SubscriptionStatus::Pending
        } else {
            SubscriptionStatus::Active
        },
        price: package.price,
        duration_days: package.duration_days,
        starts_at: now,
        ends_at,
    };
    let stored = mongodb::bson::to_bson(&subscription).map_err(anyhow::Error::from)?;
    // Only when no subscription is running: the check and the write are one
    // update; the one it replaces (ended) goes to the history with it.
    let db = state.db.clone();
    let replaced = transaction(&state.db, |session| {
        let (db, stored) = (db.clone(), stored.clone());
        async move {
            let before = brands(&db)
                .find_one_and_update(
                    doc! { "_id": brand.id, "$or": [
                        { "subscription": null },
                        { "subscription.ends_at": { "$lte": now } },
                    ] },
                    doc! { "$set": { "subscription": stored, "updated_at": now } },
                )
                .session(&mut *session)
                .await?
                .ok_or_else(|| {
                    ApiError::conflict(
                        "already-subscribed",
                        "the current subscription is still running",
                    )
                })?;
            if let Some(old) = &before.subscription {
                archive(&db, session, brand.id, old, Outcome::Ended, old.ends_at).await?;
            }
            Ok(())
        }
        .boxed()
    });
    replaced.await?;
    let updated = profiles::mine::<BrandDoc>(&state.db, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(BrandView::of(&updated, state.media_public_url())),
    ))
}

fn period_end(from: DateTime, days: i64) -> DateTime {
    DateTime::from_millis(
        from.timestamp_millis()
            .saturating_add(days.saturating_mul(86_400_000)),
    )
}

/// Activates a brand's pending subscription once it is paid (admin); its
/// period starts now. Activating twice is a 409, never a second period.
#[utoipa::path(post, path = "/api/ugc/brands/{id}/subscription/activate", tag = "ugc",
    responses((status = 200, body = BrandView), (status = 404, description = "no such brand"),
        (status = 409, description = "no pending subscription")),
    security(("bearer" = [])))]
pub async fn activate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<BrandView>, ApiError> {
    let id = crate::db::resolve_id(&state.db, crate::ugc::profiles::BRANDS, &id, "brand").await?;
    let before = brands(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("brand"))?;
    let pending = before
        .subscription
        .clone()
        .filter(|s| s.status == SubscriptionStatus::Pending)
        .ok_or_else(|| {
            ApiError::conflict(
                "not-pending",
                "this brand has no subscription awaiting payment",
            )
        })?;
    let now = DateTime::now();
    let days = if pending.duration_days > 0 {
        pending.duration_days
    } else {
        (pending.ends_at.timestamp_millis() - pending.starts_at.timestamp_millis()) / 86_400_000
    };
    let after = brands(&state.db)
        .find_one_and_update(
            doc! { "_id": id, "subscription.status": "pending", "subscription.package_id": pending.package_id },
            doc! { "$set": {
                "subscription.status": "active",
                "subscription.starts_at": now,
                "subscription.ends_at": period_end(now, days),
                "updated_at": now,
            } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(|| ApiError::conflict("not-pending", "the subscription changed meanwhile; reload it"))?;
    let base = state.media_public_url();
    let (before, after) = (BrandView::of(&before, base), BrandView::of(&after, base));
    state
        .audit
        .record(
            &admin,
            "subscription.activate",
            super::profiles::BRANDS,
            &id.to_hex(),
            Some(&before),
            Some(&after),
        )
        .await;
    Ok(Json(after))
}

/// A subscription that is over.
#[derive(Debug, Serialize, ToSchema)]
pub struct PastSubscription {
    #[serde(flatten)]
    subscription: SubscriptionView,
    outcome: Outcome,
    /// RFC 3339: when it ended or was cancelled.
    closed_at: String,
}

/// A brand's plan now and before.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscriptions {
    /// The running (or pending) subscription, if any.
    current: Option<SubscriptionView>,
    /// Those that ended or were cancelled, newest first.
    history: Vec<PastSubscription>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Admins: whose (a brand id); brands always see their own.
    brand_id: Option<String>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// The caller's brand's subscription and its history (admins: any
/// brand's, with `brand_id`).
#[utoipa::path(get, path = "/api/ugc/subscriptions", tag = "ugc", params(HistoryQuery),
    responses((status = 200, body = Subscriptions), (status = 404, description = "no such brand"),
        (status = 409, description = "no brand profile yet")),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<Subscriptions>, ApiError> {
    let brand: BrandDoc = match (&query.brand_id, user.is_admin()) {
        (Some(id), true) => profiles::by_id(&state.db, id).await?,
        _ => profiles::mine(&state.db, &user).await?,
    };
    let past: Vec<Document> = crate::db::find_page(
        &state.db.collection::<Document>(HISTORY),
        doc! { "brand_id": brand.id },
        doc! { "closed_at": -1, "_id": -1 },
        Page::of(query.page, query.limit),
    )
    .await?;
    let history = crate::db::readable(HISTORY, past, |d| {
        let subscription: Subscription =
            mongodb::bson::from_bson(d.get("subscription").cloned().unwrap_or_default())
                .map_err(|e| e.to_string())?;
        let outcome: Outcome =
            mongodb::bson::from_bson(d.get("outcome").cloned().unwrap_or_default())
                .map_err(|e| e.to_string())?;
        let closed_at = d.get_datetime("closed_at").map_err(|e| e.to_string())?;
        Ok::<_, String>(PastSubscription {
            subscription: SubscriptionView::from(&subscription),
            outcome,
            closed_at: rfc3339(*closed_at),
        })
    });
    let now = DateTime::now();
    Ok(Json(Subscriptions {
        current: brand
            .subscription
            .as_ref()
            .filter(|s| s.ends_at > now)
            .map(SubscriptionView::from),
        history,
    }))
}

/// Cancels the caller's brand's running or pending subscription, at once:
/// no campaign publishes on it any more (published ones stay), and the
/// brand may subscribe again. Kept in the history as `cancelled`.
#[utoipa::path(post, path = "/api/ugc/subscriptions/cancel", tag = "ugc",
    responses((status = 200, body = BrandView), (status = 409, description = "no running subscription, or no brand profile")),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BrandView>, ApiError> {
    let brand = profiles::mine::<BrandDoc>(&state.db, &user).await?;
    end_now(&state, brand.id).await?;
    let after = profiles::mine::<BrandDoc>(&state.db, &user).await?;
    Ok(Json(profiles::embedded(&state, &after).await))
}

/// Cancels a brand's running subscription for it (admin), as the brand
/// itself would; audited.
#[utoipa::path(post, path = "/api/ugc/brands/{id}/subscription/cancel", tag = "ugc",
    responses((status = 200, body = BrandView), (status = 404, description = "no such brand"),
        (status = 409, description = "no running subscription")),
    security(("bearer" = [])))]
pub async fn cancel_for(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<BrandView>, ApiError> {
    let id = crate::db::resolve_id(&state.db, crate::ugc::profiles::BRANDS, &id, "brand").await?;
    let read = || async {
        brands(&state.db)
            .find_one(doc! { "_id": id })
            .await?
            .ok_or(ApiError::NotFound("brand"))
    };
    let before = read().await?;
    end_now(&state, id).await?;
    let after = read().await?;
    let base = state.media_public_url();
    state
        .audit
        .record(
            &admin,
            "subscription.cancel",
            super::profiles::BRANDS,
            &id.to_hex(),
            Some(&BrandView::of(&before, base)),
            Some(&BrandView::of(&after, base)),
        )
        .await;
    Ok(Json(profiles::embedded(&state, &after).await))
}

/// Ends brand `brand`'s running subscription now and archives it as
/// cancelled, in one transaction.
async fn end_now(state: &AppState, brand: ObjectId) -> Result<(), ApiError> {
    let db = state.db.clone();
    transaction(&state.db, |session| {
        let db = db.clone();
        async move {
            let now = DateTime::now();
            let before = brands(&db)
                .find_one_and_update(
                    doc! { "_id": brand, "subscription.ends_at": { "$gt": now } },
                    doc! { "$set": { "subscription": null, "updated_at": now } },
                )
                .session(&mut *session)
                .await?
                .ok_or_else(|| {
                    ApiError::conflict(
                        "no-subscription",
                        "there is no running subscription to cancel",
                    )
                })?;
            if let Some(old) = &before.subscription {
                archive(&db, session, brand, old, Outcome::Cancelled, now).await?;
            }
            Ok(())
        }
        .boxed()
    })
    .await
}
