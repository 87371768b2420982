//! Delivery of what is not an image, under Cloudinary's paths:
//! `/video/upload/[vN/]{id}.{ext}` and `/raw/upload/[vN/]{id}.{ext}`. The
//! bytes are served as uploaded, with ranges (a `<video>` seeks with them),
//! the ETag and the immutable caching of images. There is nothing to
//! transform: any transformation segment answers 400.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use avenue_shared::MediaId;

use super::error::AppError;
use super::originals::{original, redirect};
use super::AppState;
use crate::config::RemoteDelivery;
use crate::media::repo::MediaRecord;
use crate::store::ResourceKind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/video/upload/{*path}", get(deliver_video))
        .route("/raw/upload/{*path}", get(deliver_raw))
}

/// A media asked for as an image that is a video or a document.
pub(super) fn not_an_image(record: &MediaRecord) -> AppError {
    let kind = record.format.resource().as_str();
    AppError::bad_request(
        "not-an-image",
        format!(
            "media {} is a {} ({}): image transformations do not apply; \
             it is delivered as uploaded at /{kind}/upload/{}.{}",
            record.id,
            if kind == "video" { "video" } else { "document" },
            record.format.mime(),
            record.id,
            record.format.extension()
        ),
    )
}

#[utoipa::path(get, path = "/video/upload/{path}", tag = "delivery",
    params(("path" = String, Path, description = "[vN/]{id}.{ext}: mp4, webm or mov, as uploaded")),
    responses((status = 200, description = "the video, cacheable for ever"), (status = 206, description = "a byte range, for seeking"), (status = 304),
        (status = 400, body = avenue_shared::ErrorBody), (status = 404, body = avenue_shared::ErrorBody), (status = 416, body = avenue_shared::ErrorBody)))]
async fn deliver_video(
    state: State<AppState>,
    method: Method,
    headers: HeaderMap,
    path: Path<String>,
) -> Result<Response, AppError> {
    deliver(ResourceKind::Video, state, method, headers, path).await
}

#[utoipa::path(get, path = "/raw/upload/{path}", tag = "delivery",
    params(("path" = String, Path, description = "[vN/]{id}.pdf, as uploaded")),
    responses((status = 200, description = "the document, cacheable for ever"), (status = 206), (status = 304),
        (status = 400, body = avenue_shared::ErrorBody), (status = 404, body = avenue_shared::ErrorBody), (status = 416, body = avenue_shared::ErrorBody)))]
async fn deliver_raw(
    state: State<AppState>,
    method: Method,
    headers: HeaderMap,
    path: Path<String>,
) -> Result<Response, AppError> {
    deliver(ResourceKind::Raw, state, method, headers, path).await
}

async fn deliver(
    kind: ResourceKind,
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Result<Response, AppError> {
    let (id, ext) = parse_path(kind, &path)?;
    let record = state.library.get_for_delivery(&id).await?;
    let format = record.format;
    if format.resource() != kind {
        return Err(AppError::bad_request(
            "wrong-resource-type",
            format!(
                "media {id} is {}: ask for /{}/upload/{id}.{}",
                format.mime(),
                format.resource().as_str(),
                format.extension()
            ),
        ));
    }
    if !ext.eq_ignore_ascii_case(format.extension()) {
        return Err(AppError::bad_request(
            "no-conversion",
            format!(
                "media {id} is {} and is only delivered as uploaded: /{}/upload/{id}.{}",
                format.mime(),
                kind.as_str(),
                format.extension()
            ),
        ));
    }
    // A backend that delivers by itself gets the client redirected when so
    // configured; otherwise the bytes stream from here, ranges and all.
    if state.delivery.remote == RemoteDelivery::Redirect {
        let store = state.library.stores().get(record.backend)?;
        if let Some(location) = store.public_url(&record.storage_key, "", format.extension()) {
            return Ok(redirect(&location));
        }
    }
    original(&state, &record, &method, &headers).await
}

/// `[vN/]{id}.{ext}`; anything else in front is a transformation.
fn parse_path(kind: ResourceKind, path: &str) -> Result<(MediaId, &str), AppError> {
    let mut segments: Vec<&str> = path.split('/').collect();
    let file = segments.pop().unwrap_or_default();
    if segments.last().is_some_and(|s| {
        s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
    }) {
        segments.pop();
    }
    if !segments.is_empty() {
        return Err(AppError::bad_request(
            "invalid-transformation",
            format!(
                "transformations apply to images only; a {} is delivered as uploaded at /{}/upload/{{id}}.{{ext}}",
                if kind == ResourceKind::Video { "video" } else { "document" },
                kind.as_str()
            ),
        ));
    }
    let (id, ext) = file.rsplit_once('.').ok_or_else(|| {
        AppError::bad_request(
            "invalid-path",
            format!("expected /{}/upload/{{id}}.{{ext}}", kind.as_str()),
        )
    })?;
    let id =
        MediaId::parse(id).map_err(|err| AppError::bad_request("invalid-id", err.to_string()))?;
    Ok((id, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_file_and_nothing_to_transform() {
        let id = "0123456789abcdef0123456789abcdef";
        let path = format!("v12/{id}.mp4");
        let (parsed, ext) = parse_path(ResourceKind::Video, &path).expect("ok");
        assert_eq!((parsed.as_str(), ext), (id, "mp4"));
        for bad in [
            format!("c_fill,w_100/{id}.mp4"),
            format!("t_thumb/v3/{id}.mp4"),
            id.to_string(),
            "nope.mp4".to_owned(),
        ] {
            assert!(parse_path(ResourceKind::Video, &bad).is_err(), "{bad}");
        }
    }
}
