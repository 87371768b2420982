//! The api's surface: every domain's router merged in one place, with the
//! OpenAPI document collected from the same handlers (utoipa), so the
//! document cannot drift from the routes.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use avenue_shared::docs::BearerAuth;

use crate::config::Limits;
use crate::http::error::ApiError;
use crate::http::{docs, health};
use crate::state::AppState;
use crate::{compat, privacy, shop, studio, system, ugc, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Avenue core API", description = "Users, shop, studio, website builder. Records hold media ids; bytes live in avenue-media."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts, sessions, roles"),
        (name = "shop", description = "Products, coupons, orders"),
        (name = "studio", description = "Photo studio reservations"),
        (name = "system", description = "Settings, pages, audit and email logs"),
        (name = "compat", description = "Endpoints kept from the old back end"),
        (name = "ugc", description = "The UGC platform: brands hire creators"),
    )
)]
struct ApiDoc;

/// The routes and the OpenAPI document they make.
pub fn routes(limits: &Limits) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(compat::router(limits))
        .merge(users::router())
        .merge(privacy::router())
        .merge(shop::router())
        .merge(studio::router())
        .merge(system::router())
        .merge(ugc::router())
        .split_for_parts()
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    let (api, openapi) = routes(&state.config.limits);
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .merge(health::router())
        .merge(users::reset::page_router())
        .merge(users::profile::page_router())
        .merge(compat::old_links::router())
        .merge(docs::router(openapi))
        .fallback(|| async { ApiError::NotFound("endpoint") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
