//! Typed calls for the shop's endpoints (zero-to-production's `TestApp`
//! methods): a test says what it does, `place_order(&buyer, body)`, and the
//! request's shape lives here once.

use reqwest::Method;
use serde_json::Value;

use crate::api::{Call, TestUser};
use crate::ApiApp;

impl ApiApp {
    /// `POST /api/shop/orders`.
    pub fn place_order(&self, buyer: &TestUser, body: Value) -> Call {
        self.json_call(Method::POST, "/api/shop/orders", Some(buyer), Some(body))
    }

    /// `GET /api/shop/orders/{id}`.
    pub fn order(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::GET,
            &format!("/api/shop/orders/{id}"),
            Some(user),
            None,
        )
    }

    /// `POST /api/shop/orders/{id}/status` (admins).
    pub fn set_order_status(&self, admin: &TestUser, id: &str, body: Value) -> Call {
        let path = format!("/api/shop/orders/{id}/status");
        self.json_call(Method::POST, &path, Some(admin), Some(body))
    }

    /// `POST /api/shop/orders/{id}/cancel`.
    pub fn cancel_order(&self, user: &TestUser, id: &str) -> Call {
        let path = format!("/api/shop/orders/{id}/cancel");
        self.json_call(Method::POST, &path, Some(user), None)
    }

    /// `POST /api/shop/products` (admins).
    pub fn create_product(&self, admin: &TestUser, body: Value) -> Call {
        self.json_call(Method::POST, "/api/shop/products", Some(admin), Some(body))
    }

    /// `GET /api/shop/products/{id}`, signed in or not.
    pub fn product(&self, user: Option<&TestUser>, id: &str) -> Call {
        self.json_call(Method::GET, &format!("/api/shop/products/{id}"), user, None)
    }

    /// `PATCH /api/shop/products/{id}` (admins).
    pub fn update_product(&self, admin: &TestUser, id: &str, body: Value) -> Call {
        let path = format!("/api/shop/products/{id}");
        self.json_call(Method::PATCH, &path, Some(admin), Some(body))
    }

    /// `DELETE /api/shop/products/{id}` (admins).
    pub fn delete_product(&self, admin: &TestUser, id: &str) -> Call {
        let path = format!("/api/shop/products/{id}");
        self.json_call(Method::DELETE, &path, Some(admin), None)
    }

    /// `POST /api/shop/coupons` (admins).
    pub fn create_coupon(&self, admin: &TestUser, body: Value) -> Call {
        self.json_call(Method::POST, "/api/shop/coupons", Some(admin), Some(body))
    }
}
