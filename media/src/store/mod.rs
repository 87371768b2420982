//! Where bytes live. One trait, [`Store`], with one implementation per
//! backend; the backend is chosen once, in [`crate::startup`].
//!
//! A store knows nothing of media metadata: it keeps opaque objects under
//! [`StorageKey`]s. Metadata lives in [`crate::media::repo`].

pub mod cloudinary;
pub mod gridfs;

use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

pub use gridfs::GridFsStore;

/// A stream of bytes read from a store.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send>>;

/// The name of an object inside one backend (a GridFS file id in hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(String);

impl StorageKey {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which backend holds an object; recorded with each media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    GridFs,
    Cloudinary,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GridFs => "gridfs",
            Self::Cloudinary => "cloudinary",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "gridfs" => Some(Self::GridFs),
            "cloudinary" => Some(Self::Cloudinary),
            _ => None,
        }
    }
}

/// An inclusive byte range inside an object of known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Inclusive, as in HTTP's `Content-Range`.
    pub end: u64,
}

impl ByteRange {
    pub fn len(self) -> u64 {
        self.end - self.start + 1
    }

    pub fn is_empty(self) -> bool {
        false
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {0} not found")]
    NotFound(StorageKey),
    #[error("object {key} is corrupt: {reason}")]
    Corrupt { key: StorageKey, reason: String },
    #[error("storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend refused our credentials or configuration (Cloudinary
    /// 401/403): an operator must act; retrying will not help.
    #[error("storage backend refused the configuration: {0}")]
    Misconfigured(String),
    /// The backend stayed unavailable (rate limits, 5xx, timeouts) past the
    /// retry deadline.
    #[error("storage backend unavailable: {0}")]
    Unavailable(String),
    /// The backend refused a request we made: our bug, not the client's.
    #[error("storage backend refused the request: {0}")]
    Rejected(String),
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }

    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }
}

/// An object being written. Dropping it without [`ObjectWriter::finish`]
/// must not leave a readable object behind.
#[async_trait]
pub trait ObjectWriter: Send {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    /// Makes the object readable under its key.
    async fn finish(self: Box<Self>) -> Result<(), StoreError>;
    /// Discards everything written so far.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> BackendKind;

    /// A fresh key no other object has.
    fn new_key(&self) -> StorageKey;

    async fn open_writer(&self, key: &StorageKey) -> Result<Box<dyn ObjectWriter>, StoreError>;

    /// Streams the whole object, or `range` of it.
    async fn read(
        &self,
        key: &StorageKey,
        range: Option<ByteRange>,
    ) -> Result<ByteStream, StoreError>;

    /// Removes the object and any partial writes under `key`. Deleting what
    /// is not there succeeds, so callers can retry.
    async fn delete(&self, key: &StorageKey) -> Result<(), StoreError>;

    async fn health_check(&self) -> Result<(), StoreError>;

    /// An address clients can fetch the object from directly, transformed by
    /// `transformation` (Cloudinary's syntax, may be empty) and delivered as
    /// `ext`, for backends that render and deliver themselves (the delivery
    /// handler then redirects instead of streaming).
    fn public_url(&self, key: &StorageKey, transformation: &str, ext: &str) -> Option<url::Url>;
}

/// Every configured backend, and the one new bytes go to. Each media
/// records its backend, so media keep being served from where they are
/// while a migration moves them.
#[derive(Clone)]
pub struct Stores {
    primary: std::sync::Arc<dyn Store>,
    all: Vec<std::sync::Arc<dyn Store>>,
}

impl Stores {
    /// `primary` must be among `all` (it is added when missing).
    pub fn new(
        primary: std::sync::Arc<dyn Store>,
        mut all: Vec<std::sync::Arc<dyn Store>>,
    ) -> Self {
        if !all.iter().any(|s| s.backend() == primary.backend()) {
            all.push(primary.clone());
        }
        Self { primary, all }
    }

    pub fn primary(&self) -> &std::sync::Arc<dyn Store> {
        &self.primary
    }

    /// # Errors
    /// [`StoreError::Misconfigured`] when that backend is not configured.
    pub fn get(&self, kind: BackendKind) -> Result<&std::sync::Arc<dyn Store>, StoreError> {
        self.all
            .iter()
            .find(|s| s.backend() == kind)
            .ok_or_else(|| {
                StoreError::Misconfigured(format!("backend {} is not configured", kind.as_str()))
            })
    }

    pub fn all(&self) -> &[std::sync::Arc<dyn Store>] {
        &self.all
    }
}
