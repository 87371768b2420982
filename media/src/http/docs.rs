//! `/v1/openapi.json`, generated from the handlers' annotations (utoipa),
//! and `/v1/docs`, the reference page both services share.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use avenue_shared::docs::BearerAuth;

use super::{admin, delivery, files, health, lookup, media, metrics, storage, AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "Avenue media service", description = "The only place bytes live: upload, deliver (Cloudinary URL syntax), manage, claim."),
    paths(
        media::upload, media::list, media::erase_owner, media::show, media::update, media::remove,
        media::claim, media::release, lookup::lookup, delivery::deliver, files::deliver_video, files::deliver_raw, storage::status, health::healthz,
        health::readyz, metrics::render, admin::login, admin::presets, admin::sign, admin::variants,
    ),
    components(schemas(avenue_shared::MediaDescriptor, avenue_shared::MediaPage, avenue_shared::ErrorBody, lookup::LookupRequest, lookup::LookupAnswer)),
    modifiers(&BearerAuth),
    tags(
        (name = "media", description = "Upload, list, edit, delete, claims (admin or service token)"),
        (name = "delivery", description = "Public, cacheable URLs: images (transformable), videos and documents (as uploaded)"),
        (name = "admin", description = "What the media library page uses"),
        (name = "operations", description = "Probes, metrics, storage status"),
    )
)]
pub struct MediaApi;

pub fn router() -> Router<AppState> {
    let document = MediaApi::openapi();
    Router::new()
        .route(
            "/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CACHE_CONTROL, "no-cache")], Json(document)).into_response() }
            }),
        )
        .route("/v1/docs", get(|| async { Html(avenue_shared::docs::PAGE) }))
}
