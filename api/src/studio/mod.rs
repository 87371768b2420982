//! The photo studio.

pub mod admin;
pub mod reservations;

/// Every route of this domain, with its part of the OpenAPI document.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(reservations::router())
        .merge(admin::router())
}
