//! What every delivery path answers the same way: an original streamed
//! from its store (ranges, `If-None-Match`, `If-Range`), the immutable cache
//! headers, and redirects to backends that deliver by themselves.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::conditional::{etag_for, none_match_hits, range_request, RangeRequest};
use super::error::AppError;
use super::AppState;
use crate::media::repo::MediaRecord;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The target only changes if the media moves to another backend, so it may
/// be cached, but not forever.
const REDIRECT_CACHE: &str = "public, max-age=86400";

pub(super) fn redirect(location: &url::Url) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(REDIRECT_CACHE),
    );
    match HeaderValue::from_str(location.as_str()) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
            (StatusCode::FOUND, headers).into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub(super) fn cache_headers(etag: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers
}

/// Streams the original, honouring `If-None-Match`, `Range` and `If-Range`.
pub(super) async fn original(
    state: &AppState,
    record: &MediaRecord,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let etag = etag_for(&record.sha256);
    let mut response_headers = cache_headers(&etag);
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if header_str(header::IF_NONE_MATCH).is_some_and(|inm| none_match_hits(inm, &etag)) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(record.format.mime()),
    );
    let length = record.bytes;
    let (status, range) = match range_request(
        header_str(header::RANGE),
        header_str(header::IF_RANGE),
        &etag,
        length,
    ) {
        RangeRequest::Full => (StatusCode::OK, None),
        RangeRequest::Partial(range) => (StatusCode::PARTIAL_CONTENT, Some(range)),
        RangeRequest::Unsatisfiable => return Err(AppError::RangeNotSatisfiable { length }),
    };
    let body_len = range.map_or(length, |r| r.len());
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    if let Some(r) = range {
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {}-{}/{length}", r.start, r.end)) {
            response_headers.insert(header::CONTENT_RANGE, value);
        }
    }
    if *method == Method::HEAD {
        return Ok((status, response_headers).into_response());
    }
    let stream = state.library.read_original(record, range).await?;
    Ok((status, response_headers, Body::from_stream(stream)).into_response())
}
