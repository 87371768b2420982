//! `avenue-api`: Avenue's core business API. It stores media ids, never bytes.
//!
//! For now a running skeleton (probes, config, start-up); the business
//! domains (users, shop, UGC, studio, system) come as modules under `http/`
//! and their repositories.

pub mod config;
pub mod http;
pub mod startup;

pub use config::Settings;
pub use startup::Application;
