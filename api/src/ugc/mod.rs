//! The UGC platform: brands hire creators. Profiles (one per user and
//! role), packages that cap how many campaigns a brand publishes,
//! campaigns, applications, deliverables with their metrics, mutual
//! ratings, and notifications for every state change.
//!
//! Links creators and brands give (posts, portfolios, logos) are external
//! by design: checked as http(s) URLs, never fetched by the server.

pub mod applications;
pub mod campaigns;
pub mod common;
pub mod deliverables;
pub mod notifications;
pub mod packages;
pub mod profiles;
