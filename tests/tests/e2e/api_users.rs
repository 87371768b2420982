//! Accounts, sessions and roles over real HTTP: register, login, refresh
//! rotation, password change, the login rate limits, `create-admin`, and
//! bad input refused with the envelope.

use std::process::Stdio;

use avenue_tests::api::spawn_stack_with;
use avenue_tests::{binary, mongo_uri};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn register_login_refresh_and_change_password() {
    let stack = spawn_stack_with(|_| {}).await;
    let api = &stack.api;
    let user = api.user("creator").await;
    let me = api
        .expect(200, Method::GET, "/api/auth/me", Some(&user.token), None)
        .await;
    assert_eq!(me["email"], user.email);
    assert_eq!(me["role"], "creator");
    assert!(me.get("password_hash").is_none(), "no hash leaks: {me}");

    // The same address in other case is the same account.
    let taken = api
        .expect(
            409,
            Method::POST,
            "/api/auth/register",
            None,
            Some(json!({ "email": user.email.to_uppercase(), "password": "another password", "name": "X" })),
        )
        .await;
    assert_eq!(taken["code"], "email-taken");
    let login = api.login(&user.email.to_uppercase(), &user.password).await;
    assert_eq!(login.id, user.id);

    // A refresh token works once; the new one works.
    let refreshed = api
        .expect(
            200,
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({ "refresh_token": user.refresh_token })),
        )
        .await;
    let again = api
        .expect(
            401,
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({ "refresh_token": user.refresh_token })),
        )
        .await;
    assert_eq!(again["code"], "unauthenticated");
    let next = refreshed["refresh_token"]
        .as_str()
        .expect("new refresh token");
    api.expect(
        200,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({ "refresh_token": next })),
    )
    .await;

    // Changing the password needs the current one and ends every session.
    let wrong = api
        .expect(
            401,
            Method::POST,
            "/api/auth/password",
            Some(&login.token),
            Some(json!({ "current_password": "nope nope nope", "new_password": "a new password" })),
        )
        .await;
    assert_eq!(wrong["code"], "unauthenticated");
    let short = api
        .expect(
            422,
            Method::POST,
            "/api/auth/password",
            Some(&login.token),
            Some(json!({ "current_password": user.password, "new_password": "short" })),
        )
        .await;
    assert_eq!(short["field"], "new_password");
    api.expect(
        204,
        Method::POST,
        "/api/auth/password",
        Some(&login.token),
        Some(json!({ "current_password": user.password, "new_password": "a new password" })),
    )
    .await;
    api.expect(
        401,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({ "refresh_token": login.refresh_token })),
    )
    .await;
    api.expect(
        401,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({ "email": user.email, "password": user.password })),
    )
    .await;
    api.login(&user.email, "a new password").await;
    stack.stop().await;
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_and_per_address() {
    let stack = spawn_stack_with(|s| {
        s.auth.failures_per_account = 3;
        s.auth.failures_per_ip = 6;
    })
    .await;
    let api = &stack.api;
    let victim = api.user("customer").await;
    let other = api.user("customer").await;
    let attempt = |email: String, password: &'static str| async move {
        api.call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
    };
    // An unknown account and a wrong password answer alike.
    let unknown = attempt("nobody@example.com".into(), "whatever it is").await;
    let unknown_status = unknown.status();
    let unknown_body: serde_json::Value = unknown.json().await.expect("envelope");
    let wrong = attempt(victim.email.clone(), "wrong password").await;
    assert_eq!(unknown_status, wrong.status());
    assert_eq!(
        unknown_body,
        wrong.json::<serde_json::Value>().await.expect("envelope")
    );

    attempt(victim.email.clone(), "wrong password").await;
    attempt(victim.email.clone(), "wrong password").await;
    // Three failures: the account is refused, even with the right password.
    let limited = attempt(victim.email.clone(), "correct horse battery").await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after > 0 && retry_after <= 900, "{retry_after}");
    let body: serde_json::Value = limited.json().await.expect("envelope");
    assert_eq!(body["code"], "rate-limited");
    // Another account from the same address still signs in...
    api.login(&other.email, &other.password).await;
    // ...until the address has failed six times in all.
    for i in 0..2 {
        let response = attempt(format!("stranger{i}@example.com"), "nope nope").await;
        assert_eq!(response.status(), 401);
    }
    let blocked = attempt(other.email.clone(), "correct horse battery").await;
    assert_eq!(blocked.status(), 429, "the address is over its limit");
    stack.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_the_envelope_and_nothing_is_written() {
    let stack = spawn_stack_with(|s| s.limits.max_body_bytes = 4096).await;
    let api = &stack.api;
    let raw = |body: &'static str, content_type: &'static str| {
        api.request(Method::POST, "/api/auth/register", None)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = raw("{\"email\": ", "application/json")
        .await
        .expect("answer");
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        malformed.json::<serde_json::Value>().await.expect("json")["code"],
        "malformed-json"
    );
    let wrong_type = raw(
        r#"{"email": 5, "password": "xxxxxxxxx", "name": "n"}"#,
        "application/json",
    )
    .await
    .expect("answer");
    assert_eq!(wrong_type.status(), 422);
    let body: serde_json::Value = wrong_type.json().await.expect("json");
    assert_eq!(body["code"], "invalid-field");
    assert_eq!(body["field"], "email", "{body}");
    let not_json = raw("email=a", "application/x-www-form-urlencoded")
        .await
        .expect("answer");
    assert_eq!(not_json.status(), 415);
    let huge = format!(
        r#"{{"email": "{}@example.com", "password": "xxxxxxxxx", "name": "n"}}"#,
        "a".repeat(10_000)
    );
    let too_large = api
        .request(Method::POST, "/api/auth/register", None)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answer");
    assert_eq!(too_large.status(), 413);
    for (body, field) in [
        (
            json!({ "email": "not-an-email", "password": "long enough", "name": "n" }),
            "email",
        ),
        (
            json!({ "email": "a@example.com", "password": "short", "name": "n" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "long enough", "name": " " }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": "long enough", "name": "n", "role": "admin" }),
            "role",
        ),
    ] {
        let refused = api
            .expect(422, Method::POST, "/api/auth/register", None, Some(body))
            .await;
        assert_eq!(refused["field"], field, "{refused}");
    }
    let unknown = api
        .expect(422, Method::POST, "/api/auth/register", None,
            Some(json!({ "email": "a@example.com", "password": "long enough", "name": "n", "admin": true })))
        .await;
    assert_eq!(
        unknown["code"], "invalid-field",
        "unknown fields are refused: {unknown}"
    );
    assert_eq!(
        api.count("users", mongodb::bson::doc! {}).await,
        0,
        "nothing written"
    );
    stack.stop().await;
}

#[tokio::test]
async fn routes_check_roles() {
    let stack = spawn_stack_with(|_| {}).await;
    let api = &stack.api;
    let customer = api.user("customer").await;
    let admin_only = [
        (Method::GET, "/api/users"),
        (Method::PUT, "/api/users/65f000000000000000000000/role"),
        (Method::POST, "/api/shop/products"),
        (Method::PATCH, "/api/shop/products/65f000000000000000000000"),
        (
            Method::DELETE,
            "/api/shop/products/65f000000000000000000000",
        ),
        (Method::GET, "/api/shop/coupons"),
        (Method::POST, "/api/shop/coupons"),
        (Method::PATCH, "/api/shop/coupons/SALE"),
        (Method::DELETE, "/api/shop/coupons/SALE"),
        (
            Method::POST,
            "/api/shop/orders/65f000000000000000000000/status",
        ),
        (
            Method::GET,
            "/api/studio/calendar?from=2030-01-01&to=2030-01-02",
        ),
        (Method::GET, "/api/admin/settings"),
        (Method::PUT, "/api/admin/settings/site.title"),
        (Method::POST, "/api/pages"),
        (Method::PUT, "/api/pages/65f000000000000000000000"),
        (Method::DELETE, "/api/pages/65f000000000000000000000"),
        (Method::POST, "/api/pages/65f000000000000000000000/publish"),
        (
            Method::POST,
            "/api/pages/65f000000000000000000000/unpublish",
        ),
        (Method::GET, "/api/pages/65f000000000000000000000/versions"),
        (Method::GET, "/api/admin/audit-logs"),
        (Method::GET, "/api/admin/email-logs"),
        (
            Method::POST,
            "/api/admin/email-logs/65f000000000000000000000/resend",
        ),
        (Method::POST, "/api/uploads"),
        (Method::GET, "/api/shop/debug/products-status"),
        (Method::GET, "/api/shop/debug/storage-status"),
        (Method::POST, "/api/ugc/packages"),
        (Method::PATCH, "/api/ugc/packages/65f000000000000000000000"),
    ];
    for (method, path) in admin_only {
        let anonymous = api.call(method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(anonymous.status(), 401, "{method} {path} without a token");
        let forbidden = api
            .call(method.clone(), path, Some(&customer.token), Some(json!({})))
            .await;
        assert_eq!(forbidden.status(), 403, "{method} {path} as a customer");
        let body: serde_json::Value = forbidden.json().await.expect("envelope");
        assert_eq!(body["code"], "forbidden");
    }
    for (method, path) in [
        (Method::GET, "/api/auth/me"),
        (Method::GET, "/api/shop/orders"),
        (Method::POST, "/api/shop/orders"),
        (Method::POST, "/api/studio/reservations"),
        (Method::GET, "/api/studio/reservations"),
        (Method::POST, "/api/shop/coupons/check"),
        (Method::GET, "/api/ugc/creators"),
        (Method::GET, "/api/ugc/campaigns"),
        (Method::GET, "/api/ugc/applications"),
        (Method::GET, "/api/ugc/deliverables"),
        (Method::GET, "/api/ugc/notifications"),
        (Method::GET, "/api/ugc/packages"),
        (Method::POST, "/api/ugc/subscriptions"),
    ] {
        let anonymous = api.call(method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(anonymous.status(), 401, "{method} {path} without a token");
    }
    let forged = api
        .call(Method::GET, "/api/auth/me", Some("not.a.token"), None)
        .await;
    assert_eq!(forged.status(), 401);
    stack.stop().await;
}

#[tokio::test]
async fn create_admin_makes_the_first_admin_from_env_or_stdin() {
    let stack = spawn_stack_with(|_| {}).await;
    let api = &stack.api;
    let db = api.db.name().to_owned();
    let command = |email: &str| {
        let mut command = tokio::process::Command::new(binary("avenue-api"));
        command
            .args(["create-admin", "--email", email])
            .env("MONGODB_URI", mongo_uri())
            .env("MONGODB_DB", &db)
            .env("RUST_LOG", "warn")
            .env_remove("AVENUE_ADMIN_PASSWORD")
            .kill_on_drop(true);
        command
    };
    let from_env = command("Boss@Example.com")
        .env("AVENUE_ADMIN_PASSWORD", "admin password 1")
        .output()
        .await
        .expect("run");
    assert!(
        from_env.status.success(),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
    let boss = api.login("boss@example.com", "admin password 1").await;
    let me = api
        .expect(200, Method::GET, "/api/auth/me", Some(&boss.token), None)
        .await;
    assert_eq!(me["role"], "admin");

    let mut child = command("second@example.com")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"from stdin pass\n")
        .await
        .expect("write");
    let from_stdin = child.wait_with_output().await.expect("run");
    assert!(
        from_stdin.status.success(),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    api.login("second@example.com", "from stdin pass").await;

    let again = command("boss@example.com")
        .env("AVENUE_ADMIN_PASSWORD", "admin password 2")
        .output()
        .await
        .expect("run");
    assert!(!again.status.success(), "an existing email is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    stack.stop().await;
}

/// The admin's user list pages by cursor and finds people by part of
/// their e-mail or name, any case.
#[tokio::test]
async fn the_user_list_pages_and_searches() {
    let stack = avenue_tests::api::spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut ours = Vec::new();
    for n in 0..5 {
        let email = format!("Socia{n}.{tag}@Example.com");
        let body = api
            .expect(201, Method::POST, "/api/auth/register", None,
                Some(json!({ "email": email, "password": "correct horse battery", "name": format!("Socia {n} {tag}") })))
            .await;
        ours.push(body["user"]["id"].as_str().expect("id").to_owned());
    }
    // Search, any case, by e-mail or name, two a page.
    let mut seen = Vec::new();
    let mut url = format!("/api/users?q={}&limit=2", tag.to_uppercase());
    loop {
        let response = api.call(Method::GET, &url, Some(&admin.token), None).await;
        assert_eq!(response.status(), 200);
        let next = response
            .headers()
            .get("x-next-cursor")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let page: Vec<Value> = response.json().await.expect("list");
        assert!(page.len() <= 2);
        seen.extend(
            page.iter()
                .filter_map(|u| u["id"].as_str().map(str::to_owned)),
        );
        match next {
            Some(cursor) => {
                url = format!(
                    "/api/users?q={}&limit=2&before={cursor}",
                    tag.to_uppercase()
                )
            }
            None => break,
        }
    }
    ours.reverse();
    assert_eq!(seen, ours, "newest first, each once");
    let by_name = api
        .expect(
            200,
            Method::GET,
            &format!("/api/users?q=socia%203%20{tag}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(by_name.as_array().map(Vec::len), Some(1));
    // Regex characters are only characters.
    let none = api
        .expect(
            200,
            Method::GET,
            "/api/users?q=.%2A",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    stack.stop().await;
}
