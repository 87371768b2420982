//! Old image links keep working: pages, emails and other sites still link
//! `https://avenue.com.py/api/uploads/NAME` and `/uploads/NAME`. Imports
//! record each such link in `legacy_urls`; here a `GET` or `HEAD` of one
//! answers `301` to the image's delivery URL, and an unknown one `404`.

use axum::extract::{OriginalUri, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mongodb::bson::{doc, Document};

use avenue_shared::legacy_urls::{old_path, LEGACY_URLS};

use crate::db::DbError;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The prefixes the old back end served uploads under; a file was served
/// under both.
const PREFIXES: [&str; 2] = ["/api/uploads/", "/uploads/"];

/// Plain routes: a path of any depth (`{*path}`), which the OpenAPI
/// document cannot spell; `GET` routes answer `HEAD` too.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/uploads/{*path}", get(old_upload))
        .route("/uploads/{*path}", get(old_upload))
}

/// The same file under the other prefix.
fn twin(path: &str) -> Option<String> {
    let (from, to) = if path.starts_with(PREFIXES[0]) {
        (PREFIXES[0], PREFIXES[1])
    } else {
        (PREFIXES[1], PREFIXES[0])
    };
    path.strip_prefix(from).map(|name| format!("{to}{name}"))
}

async fn redirect(state: &AppState, uri: &OriginalUri) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("image at this old link");
    let path = old_path(uri.path()).ok_or_else(not_found)?;
    let links = state.db.collection::<Document>(LEGACY_URLS);
    let mut found = None;
    for key in std::iter::once(path.clone()).chain(twin(&path)) {
        if let Some(link) = links
            .find_one(doc! { "_id": &key })
            .await
            .map_err(DbError::from)?
        {
            found = Some(link);
            break;
        }
    }
    let link = found.ok_or_else(not_found)?;
    let delivery = link
        .get_str("delivery_path")
        .ok()
        .filter(|p| p.starts_with("/image/upload/"))
        .ok_or_else(not_found)?;
    let location = format!(
        "{}{delivery}",
        state.media_public_url().as_str().trim_end_matches('/')
    );
    Ok((
        StatusCode::MOVED_PERMANENTLY,
        [
            (header::LOCATION, location),
            // Cached a day, not for ever: a link re-imported may move.
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
        ],
    )
        .into_response())
}

/// An old upload link: `301` to the image's delivery URL.
async fn old_upload(State(state): State<AppState>, uri: OriginalUri) -> Result<Response, ApiError> {
    redirect(&state, &uri).await
}
