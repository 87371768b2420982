//! Brand profiles: the company, its contact, and the plan it subscribed to
//! (see `ugc::packages`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use mongodb::bson::{doc, oid::ObjectId, to_bson, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use avenue_shared::Role;

use super::{average, picture, Profile};
use crate::fields::{self, double_option};
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::plain::rfc3339;
use crate::media::embed::{EmbeddedPicture, Embeds};
use crate::state::AppState;
use crate::ugc::common::{http_url, Picture};
use crate::users::model::Email;

pub const BRANDS: &str = "ugc_brands";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_my_brand, my_brand))
        .routes(routes!(show_brand, patch_brand))
}

pub fn brands(db: &Database) -> Collection<BrandDoc> {
    super::collection(db)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    name: String,
    email: String,
    phone: Option<String>,
}

/// Whether a subscription counts yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    /// Free plans, and priced ones once paid.
    #[default]
    Active,
    /// A priced plan asked for and not paid yet: no campaign can be
    /// published on it until an admin (or a payment) activates it.
    Pending,
}

/// A brand's plan, copied from the package when subscribed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub package_id: ObjectId,
    pub name: String,
    /// Campaigns that may be published during the period.
    pub quota: i64,
    pub used: i64,
    /// Subscriptions written before payment existed are active.
    #[serde(default)]
    pub status: SubscriptionStatus,
    /// Integer PYG owed; 0 for a free plan.
    #[serde(default)]
    pub price: i64,
    /// The period's length; it starts again from activation.
    #[serde(default)]
    pub duration_days: i64,
    /// For a pending subscription: when it was asked for, and when the
    /// request lapses if nobody activates it.
    pub starts_at: DateTime,
    pub ends_at: DateTime,
}

