//! `avenue-api`: Avenue's core business API. It stores media ids, never
//! bytes: records that show images hold ids claimed in `avenue-media`.
//!
//! Folders follow a request: `http/` (router, extractors, the one error
//! type), then a module per domain (`users`, `shop`, `studio`, `system`),
//! `media` (claims in the media service), `db` (transactions).

pub mod adopt;
pub mod cli;
pub mod compat;
pub mod config;
pub mod db;
pub mod fields;
pub mod http;
pub mod indexes;
pub mod maintenance;
pub mod media;
pub mod privacy;
pub mod routes;
pub mod shop;
pub mod startup;
pub mod state;
pub mod studio;
pub mod system;
pub mod ugc;
pub mod users;

pub use config::Settings;
pub use startup::Application;
