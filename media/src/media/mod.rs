//! The media domain: what an upload carries (fields), where its metadata
//! lives (repo), and the operations on a library of media (library).
//! Nothing here knows about HTTP.

pub mod background;
pub mod error;
pub mod fields;
pub mod ingest;
pub mod lanes;
pub mod library;
pub mod repo;
pub mod stills;
pub mod variants;

pub use error::MediaError;
pub use library::{MediaLibrary, UploadOutcome};
