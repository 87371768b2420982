//! `/v1/media`: upload, list, show, edit and delete media.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde::{Deserialize, Deserializer};

use avenue_shared::{MediaDescriptor, MediaId, MediaPage, MediaRef};

use super::auth::MediaManager;
use super::error::AppError;
use super::extract::{JsonBody, QueryParams};
use super::AppState;
use crate::media::fields::{
    original_name, Alt, FieldError, Folder, MediaPatch, Tag, Tags, UploadFields,
};
use crate::media::ingest::StagedObject;
use crate::media::repo::{ListQuery, PageCursor};
use crate::media::MediaError;

/// Multipart framing (boundaries, part headers, small text fields) on top of
/// the file itself, allowed before a declared Content-Length counts as too large.
pub const MULTIPART_SLACK: u64 = 64 * 1024;
/// Longest accepted text field in a multipart upload.
const TEXT_FIELD_MAX: usize = 4096;
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

/// Metadata for raw-body uploads, which have nowhere else to put it.
#[derive(Debug, Default, Deserialize)]
struct UploadQuery {
    folder: Option<String>,
    tags: Option<String>,
    alt: Option<String>,
    /// `true`: for a form that may never be saved; it expires unclaimed
    /// after `MEDIA_PENDING_TTL`. Otherwise a library asset, kept until
    /// deleted.
    pending: Option<String>,
    /// The original file name of a raw upload (a form's file part names
    /// its own).
    filename: Option<String>,
}

/// Metadata as it arrives, before parsing.
#[derive(Debug, Default)]
struct RawFields {
    folder: Option<String>,
    tags: Option<String>,
    alt: Option<String>,
    pending: Option<String>,
    file_name: Option<String>,
}

impl RawFields {
    fn parse(self) -> Result<UploadFields, FieldError> {
        Ok(UploadFields {
            folder: self
                .folder
                .filter(|f| !f.trim().is_empty())
                .as_deref()
                .map(Folder::parse)
                .transpose()?,
            tags: Tags::parse_csv(self.tags.as_deref().unwrap_or(""))?,
            alt: self.alt.as_deref().map(Alt::parse).transpose()?,
            pending: match self.pending.as_deref().map(str::trim) {
                None | Some("" | "false" | "0") => false,
                Some("true" | "1") => true,
                Some(other) => {
                    return Err(FieldError::new(
                        "pending",
                        format!("'{other}' is not true or false"),
                    ))
                }
            },
            original_name: self.file_name.as_deref().and_then(original_name),
        })
    }
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

/// Streams the file of a multipart or raw upload into the store.
async fn receive(
    state: &AppState,
    query: UploadQuery,
    request: Request,
) -> Result<(StagedObject, UploadFields), AppError> {
    let limits = state.library.limits();
    let multipart = is_multipart(request.headers());
    // Each kind has its own limit, decided from the bytes once they come;
    // before that, a raw upload's declared type (only a hint) picks the
    // limit a declared length is held to, and anything else the largest.
    let declared_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let max = if multipart {
        limits.max_any()
    } else if declared_type.starts_with("image/") {
        limits.max_upload_bytes
    } else if declared_type.starts_with("video/") {
        limits.max_video_bytes
    } else if declared_type == "application/pdf" {
        limits.max_raw_bytes
    } else {
        limits.max_any()
    };
    if let Some(declared) = content_length(request.headers()) {
        let allowed = if multipart {
            max + MULTIPART_SLACK
        } else {
            max
        };
        if declared > allowed {
            return Err(MediaError::TooLarge { limit: max }.into());
        }
    }
    let mut fields = RawFields {
        folder: query.folder,
        tags: query.tags,
        alt: query.alt,
        pending: query.pending,
        file_name: query.filename,
    };
    if !multipart {
        let fields = fields.parse().map_err(MediaError::from)?;
        let staged = state
            .library
            .ingest(request.into_body().into_data_stream())
            .await?;
        return Ok((staged, fields));
    }

    // The whole form, not only its file, is held to a limit: a form of
    // endless text fields is as large as an endless file. The file keeps
    // its own kind's limit; text beside it gets MULTIPART_SLACK in all.
    let allowed = max + MULTIPART_SLACK;
    let over = Arc::new(AtomicBool::new(false));
    let request = {
        let over = over.clone();
        let mut seen: u64 = 0;
        request.map(|body| {
            Body::from_stream(body.into_data_stream().map(move |chunk| {
                let chunk = chunk?;
                seen += chunk.len() as u64;
                if seen > allowed {
                    over.store(true, Ordering::Release);
                    return Err(axum::Error::new("the form is larger than allowed"));
                }
                Ok(chunk)
            }))
        })
    };
    let too_large = || -> AppError { MediaError::TooLarge { limit: max }.into() };
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| AppError::bad_request("malformed-multipart", rejection.body_text()))?;
    let mut staged = None;
    let read = read_form(state, &mut form, &mut staged, &mut fields)
        .await
        .map_err(|err| {
            if over.load(Ordering::Acquire) {
                too_large()
            } else {
                err
            }
        });
    let parsed = read.and_then(|()| {
        if staged.is_none() {
            return Err(AppError::bad_request(
                "missing-file",
                "the form has no 'file' field",
            ));
        }
        fields.parse().map_err(|err| MediaError::from(err).into())
    });
    match (parsed, staged) {
        (Ok(fields), Some(staged)) => Ok((staged, fields)),
        (Err(err), Some(staged)) => {
            // Remove the stored file now, so the refusal leaves nothing behind.
            state.library.discard(staged).await;
            Err(err)
        }
        (Err(err), None) => Err(err),
        (Ok(_), None) => Err(AppError::bad_request(
            "missing-file",
            "the form has no 'file' field",
        )),
    }
}

