//! `POST /v1/media/lookup`: many descriptors in one call, so a page with
//! twenty images costs the api one request, not twenty.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use avenue_shared::{MediaDescriptor, MediaId};

use super::auth::MediaManager;
use super::error::AppError;
use super::extract::JsonBody;
use super::AppState;
use crate::media::MediaError;

/// Ids asked for at once, at most.
pub const MAX_LOOKUP: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/media/lookup", post(lookup))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Up to 200 media ids; repeats are answered once.
    ids: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LookupAnswer {
    /// The media found, in the order asked.
    items: Vec<MediaDescriptor>,
    /// Ids no media has (deleted, or never uploaded).
    missing: Vec<String>,
}

#[utoipa::path(post, path = "/v1/media/lookup", tag = "media", request_body = LookupRequest,
    responses((status = 200, body = LookupAnswer), (status = 400, body = avenue_shared::ErrorBody), (status = 422, body = avenue_shared::ErrorBody)),
    security(("bearer" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    _manager: MediaManager,
    JsonBody(request): JsonBody<LookupRequest>,
) -> Result<Json<LookupAnswer>, AppError> {
    if request.ids.len() > MAX_LOOKUP {
        return Err(AppError::bad_request(
            "too-many-ids",
            format!("ask for at most {MAX_LOOKUP} ids at once"),
        ));
    }
    let mut ids: Vec<MediaId> = Vec::new();
    for raw in &request.ids {
        let id = MediaId::parse(raw)
            .map_err(|err| AppError::bad_request("invalid-id", format!("'{raw}': {err}")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let found = state
        .library
        .repo()
        .get_many(&ids)
        .await
        .map_err(MediaError::from)?;
    let mut items = Vec::new();
    let mut missing = Vec::new();
    for id in &ids {
        match found.iter().find(|r| &r.id == id) {
            Some(record) => items.push(state.library.describe(record)),
            None => missing.push(id.to_string()),
        }
    }
    Ok(Json(LookupAnswer { items, missing }))
}
