//! `ugc_creators` and `ugc_brands`: one profile per user of that role,
//! edited by its owner or an admin. Pictures are external URLs or media ids
//! (claimed); ratings keep a sum and a count, so the average is exact.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use avenue_shared::{MediaId, MediaRef};

use super::common::{self, http_url, Level, Picture};
use crate::fields::{self, double_option};
use crate::http::auth::CurrentUser;
use crate::http::error::{ApiError, OnDuplicate};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::AppState;
use crate::media::FieldMedia;
use crate::users::model::Email;

pub const CREATORS: &str = "ugc_creators";
pub const BRANDS: &str = "ugc_brands";

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Handles {
    instagram: Option<String>,
    tiktok: Option<String>,
    youtube: Option<String>,
}

fn handle(raw: Option<String>, field: &str) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw.filter(|h| !h.trim().is_empty()) else {
        return Ok(None);
    };
    let value = raw.trim().trim_start_matches('@');
    let ok = (1..=30).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if ok {
        Ok(Some(value.to_owned()))
    } else {
        Err(ApiError::invalid(
            field,
            "a handle is 1 to 30 letters, digits, . or _",
        ))
    }
}

fn handles(raw: Handles) -> Result<Handles, ApiError> {
    Ok(Handles {
        instagram: handle(raw.instagram, "handles.instagram")?,
        tiktok: handle(raw.tiktok, "handles.tiktok")?,
        youtube: handle(raw.youtube, "handles.youtube")?,
    })
}

