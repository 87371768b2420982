//! The one place where failures become HTTP responses: status plus the JSON
//! envelope `{code, message}`. Internal failures are logged with their cause
//! chain and answered with a generic 500, never with driver text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use avenue_shared::{AuthError, ErrorBody};

use crate::media::error::{FailureKind, RenderFailure};
use crate::media::MediaError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    #[error("this needs the admin or service role")]
    Forbidden,
    /// A malformed request, with a stable code and a message for the client.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The rejection of an axum extractor, kept with its own status.
    #[error("{message}")]
    Rejected {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("requested range not satisfiable")]
    RangeNotSatisfiable { length: u64 },
    /// A client past its share of new renders; may try again later.
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after_secs: u64,
    },
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(err: AuthError) -> Self {
        Self::Unauthenticated(err.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        Self::Media(MediaError::Store(err))
    }
}

fn media_status(err: &MediaError) -> (StatusCode, &'static str) {
    if err.is_unavailable() {
        return (StatusCode::SERVICE_UNAVAILABLE, "database-unavailable");
    }
    match err {
        MediaError::EmptyUpload => (StatusCode::BAD_REQUEST, "empty-upload"),
        MediaError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
        MediaError::UnsupportedType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")
        }
        MediaError::TooManyPixels { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "too-many-pixels"),
        MediaError::UnreadableImage(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unreadable-image"),
        MediaError::ExtremeShape(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported-dimensions"),
        MediaError::Interrupted => (StatusCode::BAD_REQUEST, "upload-interrupted"),
        MediaError::InvalidField(_) => (StatusCode::BAD_REQUEST, "invalid-field"),
        MediaError::NotFound => (StatusCode::NOT_FOUND, "not-found"),
        MediaError::NotYours => (StatusCode::FORBIDDEN, "not-owner"),
        MediaError::InUse(_) => (StatusCode::CONFLICT, "media-in-use"),
        MediaError::Render(failure) => match failure.kind {
            FailureKind::Unreadable => (StatusCode::UNPROCESSABLE_ENTITY, "unreadable-image"),
            FailureKind::TooManyPixels => (StatusCode::UNPROCESSABLE_ENTITY, "too-many-pixels"),
            FailureKind::Unsupported => (StatusCode::UNPROCESSABLE_ENTITY, "cannot-render"),
            FailureKind::BadTransformation => (StatusCode::BAD_REQUEST, "invalid-transformation"),
            FailureKind::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            FailureKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database-unavailable"),
            FailureKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        },
        MediaError::Store(StoreError::NotFound(_)) => (StatusCode::NOT_FOUND, "not-found"),
        MediaError::Store(StoreError::Unavailable(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable")
        }
        MediaError::Store(StoreError::Misconfigured(_) | StoreError::Rejected(_)) => {
            (StatusCode::BAD_GATEWAY, "storage-failed")
        }
        MediaError::Store(_) | MediaError::Repo(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::Media(err) => media_status(err),
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            Self::Rejected { status, code, .. } => (*status, *code),
            Self::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range-not-satisfiable")
            }
            Self::TooMany { .. } => (StatusCode::TOO_MANY_REQUESTS, "too-many-renders"),
        };
        let range_length = match &self {
            Self::RangeNotSatisfiable { length } => Some(*length),
            _ => None,
        };
        let retry_after = match &self {
            Self::Media(MediaError::Render(RenderFailure {
                kind: FailureKind::Busy { retry_after_secs },
                ..
            })) => Some(*retry_after_secs),
            Self::TooMany {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            // Every other 503 (the database, Cloudinary) is worth a retry soon.
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                Some(avenue_shared::db::UNAVAILABLE_RETRY_AFTER_SECS)
            }
            _ => None,
        };
        let message = if retry_after.is_some() {
            self.to_string()
        } else if status.is_server_error() {
            tracing::error!(error = ?anyhow::Error::from(self), "request failed");
            "internal error; see the service log".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (status, Json(ErrorBody::new(code, message))).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // Failures are not the content a URL names: never cached for long.
        if status.is_server_error() {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let Some(length) = range_length {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                headers.insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}
