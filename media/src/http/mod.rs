//! The HTTP surface: thin handlers that parse requests into domain types,
//! call [`crate::media::MediaLibrary`] and shape responses.

pub mod admin;
pub mod api_link;
pub mod auth;
pub mod cdn;
pub mod conditional;
pub mod delivery;
pub mod docs;
pub mod error;
pub mod extract;
pub mod files;
pub mod health;
pub mod lookup;
pub mod media;
pub mod metrics;
pub mod originals;
pub mod storage;
pub mod upload_body;

use std::sync::Arc;

use axum::Router;
use tower_http::trace::TraceLayer;

use avenue_shared::JwtKeys;

use crate::config::Delivery;
use crate::media::background::Background;
use crate::media::variants::Variants;
use crate::media::MediaLibrary;
use metrics::Metrics;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub library: MediaLibrary,
    pub variants: Variants,
    /// Renders nobody waits for (deferred AVIF, eager presets).
    pub background: Background,
    pub delivery: Arc<Delivery>,
    pub keys: JwtKeys,
    pub metrics: Arc<Metrics>,
    /// The api: the admin page's sign-in, and whether users' tokens hold.
    pub api: api_link::ApiLink,
    /// New renders each address caused with unsigned URLs (`MEDIA_UNSIGNED`).
    pub unsigned_budget: Arc<delivery::UnsignedBudget>,
}

pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .merge(media::router())
        .merge(lookup::router())
        .merge(
            delivery::router().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                cdn::delivery_headers,
            )),
        )
        .merge(health::router())
        .merge(metrics::router())
        .merge(storage::router())
        .merge(admin::router())
        .merge(docs::router())
        .fallback(|| async {
            error::AppError::Rejected {
                status: axum::http::StatusCode::NOT_FOUND,
                code: "not-found",
                message: "no such endpoint".into(),
            }
        })
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
