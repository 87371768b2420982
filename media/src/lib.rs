//! `avenue-media`: the only place Avenue's image bytes live.
//!
//! Requests flow `http` (routes, auth, errors) → `media` (formats, fields,
//! ingest, library, metadata repo) → `store` (bytes behind one trait).
//! `maintenance` cleans up after crashes; `startup` wires it all.

pub mod cli;
pub mod config;
pub mod http;
pub mod maintenance;
pub mod media;
pub mod process;
pub mod purge;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use config::Settings;
pub use startup::Application;
