//! The media domain: what an image is (format, fields), where its metadata
//! lives (repo), and the operations on a library of media (library).
//! Nothing here knows about HTTP.

pub mod fields;
pub mod format;
pub mod ingest;
pub mod lanes;
pub mod library;
pub mod repo;
pub mod variants;

pub use library::{MediaError, MediaLibrary, UploadOutcome};
