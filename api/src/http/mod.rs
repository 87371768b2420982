//! The HTTP kit the domains stand on: extractors, who is calling, the one
//! error type and its envelope, probes and the document viewer. Generic over
//! the application state (`FromRef`), so it never names a domain.

pub mod auth;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod plain;
pub mod window;
