//! The api's HTTP surface. Only the probes exist so far; business domains
//! arrive as one router per domain, merged here.

pub mod health;

use axum::Router;
use mongodb::Database;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub db: Database,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
