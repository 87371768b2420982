//! Creator profiles: who they are, where they post, their reach (`level`,
//! set by admins).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use mongodb::bson::{doc, oid::ObjectId, to_bson, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use avenue_shared::Role;

use super::{average, picture, Profile};
use crate::fields::{self, double_option};
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::media::embed::{EmbeddedPicture, Embeds};
use crate::state::AppState;
use crate::ugc::common::{self, http_url, Level, Picture};

pub const CREATORS: &str = "ugc_creators";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_my_creator, my_creator))
        .routes(routes!(list_creators))
        .routes(routes!(show_creator, patch_creator))
}

pub fn creators(db: &Database) -> Collection<CreatorDoc> {
    super::collection(db)
}

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

fn bson(value: &impl Serialize) -> Result<mongodb::bson::Bson, ApiError> {
    to_bson(value).map_err(|err| ApiError::Internal(err.into()))
}

impl Profile for CreatorDoc {
    const COLLECTION: &'static str = CREATORS;
    const KIND: &'static str = "creator";
    const ROLE: Role = Role::Creator;
    const PICTURE_FIELD: &'static str = "profile_image";
    type View = CreatorView;

    fn id(&self) -> ObjectId {
        self.id
    }

    fn user_id(&self) -> ObjectId {
        self.user_id
    }

    fn picture(&self) -> Option<&str> {
        self.profile_image.as_deref()
    }

    fn owner_fields(&self) -> Result<Document, ApiError> {
        Ok(doc! {
            "name": &self.name, "bio": &self.bio, "handles": bson(&self.handles)?,
            "niches": &self.niches, "profile_image": &self.profile_image,
            "portfolio_links": &self.portfolio_links,
        })
    }

    fn admin_fields(&self) -> Result<Document, ApiError> {
        Ok(doc! { "level": bson(&self.level)? })
    }

    fn view(&self, media_base: &url::Url) -> CreatorView {
        CreatorView::of(self, media_base)
    }

    fn embedded_view(&self, media_base: &url::Url, embeds: &Embeds) -> CreatorView {
        CreatorView::of(self, media_base).embedding(embeds)
    }
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
    /// The picture ready to embed (reads), when it is a media.
    #[serde(flatten)]
    embedded: EmbeddedPicture,
}

impl CreatorView {
    /// Adds the picture found by `embeds`.
    pub fn embedding(mut self, embeds: &Embeds) -> Self {
        self.embedded = embeds.picture(Picture::media_of(self.profile_image.as_deref()).as_ref());
        self
    }

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
            embedded: EmbeddedPicture::default(),
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
    let (status, profile) = super::put_mine(&state, &user, |existing: Option<&CreatorDoc>, now| {
        Ok(CreatorDoc {
            id: existing.map_or_else(ObjectId::new, |e| e.id),
            user_id: user.id,
            name: fields::text(&input.name, "name", 100)?,
            bio: fields::optional_text(input.bio.as_deref().unwrap_or(""), "bio", 2000)?,
            handles: handles(input.handles)?,
            niches: common::niches(&input.niches, "niches")?,
            level: existing.map_or(Level::Nano, |e| e.level),
            profile_image: picture(input.profile_image.as_deref(), "profile_image")?,
            portfolio_links: links(&input.portfolio_links, "portfolio_links")?,
            rating_sum: existing.map_or(0, |e| e.rating_sum),
            rating_count: existing.map_or(0, |e| e.rating_count),
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        })
    })
    .await?;
    Ok((status, Json(profile.view(state.media_public_url()))))
}

/// The caller's creator profile.
#[utoipa::path(get, path = "/api/ugc/creators/me", tag = "ugc",
    responses((status = 200, body = CreatorView), (status = 409, description = "no profile yet")),
    security(("bearer" = [])))]
pub async fn my_creator(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<CreatorView>, ApiError> {
    let creator: CreatorDoc = super::mine(&state.db, &user).await?;
    Ok(Json(super::embedded(&state, &creator).await))
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
    let docs: Vec<CreatorDoc> = crate::db::find_page(
        &creators(&state.db),
        filter,
        doc! { "rating_count": -1, "_id": 1 },
        crate::db::Page::of(query.page, query.limit),
    )
    .await?;
    // One lookup for the whole page's pictures.
    let embeds = state
        .embeds(
            docs.iter()
                .filter_map(|c| Picture::media_of(c.profile_image.as_deref()))
                .collect::<Vec<_>>()
                .iter(),
        )
        .await;
    Ok(Json(
        docs.iter()
            .map(|c| CreatorView::of(c, state.media_public_url()).embedding(&embeds))
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
    let creator: CreatorDoc = super::by_id(&state.db, &id).await?;
    Ok(Json(super::embedded(&state, &creator).await))
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
    let is_admin = user.is_admin();
    let after = super::patch(&state, &user, &id, |after: &mut CreatorDoc| {
        if patch.level.is_some() && !is_admin {
            return Err(ApiError::forbidden("only admins set a creator's level"));
        }
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
        Ok(())
    })
    .await?;
    Ok(Json(after.view(state.media_public_url())))
}
