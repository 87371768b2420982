//! Typed calls for the UGC platform's endpoints: profiles, packages, campaigns, applications, deliverables (see `shop.rs` for why).

use reqwest::Method;
use serde_json::Value;

use crate::api::{Call, TestUser};
use crate::ApiApp;

impl ApiApp {
    /// `PUT /api/ugc/creators/me`: creates or replaces the caller's creator profile.
    pub fn put_my_creator(&self, user: &TestUser, body: Value) -> Call {
        self.json_call(Method::PUT, "/api/ugc/creators/me", Some(user), Some(body))
    }

    /// `GET /api/ugc/creators/me`: the caller's creator profile.
    pub fn my_creator(&self, user: &TestUser) -> Call {
        self.json_call(Method::GET, "/api/ugc/creators/me", Some(user), None)
    }

    /// `PATCH /api/ugc/creators/{id}`: edits a creator profile.
    pub fn patch_creator(&self, user: &TestUser, id: &str, body: Value) -> Call {
        self.json_call(
            Method::PATCH,
            &format!("/api/ugc/creators/{id}"),
            Some(user),
            Some(body),
        )
    }

    /// `PUT /api/ugc/brands/me`: creates or replaces the caller's brand profile.
    pub fn put_my_brand(&self, user: &TestUser, body: Value) -> Call {
        self.json_call(Method::PUT, "/api/ugc/brands/me", Some(user), Some(body))
    }

    /// `GET /api/ugc/brands/me`: the caller's brand profile.
    pub fn my_brand(&self, user: &TestUser) -> Call {
        self.json_call(Method::GET, "/api/ugc/brands/me", Some(user), None)
    }

    /// `PATCH /api/ugc/brands/{id}`: edits a brand profile.
    pub fn patch_brand(&self, user: &TestUser, id: &str, body: Value) -> Call {
        self.json_call(
            Method::PATCH,
            &format!("/api/ugc/brands/{id}"),
            Some(user),
            Some(body),
        )
    }

    /// `POST /api/ugc/packages`: creates a package (admins).
    pub fn create_package(&self, user: &TestUser, body: Value) -> Call {
        self.json_call(Method::POST, "/api/ugc/packages", Some(user), Some(body))
    }

    /// `POST /api/ugc/subscriptions`: subscribes the caller's brand to a package.
    pub fn subscribe(&self, user: &TestUser, body: Value) -> Call {
        self.json_call(
            Method::POST,
            "/api/ugc/subscriptions",
            Some(user),
            Some(body),
        )
    }

    /// `POST /api/ugc/campaigns`: creates a draft campaign.
    pub fn create_campaign(&self, user: &TestUser, body: Value) -> Call {
        self.json_call(Method::POST, "/api/ugc/campaigns", Some(user), Some(body))
    }

    /// `GET /api/ugc/campaigns/{id}`: one campaign.
    pub fn campaign(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::GET,
            &format!("/api/ugc/campaigns/{id}"),
            Some(user),
            None,
        )
    }

    /// `POST /api/ugc/campaigns/{id}/publish`: publishes a draft campaign.
    pub fn publish_campaign(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/ugc/campaigns/{id}/publish"),
            Some(user),
            None,
        )
    }

    /// `POST /api/ugc/campaigns/{id}/pause`: pauses a published campaign.
    pub fn pause_campaign(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/ugc/campaigns/{id}/pause"),
            Some(user),
            None,
        )
    }

    /// `POST /api/ugc/campaigns/{id}/close`: closes a campaign.
    pub fn close_campaign(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/ugc/campaigns/{id}/close"),
            Some(user),
            None,
        )
    }

    /// `POST /api/ugc/campaigns/{id}/applications`: applies to a campaign.
    pub fn apply_to(&self, user: &TestUser, id: &str, body: Value) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/ugc/campaigns/{id}/applications"),
            Some(user),
            Some(body),
        )
    }

    /// `POST /api/ugc/applications/{id}/accept`: accepts an application.
    pub fn accept_application(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/ugc/applications/{id}/accept"),
            Some(user),
            None,
        )
    }

    /// `POST /api/ugc/applications/{id}/deliverables`: submits a deliverable for an accepted application.
    pub fn submit_deliverable(&self, user: &TestUser, id: &str, body: Value) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/ugc/applications/{id}/deliverables"),
            Some(user),
            Some(body),
        )
    }

    /// `POST /api/ugc/deliverables/{id}/approve`: approves a deliverable.
    pub fn approve_deliverable(&self, user: &TestUser, id: &str) -> Call {
        self.json_call(
            Method::POST,
            &format!("/api/ugc/deliverables/{id}/approve"),
            Some(user),
            None,
        )
    }

    /// `POST /api/ugc/deliverables/{id}/metrics`: reports a post's numbers.
    pub fn report_metrics(&self, user: &TestUser, id: &str, body: Value) -> Call {
        let path = format!("/api/ugc/deliverables/{id}/metrics");
        self.json_call(Method::POST, &path, Some(user), Some(body))
    }
}
