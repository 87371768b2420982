//! `/api/openapi.json` (generated from the handlers) and `/api/docs`, a
//! page that renders it with no script from elsewhere.

use std::sync::Arc;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};

const DOCS_PAGE: &str = avenue_shared::docs::PAGE;

pub fn router<S>(openapi: Arc<utoipa::openapi::OpenApi>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move {
                    (
                        [(header::CACHE_CONTROL, "no-cache")],
                        Json(openapi.as_ref().clone()),
                    )
                        .into_response()
                }
            }),
        )
        .route("/api/docs", get(|| async { Html(DOCS_PAGE) }))
}
