//! Where bytes live. One trait, [`Store`], with one implementation per
//! backend; the backend is chosen once, in [`crate::startup`].
//!
//! A store knows nothing of media metadata: it keeps opaque objects under
//! [`StorageKey`]s. Metadata lives in [`crate::media::repo`].

pub mod cloudinary;
pub mod gridfs;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

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

/// One stored copy of an object: which backend, under which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCopy {
    pub backend: BackendKind,
    pub key: StorageKey,
}

/// A transformed image fetched from a backend that renders itself.
pub struct Rendered {
    /// As the backend declared it; `None` when it declared none.
    pub content_type: Option<String>,
    pub length: Option<u64>,
    pub body: ByteStream,
}

/// What kind of object a key names. Backends that file objects by kind
/// (Cloudinary's `image`, `video` and `raw` resource types) need it to
/// write, read and delete; the others ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Image,
    Video,
    Raw,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Raw => "raw",
        }
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

    /// A fresh key no other object has, for an object of `kind`. A backend
    /// may spell the kind into the key, to find it again from the key alone.
    fn new_key(&self, kind: ResourceKind) -> StorageKey;

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

    /// Whether [`Self::public_url`] answers: the backend renders and
    /// delivers itself.
    fn renders_itself(&self) -> bool {
        false
    }

    /// Keys of objects created before `cutoff`, finished or not, for the
    /// orphan sweep. Backends that cannot list cheaply answer none.
    async fn keys_before(
        &self,
        cutoff: time::OffsetDateTime,
    ) -> Result<Vec<StorageKey>, StoreError> {
        let _ = cutoff;
        Ok(Vec::new())
    }

    /// Fetches what [`Store::public_url`] names, for serving it ourselves
    /// (proxied delivery). `accept` is the client's, for `f_auto`.
    async fn fetch_public(
        &self,
        url: &url::Url,
        accept: Option<&str>,
    ) -> Result<Rendered, StoreError> {
        let _ = (url, accept);
        Err(StoreError::Rejected(format!(
            "{} does not deliver by itself",
            self.backend().as_str()
        )))
    }
}

/// Every configured backend, the one new bytes go to, and the one that
/// also gets a copy of each new upload (mirror mode). Each media records
/// where its copies are, so media keep being served from where they are
/// while a migration moves them.
#[derive(Clone)]
pub struct Stores {
    primary: Arc<dyn Store>,
    mirror: Option<Arc<dyn Store>>,
    all: Vec<Arc<dyn Store>>,
}

impl Stores {
    /// `primary` and `mirror` are added to `all` when missing. A mirror on
    /// the primary's own backend would be a second copy in the same place:
    /// configuration refuses it, and it is dropped here.
    pub fn new(
        primary: Arc<dyn Store>,
        mirror: Option<Arc<dyn Store>>,
        mut all: Vec<Arc<dyn Store>>,
    ) -> Self {
        let mirror = mirror.filter(|m| m.backend() != primary.backend());
        for store in std::iter::once(&primary).chain(mirror.iter()) {
            if !all.iter().any(|s| s.backend() == store.backend()) {
                all.push(store.clone());
            }
        }
        Self {
            primary,
            mirror,
            all,
        }
    }

    pub fn primary(&self) -> &Arc<dyn Store> {
        &self.primary
    }

    /// Where new uploads are copied as well (`MEDIA_MIRROR`).
    pub fn mirror(&self) -> Option<&Arc<dyn Store>> {
        self.mirror.as_ref()
    }

    /// # Errors
    /// [`StoreError::Misconfigured`] when that backend is not configured.
    pub fn get(&self, kind: BackendKind) -> Result<&Arc<dyn Store>, StoreError> {
        self.all
            .iter()
            .find(|s| s.backend() == kind)
            .ok_or_else(|| {
                StoreError::Misconfigured(format!("backend {} is not configured", kind.as_str()))
            })
    }

    pub fn all(&self) -> &[Arc<dyn Store>] {
        &self.all
    }
}