fn links(raw: &[String], field: &str) -> Result<Vec<String>, ApiError> {
    if raw.len() > 20 {
        return Err(ApiError::invalid(field, "at most 20 links"));
    }
    raw.iter()
        .enumerate()
        .map(|(i, link)| http_url(link, &format!("{field}[{i}]")))
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatorDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub name: String,
    pub bio: String,
    pub handles: Handles,
    pub niches: Vec<String>,
    pub level: Level,
    /// An http(s) URL or a media id.
    pub profile_image: Option<String>,
    pub portfolio_links: Vec<String>,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    #[schema(value_type = String)]
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
    #[schema(value_type = String)]
    pub starts_at: DateTime,
    #[schema(value_type = String)]
    pub ends_at: DateTime,
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

pub fn creators(db: &Database) -> Collection<CreatorDoc> {
    db.collection(CREATORS)
}

pub fn brands(db: &Database) -> Collection<BrandDoc> {
    db.collection(BRANDS)
}

/// # Errors
/// When the database refuses.
pub async fn ensure_indexes(db: &Database) -> Result<(), mongodb::error::Error> {
    let unique = || IndexOptions::builder().unique(true).build();
    creators(db)
        .create_index(
            IndexModel::builder()
                .keys(doc! { "user_id": 1 })
                .options(unique())
                .build(),
        )
        .await?;
    brands(db)
        .create_index(
            IndexModel::builder()
                .keys(doc! { "user_id": 1 })
                .options(unique())
                .build(),
        )
        .await?;
    creators(db)
        .create_index(
            IndexModel::builder()
                .keys(doc! { "niches": 1, "level": 1 })
                .build(),
        )
        .await?;
    Ok(())
}

fn average(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| (sum as f64 / count as f64 * 100.0).round() / 100.0)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatorView {
    id: String,
    user_id: String,
    name: String,
    bio: String,
    handles: Handles,
    niches: Vec<String>,
    level: Level,
    profile_image: Option<String>,
    /// Where a browser fetches the picture (a media id becomes a delivery URL).
    profile_image_url: Option<String>,
    portfolio_links: Vec<String>,
    rating_average: Option<f64>,
    rating_count: i64,
}

impl CreatorView {
    pub fn of(c: &CreatorDoc, media_base: &url::Url) -> Self {
        Self {
            id: c.id.to_hex(),
            user_id: c.user_id.to_hex(),
            name: c.name.clone(),
            bio: c.bio.clone(),
            handles: c.handles.clone(),
            niches: c.niches.clone(),
            level: c.level,
            profile_image: c.profile_image.clone(),
            profile_image_url: c
                .profile_image
                .as_deref()
                .map(|p| Picture::display_url(p, media_base)),
            portfolio_links: c.portfolio_links.clone(),
            rating_average: average(c.rating_sum, c.rating_count),
            rating_count: c.rating_count,
        }
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
    subscription: Option<Subscription>,
}

impl BrandView {
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
            subscription: b.subscription.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatorInput {
    name: String,
    bio: Option<String>,
    #[serde(default)]
    handles: Handles,
    #[serde(default)]
    niches: Vec<String>,
    /// An http(s) URL or a media id.
    profile_image: Option<String>,
    #[serde(default)]
    portfolio_links: Vec<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatorPatch {
    name: Option<String>,
    bio: Option<String>,
    handles: Option<Handles>,
    niches: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    profile_image: Option<Option<String>>,
    portfolio_links: Option<Vec<String>>,
    /// Admins only.
    level: Option<Level>,
}

fn picture(raw: Option<&str>, field: &str) -> Result<Option<String>, ApiError> {
    raw.filter(|p| !p.trim().is_empty())
        .map(|p| Picture::parse(p, field).map(|p| p.stored()))
        .transpose()
}

fn picture_media(stored: Option<&str>, field: &str) -> Vec<FieldMedia> {
    Picture::media_of(stored)
        .map(|id| FieldMedia {
            field: field.to_owned(),
            id,
        })
        .into_iter()
        .collect()
}

fn held(stored: Option<&str>) -> Vec<MediaId> {
    Picture::media_of(stored).into_iter().collect()
}

fn reference(collection: &str, id: ObjectId) -> Result<MediaRef, ApiError> {
    MediaRef::of(collection, &id.to_hex()).map_err(|e| ApiError::Internal(e.into()))
}

/// Creates or replaces the caller's creator profile.
#[utoipa::path(put, path = "/api/ugc/creators/me", tag = "ugc", request_body = CreatorInput,
    responses((status = 200, body = CreatorView), (status = 201, body = CreatorView),
        (status = 403, description = "not a creator"), (status = 422, description = "invalid field")),
    security(("bearer" = [])))]
pub async fn put_my_creator(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<CreatorInput>,
) -> Result<(StatusCode, Json<CreatorView>), ApiError> {
    if user.role != avenue_shared::Role::Creator {
        return Err(ApiError::forbidden("only creators have creator profiles"));
    }
    let existing = creators(&state.db)
        .find_one(doc! { "user_id": user.id })
        .await?;
    let now = DateTime::now();
    let profile = CreatorDoc {
        id: existing.as_ref().map_or_else(ObjectId::new, |e| e.id),
        user_id: user.id,
        name: fields::text(&input.name, "name", 100)?,
        bio: fields::optional_text(input.bio.as_deref().unwrap_or(""), "bio", 2000)?,
        handles: handles(input.handles)?,
        niches: common::niches(&input.niches, "niches")?,
        level: existing.as_ref().map_or(Level::Nano, |e| e.level),
        profile_image: picture(input.profile_image.as_deref(), "profile_image")?,
        portfolio_links: links(&input.portfolio_links, "portfolio_links")?,
        rating_sum: existing.as_ref().map_or(0, |e| e.rating_sum),
        rating_count: existing.as_ref().map_or(0, |e| e.rating_count),
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        updated_at: now,
    };
    let before = existing.as_ref().and_then(|e| e.profile_image.as_deref());
    state
        .media
        .acting_for(&user)
        .save_with(
            &reference(CREATORS, profile.id)?,
            &held(before),
            &picture_media(profile.profile_image.as_deref(), "profile_image"),
            async {
                // Ratings move concurrently: everything but them is replaced.
                creators(&state.db)
                    .update_one(
                        doc! { "_id": profile.id, "user_id": user.id },
                        doc! {
                            "$set": {
                                "name": &profile.name, "bio": &profile.bio,
                                "handles": mongodb::bson::to_bson(&profile.handles).map_err(anyhow::Error::from)?,
                                "niches": &profile.niches, "profile_image": &profile.profile_image,
                                "portfolio_links": &profile.portfolio_links, "updated_at": now,
                            },
                            "$setOnInsert": {
                                "level": mongodb::bson::to_bson(&profile.level).map_err(anyhow::Error::from)?,
                                "rating_sum": 0_i64, "rating_count": 0_i64, "created_at": now,
                            },
                        },
                    )
                    .upsert(true)
                    .await
                    .on_duplicate("profile-exists", "this user already has a creator profile")?;
                Ok(())
            },
        )
        .await?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(CreatorView::of(&profile, state.media_public_url())),
    ))
}

/// The caller's creator profile.
#[utoipa::path(get, path = "/api/ugc/creators/me", tag = "ugc",
    responses((status = 200, body = CreatorView), (status = 409, description = "no profile yet")),
    security(("bearer" = [])))]
