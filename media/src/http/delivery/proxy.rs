//! Delivery through us from a backend that renders itself (Cloudinary in
//! proxy mode): only images pass, with our cache headers.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::conditional::none_match_hits;
use super::super::error::AppError;
use super::super::originals::cache_headers;
use crate::media::repo::MediaRecord;
use crate::process::format::ImageFormat;
use crate::store::Store;

/// Names what a proxied URL delivers: the original's bytes, the expanded
/// transformation and the negotiated format decide it completely.
pub(super) fn proxied_id(
    record: &MediaRecord,
    transformation: &str,
    format: ImageFormat,
) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(record.sha256.as_bytes())
        .chain_update(b"\0")
        .chain_update(transformation.as_bytes())
        .chain_update(b"\0")
        .chain_update(format.extension().as_bytes())
        .finalize();
    format!("cld-{}", &hex::encode(digest)[..32])
}

/// Streams what the backend renders, with our own cache headers, so the
/// CDN sees one origin and immutable answers.
pub(super) async fn proxy(
    store: &dyn Store,
    location: &url::Url,
    etag: &str,
    varies: bool,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let mut response_headers = cache_headers(etag);
    if varies {
        response_headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if header_str(header::IF_NONE_MATCH).is_some_and(|inm| none_match_hits(inm, etag)) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let rendered = store
        .fetch_public(location, header_str(header::ACCEPT))
        .await?;
    // Only an image type passes through: anything else (an HTML error
    // page, a script) would be served from our origin, cached for a year.
    let content_type = rendered
        .content_type
        .filter(|t| {
            [
                "image/jpeg",
                "image/png",
                "image/webp",
                "image/gif",
                "image/avif",
            ]
            .iter()
            .any(|allowed| {
                t.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case(allowed))
            })
        })
        .and_then(|t| HeaderValue::from_str(&t).ok())
        .ok_or_else(|| {
            crate::store::StoreError::Rejected(
                "the backend answered something that is not an image".into(),
            )
        })?;
    response_headers.insert(header::CONTENT_TYPE, content_type);
    if let Some(length) = rendered.length {
        response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if *method == Method::HEAD {
        return Ok((StatusCode::OK, response_headers).into_response());
    }
    Ok((
        StatusCode::OK,
        response_headers,
        Body::from_stream(rendered.body),
    )
        .into_response())
}
