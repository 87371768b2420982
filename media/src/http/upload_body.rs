//! The body of an upload, raw or multipart: its file streamed into the
//! store as it arrives, its text fields read within their limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderMap};
use futures::StreamExt;
use serde::Deserialize;

use super::error::AppError;
use super::AppState;
use crate::media::fields::{original_name, Alt, FieldError, Folder, Tags, UploadFields};
use crate::media::ingest::StagedObject;
use crate::media::MediaError;

/// Multipart framing (boundaries, part headers, small text fields) on top of
/// the file itself, allowed before a declared Content-Length counts as too large.
pub const MULTIPART_SLACK: u64 = 64 * 1024;
/// Longest accepted text field in a multipart upload.
const TEXT_FIELD_MAX: usize = 4096;

/// Metadata for raw-body uploads, which have nowhere else to put it.
#[derive(Debug, Default, Deserialize)]
pub(super) struct UploadQuery {
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

/// Streams the file of a multipart or raw upload into the store.
pub(super) async fn receive(
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
