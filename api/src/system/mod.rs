//! Running the site: settings, website-builder pages, the audit trail and
//! the email outbox.

pub mod audit;
pub mod blocks;
pub mod email;
pub mod logs;
pub mod pages;
pub mod settings;

/// Every route of this domain, with its part of the OpenAPI document.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(settings::router())
        .merge(pages::router())
        .merge(logs::router())
}
