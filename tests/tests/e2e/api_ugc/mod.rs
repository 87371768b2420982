//! The UGC platform end to end over real HTTP: a brand with a package, a
//! campaign, applications, acceptance under a race, deliverables with
//! review history, metrics and their aggregate, mutual ratings, and the
//! notifications every step leaves; plus who may see and do what.

mod erasure;
mod journey;
mod operations;
mod races;
mod rules;

use avenue_tests::api::{Stack, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

pub(super) fn deadline() -> String {
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(20);
    later
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

pub(super) async fn package(stack: &Stack, admin: &TestUser, quota: i64) -> String {
    let body = stack
        .api
        .create_package(admin, json!({ "name": format!("Plan {quota}"), "campaign_quota": quota, "price": 990000, "duration_days": 30 })).expect(201)
        .await;
    body["id"].as_str().expect("id").to_owned()
}

/// A brand with a profile; with a package, subscribed to it and (the
/// packages here are priced) activated by `admin`, as after payment.
pub(super) async fn brand(stack: &Stack, package: Option<(&str, &TestUser)>) -> TestUser {
    let api = &stack.api;
    let user = api.user("brand").await;
    api.put_my_brand(
        &user,
        json!({
            "company": "Ñandutí Moda", "logo_url": "https://cdn.example.com/logo.png",
            "contact": { "name": "Ana", "email": "ana@example.com" },
        }),
    )
    .expect(201)
    .await;
    if let Some((id, admin)) = package {
        let subscribed = api
            .subscribe(&user, json!({ "package_id": id }))
            .expect(201)
            .await;
        activate(stack, admin, &subscribed).await;
    }
    user
}

/// Activates the pending subscription of `brand_view` (admin).
pub(super) async fn activate(stack: &Stack, admin: &TestUser, brand_view: &Value) -> Value {
    assert_eq!(
        brand_view["subscription"]["status"], "pending",
        "{brand_view}"
    );
    let id = brand_view["id"].as_str().expect("brand id");
    stack
        .api
        .expect(
            200,
            Method::POST,
            &format!("/api/ugc/brands/{id}/subscription/activate"),
            Some(&admin.token),
            None,
        )
        .await
}

pub(super) async fn creator(stack: &Stack, niches: &[&str]) -> (TestUser, String) {
    let api = &stack.api;
    let user = api.user("creator").await;
    let profile = api
        .put_my_creator(
            &user,
            json!({
                "name": "Creadora", "bio": "Moda y estilo", "niches": niches,
                "handles": { "instagram": "@creadora_py" },
                "portfolio_links": ["https://www.tiktok.com/@creadora_py"],
            }),
        )
        .expect(201)
        .await;
    let id = profile["id"].as_str().expect("id").to_owned();
    (user, id)
}

pub(super) async fn campaign(
    stack: &Stack,
    owner: &TestUser,
    slots: i64,
    requirements: Value,
) -> String {
    let body = stack
        .api
        .create_campaign(
            owner,
            json!({
                "title": "Colección verano", "description": "Reels con la nueva colección",
                "budget": 1500000, "deliverable_types": ["reel", "story"], "deadline": deadline(),
                "requirements": requirements, "slots": slots,
            }),
        )
        .expect(201)
        .await;
    body["id"].as_str().expect("id").to_owned()
}