pub async fn my_creator(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<CreatorView>, ApiError> {
    let creator = common::my_creator(&state.db, &user).await?;
    Ok(Json(CreatorView::of(&creator, state.media_public_url())))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CreatorQuery {
    niche: Option<String>,
    /// Creators at this level or above.
    min_level: Option<Level>,
    page: Option<u32>,
    limit: Option<u32>,
}

fn levels_from(min: Level) -> Vec<&'static str> {
    [
        (Level::Nano, "nano"),
        (Level::Micro, "micro"),
        (Level::Mid, "mid"),
        (Level::Macro, "macro"),
    ]
    .into_iter()
    .filter(|(l, _)| *l >= min)
    .map(|(_, name)| name)
    .collect()
}

/// Creators, best rated first (any signed-in user).
#[utoipa::path(get, path = "/api/ugc/creators", tag = "ugc", params(CreatorQuery),
    responses((status = 200, body = [CreatorView])), security(("bearer" = [])))]
pub async fn list_creators(
    State(state): State<AppState>,
    _user: CurrentUser,
    ApiQuery(query): ApiQuery<CreatorQuery>,
) -> Result<Json<Vec<CreatorView>>, ApiError> {
    let mut filter = Document::new();
    if let Some(niche) = query.niche {
        filter.insert("niches", niche.to_lowercase());
    }
    if let Some(min) = query.min_level {
        filter.insert("level", doc! { "$in": levels_from(min) });
    }
    let (skip, limit) = fields::paging(query.page, query.limit);
    let docs: Vec<CreatorDoc> = creators(&state.db)
        .find(filter)
        .sort(doc! { "rating_count": -1, "_id": 1 })
        .skip(skip)
        .limit(limit)
        .await?
        .try_collect()
        .await?;
    Ok(Json(
        docs.iter()
            .map(|c| CreatorView::of(c, state.media_public_url()))
            .collect(),
    ))
}

/// One creator (any signed-in user).
#[utoipa::path(get, path = "/api/ugc/creators/{id}", tag = "ugc",
    responses((status = 200, body = CreatorView), (status = 404, description = "no such creator")),
    security(("bearer" = [])))]
pub async fn show_creator(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CreatorView>, ApiError> {
    let id = fields::object_id(&id, "creator")?;
    let creator = creators(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("creator"))?;
    Ok(Json(CreatorView::of(&creator, state.media_public_url())))
}

/// Edits a creator profile: its owner, or an admin (who alone sets `level`).
#[utoipa::path(patch, path = "/api/ugc/creators/{id}", tag = "ugc", request_body = CreatorPatch,
    responses((status = 200, body = CreatorView), (status = 403, description = "not yours"),
        (status = 404, description = "no such creator")),
    security(("bearer" = [])))]
pub async fn patch_creator(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<CreatorPatch>,
) -> Result<Json<CreatorView>, ApiError> {
    let id = fields::object_id(&id, "creator")?;
    let before = creators(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("creator"))?;
    if !(user.is_admin() || before.user_id == user.id) {
        return Err(ApiError::forbidden(
            "only its owner or an admin edits a profile",
        ));
    }
    if patch.level.is_some() && !user.is_admin() {
        return Err(ApiError::forbidden("only admins set a creator's level"));
    }
    let mut after = before.clone();
    if let Some(name) = patch.name {
        after.name = fields::text(&name, "name", 100)?;
    }
    if let Some(bio) = patch.bio {
        after.bio = fields::optional_text(&bio, "bio", 2000)?;
    }
    if let Some(h) = patch.handles {
        after.handles = handles(h)?;
    }
    if let Some(n) = patch.niches {
        after.niches = common::niches(&n, "niches")?;
    }
    if let Some(p) = patch.profile_image {
        after.profile_image = picture(p.as_deref(), "profile_image")?;
    }
    if let Some(l) = patch.portfolio_links {
        after.portfolio_links = links(&l, "portfolio_links")?;
    }
    if let Some(level) = patch.level {
        after.level = level;
    }
    after.updated_at = DateTime::now();
    state
        .media
        .acting_for(&user)
        .save_with(
            &reference(CREATORS, id)?,
            &held(before.profile_image.as_deref()),
            &picture_media(after.profile_image.as_deref(), "profile_image"),
            async {
                creators(&state.db)
                    .update_one(
                        doc! { "_id": id },
                        doc! { "$set": {
                            "name": &after.name, "bio": &after.bio,
                            "handles": mongodb::bson::to_bson(&after.handles).map_err(anyhow::Error::from)?,
                            "niches": &after.niches, "profile_image": &after.profile_image,
                            "portfolio_links": &after.portfolio_links,
                            "level": mongodb::bson::to_bson(&after.level).map_err(anyhow::Error::from)?,
                            "updated_at": after.updated_at,
                        } },
                    )
                    .await?;
                Ok(())
            },
        )
        .await?;
    if user.is_admin() && before.user_id != user.id {
        let media_base = state.media_public_url();
        state
            .audit
            .record(
                &user,
                "creator.update",
                CREATORS,
                &id.to_hex(),
                Some(&CreatorView::of(&before, media_base)),
                Some(&CreatorView::of(&after, media_base)),
            )
            .await;
    }
    Ok(Json(CreatorView::of(&after, state.media_public_url())))
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
    if user.role != avenue_shared::Role::Brand {
        return Err(ApiError::forbidden("only brands have brand profiles"));
    }
    let existing = brands(&state.db)
        .find_one(doc! { "user_id": user.id })
        .await?;
    let now = DateTime::now();
    let profile = BrandDoc {
        id: existing.as_ref().map_or_else(ObjectId::new, |e| e.id),
        user_id: user.id,
        company: fields::text(&input.company, "company", 120)?,
        logo_url: picture(input.logo_url.as_deref(), "logo_url")?,
        contact: contact(input.contact)?,
        website: input
            .website
            .filter(|w| !w.trim().is_empty())
            .map(|w| http_url(&w, "website"))
            .transpose()?,
        rating_sum: existing.as_ref().map_or(0, |e| e.rating_sum),
        rating_count: existing.as_ref().map_or(0, |e| e.rating_count),
        subscription: existing.as_ref().and_then(|e| e.subscription.clone()),
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        updated_at: now,
    };
    let before = existing.as_ref().and_then(|e| e.logo_url.as_deref());
    state
        .media
        .acting_for(&user)
        .save_with(
            &reference(BRANDS, profile.id)?,
            &held(before),
            &picture_media(profile.logo_url.as_deref(), "logo_url"),
            async {
                brands(&state.db)
                    .update_one(
                        doc! { "_id": profile.id, "user_id": user.id },
                        doc! {
                            "$set": {
                                "company": &profile.company, "logo_url": &profile.logo_url,
                                "contact": mongodb::bson::to_bson(&profile.contact).map_err(anyhow::Error::from)?,
                                "website": &profile.website, "updated_at": now,
                            },
                            "$setOnInsert": {
                                "rating_sum": 0_i64, "rating_count": 0_i64, "subscription": null,
                                "created_at": now,
                            },
                        },
                    )
                    .upsert(true)
                    .await
                    .on_duplicate("profile-exists", "this user already has a brand profile")?;
                Ok(())
            },
        )
        .await?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(BrandView::of(&profile, state.media_public_url())),
    ))
}

