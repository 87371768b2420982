//! `GET /v1/storage/status`: where the bytes are and how the caches do.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::auth::MediaManager;
use super::error::AppError;
use super::AppState;
use crate::media::MediaError;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/storage/status", get(status))
}

async fn status(
    State(state): State<AppState>,
    _manager: MediaManager,
) -> Result<Json<Value>, AppError> {
    let repo = state.library.repo();
    let primary = state.library.store().backend().as_str();
    let totals = repo.totals_by_backend().await.map_err(MediaError::from)?;
    let mut backends = Map::new();
    for store in state.library.stores().all() {
        backends.insert(
            store.backend().as_str().to_owned(),
            json!({ "media": 0, "bytes": 0 }),
        );
    }
    let (mut elsewhere, mut elsewhere_bytes) = (0, 0);
    for (backend, media, bytes) in &totals {
        backends.insert(backend.clone(), json!({ "media": media, "bytes": bytes }));
        if backend != primary {
            elsewhere += media;
            elsewhere_bytes += bytes;
        }
    }
    let counters = state.variants.counters();
    let (memory, store, renders) = (
        counters.memory_hits.get(),
        counters.store_hits.get(),
        counters.renders.get(),
    );
    let requests = memory + store + renders;
    Ok(Json(json!({
        "primary": primary,
        "backends": backends,
        "migration": {
            "media_outside_primary": elsewhere,
            "bytes_outside_primary": elsewhere_bytes,
        },
        "variants": {
            "stored": repo.variant_count().await.map_err(MediaError::from)?,
            "in_memory": state.variants.memory_entries(),
        },
        "variant_requests": {
            "memory_hits": memory,
            "store_hits": store,
            "renders": renders,
            "hit_ratio": if requests == 0 { Value::Null } else { json!((memory + store) as f64 / requests as f64) },
        },
        "unfinished_writes": repo.staged_count().await.map_err(MediaError::from)?,
    })))
}
