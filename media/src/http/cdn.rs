//! What every delivery answer tells the CDN in front of us, success or not:
//! which media it shows (`Surrogate-Key` for Fastly, `Cache-Tag` for
//! Cloudflare, both `media-{id}`, so a purge by tag forgets every variant
//! and every error cached for it), how long an error may be cached (a 4xx
//! a minute, a 5xx never: the next request must reach us), and who may
//! draw and time the image from another origin.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use avenue_shared::MediaId;

use super::AppState;
use crate::purge::tag;

pub const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");
pub const CACHE_TAG: HeaderName = HeaderName::from_static("cache-tag");
const TIMING_ALLOW_ORIGIN: HeaderName = HeaderName::from_static("timing-allow-origin");
/// A refusal may be fixed (a media uploaded, a preset added): cached briefly.
const CLIENT_ERROR_CACHE: &str = "public, max-age=60";

/// The media a delivery path names: its last segment's stem, when that is
/// an id.
fn media_in(path: &str) -> Option<MediaId> {
    let file = path.rsplit('/').next()?;
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    MediaId::parse(stem).ok()
}

pub async fn delivery_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let media = media_in(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    if let Some(id) = media {
        if let Ok(value) = HeaderValue::from_str(&tag(&id)) {
            headers.insert(SURROGATE_KEY, value.clone());
            headers.insert(CACHE_TAG, value);
        }
    }
    if status.is_server_error() {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if status.is_client_error() {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CLIENT_ERROR_CACHE),
        );
    }
    if let Ok(origin) = HeaderValue::from_str(&state.delivery.cors_origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(TIMING_ALLOW_ORIGIN, origin);
        if state.delivery.cors_origin != "*" {
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::media_in;

    #[test]
    fn the_media_of_a_delivery_path() {
        let id = "0123456789abcdef0123456789abcdef";
        for path in [
            format!("/image/upload/{id}.jpg"),
            format!("/image/upload/s--abc--/c_fill,w_10/v3/{id}.webp"),
        ] {
            assert_eq!(media_in(&path).map(|m| m.to_string()), Some(id.to_owned()));
        }
        assert_eq!(media_in("/image/upload/nope.jpg"), None);
    }
}
