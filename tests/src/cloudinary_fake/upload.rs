//! The fake's upload endpoint: signed forms, whole or in chunks, checked
//! per resource type as Cloudinary checks them.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::json;

use super::{describe, error, refuse, FakeState, Refusal, StoredResource};

/// Reads every form field; `file` may be bytes, a data URI or plain text.
pub(super) async fn read_form(
    mut form: Multipart,
) -> Result<(HashMap<String, String>, Option<Vec<u8>>), Refusal> {
    let mut params = HashMap::new();
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, &e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some()
            || field
                .content_type()
                .is_some_and(|c| !c.starts_with("text/"));
        let data = field
            .bytes()
            .await
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, &e.body_text()))?;
        if name == "file" {
            if is_file {
                file = Some(data.to_vec());
            } else {
                let text = String::from_utf8_lossy(&data).into_owned();
                file = Some(decode_file_text(&text)?);
                params.insert(name, text);
            }
        } else {
            params.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok((params, file))
}

fn decode_file_text(text: &str) -> Result<Vec<u8>, Refusal> {
    if let Some(rest) = text.strip_prefix("data:") {
        let (_, payload) = rest
            .split_once(";base64,")
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "Invalid data URI"))?;
        return base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "Invalid data URI"));
    }
    if text.starts_with("http://") || text.starts_with("https://") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Remote URLs are not fetched by the fake",
        ));
    }
    Ok(text.as_bytes().to_vec())
}

/// A chunk of a chunked upload, as Cloudinary documents them: the same
/// signed form per chunk, `X-Unique-Upload-Id`, and `Content-Range: bytes
/// START-END/TOTAL` (`-1` until the last), every chunk but the last at least
/// 5 MB, in order. Answers the whole file once its last chunk is in.
fn chunk(
    state: &FakeState,
    headers: &HeaderMap,
    bytes: Vec<u8>,
) -> Result<Option<Vec<u8>>, Refusal> {
    let Some(upload_id) = headers
        .get("x-unique-upload-id")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(Some(bytes));
    };
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split_once('/'))
        .and_then(|(span, total)| {
            let (start, end) = span.split_once('-')?;
            Some((
                start.parse::<usize>().ok()?,
                end.parse::<usize>().ok()?,
                total.parse::<i64>().ok()?,
            ))
        });
    let Some((start, end, total)) = range else {
        return Err(refuse(StatusCode::BAD_REQUEST, "Invalid Content-Range"));
    };
    let mut inner = state.lock();
    let so_far = inner.partial.get(upload_id).map_or(0, Vec::len);
    if start != so_far || end + 1 != start + bytes.len() {
        return Err(refuse(StatusCode::BAD_REQUEST, "Chunk out of order"));
    }
    let last = total >= 0;
    if last && total as usize != end + 1 {
        return Err(refuse(StatusCode::BAD_REQUEST, "Total size does not match"));
    }
    if !last && bytes.len() < 5 * 1024 * 1024 {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Chunk size must be at least 5MB",
        ));
    }
    inner.chunks += 1;
    let mut whole = inner.partial.remove(upload_id).unwrap_or_default();
    whole.extend_from_slice(&bytes);
    if last {
        Ok(Some(whole))
    } else {
        inner.partial.insert(upload_id.to_owned(), whole);
        Ok(None)
    }
}

pub(super) async fn upload(
    State(state): State<FakeState>,
    Path((cloud, resource_type)): Path<(String, String)>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    if let Some(failed) = state.before("upload").await {
        return failed;
    }
    if cloud != state.cloud {
        return error(StatusCode::NOT_FOUND, "Unknown cloud");
    }
    if !matches!(resource_type.as_str(), "image" | "video" | "raw") {
        return error(StatusCode::BAD_REQUEST, "Invalid resource type");
    }
    let (params, file) = match read_form(form).await {
        Ok(read) => read,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(refusal) = state.check_signature(&params) {
        return refusal.into_response();
    }
    let Some(bytes) = file else {
        return error(StatusCode::BAD_REQUEST, "Missing required parameter - file");
    };
    let bytes = match chunk(&state, &headers, bytes) {
        Ok(Some(whole)) => whole,
        Ok(None) => return Json(json!({ "done": false })).into_response(),
        Err(refusal) => return refusal.into_response(),
    };
    let (format, size) = match resource_type.as_str() {
        "image" => {
            let Ok(size) = imagesize::blob_size(&bytes) else {
                return error(StatusCode::BAD_REQUEST, "Invalid image file");
            };
            let format = match imagesize::image_type(&bytes) {
                Ok(imagesize::ImageType::Jpeg) => "jpg",
                Ok(imagesize::ImageType::Png) => "png",
                Ok(imagesize::ImageType::Webp) => "webp",
                Ok(imagesize::ImageType::Gif) => "gif",
                Ok(imagesize::ImageType::Heif(_)) => "avif",
                _ => return error(StatusCode::BAD_REQUEST, "Invalid image file"),
            };
            (format, (size.width as u32, size.height as u32))
        }
        "video" => {
            let format = if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
                if &bytes[8..12] == b"qt  " {
                    "mov"
                } else {
                    "mp4"
                }
            } else if bytes.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
                "webm"
            } else {
                return error(StatusCode::BAD_REQUEST, "Invalid video file");
            };
            (format, (0, 0))
        }
        // Raw files are kept as they are; they have no format.
        _ => ("", (0, 0)),
    };
    let base_id = params
        .get("public_id")
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let public_id = match params.get("folder").filter(|f| !f.is_empty()) {
        Some(folder) => format!("{}/{base_id}", folder.trim_end_matches('/')),
        None => base_id,
    };
    let overwrite = params.get("overwrite").is_none_or(|v| v != "false");
    let tags: Vec<String> = params
        .get("tags")
        .map(|t| {
            t.split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let version = time::OffsetDateTime::now_utc().unix_timestamp();
    let resource = {
        let mut inner = state.lock();
        let key = (resource_type.clone(), public_id.clone());
        if !overwrite {
            if let Some(existing) = inner.resources.get(&key) {
                return Json(describe(&state, &public_id, existing, bytes.len())).into_response();
            }
        }
        let resource = StoredResource {
            resource_type,
            bytes,
            format: format.to_owned(),
            version,
            width: size.0,
            height: size.1,
            tags,
        };
        inner.resources.insert(key, resource.clone());
        resource
    };
    let len = resource.bytes.len();
    Json(describe(&state, &public_id, &resource, len)).into_response()
}
