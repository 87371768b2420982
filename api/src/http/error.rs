//! The one place where failures become HTTP responses: status plus the JSON
//! envelope `{code, message, field?}`. Internal failures are logged with
//! their cause chain and answered with a generic 500, never driver text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use avenue_shared::{AuthError, ErrorBody, MediaClientError};

use crate::db::{DbError, TxError};
use crate::fields::{FieldError, NoSuch};
use crate::media::GatewayError;
use crate::users::accounts::AccountError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    /// The account's stored password is in a format no check exists for:
    /// only a password reset lets it sign in.
    #[error("this account must set a new password: request a password reset")]
    PasswordResetRequired,
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A field that parsed but broke a rule (`price` negative, an unknown
    /// media id in `image_ids[1]`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A well-formed request the current state refuses (an expired coupon).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the media service is unavailable")]
    MediaUnavailable(#[source] MediaClientError),
    /// Part of a repeatable operation is done and a service it needs was
    /// away for the rest: the message says what is done; repeat it.
    #[error("{message}")]
    Unfinished { code: &'static str, message: String },
    /// A transaction kept meeting concurrent writers (or the locks of a
    /// crashed one): nothing was changed, retry shortly.
    #[error("too many concurrent changes")]
    Busy(#[source] anyhow::Error),
    /// MongoDB is away (restarting, failing over): retry shortly.
    #[error("the database is unavailable")]
    DatabaseUnavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::forbidden_code("forbidden", message)
    }

    /// 403 with a code of its own (`account-deactivated`), for a refusal a
    /// client shows differently from a missing role.
    pub fn forbidden_code(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
}

impl From<mongodb::error::Error> for ApiError {
    fn from(err: mongodb::error::Error) -> Self {
        // A stored document that does not read as ours (the old back end
        // wrote it, `adopt-data` has not converted it): the record's fault,
        // not the service's, and the driver's words name the field.
        if let mongodb::error::ErrorKind::BsonDeserialization(cause) = err.kind.as_ref() {
            tracing::warn!(error = %cause, "a stored document did not read");
            return Self::unprocessable(
                "legacy-document",
                format!("the stored document is not in a shape this service reads ({cause}); adopt-data lists it"),
            );
        }
        Self::Internal(anyhow::Error::new(err).context("database failed"))
    }
}

impl ApiError {
    /// Internal failures caused by the database being away become 503s:
    /// decided here, in one place, whatever path the error took.
    fn classified(self) -> Self {
        match self {
            Self::Internal(err) if err.chain().any(avenue_shared::db::unavailable_in_chain) => {
                Self::DatabaseUnavailable(err)
            }
            other => other,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Signing => Self::Internal(anyhow::Error::new(err)),
            other => Self::Unauthenticated(other.to_string()),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Conflict { code, message } => Self::Conflict { code, message },
            DbError::Busy(cause) => Self::Busy(cause),
            DbError::Mongo(err) => err.into(),
            DbError::Encode(err) => Self::Internal(err.into()),
            DbError::NoSuch(what) => Self::NotFound(what.0),
            DbError::Legacy(legacy) => Self::unprocessable("legacy-document", legacy.to_string()),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Field(field) => field.into(),
            AccountError::Db(db) => db.into(),
            AccountError::Hash(cause) => Self::Internal(cause),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        Self::Invalid {
            field: err.field,
            message: err.message,
        }
    }
}

impl From<NoSuch> for ApiError {
    fn from(err: NoSuch) -> Self {
        Self::NotFound(err.0)
    }
}

impl From<GatewayError> for ApiError {
    fn from(err: GatewayError) -> Self {
        match err {
            GatewayError::Refused(field) => Self::from(field),
            GatewayError::Unavailable(cause) => Self::MediaUnavailable(cause),
            GatewayError::Failed(cause) => Self::Internal(cause),
        }
    }
}

/// A refusal inside a transaction body is final: the body aborts with it.
macro_rules! aborts_transaction {
    ($($refusal:ty),*) => {$(
        impl From<$refusal> for TxError<ApiError> {
            fn from(err: $refusal) -> Self {
                TxError::Abort(err.into())
            }
        }
    )*};
}

aborts_transaction!(ApiError, DbError, FieldError, NoSuch, GatewayError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let this = self.classified();
        let (status, code) = match &this {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::PasswordResetRequired => (StatusCode::UNAUTHORIZED, "password-reset-required"),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, *code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")
            }
            Self::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-field"),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, *code),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate-limited"),
            Self::MediaUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "media-unavailable"),
            Self::Unfinished { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, *code),
            Self::DatabaseUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database-unavailable")
            }
            Self::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let retry_after = match &this {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::DatabaseUnavailable(_)
            | Self::MediaUnavailable(_)
            | Self::Unfinished { .. }
            | Self::Busy(_) => Some(avenue_shared::db::UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        let field = match &this {
            Self::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        let message = match &this {
            Self::Internal(_) => {
                tracing::error!(error = ?anyhow::Error::from(this), "request failed");
                "internal error; see the service log".to_owned()
            }
            Self::DatabaseUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                "the database is unavailable; try again shortly".to_owned()
            }
            Self::Busy(cause) => {
                tracing::warn!(error = %cause, "transaction gave up on contention");
                "too many concurrent changes; nothing was changed, try again shortly".to_owned()
            }
            Self::MediaUnavailable(cause) => {
                tracing::warn!(error = %cause, "media service unavailable");
                "the media service is unavailable; nothing was changed, try again".to_owned()
            }
            Self::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let mut body = ErrorBody::new(code, message);
        body.field = field;
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
