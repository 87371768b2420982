//! Why a media operation failed, as one enum the HTTP layer maps to a
//! status in one place (`http::error`), and why a variant could not be made.

use avenue_shared::MediaRef;

use super::fields::FieldError;
use super::repo::RepoError;
use crate::process::pipeline::ProcessError;
use crate::store::StoreError;

/// Why a media operation failed. The HTTP layer maps each variant to a
/// status in one place (`http::error`).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the upload is empty")]
    EmptyUpload,
    #[error("the upload is larger than the {limit} byte limit")]
    TooLarge { limit: u64 },
    #[error("unsupported media type: {0}")]
    UnsupportedType(String),
    #[error("the image is {width}x{height}, more than the {max} pixel limit")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("unreadable image: {0}")]
    UnreadableImage(String),
    /// Absurdly long or thin: nothing could be rendered from it.
    #[error("{0}")]
    ExtremeShape(String),
    #[error("the upload broke off before it ended")]
    Interrupted,
    #[error(transparent)]
    InvalidField(#[from] FieldError),
    #[error("no media with this id")]
    NotFound,
    /// A claim on behalf of a user for media they neither uploaded nor
    /// find in the library.
    #[error("this media was uploaded by someone else and is not a library asset")]
    NotYours,
    #[error("the media is in use by {}", .0.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
    InUse(Vec<MediaRef>),
    #[error(transparent)]
    Render(#[from] RenderFailure),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("metadata storage failed")]
    Repo(#[from] RepoError),
}

impl MediaError {
    /// The database (or the store behind it) is away: nothing about the
    /// request is wrong, and it may be retried shortly.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Repo(RepoError::Database(e)) => avenue_shared::db::is_unavailable(e),
            Self::Store(StoreError::Backend(e)) => {
                avenue_shared::db::unavailable_in_chain(e.as_ref())
            }
            Self::Render(failure) => failure.kind == FailureKind::Unavailable,
            _ => false,
        }
    }
}

/// Why a variant could not be made; cloneable so every waiter of a shared
/// render gets it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RenderFailure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The original cannot be decoded (truncated, corrupt).
    Unreadable,
    TooManyPixels,
    /// A format we cannot produce or read yet.
    Unsupported,
    /// The transformation is invalid for this image (for example too large).
    BadTransformation,
    /// Too many renders waiting: try again after this many seconds.
    Busy {
        retry_after_secs: u64,
    },
    /// The database (or the store behind it) is away: try again shortly.
    Unavailable,
    /// Our fault: logged where it happened.
    Internal,
}

impl RenderFailure {
    pub(crate) fn internal(context: &str, err: impl Into<anyhow::Error>) -> Self {
        let err = err.into();
        if err.chain().any(avenue_shared::db::unavailable_in_chain) {
            tracing::warn!(error = ?err, "{context}: the database is unavailable");
            return Self {
                kind: FailureKind::Unavailable,
                message: "the database is unavailable; try again shortly".into(),
            };
        }
        tracing::error!(error = ?err, "{context}");
        Self {
            kind: FailureKind::Internal,
            message: "rendering failed".into(),
        }
    }
}

impl From<ProcessError> for RenderFailure {
    fn from(err: ProcessError) -> Self {
        let kind = match &err {
            ProcessError::Unreadable(_) | ProcessError::Undrawable(_) => FailureKind::Unreadable,
            ProcessError::TooManyPixels { .. } => FailureKind::TooManyPixels,
            ProcessError::Unsupported(_) | ProcessError::ImpossibleShape(_) => {
                FailureKind::Unsupported
            }
            ProcessError::Transform(_) => FailureKind::BadTransformation,
            ProcessError::Encode(_) => return Self::internal("encoding a variant", err),
        };
        Self {
            kind,
            message: err.to_string(),
        }
    }
}
