//! Liveness and readiness probes.

use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use mongodb::bson::doc;
use mongodb::Database;
use serde_json::{json, Value};

const READY_TIMEOUT: Duration = Duration::from_secs(3);

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when MongoDB answers a ping.
async fn readyz(State(db): State<Database>) -> (StatusCode, Json<Value>) {
    let ping = db.run_command(doc! { "ping": 1 });
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(_)) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": "database did not answer" })),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": "database timed out" })),
        ),
    }
}

pub fn router<S>() -> Router<S>
where
    Database: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}
