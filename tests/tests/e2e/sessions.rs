//! Sessions end when asked: one (`logout`), all of them (`all: true`), and
//! every one of an account an admin deactivates, whose sign-in is then
//! refused until it is reactivated.

use avenue_tests::api::{spawn_stack, TestUser};
use avenue_tests::ApiApp;
use reqwest::Method;
use serde_json::{json, Value};

async fn refresh(api: &ApiApp, token: &str) -> u16 {
    api.call(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({ "refresh_token": token })),
    )
    .await
    .status()
    .as_u16()
}

async fn logout(api: &ApiApp, token: &str, all: bool) -> u16 {
    api.call(
        Method::POST,
        "/api/auth/logout",
        None,
        Some(json!({ "refresh_token": token, "all": all })),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn logout_ends_one_session_or_all_of_them() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let ana: TestUser = api.user("customer").await;
    let phone = api.login(&ana.email, &ana.password).await;
    let laptop = api.login(&ana.email, &ana.password).await;

    // One session ends; the others go on.
    assert_eq!(logout(api, &ana.refresh_token, false).await, 204);
    assert_eq!(refresh(api, &ana.refresh_token).await, 401);
    // Ending it again, or a token that never was, is still a sign-out.
    assert_eq!(logout(api, &ana.refresh_token, false).await, 204);
    assert_eq!(logout(api, "not-a-token", false).await, 204);
    let renewed = api
        .expect(
            200,
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({ "refresh_token": phone.refresh_token })),
        )
        .await;
    let phone_token = renewed["refresh_token"].as_str().expect("token").to_owned();

    // `all` needs a live session, and then ends every one.
    let refused = api
        .expect(
            401,
            Method::POST,
            "/api/auth/logout",
            None,
            Some(json!({ "refresh_token": ana.refresh_token, "all": true })),
        )
        .await;
    assert_eq!(refused["code"], "unauthenticated");
    // The refused `all` ended nothing.
    let laptop = api
        .expect(
            200,
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({ "refresh_token": laptop.refresh_token })),
        )
        .await;
    let laptop_token = laptop["refresh_token"].as_str().expect("token").to_owned();
    assert_eq!(logout(api, &phone_token, true).await, 204);
    assert_eq!(refresh(api, &phone_token).await, 401);
    assert_eq!(refresh(api, &laptop_token).await, 401);
    // Signing in again opens a new session.
    let again = api.login(&ana.email, &ana.password).await;
    assert_eq!(refresh(api, &again.refresh_token).await, 200);
    stack.stop().await;
}

#[tokio::test]
async fn a_deactivated_account_cannot_sign_in_or_refresh_until_reactivated() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let bea = api.user("creator").await;
    let path = |action: &str| format!("/api/users/{}/{action}", bea.id);

    // Only admins, and not on themselves.
    api.expect(
        403,
        Method::POST,
        &path("deactivate"),
        Some(&bea.token),
        None,
    )
    .await;
    let own = api
        .expect(
            409,
            Method::POST,
            &format!("/api/users/{}/deactivate", admin.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(own["code"], "own-account");

    let off: Value = api
        .expect(
            200,
            Method::POST,
            &path("deactivate"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(off["is_active"], false, "{off}");
    assert_eq!(refresh(api, &bea.refresh_token).await, 401);
    // Her access token, still within its 15 minutes, is refused at once.
    let stale = api
        .expect(401, Method::GET, "/api/auth/me", Some(&bea.token), None)
        .await;
    assert_eq!(stale["code"], "unauthenticated");
    let refused = api
        .expect(
            403,
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": bea.email, "password": bea.password })),
        )
        .await;
    assert_eq!(refused["code"], "account-deactivated");
    // A wrong password still says only that: nothing about the account.
    let wrong = api
        .expect(
            401,
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": bea.email, "password": "not the password" })),
        )
        .await;
    assert_eq!(wrong["code"], "unauthenticated");
    let listed = api
        .expect(
            200,
            Method::GET,
            "/api/users?limit=200",
            Some(&admin.token),
            None,
        )
        .await;
    let row = listed
        .as_array()
        .and_then(|all| all.iter().find(|u| u["id"] == bea.id.as_str()))
        .expect("listed");
    assert_eq!(row["is_active"], false);
    let audit = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/audit-logs?record_id={}", bea.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(audit[0]["action"], "user.deactivate", "{audit}");

    let on = api
        .expect(
            200,
            Method::POST,
            &path("reactivate"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(on["is_active"], true);
    let back = api.login(&bea.email, &bea.password).await;
    assert_eq!(refresh(api, &back.refresh_token).await, 200);
    stack.stop().await;
}

#[tokio::test]
async fn a_changed_role_takes_effect_at_once_not_when_the_token_runs_out() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let deputy = api.admin().await;
    let users = "/api/users?limit=5";
    api.expect(200, Method::GET, users, Some(&deputy.token), None)
        .await;
    api.expect(
        200,
        Method::PUT,
        &format!("/api/users/{}/role", deputy.id),
        Some(&admin.token),
        Some(json!({ "role": "customer" })),
    )
    .await;
    // The token still says admin; the account no longer does.
    api.expect(401, Method::GET, users, Some(&deputy.token), None)
        .await;
    let again = api.login(&deputy.email, &deputy.password).await;
    api.expect(403, Method::GET, users, Some(&again.token), None)
        .await;
    api.expect(200, Method::GET, "/api/auth/me", Some(&again.token), None)
        .await;
    stack.stop().await;
}