/// A brand's plan as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    package_id: String,
    name: String,
    /// Campaigns that may be published during the period.
    quota: i64,
    used: i64,
    status: SubscriptionStatus,
    /// Integer PYG owed; 0 for a free plan.
    price: i64,
    /// The period's length; it starts again from activation.
    duration_days: i64,
    /// RFC 3339. For a pending subscription: when it was asked for, and
    /// when the request lapses if nobody activates it.
    starts_at: String,
    /// RFC 3339.
    ends_at: String,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        Self {
            package_id: s.package_id.to_hex(),
            name: s.name.clone(),
            quota: s.quota,
            used: s.used,
            status: s.status,
            price: s.price,
            duration_days: s.duration_days,
            starts_at: rfc3339(s.starts_at),
            ends_at: rfc3339(s.ends_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrandDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub company: String,
    /// An http(s) URL or a media id.
    pub logo_url: Option<String>,
    pub contact: Contact,
    pub website: Option<String>,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub subscription: Option<Subscription>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl Profile for BrandDoc {
    const COLLECTION: &'static str = BRANDS;
    const KIND: &'static str = "brand";
    const ROLE: Role = Role::Brand;
    const PICTURE_FIELD: &'static str = "logo_url";
    type View = BrandView;

    fn id(&self) -> ObjectId {
        self.id
    }

    fn user_id(&self) -> ObjectId {
        self.user_id
    }

    fn picture(&self) -> Option<&str> {
        self.logo_url.as_deref()
    }

    fn owner_fields(&self) -> Result<Document, ApiError> {
        let contact = to_bson(&self.contact).map_err(|err| ApiError::Internal(err.into()))?;
        Ok(doc! {
            "company": &self.company, "logo_url": &self.logo_url,
            "contact": contact, "website": &self.website,
        })
    }

    fn first_save_fields(&self) -> Document {
        doc! { "subscription": null }
    }

    fn view(&self, media_base: &url::Url) -> BrandView {
        BrandView::of(self, media_base)
    }

    fn embedded_view(&self, media_base: &url::Url, embeds: &Embeds) -> BrandView {
        BrandView::of(self, media_base).embedding(embeds)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandView {
    id: String,
    user_id: String,
    company: String,
    logo_url: Option<String>,
    logo_display_url: Option<String>,
    contact: Contact,
    website: Option<String>,
    rating_average: Option<f64>,
    rating_count: i64,
    subscription: Option<SubscriptionView>,
    /// The picture ready to embed (reads), when it is a media.
    #[serde(flatten)]
    embedded: EmbeddedPicture,
}

impl BrandView {
    /// Adds the picture found by `embeds`.
    pub fn embedding(mut self, embeds: &Embeds) -> Self {
        self.embedded = embeds.picture(Picture::media_of(self.logo_url.as_deref()).as_ref());
        self
    }

    pub fn of(b: &BrandDoc, media_base: &url::Url) -> Self {
        Self {
            id: b.id.to_hex(),
            user_id: b.user_id.to_hex(),
            company: b.company.clone(),
            logo_url: b.logo_url.clone(),
            logo_display_url: b
                .logo_url
                .as_deref()
                .map(|p| Picture::display_url(p, media_base)),
            contact: b.contact.clone(),
            website: b.website.clone(),
            rating_average: average(b.rating_sum, b.rating_count),
            rating_count: b.rating_count,
            subscription: b.subscription.as_ref().map(SubscriptionView::from),
            embedded: EmbeddedPicture::default(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    name: String,
    email: String,
    phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandInput {
    company: String,
    /// An http(s) URL or a media id.
    logo_url: Option<String>,
    contact: ContactInput,
    website: Option<String>,
}

fn contact(input: ContactInput) -> Result<Contact, ApiError> {
    Ok(Contact {
        name: fields::text(&input.name, "contact.name", 100)?,
        email: Email::parse(&input.email, "contact.email")?
            .as_str()
            .to_owned(),
        phone: input
            .phone
            .filter(|p| !p.trim().is_empty())
            .map(|p| fields::text(&p, "contact.phone", 40))
            .transpose()?,
    })
}

fn website(raw: Option<String>) -> Result<Option<String>, ApiError> {
    raw.filter(|w| !w.trim().is_empty())
        .map(|w| http_url(&w, "website"))
        .transpose()
}

/// Creates or replaces the caller's brand profile.
#[utoipa::path(put, path = "/api/ugc/brands/me", tag = "ugc", request_body = BrandInput,
    responses((status = 200, body = BrandView), (status = 201, body = BrandView),
        (status = 403, description = "not a brand"), (status = 422, description = "invalid field")),
    security(("bearer" = [])))]
pub async fn put_my_brand(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<BrandInput>,
) -> Result<(StatusCode, Json<BrandView>), ApiError> {
    let (status, profile) = super::put_mine(&state, &user, |existing: Option<&BrandDoc>, now| {
        Ok(BrandDoc {
            id: existing.map_or_else(ObjectId::new, |e| e.id),
            user_id: user.id,
            company: fields::text(&input.company, "company", 120)?,
            logo_url: picture(input.logo_url.as_deref(), "logo_url")?,
            contact: contact(input.contact)?,
            website: website(input.website)?,
            rating_sum: existing.map_or(0, |e| e.rating_sum),
            rating_count: existing.map_or(0, |e| e.rating_count),
            subscription: existing.and_then(|e| e.subscription.clone()),
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        })
    })
    .await?;
    Ok((status, Json(profile.view(state.media_public_url()))))
}

/// The caller's brand profile, with its subscription.
#[utoipa::path(get, path = "/api/ugc/brands/me", tag = "ugc",
    responses((status = 200, body = BrandView), (status = 409, description = "no profile yet")),
    security(("bearer" = [])))]
pub async fn my_brand(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BrandView>, ApiError> {
    let brand: BrandDoc = super::mine(&state.db, &user).await?;
    Ok(Json(super::embedded(&state, &brand).await))
}

/// One brand (any signed-in user).
#[utoipa::path(get, path = "/api/ugc/brands/{id}", tag = "ugc",
    responses((status = 200, body = BrandView), (status = 404, description = "no such brand")),
    security(("bearer" = [])))]
pub async fn show_brand(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<BrandView>, ApiError> {
    let brand: BrandDoc = super::by_id(&state.db, &id).await?;
    Ok(Json(super::embedded(&state, &brand).await))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandPatch {
    company: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    logo_url: Option<Option<String>>,
    contact: Option<ContactInput>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    website: Option<Option<String>>,
}

/// Edits a brand profile: its owner or an admin.
#[utoipa::path(patch, path = "/api/ugc/brands/{id}", tag = "ugc", request_body = BrandPatch,
    responses((status = 200, body = BrandView), (status = 403, description = "not yours"),
        (status = 404, description = "no such brand")),
    security(("bearer" = [])))]
pub async fn patch_brand(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<BrandPatch>,
) -> Result<Json<BrandView>, ApiError> {
    let after = super::patch(&state, &user, &id, |after: &mut BrandDoc| {
        if let Some(company) = patch.company {
            after.company = fields::text(&company, "company", 120)?;
        }
        if let Some(logo) = patch.logo_url {
            after.logo_url = picture(logo.as_deref(), "logo_url")?;
        }
        if let Some(c) = patch.contact {
            after.contact = contact(c)?;
        }
        if let Some(w) = patch.website {
            after.website = website(w)?;
        }
        after.updated_at = DateTime::now();
        Ok(())
    })
    .await?;
    Ok(Json(after.view(state.media_public_url())))
}