/// The caller's brand profile, with its subscription.
#[utoipa::path(get, path = "/api/ugc/brands/me", tag = "ugc",
    responses((status = 200, body = BrandView), (status = 409, description = "no profile yet")),
    security(("bearer" = [])))]
pub async fn my_brand(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BrandView>, ApiError> {
    let brand = common::my_brand(&state.db, &user).await?;
    Ok(Json(BrandView::of(&brand, state.media_public_url())))
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
    let id = fields::object_id(&id, "brand")?;
    let brand = brands(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("brand"))?;
    Ok(Json(BrandView::of(&brand, state.media_public_url())))
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
    let id = fields::object_id(&id, "brand")?;
    let before = brands(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("brand"))?;
    if !(user.is_admin() || before.user_id == user.id) {
        return Err(ApiError::forbidden(
            "only its owner or an admin edits a profile",
        ));
    }
    let mut after = before.clone();
    if let Some(company) = patch.company {
        after.company = fields::text(&company, "company", 120)?;
    }
    if let Some(logo) = patch.logo_url {
        after.logo_url = picture(logo.as_deref(), "logo_url")?;
    }
    if let Some(c) = patch.contact {
        after.contact = contact(c)?;
    }
    if let Some(website) = patch.website {
        after.website = website
            .filter(|w| !w.trim().is_empty())
            .map(|w| http_url(&w, "website"))
            .transpose()?;
    }
    after.updated_at = DateTime::now();
    state
        .media
        .acting_for(&user)
        .save_with(
            &reference(BRANDS, id)?,
            &held(before.logo_url.as_deref()),
            &picture_media(after.logo_url.as_deref(), "logo_url"),
            async {
                brands(&state.db)
                    .update_one(
                        doc! { "_id": id },
                        doc! { "$set": {
                            "company": &after.company, "logo_url": &after.logo_url,
                            "contact": mongodb::bson::to_bson(&after.contact).map_err(anyhow::Error::from)?,
                            "website": &after.website, "updated_at": after.updated_at,
                        } },
                    )
                    .await?;
                Ok(())
            },
        )
        .await?;
    if user.is_admin() && before.user_id != user.id {
        let media_base = state.media_public_url();
        state
            .audit
            .record(
                &user,
                "brand.update",
                BRANDS,
                &id.to_hex(),
                Some(&BrandView::of(&before, media_base)),
                Some(&BrandView::of(&after, media_base)),
            )
            .await;
    }
    Ok(Json(BrandView::of(&after, state.media_public_url())))
}
