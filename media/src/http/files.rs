//! Delivery of what is not an image, under Cloudinary's paths:
//! `/video/upload/[vN/]{id}.{ext}` and `/raw/upload/[vN/]{id}.{ext}`. The
//! bytes are served as uploaded, with ranges (a `<video>` seeks with them),
//! the ETag and the immutable caching of images; videos and documents
//! are not transcoded, so a transformation segment answers 400. A video
//! asked for with an image's extension is one of its frames, delivered
//! like any image (see [`super::delivery`]).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri, Path, State};
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
use crate::process::format::ImageFormat;
use crate::store::ResourceKind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/video/upload/{*path}", get(deliver_video))
        .route("/raw/upload/{*path}", get(deliver_raw))
}

/// A video asked for under `/image/upload/`.
pub(super) fn not_an_image(record: &MediaRecord) -> AppError {
    AppError::bad_request(
        "not-an-image",
        format!(
            "media {id} is a video ({}): its frames are images at /video/upload/[so_SECONDS/]{id}.jpg, \
             and it is delivered as uploaded at /video/upload/{id}.{}",
            record.format.mime(),
            record.format.extension(),
            id = record.id,
        ),
    )
}

#[utoipa::path(get, path = "/video/upload/{path}", tag = "delivery",
    params(("path" = String, Path, description = "[vN/]{id}.{ext}: mp4, webm or mov, as uploaded; or [s--SIG--/][so_SECONDS|so_Np|so_auto,TRANSFORMATIONS/][vN/]{id}.{jpg|png|webp|avif}: a frame (the middle one without so_)")),
    responses((status = 200, description = "the video, or its frame, cacheable for ever"), (status = 206, description = "a byte range, for seeking"), (status = 304),
        (status = 400, body = avenue_shared::ErrorBody), (status = 403, body = avenue_shared::ErrorBody), (status = 404, body = avenue_shared::ErrorBody), (status = 416, body = avenue_shared::ErrorBody), (status = 422, body = avenue_shared::ErrorBody)))]
async fn deliver_video(
    state: State<AppState>,
    method: Method,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    path: Path<String>,
) -> Result<Response, AppError> {
    let asks_image = path
        .rsplit_once('.')
        .is_some_and(|(_, ext)| ImageFormat::from_extension(ext).is_some());
    if asks_image {
        return super::delivery::deliver_frame(&state, method, headers, &uri, peer).await;
    }
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
