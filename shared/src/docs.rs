//! The reference page both services serve next to their OpenAPI document
//! (`/api/docs` beside `/api/openapi.json`, `/v1/docs` beside
//! `/v1/openapi.json`). Plain HTML and script, nothing loaded from elsewhere.

/// The page; it fetches the document from its own directory.
pub const PAGE: &str = include_str!("docs.html");
