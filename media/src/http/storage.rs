//! `GET /v1/storage/status`: where the bytes are and how the caches do.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use std::time::Duration;

use mongodb::bson::{doc, DateTime};

use super::auth::MediaManager;
use super::error::AppError;
use super::AppState;
use crate::media::repo::{MigrationRun, RunState};
use crate::media::MediaError;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/storage/status", get(status))
}

#[utoipa::path(get, path = "/v1/storage/status", tag = "operations",
    responses((status = 200, description = "backends, mirror, migration, variants, lifecycle")), security(("bearer" = [])))]
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
    let mirror_totals = repo.mirror_totals().await.map_err(MediaError::from)?;
    for (backend, media, bytes) in &mirror_totals {
        if let Some(Value::Object(entry)) = backends.get_mut(backend) {
            entry.insert("mirror_copies".into(), json!(media));
            entry.insert("mirror_bytes".into(), json!(bytes));
        }
    }
    let mirror = match state.library.stores().mirror() {
        Some(store) => json!({
            "backend": store.backend().as_str(),
            "media_without_copy": repo
                .count_without_copy_in(store.backend())
                .await
                .map_err(MediaError::from)?,
        }),
        None => Value::Null,
    };
    let last_run = repo.latest_migration().await.map_err(MediaError::from)?;
    let unclaimed = crate::media::repo::unclaimed();
    // Only pending uploads expire; library assets nobody uses stay.
    let pending = repo
        .count(doc! { "$and": [ unclaimed.clone(), { "pending": true, "released_at": { "$exists": false } } ] })
        .await
        .map_err(MediaError::from)?;
    let released = repo
        .count(doc! { "$and": [ unclaimed.clone(), { "pending": true, "released_at": { "$exists": true } } ] })
        .await
        .map_err(MediaError::from)?;
    let library_unused = repo
        .count(doc! { "$and": [ unclaimed, { "pending": { "$ne": true } } ] })
        .await
        .map_err(MediaError::from)?;
    let claimed = repo
        .count(doc! { "refs.0": { "$exists": true } })
        .await
        .map_err(MediaError::from)?;
    let last_sweep = repo
        .last_sweep()
        .await
        .map_err(MediaError::from)?
        .map(|mut d| {
            d.remove("_id");
            let at = d
                .get_datetime("at")
                .ok()
                .and_then(|t| t.try_to_rfc3339_string().ok());
            let mut value = mongodb::bson::Bson::Document(d).into_relaxed_extjson();
            value["at"] = json!(at);
            value
        });
    let purges = match state.library.purge_journal() {
        Some(journal) => mongodb::bson::Bson::Document(
            journal
                .counts()
                .await
                .map_err(|e| MediaError::from(crate::media::repo::RepoError::from(e)))?,
        )
        .into_relaxed_extjson(),
        None => Value::Null,
    };
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
        "mirror": mirror,
        "migration": {
            "media_outside_primary": elsewhere,
            "bytes_outside_primary": elsewhere_bytes,
            "last_run": last_run.as_ref().map(describe_run),
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
        "cdn_purges": purges,
        "lifecycle": {
            "claimed": claimed,
            "pending_unclaimed": pending,
            "released_awaiting_grace": released,
            "library_unused": library_unused,
            "last_sweep": last_sweep,
        },
    })))
}

/// A run whose heartbeat stopped this long ago was killed.
const RUN_STALE_AFTER: Duration = Duration::from_secs(60);

fn describe_run(run: &MigrationRun) -> Value {
    let since_heartbeat = DateTime::now()
        .timestamp_millis()
        .saturating_sub(run.updated_at.timestamp_millis());
    let state = match run.state {
        RunState::Finished => "finished",
        RunState::Running if since_heartbeat > RUN_STALE_AFTER.as_millis() as i64 => "interrupted",
        RunState::Running => "running",
    };
    let percent = if run.total_bytes > 0 {
        json!((run.moved_bytes as f64 * 100.0 / run.total_bytes as f64).min(100.0))
    } else {
        Value::Null
    };
    json!({
        "to": run.to,
        "state": state,
        "started_at": run.started_at.try_to_rfc3339_string().ok(),
        "updated_at": run.updated_at.try_to_rfc3339_string().ok(),
        "media_total": run.total_media,
        "media_moved": run.moved,
        "bytes_total": run.total_bytes,
        "bytes_moved": run.moved_bytes,
        "percent_bytes": percent,
        "skipped": run.skipped,
        "failed": run.failed,
        "variants_moved": run.variants_moved,
    })
}
