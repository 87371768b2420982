//! Users, roles and sessions: registration, login with rate limits,
//! refresh-token rotation, password changes and resets by email, and the
//! admin's user list.

pub mod accounts;
pub mod admin;
pub mod legacy_hash;
pub mod limiter;
pub mod link_token;
pub mod model;
pub mod password;
pub mod profile;
pub mod repo;
pub mod reset;
pub mod routes;

pub use limiter::LoginLimiter;
pub use password::Hasher;
pub use repo::UserRepo;

/// Every route of this domain, with its part of the OpenAPI document.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(routes::router())
        .merge(admin::router())
        .merge(profile::router())
        .merge(reset::router())
}
