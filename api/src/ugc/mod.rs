//! The UGC platform: brands hire creators. Profiles (one per user and
//! role), packages that cap how many campaigns a brand publishes,
//! campaigns, applications, deliverables with their metrics, mutual
//! ratings, and notifications for every state change.
//!
//! Links creators and brands give (posts, portfolios, logos) are external
//! by design: checked as http(s) URLs, never fetched by the server.

pub mod applications;
pub mod campaign_docs;
pub mod campaigns;
pub mod common;
pub mod deliverables;
pub mod directory;
pub mod metrics;
pub mod notifications;
pub mod packages;
pub mod profiles;
pub mod ratings;
pub mod subscriptions;

/// Every route of this domain, with its part of the OpenAPI document.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(profiles::router())
        .merge(packages::router())
        .merge(subscriptions::router())
        .merge(campaigns::router())
        .merge(applications::router())
        .merge(deliverables::router())
        .merge(metrics::router())
        .merge(ratings::router())
        .merge(directory::router())
        .merge(notifications::router())
}
