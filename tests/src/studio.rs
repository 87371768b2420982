//! Typed calls for the studio's reservations (see `shop.rs` for why).

use reqwest::Method;
use serde_json::Value;

use crate::api::{Call, TestUser};
use crate::ApiApp;

impl ApiApp {
    /// `POST /api/studio/reservations`: books studio time.
    pub fn book(&self, user: &TestUser, body: Value) -> Call {
        self.json_call(
            Method::POST,
            "/api/studio/reservations",
            Some(user),
            Some(body),
        )
    }

    /// `POST /api/studio/reservations/{id}/cancel`: cancels a booking.
    pub fn cancel_booking(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/studio/reservations/{id}/cancel"),
            Some(user),
            None,
        )
    }
}
