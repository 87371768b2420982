//! The answers this layer gives itself, all in the JSON error envelope:
//! heads over the limits, slow bodies, and the framework's own plain-text
//! refusals rewritten.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use super::{BoxError, ServerLimits};
use crate::ErrorBody;

/// Most headers in one request.
pub(super) const MAX_HEADERS: usize = 128;
/// Most headers hyper parses (past it, its own bare 431).
pub(super) const HARD_MAX_HEADERS: usize = 1024;

/// hyper's buffer for a request head: eight times our limit, at least
/// 256 KiB. Past it hyper answers a bare 431 itself.
pub fn hard_header_cap(max_header_bytes: usize) -> usize {
    max_header_bytes.max(8192).saturating_mul(8).max(256 * 1024)
}

/// The refusal of a request head over the limits, or `None`.
pub(super) fn oversized_head(
    parts: &http::request::Parts,
    limits: &ServerLimits,
) -> Option<String> {
    let headers = &parts.headers;
    if headers.len() > MAX_HEADERS {
        return Some(format!(
            "{} headers; at most {MAX_HEADERS} are taken",
            headers.len()
        ));
    }
    // As sent on the wire: `name: value\r\n` each, plus the request line.
    let size = parts.uri.to_string().len()
        + headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    (size > limits.max_header_bytes).then(|| {
        format!(
            "the request head is {size} bytes; at most {} are taken",
            limits.max_header_bytes
        )
    })
}

/// Longest plain-text error message carried into the envelope.
const PLAIN_ERROR_MAX: u64 = 4096;

pub(super) async fn envelope_plain_errors<B>(
    response: Response<B>,
) -> Response<UnsyncBoxBody<Bytes, BoxError>>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= PLAIN_ERROR_MAX);
    if !(status.is_client_error() || status.is_server_error()) || is_json || !small {
        return response.map(|b| b.map_err(Into::into).boxed_unsync());
    }
    let (mut parts, body) = response.into_parts();
    let text = match body.collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-field",
        StatusCode::TOO_MANY_REQUESTS => "rate-limited",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let json = serde_json::to_vec(&ErrorBody::new(code, message)).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        Full::new(Bytes::from(json))
            .map_err(|never| match never {})
            .boxed_unsync(),
    )
}

/// An error in the envelope, from this layer (not a handler's).
pub(super) fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<UnsyncBoxBody<Bytes, BoxError>> {
    let json = serde_json::to_vec(&ErrorBody::new(code, message)).unwrap_or_default();
    let mut response = Response::new(
        Full::new(Bytes::from(json))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn timeout_response() -> Response<UnsyncBoxBody<Bytes, BoxError>> {
    let mut response = error_response(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "the request body stopped arriving, or arrived too slowly",
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
