//! Public delivery of originals, with URLs shaped like Cloudinary's:
//! `/image/upload/[vVERSION/]{id}.{ext}`. Content-addressed, so every
//! response may be cached forever.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use avenue_shared::MediaId;

use super::conditional::{etag_for, none_match_hits, range_request, RangeRequest};
use super::error::AppError;
use super::AppState;
use crate::media::format::ImageFormat;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn router() -> Router<AppState> {
    Router::new().route("/image/upload/{*path}", get(deliver))
}

/// The parsed tail of a delivery URL.
#[derive(Debug, PartialEq, Eq)]
struct DeliveryPath {
    id: MediaId,
    format: ImageFormat,
}

fn parse_path(path: &str) -> Result<DeliveryPath, AppError> {
    let mut segments: Vec<&str> = path.split('/').collect();
    let last = segments.pop().unwrap_or_default();
    // A version segment (v + digits) only busts caches; content addressing
    // already makes every URL immutable, so any version serves the same bytes.
    if segments.last().is_some_and(|s| {
        s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
    }) {
        segments.pop();
    }
    if let Some(first) = segments.first() {
        return Err(AppError::bad_request(
            "unsupported-transformation",
            format!("transformations are not served yet (got '{first}'); request the original"),
        ));
    }
    let (id, ext) = last.rsplit_once('.').ok_or_else(|| {
        AppError::bad_request("invalid-path", "expected /image/upload/{id}.{ext}")
    })?;
    let id =
        MediaId::parse(id).map_err(|err| AppError::bad_request("invalid-id", err.to_string()))?;
    let format = ImageFormat::from_extension(&ext.to_ascii_lowercase()).ok_or_else(|| {
        AppError::bad_request(
            "invalid-path",
            format!("unknown extension '{ext}'; use jpg, png, webp, gif or avif"),
        )
    })?;
    Ok(DeliveryPath { id, format })
}

async fn deliver(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Result<Response, AppError> {
    let wanted = parse_path(&path)?;
    let record = state.library.get(&wanted.id).await?;
    if wanted.format != record.format {
        return Err(AppError::Rejected {
            status: StatusCode::NOT_FOUND,
            code: "format-not-available",
            message: format!(
                "this media is stored as {}; format conversion is not served yet",
                record.format
            ),
        });
    }

    let etag = etag_for(&record.sha256);
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }

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
    if method == Method::HEAD {
        return Ok((status, response_headers).into_response());
    }
    let stream = state.library.read_original(&record, range).await?;
    Ok((status, response_headers, Body::from_stream(stream)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_original_paths_with_optional_version() {
        let plain = parse_path(&format!("{ID}.jpg")).expect("valid");
        assert_eq!(plain.format, ImageFormat::Jpeg);
        assert_eq!(plain.id.as_str(), ID);
        assert!(parse_path(&format!("v1700000000/{ID}.png")).is_ok());
        assert!(parse_path(&format!("{ID}.JPEG")).is_ok());
    }

    #[test]
    fn refuses_bad_paths() {
        assert!(parse_path(&format!("w_100/{ID}.jpg")).is_err());
        assert!(parse_path(ID).is_err());
        assert!(parse_path(&format!("{ID}.exe")).is_err());
        assert!(parse_path("../../etc/passwd.jpg").is_err());
        assert!(parse_path(&format!("v/{ID}.jpg")).is_err());
    }
}
