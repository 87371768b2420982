//! `/v1/media`: upload, list, show, edit and delete media.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};

use avenue_shared::{MediaDescriptor, MediaId, MediaPage, MediaRef};

use super::auth::MediaManager;
use super::error::AppError;
use super::extract::{JsonBody, QueryParams};
use super::upload_body::{receive, UploadQuery};
use super::AppState;
use crate::media::fields::{Alt, FieldError, Folder, MediaPatch, Tag, Tags};
use crate::media::repo::{ListQuery, PageCursor};
use crate::media::MediaError;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/media",
            // Uploads enforce their own limit while streaming.
            post(upload)
                .layer(DefaultBodyLimit::disable())
                .get(list)
                .delete(erase_owner),
        )
        .route("/v1/media/{id}", get(show).patch(update).delete(remove))
        .route("/v1/media/{id}/refs", post(claim))
        .route("/v1/media/{id}/refs/{reference}", delete(release))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseQuery {
    owner: String,
}

/// Erases every media uploaded by `owner` (the token `sub` that uploaded
/// it), claimed or not: privacy requests outrank references. Admins only.
#[utoipa::path(delete, path = "/v1/media", tag = "media", params(("owner" = String, Query)),
    responses((status = 200, description = "{owner, erased, claims_dropped}"), (status = 403, body = avenue_shared::ErrorBody)), security(("bearer" = [])))]
async fn erase_owner(
    State(state): State<AppState>,
    MediaManager(claims): MediaManager,
    QueryParams(query): QueryParams<EraseQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    if claims.role != avenue_shared::Role::Admin {
        return Err(AppError::Forbidden);
    }
    let owner = query.owner.trim();
    if owner.is_empty() || owner.len() > 200 {
        return Err(AppError::bad_request(
            "invalid-owner",
            "owner: 1 to 200 characters",
        ));
    }
    let repo = state.library.repo();
    let filter = mongodb::bson::doc! { "owner": owner };
    let (mut erased, mut released_refs) = (0u64, 0usize);
    let mut after = None;
    loop {
        let batch = repo
            .matching(filter.clone(), after.as_ref(), 100)
            .await
            .map_err(MediaError::from)?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        for record in batch {
            if state.library.erase(&record).await? {
                erased += 1;
                released_refs += record.refs.len();
                tracing::info!(media = %record.id, %owner, "erased on request");
            }
        }
    }
    Ok(Json(
        serde_json::json!({ "owner": owner, "erased": erased, "claims_dropped": released_refs }),
    ))
}

fn parse_ref(raw: &str) -> Result<MediaRef, AppError> {
    MediaRef::parse(raw).map_err(|err| AppError::bad_request("invalid-ref", err.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimRequest {
    #[serde(rename = "ref")]
    reference: String,
    /// The user the record belongs to, when that user is not an admin: the
    /// claim then succeeds only for media that user uploaded (`owner`) or
    /// library assets (folder `library/...`).
    on_behalf_of: Option<String>,
}

/// Records that `ref` uses the media; idempotent.
#[utoipa::path(post, path = "/v1/media/{id}/refs", tag = "media", request_body(content = Object, description = "{\"ref\": \"collection:id\", \"on_behalf_of\": \"user id (optional)\"}"),
    responses((status = 200, body = avenue_shared::MediaDescriptor), (status = 403, body = avenue_shared::ErrorBody), (status = 404, body = avenue_shared::ErrorBody)), security(("bearer" = [])))]
async fn claim(
    State(state): State<AppState>,
    _manager: MediaManager,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ClaimRequest>,
) -> Result<Json<MediaDescriptor>, AppError> {
    let id = parse_id(&id)?;
    let reference = parse_ref(&request.reference)?;
    let owner = request
        .on_behalf_of
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let record = state.library.claim(&id, &reference, owner).await?;
    Ok(Json(state.library.describe(&record)))
}

/// Drops the claim of `reference`; idempotent, also for unknown media.
#[utoipa::path(delete, path = "/v1/media/{id}/refs/{reference}", tag = "media",
    responses((status = 204)), security(("bearer" = [])))]
async fn release(
    State(state): State<AppState>,
    _manager: MediaManager,
    Path((id, reference)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let reference = parse_ref(&reference)?;
    state.library.release(&id, &reference).await?;
    Ok((StatusCode::NO_CONTENT, Body::empty()).into_response())
}

fn parse_id(raw: &str) -> Result<MediaId, AppError> {
    MediaId::parse(raw).map_err(|err| AppError::bad_request("invalid-id", err.to_string()))
}

#[utoipa::path(post, path = "/v1/media", tag = "media",
    request_body(content_type = "multipart/form-data", description = "field `file` (and optional `folder`, `tags`, `alt`), or a raw image body with its Content-Type"),
    responses((status = 201, body = avenue_shared::MediaDescriptor, description = "stored"), (status = 200, body = avenue_shared::MediaDescriptor, description = "the same bytes were already stored"),
        (status = 400, body = avenue_shared::ErrorBody), (status = 413, body = avenue_shared::ErrorBody), (status = 415, body = avenue_shared::ErrorBody), (status = 422, body = avenue_shared::ErrorBody)),
    security(("bearer" = [])))]
