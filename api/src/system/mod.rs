//! Running the site: settings, website-builder pages, the audit trail and
//! the email outbox.

pub mod audit;
pub mod email;
pub mod pages;
pub mod settings;
