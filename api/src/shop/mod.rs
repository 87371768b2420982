//! The shop: catalogue, groups by model, coupons and orders.

pub mod catalog;
pub mod coupons;
pub mod grouped;
pub mod import;
pub mod money;
pub mod order_docs;
pub mod orders;
pub mod products;
pub mod transitions;

/// Every route of this domain, with its part of the OpenAPI document.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(products::router())
        .merge(grouped::router())
        .merge(coupons::router())
        .merge(orders::router())
}
