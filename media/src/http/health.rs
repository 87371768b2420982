//! Liveness and readiness probes.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::AppState;

/// A probe that hangs is as bad as one that fails: orchestrators time out.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200)))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when every configured backend answers (GridFS stands for MongoDB,
/// which also holds the metadata).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200), (status = 503)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let primary = state.library.store().backend().as_str();
    for store in state.library.stores().all() {
        let backend = store.backend().as_str();
        match tokio::time::timeout(READY_TIMEOUT, store.health_check()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(backend, error = ?anyhow::Error::from(err), "readiness check failed");
                return unready(primary, &format!("the {backend} backend did not answer"));
            }
            Err(_) => return unready(primary, &format!("the {backend} backend timed out")),
        }
    }
    (
        StatusCode::OK,
        Json(json!({ "status": "ready", "backend": primary })),
    )
}

fn unready(backend: &str, reason: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "backend": backend, "reason": reason })),
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}
