//! The shop: catalogue, groups by model, coupons and orders.

pub mod coupons;
pub mod grouped;
pub mod money;
pub mod orders;
pub mod products;