async fn upload(
    State(state): State<AppState>,
    MediaManager(claims): MediaManager,
    QueryParams(query): QueryParams<UploadQuery>,
    request: Request,
) -> Result<Response, AppError> {
    let result = receive(&state, query, request).await;
    let outcome = match result {
        Ok((staged, fields)) => state
            .library
            .commit(staged, fields, &claims.sub)
            .await
            .map_err(AppError::from),
        Err(err) => Err(err),
    };
    match outcome {
        Ok(done) => {
            let label = if done.created {
                "created"
            } else {
                "deduplicated"
            };
            state.metrics.record_upload(label);
            state.metrics.upload_bytes.inc_by(done.record.bytes);
            if done.created {
                state.background.eager(
                    &done.record,
                    &state.delivery.eager,
                    &state.delivery.presets,
                );
            }
            let descriptor = state.library.describe(&done.record);
            let status = if done.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let mut response = (status, Json(descriptor)).into_response();
            if let Ok(location) = HeaderValue::from_str(&format!("/v1/media/{}", done.record.id)) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        Err(err) => {
            state.metrics.record_upload(&upload_error_label(&err));
            Err(err)
        }
    }
}

fn upload_error_label(err: &AppError) -> String {
    match err {
        AppError::Media(MediaError::TooLarge { .. }) => "too-large".into(),
        AppError::Media(MediaError::UnsupportedType(_)) => "unsupported-media-type".into(),
        AppError::Media(MediaError::TooManyPixels { .. }) => "too-many-pixels".into(),
        AppError::Media(MediaError::EmptyUpload) => "empty-upload".into(),
        _ => "failed".into(),
    }
}

#[derive(Debug, Deserialize)]
struct ListParams {
    folder: Option<String>,
    tag: Option<String>,
    /// `true`: only media no record uses.
    unused: Option<String>,
    /// Part of the original file name, any case.
    q: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/media", tag = "media",
    params(("folder" = Option<String>, Query), ("tag" = Option<String>, Query), ("unused" = Option<bool>, Query, description = "only media no record uses"), ("q" = Option<String>, Query, description = "part of the original file name"), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = avenue_shared::MediaPage), (status = 400, body = avenue_shared::ErrorBody)), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    _manager: MediaManager,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<MediaPage>, AppError> {
    let limit = match params.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                AppError::bad_request(
                    "invalid-parameter",
                    format!("limit must be 1 to {MAX_PAGE}"),
                )
            })?,
    };
    let query = ListQuery {
        folder: params
            .folder
            .as_deref()
            .map(Folder::parse)
            .transpose()
            .map_err(MediaError::from)?,
        tag: params
            .tag
            .as_deref()
            .map(Tag::parse)
            .transpose()
            .map_err(MediaError::from)?,
        unused: matches!(params.unused.as_deref(), Some("true" | "1")),
        name: params.q.filter(|q| q.chars().count() <= 200),
        limit,
        after: params
            .cursor
            .as_deref()
            .map(|raw| {
                PageCursor::decode(raw).ok_or_else(|| {
                    AppError::bad_request(
                        "invalid-parameter",
                        "cursor is not one this service issued",
                    )
                })
            })
            .transpose()?,
    };
    let (records, next) = state.library.list(&query).await?;
    Ok(Json(MediaPage {
        items: records.iter().map(|r| state.library.describe(r)).collect(),
        next_cursor: next.map(|c| c.encode()),
    }))
}

#[utoipa::path(get, path = "/v1/media/{id}", tag = "media",
    responses((status = 200, body = avenue_shared::MediaDescriptor), (status = 404, body = avenue_shared::ErrorBody)), security(("bearer" = [])))]
async fn show(
    State(state): State<AppState>,
    _manager: MediaManager,
    Path(id): Path<String>,
) -> Result<Json<MediaDescriptor>, AppError> {
    let record = state.library.get(&parse_id(&id)?).await?;
    Ok(Json(state.library.describe(&record)))
}

/// A PATCH body: an absent field is left alone, `null` clears it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    folder: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    alt: Option<Option<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// Tells `"field": null` (Some(None)) from a missing field (None).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl PatchBody {
    fn parse(self) -> Result<MediaPatch, FieldError> {
        Ok(MediaPatch {
            folder: self
                .folder
                .map(|f| f.as_deref().map(Folder::parse).transpose())
                .transpose()?,
            alt: self
                .alt
                .map(|a| a.as_deref().map(Alt::parse).transpose())
                .transpose()?,
            tags: self
                .tags
                .map(|t| Tags::parse_list(t.iter().map(String::as_str)))
                .transpose()?,
        })
    }
}

#[utoipa::path(patch, path = "/v1/media/{id}", tag = "media", request_body(content = Object, description = "any of alt, tags, folder; null clears"),
    responses((status = 200, body = avenue_shared::MediaDescriptor), (status = 400, body = avenue_shared::ErrorBody), (status = 404, body = avenue_shared::ErrorBody)), security(("bearer" = [])))]
async fn update(
    State(state): State<AppState>,
    _manager: MediaManager,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Json<MediaDescriptor>, AppError> {
    let id = parse_id(&id)?;
    let patch = body.parse().map_err(MediaError::from)?;
    let record = state.library.update(&id, &patch).await?;
    Ok(Json(state.library.describe(&record)))
}

#[utoipa::path(delete, path = "/v1/media/{id}", tag = "media",
    responses((status = 204), (status = 404, body = avenue_shared::ErrorBody), (status = 409, body = avenue_shared::ErrorBody, description = "claimed by a record")), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    _manager: MediaManager,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    state.library.delete(&parse_id(&id)?).await?;
    Ok((StatusCode::NO_CONTENT, Body::empty()).into_response())
}
