//! The api's HTTP surface: one router per domain, merged here, with the
//! OpenAPI document collected from the same handlers (utoipa), so the
//! document cannot drift from the routes.

pub mod auth;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use mongodb::Database;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use avenue_shared::docs::BearerAuth;
use avenue_shared::JwtKeys;

use crate::config::{Limits, Settings};
use crate::media::MediaGateway;
use crate::system::audit::AuditLog;
use crate::system::email::Outbox;
use crate::users::{Hasher, LoginLimiter, UserRepo};
use crate::{compat, shop, studio, system, ugc, users};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub config: Arc<Settings>,
    pub keys: JwtKeys,
    pub media: MediaGateway,
    pub users: UserRepo,
    pub hasher: Hasher,
    pub limiter: LoginLimiter,
    pub audit: AuditLog,
    pub outbox: Outbox,
}

impl axum::extract::FromRef<AppState> for avenue_shared::net::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.config.trusted_proxies.clone()
    }
}

impl AppState {
    /// Base of delivery URLs written into answers.
    pub fn media_public_url(&self) -> &url::Url {
        &self.config.media_public_url
    }
}

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
    // Uploads are forwarded whole, so they get the media limit, not the JSON one.
    let uploads = OpenApiRouter::new()
        .routes(routes!(compat::upload))
        .layer(compat::upload_limit(limits.max_upload_bytes));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(uploads)
        .routes(routes!(users::routes::register))
        .routes(routes!(users::routes::login))
        .routes(routes!(users::routes::refresh))
        .routes(routes!(users::routes::me))
        .routes(routes!(users::routes::change_password))
        .routes(routes!(users::routes::list_users))
        .routes(routes!(users::routes::set_role))
        .routes(routes!(shop::products::list, shop::products::create))
        .routes(routes!(
            shop::products::show,
            shop::products::update,
            shop::products::remove
        ))
        .routes(routes!(shop::grouped::list))
        .routes(routes!(shop::coupons::list, shop::coupons::create))
        .routes(routes!(shop::coupons::update, shop::coupons::remove))
        .routes(routes!(shop::coupons::check))
        .routes(routes!(shop::orders::list, shop::orders::place))
        .routes(routes!(shop::orders::show))
        .routes(routes!(shop::orders::set_status))
        .routes(routes!(shop::orders::cancel))
        .routes(routes!(
            studio::reservations::list,
            studio::reservations::book
        ))
        .routes(routes!(studio::reservations::cancel))
        .routes(routes!(studio::reservations::availability))
        .routes(routes!(studio::reservations::calendar))
        .routes(routes!(system::settings::list))
        .routes(routes!(system::settings::put))
        .routes(routes!(system::settings::public))
        .routes(routes!(system::pages::list, system::pages::create))
        .routes(routes!(
            system::pages::show,
            system::pages::save,
            system::pages::remove
        ))
        .routes(routes!(system::pages::publish))
        .routes(routes!(system::pages::unpublish))
        .routes(routes!(system::pages::versions))
        .routes(routes!(
            ugc::profiles::put_my_creator,
            ugc::profiles::my_creator
        ))
        .routes(routes!(ugc::profiles::list_creators))
        .routes(routes!(
            ugc::profiles::show_creator,
            ugc::profiles::patch_creator
        ))
        .routes(routes!(
            ugc::profiles::put_my_brand,
            ugc::profiles::my_brand
        ))
        .routes(routes!(
            ugc::profiles::show_brand,
            ugc::profiles::patch_brand
        ))
        .routes(routes!(ugc::packages::list, ugc::packages::create))
        .routes(routes!(ugc::packages::update))
        .routes(routes!(ugc::packages::subscribe))
        .routes(routes!(ugc::packages::activate))
        .routes(routes!(ugc::campaigns::list, ugc::campaigns::create))
        .routes(routes!(ugc::campaigns::show, ugc::campaigns::update))
        .routes(routes!(ugc::campaigns::publish))
        .routes(routes!(ugc::campaigns::pause))
        .routes(routes!(ugc::campaigns::close))
        .routes(routes!(ugc::applications::apply))
        .routes(routes!(ugc::applications::list))
        .routes(routes!(ugc::applications::show))
        .routes(routes!(ugc::applications::accept))
        .routes(routes!(ugc::applications::reject))
        .routes(routes!(ugc::deliverables::submit))
        .routes(routes!(ugc::deliverables::list))
        .routes(routes!(ugc::deliverables::show))
        .routes(routes!(ugc::deliverables::approve))
        .routes(routes!(ugc::deliverables::request_changes))
        .routes(routes!(ugc::deliverables::resubmit))
        .routes(routes!(
            ugc::deliverables::report_metrics,
            ugc::deliverables::metrics_history
        ))
        .routes(routes!(ugc::deliverables::campaign_metrics))
        .routes(routes!(ugc::deliverables::rate))
        .routes(routes!(ugc::notifications::list))
        .routes(routes!(ugc::notifications::mark_read))
        .routes(routes!(ugc::notifications::mark_all_read))
        .routes(routes!(system::audit::list_audit))
        .routes(routes!(system::email::list_emails))
        .routes(routes!(compat::products_status))
        .routes(routes!(compat::storage_status))
        .split_for_parts()
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    let (api, openapi) = routes(&state.config.limits);
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .merge(health::router())
        .merge(docs::router(openapi))
        .fallback(|| async { error::ApiError::NotFound("endpoint") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