/// Reads every form field; the file goes to the store as it streams.
async fn read_form(
    state: &AppState,
    form: &mut Multipart,
    staged: &mut Option<StagedObject>,
    fields: &mut RawFields,
) -> Result<(), AppError> {
    // Each text field counts as the most it may hold: at most 16 of them.
    let mut text_total: u64 = 0;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            text_total += TEXT_FIELD_MAX as u64;
            if text_total > MULTIPART_SLACK {
                return Err(MediaError::TooLarge {
                    limit: MULTIPART_SLACK,
                }
                .into());
            }
        }
        match name.as_str() {
            "file" if staged.is_some() => {
                return Err(AppError::bad_request(
                    "too-many-files",
                    "send one 'file' field per upload",
                ))
            }
            "file" => {
                if let Some(name) = field.file_name() {
                    fields.file_name = Some(name.to_owned());
                }
                *staged = Some(state.library.ingest(Box::pin(field)).await?);
            }
            "pending" => fields.pending = Some(read_text(field, "pending").await?),
            "folder" => fields.folder = Some(read_text(field, "folder").await?),
            "tags" => fields.tags = Some(read_text(field, "tags").await?),
            "alt" => fields.alt = Some(read_text(field, "alt").await?),
            other => {
                return Err(AppError::bad_request(
                    "unknown-field",
                    format!(
                        "unknown form field '{other}'; expected file, folder, tags, alt or pending"
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> AppError {
    AppError::bad_request("malformed-multipart", err.body_text())
}

async fn read_text(
    mut field: axum::extract::multipart::Field<'_>,
    name: &'static str,
) -> Result<String, AppError> {
    let mut text = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if text.len() + chunk.len() > TEXT_FIELD_MAX {
            return Err(MediaError::from(FieldError::new(
                name,
                format!("longer than {TEXT_FIELD_MAX} bytes"),
            ))
            .into());
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text)
        .map_err(|_| MediaError::from(FieldError::new(name, "not valid UTF-8")).into())
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
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
