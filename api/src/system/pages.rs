//! `page_content`: website-builder pages made of blocks. A page has a draft
//! (what admins edit), an optional published copy (what visitors see), and
//! a history of saved versions. Blocks that show media hold media ids,
//! claimed for the page; every version kept holds its media, so restoring
//! one never finds a file gone.

use crate::indexes::IndexSpec;
use crate::media::embed::EmbeddedMedia;
use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use avenue_shared::{MediaId, MediaRef};

use super::blocks::{check_blocks, media_in, Block};
use crate::db::OnDuplicate;
use crate::fields;
use crate::http::auth::{Admin, MaybeUser};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::plain::rfc3339;
use crate::media::FieldMedia;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, save, remove))
        .routes(routes!(publish))
        .routes(routes!(unpublish))
        .routes(routes!(versions))
        .routes(routes!(preview))
}

pub const PAGES: &str = "page_content";
/// Versions kept per page.
const HISTORY: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PageStatus {
    Draft,
    Published,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageVersion {
    pub version: i64,
    pub title: String,
    pub blocks: Vec<Block>,
    pub saved_at: DateTime,
    pub saved_by: ObjectId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageVersionView {
    version: i64,
    title: String,
    blocks: Vec<Block>,
    /// RFC 3339.
    saved_at: String,
    /// The admin's user id.
    saved_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub slug: String,
    /// The draft.
    pub title: String,
    pub blocks: Vec<Block>,
    /// The draft's version number; grows with every save.
    pub version: i64,
    pub status: PageStatus,
    /// What visitors see, when published.
    pub published: Option<PageVersion>,
    /// Saved versions, newest last, at most [`HISTORY`].
    pub history: Vec<PageVersion>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl PageDoc {
    fn reference(&self) -> Result<MediaRef, ApiError> {
        MediaRef::of(PAGES, &self.id.to_hex()).map_err(|e| ApiError::Internal(e.into()))
    }

    /// Every media any kept version shows: the page's claims.
    fn all_media(&self) -> Vec<FieldMedia> {
        let mut out = media_in(&self.blocks, "blocks");
        if let Some(published) = &self.published {
            out.extend(media_in(&published.blocks, "published.blocks"));
        }
        for version in &self.history {
            out.extend(media_in(&version.blocks, "history.blocks"));
        }
        out
    }

    fn media_ids(&self) -> Vec<MediaId> {
        let set: BTreeSet<MediaId> = self.all_media().into_iter().map(|m| m.id).collect();
        set.into_iter().collect()
    }
}

fn collection(db: &Database) -> Collection<PageDoc> {
    db.collection(PAGES)
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::unique_where(PAGES, doc! { "slug": 1 }, "string"),
        IndexSpec::legacy_id(PAGES),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageView {
    id: String,
    slug: String,
    title: String,
    blocks: Vec<Block>,
    version: i64,
    status: PageStatus,
    /// The published version's number, if any.
    published_version: Option<i64>,
    updated_at: String,
    /// One list per block, in block order: the media it shows, ready to
    /// embed (read by slug or id only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    embeds: Vec<Vec<EmbeddedMedia>>,
    /// Media could not be asked: `embeds` lacks what it would hold.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    media_unavailable: bool,
}

impl PageView {
    fn draft(p: &PageDoc) -> Self {
        Self {
            id: p.id.to_hex(),
            slug: p.slug.clone(),
            title: p.title.clone(),
            blocks: p.blocks.clone(),
            version: p.version,
            status: p.status,
            published_version: p.published.as_ref().map(|v| v.version),
            updated_at: p.updated_at.try_to_rfc3339_string().unwrap_or_default(),
            embeds: Vec::new(),
            media_unavailable: false,
        }
    }

    fn published(p: &PageDoc) -> Option<Self> {
        let published = p
            .published
            .as_ref()
            .filter(|_| p.status == PageStatus::Published)?;
        Some(Self {
            id: p.id.to_hex(),
            slug: p.slug.clone(),
            title: published.title.clone(),
            blocks: published.blocks.clone(),
            version: published.version,
            status: PageStatus::Published,
            published_version: Some(published.version),
            updated_at: published
                .saved_at
                .try_to_rfc3339_string()
                .unwrap_or_default(),
            embeds: Vec::new(),
            media_unavailable: false,
        })
    }

    /// Adds every block's media, ready to embed, from one lookup.
    async fn embed(mut self, state: &AppState) -> Self {
        let (embeds, unavailable) = block_embeds(state, &self.blocks).await;
        self.embeds = embeds;
        self.media_unavailable = unavailable;
        self
    }
}

/// Each block's media ready to embed (one list per block, empty when the
/// page shows none), from one lookup; and whether media was away.
async fn block_embeds(state: &AppState, blocks: &[Block]) -> (Vec<Vec<EmbeddedMedia>>, bool) {
    let shown: Vec<Vec<(&MediaId, Option<&str>)>> = blocks.iter().map(Block::shown_media).collect();
    if shown.iter().all(Vec::is_empty) {
        return (Vec::new(), false);
    }
    let found = state
        .embeds(shown.iter().flatten().map(|(id, _)| *id))
        .await;
    let embeds = shown
        .iter()
        .map(|media| {
            media
                .iter()
                .filter_map(|(id, alt)| found.get(id, *alt))
                .collect()
        })
        .collect();
    (embeds, found.unavailable)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    blocks: Vec<Block>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    /// One list per block, in block order, as a page read answers them.
    embeds: Vec<Vec<EmbeddedMedia>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    media_unavailable: bool,
}

/// What blocks being edited would show (admin): each block's media with
/// its URL, size, alt, `srcset` and placeholder, before anything is saved.
/// The blocks are checked as a save checks them.
#[utoipa::path(post, path = "/api/page-preview", tag = "system", request_body = PreviewRequest,
    responses((status = 200, body = PreviewView), (status = 422, description = "a block is invalid")),
    security(("bearer" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<PreviewView>, ApiError> {
    let blocks = check_blocks(request.blocks)?;
    let (mut embeds, media_unavailable) = block_embeds(&state, &blocks).await;
    embeds.resize(blocks.len(), Vec::new());
    Ok(Json(PreviewView {
        embeds,
        media_unavailable,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPage {
    slug: String,
    title: String,
    #[serde(default)]
    blocks: Vec<Block>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSave {
    title: String,
    blocks: Vec<Block>,
    /// The version this edit started from; a newer draft answers 409.
    expected_version: Option<i64>,
}

async fn find(db: &Database, id: &str) -> Result<PageDoc, ApiError> {
    let id = crate::db::resolve_id(db, PAGES, id, "page").await?;
    collection(db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("page"))
}

/// Writes `after` over `before` (conditional on its version), claiming the
/// media `after` adds and releasing what it drops.
async fn store(state: &AppState, before: &PageDoc, after: &PageDoc) -> Result<(), ApiError> {
    let pages = collection(&state.db);
    state
        .media
        .save_with::<_, ApiError, _>(
            &after.reference()?,
            &before.media_ids(),
            &after.all_media(),
            async {
                let replaced = pages
                    .replace_one(
                        doc! { "_id": before.id, "updated_at": before.updated_at },
                        after,
                    )
                    .await
                    .on_duplicate("slug-taken", "another page has this slug")?;
                if replaced.matched_count == 0 {
                    return Err(ApiError::conflict(
                        "edit-conflict",
                        "the page changed meanwhile; reload and try again",
                    ));
                }
                Ok(())
            },
        )
        .await
}

/// Creates a draft page (admin).
#[utoipa::path(post, path = "/api/pages", tag = "system", request_body = NewPage,
    responses((status = 201, body = PageView), (status = 409, description = "slug taken"),
        (status = 422, description = "invalid block or unknown media id")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(input): ApiJson<NewPage>,
) -> Result<(StatusCode, Json<PageView>), ApiError> {
    let now = DateTime::now();
    let blocks = check_blocks(input.blocks)?;
    let title = fields::text(&input.title, "title", 200)?;
    let page = PageDoc {
        id: ObjectId::new(),
        slug: fields::slug(&input.slug, "slug")?,
        version: 1,
        status: PageStatus::Draft,
        published: None,
        history: vec![PageVersion {
            version: 1,
            title: title.clone(),
            blocks: blocks.clone(),
            saved_at: now,
            saved_by: admin.id,
        }],
        title,
        blocks,
        created_at: now,
        updated_at: now,
    };
    let pages = collection(&state.db);
    state
        .media
        .save_with::<_, ApiError, _>(&page.reference()?, &[], &page.all_media(), async {
            pages
                .insert_one(&page)
                .await
                .on_duplicate("slug-taken", "another page has this slug")?;
            Ok(())
        })
        .await?;
    let view = PageView::draft(&page);
    state
        .audit
        .record(
            &admin,
            "page.create",
            PAGES,
            &page.id.to_hex(),
            None::<&PageView>,
            Some(&view),
        )
        .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Saves a new draft version (admin).
#[utoipa::path(put, path = "/api/pages/{id}", tag = "system", request_body = PageSave,
    responses((status = 200, body = PageView), (status = 409, description = "edited meanwhile"),
        (status = 422, description = "invalid block or unknown media id")),
    security(("bearer" = [])))]
pub async fn save(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PageSave>,
) -> Result<Json<PageView>, ApiError> {
    let before = find(&state.db, &id).await?;
    if input.expected_version.is_some_and(|v| v != before.version) {
        return Err(ApiError::conflict(
            "edit-conflict",
            format!("the draft is at version {}; reload it", before.version),
        ));
    }
    let mut after = before.clone();
    after.title = fields::text(&input.title, "title", 200)?;
    after.blocks = check_blocks(input.blocks)?;
    after.version += 1;
    after.updated_at = DateTime::now();
    after.history.push(PageVersion {
        version: after.version,
        title: after.title.clone(),
        blocks: after.blocks.clone(),
        saved_at: after.updated_at,
        saved_by: admin.id,
    });
    let excess = after.history.len().saturating_sub(HISTORY);
    after.history.drain(..excess);
    store(&state, &before, &after).await?;
    let (before_view, view) = (PageView::draft(&before), PageView::draft(&after));
    state
        .audit
        .record(
            &admin,
            "page.save",
            PAGES,
            &after.id.to_hex(),
            Some(&before_view),
            Some(&view),
        )
        .await;
    Ok(Json(view))
}

async fn set_published(
    state: &AppState,
    admin: &crate::http::auth::CurrentUser,
    id: &str,
    publish: bool,
) -> Result<PageView, ApiError> {
    let before = find(&state.db, id).await?;
    let mut after = before.clone();
    after.updated_at = DateTime::now();
    if publish {
        after.status = PageStatus::Published;
        after.published = Some(PageVersion {
            version: before.version,
            title: before.title.clone(),
            blocks: before.blocks.clone(),
            saved_at: after.updated_at,
            saved_by: admin.id,
        });
    } else {
        after.status = PageStatus::Draft;
    }
    store(state, &before, &after).await?;
    let action = if publish {
        "page.publish"
    } else {
        "page.unpublish"
    };
    state
        .audit
        .record(
            admin,
            action,
            PAGES,
            &after.id.to_hex(),
            Some(&PageView::draft(&before)),
            Some(&PageView::draft(&after)),
        )
        .await;
    Ok(PageView::draft(&after))
}

/// Publishes the current draft (admin).
#[utoipa::path(post, path = "/api/pages/{id}/publish", tag = "system",
    responses((status = 200, body = PageView)), security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    Ok(Json(set_published(&state, &admin, &id, true).await?))
}

/// Takes the page off the site; the published copy is kept for later.
#[utoipa::path(post, path = "/api/pages/{id}/unpublish", tag = "system",
    responses((status = 200, body = PageView)), security(("bearer" = [])))]
pub async fn unpublish(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    Ok(Json(set_published(&state, &admin, &id, false).await?))
}

/// Saved versions, newest first (admin).
#[utoipa::path(get, path = "/api/pages/{id}/versions", tag = "system",
    responses((status = 200, body = [PageVersionView])), security(("bearer" = [])))]
pub async fn versions(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<PageVersionView>>, ApiError> {
    let page = find(&state.db, &id).await?;
    let views = page.history.into_iter().rev().map(|v| PageVersionView {
        version: v.version,
        title: v.title,
        blocks: v.blocks,
        saved_at: rfc3339(v.saved_at),
        saved_by: v.saved_by.to_hex(),
    });
    Ok(Json(views.collect()))
}

/// Deletes a page (admin) and releases its media.
#[utoipa::path(delete, path = "/api/pages/{id}", tag = "system",
    responses((status = 204), (status = 404, description = "no such page")), security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = crate::db::resolve_id(&state.db, PAGES, &id, "page").await?;
    let before = collection(&state.db)
        .find_one_and_delete(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("page"))?;
    state
        .media
        .release_all(&before.reference()?, &before.media_ids())
        .await;
    state
        .audit
        .record(
            &admin,
            "page.delete",
            PAGES,
            &id.to_hex(),
            Some(&PageView::draft(&before)),
            None::<&PageView>,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ShowQuery {
    /// Admins: answer the draft instead of the published copy.
    draft: Option<bool>,
}

/// A page by slug or id (`{id}` takes either): the published copy, or
/// (admins, `?draft=true`) the draft. Anyone else asking for a draft gets
/// the 404 of a missing page, whether or not the page exists.
#[utoipa::path(get, path = "/api/pages/{id}", tag = "system", params(ShowQuery),
    responses((status = 200, body = PageView), (status = 404, description = "no such published page (or a draft asked for by someone who may not see drafts)")))]
pub async fn show(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<ShowQuery>,
) -> Result<Json<PageView>, ApiError> {
    let admin = user.is_some_and(|u| u.is_admin());
    let wants_draft = query.draft == Some(true);
    // Anyone who may not see drafts gets the answer a missing page gets,
    // before any lookup: a 403 here would tell which slugs exist unpublished.
    if wants_draft && !admin {
        return Err(ApiError::NotFound("page"));
    }
    let filter = match ObjectId::parse_str(&slug) {
        Ok(id) => doc! { "_id": id },
        Err(_) => doc! { "slug": &slug },
    };
    let page = collection(&state.db)
        .find_one(filter)
        .await?
        .ok_or(ApiError::NotFound("page"))?;
    if wants_draft {
        return Ok(Json(PageView::draft(&page).embed(&state).await));
    }
    let view = PageView::published(&page).ok_or(ApiError::NotFound("page"))?;
    Ok(Json(view.embed(&state).await))
}

/// Pages: every draft for admins, the published ones for everyone else.
#[utoipa::path(get, path = "/api/pages", tag = "system",
    responses((status = 200, body = [PageView])))]
pub async fn list(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> Result<Json<Vec<PageView>>, ApiError> {
    let admin = user.is_some_and(|u| u.is_admin());
    let filter = if admin {
        doc! {}
    } else {
        doc! { "status": "published" }
    };
    let pages: Vec<PageDoc> = collection(&state.db)
        .find(filter)
        .sort(doc! { "slug": 1 })
        .limit(500)
        .await?
        .try_collect()
        .await?;
    Ok(Json(
        pages
            .iter()
            .filter_map(|p| {
                if admin {
                    Some(PageView::draft(p))
                } else {
                    PageView::published(p)
                }
            })
            .collect(),
    ))
}
