//! `ugc_packages`: subscription plans for brands. A plan caps how many
//! campaigns a brand may publish during its period; subscribing copies the
//! plan onto the brand. Payment is settled outside this system, so a
//! priced plan starts `pending` and counts only once an admin activates
//! it (`POST /api/ugc/brands/{id}/subscription/activate`); free plans are
//! active at once. Subscriptions themselves live in `subscriptions.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields;
use crate::http::auth::{Admin, CurrentUser};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::shop::money::Money;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
}

pub const PACKAGES: &str = "ugc_packages";

pub fn indexes() -> Vec<crate::indexes::IndexSpec> {
    vec![crate::indexes::IndexSpec::legacy_id(PACKAGES)]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    pub campaign_quota: i64,
    /// Integer PYG.
    pub price: i64,
    pub duration_days: i64,
    pub active: bool,
    pub created_at: DateTime,
}

pub fn collection(db: &Database) -> Collection<PackageDoc> {
    db.collection(PACKAGES)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageView {
    id: String,
    name: String,
    campaign_quota: i64,
    price: i64,
    price_display: String,
    duration_days: i64,
    active: bool,
}

impl From<&PackageDoc> for PackageView {
    fn from(p: &PackageDoc) -> Self {
        Self {
            id: p.id.to_hex(),
            name: p.name.clone(),
            campaign_quota: p.campaign_quota,
            price: p.price,
            price_display: Money::from_stored(p.price).display(),
            duration_days: p.duration_days,
            active: p.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPackage {
    name: String,
    campaign_quota: i64,
    price: i64,
    duration_days: i64,
    active: Option<bool>,
}

fn quota(n: i64) -> Result<i64, ApiError> {
    if (1..=1000).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::invalid("campaign_quota", "1 to 1000 campaigns"))
    }
}

fn days(n: i64) -> Result<i64, ApiError> {
    if (1..=366).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::invalid("duration_days", "1 to 366 days"))
    }
}

/// Creates a package (admin).
#[utoipa::path(post, path = "/api/ugc/packages", tag = "ugc", request_body = NewPackage,
    responses((status = 201, body = PackageView), (status = 422, description = "invalid field")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(input): ApiJson<NewPackage>,
) -> Result<(StatusCode, Json<PackageView>), ApiError> {
    let package = PackageDoc {
        id: ObjectId::new(),
        name: fields::text(&input.name, "name", 80)?,
        campaign_quota: quota(input.campaign_quota)?,
        price: Money::parse(input.price, "price")?.amount(),
        duration_days: days(input.duration_days)?,
        active: input.active.unwrap_or(true),
        created_at: DateTime::now(),
    };
    collection(&state.db).insert_one(&package).await?;
    let view = PackageView::from(&package);
    state
        .audit
        .record(
            &admin,
            "package.create",
            PACKAGES,
            &package.id.to_hex(),
            None::<&PackageView>,
            Some(&view),
        )
        .await;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackagePatch {
    active: Option<bool>,
    price: Option<i64>,
    campaign_quota: Option<i64>,
}

/// Changes a package (admin); brands already subscribed keep their terms.
#[utoipa::path(patch, path = "/api/ugc/packages/{id}", tag = "ugc", request_body = PackagePatch,
    responses((status = 200, body = PackageView), (status = 404, description = "no such package")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PackagePatch>,
) -> Result<Json<PackageView>, ApiError> {
    let id = crate::db::resolve_id(&state.db, PACKAGES, &id, "package").await?;
    let before = collection(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    let mut after = before.clone();
    if let Some(active) = patch.active {
        after.active = active;
    }
    if let Some(price) = patch.price {
        after.price = Money::parse(price, "price")?.amount();
    }
    if let Some(q) = patch.campaign_quota {
        after.campaign_quota = quota(q)?;
    }
    collection(&state.db)
        .replace_one(doc! { "_id": id }, &after)
        .await?;
    let (before, after) = (PackageView::from(&before), PackageView::from(&after));
    state
        .audit
        .record(
            &admin,
            "package.update",
            PACKAGES,
            &id.to_hex(),
            Some(&before),
            Some(&after),
        )
        .await;
    Ok(Json(after))
}

/// Packages: active ones for everyone signed in, all for admins.
#[utoipa::path(get, path = "/api/ugc/packages", tag = "ugc",
    responses((status = 200, body = [PackageView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<PackageView>>, ApiError> {
    let filter = if user.is_admin() {
        doc! {}
    } else {
        doc! { "active": true }
    };
    let packages: Vec<PackageDoc> = collection(&state.db)
        .find(filter)
        .sort(doc! { "price": 1, "_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(Json(packages.iter().map(PackageView::from).collect()))
}
