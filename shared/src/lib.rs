//! Wire types shared by `avenue-media` and `avenue-api`: media identifiers and
//! descriptors, the JSON error envelope, JWT claims with the key material that
//! signs and checks them, and [`MediaClient`], the typed HTTP client the api
//! uses to talk to the media service.
//!
//! Nothing here knows about axum or MongoDB: it is what crosses the wire,
//! plus [`shutdown::shutdown_signal`], [`serve`], [`telemetry`] and
//! [`progress`], so both services stop alike, hold clients to the same
//! limits, log alike and report long runs alike.

pub mod auth;
pub mod client;
pub mod db;
pub mod docs;
pub mod error;
pub mod legacy_urls;
pub mod media;
pub mod net;
pub mod progress;
pub mod retry;
pub mod serve;
pub mod shutdown;
pub mod telemetry;

pub use auth::{AuthError, Claims, JwtKeys, Role};
pub use client::{MediaClient, MediaClientError, OwnerErasure, UploadOptions};
pub use error::ErrorBody;
pub use media::{
    MediaDescriptor, MediaId, MediaIdError, MediaLookup, MediaPage, MediaRef, MediaRefError,
};
