//! Sign-in that cannot be turned against its owner (findings 1 and 2).

use avenue_tests::api::{spawn_stack_on, spawn_stack_with, Stack};
use avenue_tests::unique_db;
use serde_json::{json, Value};

use super::client_from;

async fn page_login(
    stack: &Stack,
    from: &str,
    email: &str,
    password: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = client_from(from)
        .post(stack.media.url("/admin/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("media answers")
}

/// A sign-in at the api as if from `client` (the api trusts 127.0.0.1's
/// `X-Forwarded-For` in these tests, as behind an ingress).
async fn api_login(
    stack: &Stack,
    client: &str,
    email: &str,
    password: &str,
    device: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({ "email": email, "password": password });
    if let Some(device) = device {
        body["device_token"] = Value::String(device.to_owned());
    }
    let response = stack
        .api
        .http
        .post(stack.api.url("/api/auth/login"))
        .header("x-forwarded-for", client)
        .json(&body)
        .send()
        .await
        .expect("api answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_media_page_counts_failures_against_the_browser_not_itself() {
    // Finding 1: with the default configuration (nobody trusted), every
    // sign-in through the page reached the api from media's address.
    let stack = spawn_stack_on(&unique_db(), |_| {}).await;
    let admin = stack.api.admin().await;
    for _ in 0..25 {
        let refused = page_login(&stack, "127.0.0.2", &admin.email, "not the password", None).await;
        assert!(
            [401, 429].contains(&refused.status().as_u16()),
            "{}",
            refused.status()
        );
    }
    let from_another = page_login(&stack, "127.0.0.3", &admin.email, &admin.password, None).await;
    assert_eq!(
        from_another.status(),
        200,
        "{:?}",
        from_another.text().await
    );
    // The guesser's own address is what is limited.
    let guesser = page_login(&stack, "127.0.0.2", &admin.email, &admin.password, None).await;
    assert_eq!(guesser.status(), 429);
    // And the signed address cannot be forged at the api itself.
    let forged = stack
        .api
        .http
        .post(stack.api.url("/api/auth/login"))
        .header(
            avenue_shared::auth::SIGNED_CLIENT_ADDRESS,
            "eyJhbGciOiJIUzI1NiJ9.e30.x",
        )
        .json(&json!({ "email": admin.email, "password": "wrong again" }))
        .send()
        .await
        .expect("api answers");
    assert_eq!(forged.status(), 401);
    stack.stop().await;
}

#[tokio::test]
async fn nobody_locks_an_owner_out_and_known_devices_get_in() {
    let stack = spawn_stack_with(|s| {
        s.trusted_proxies = "127.0.0.1".parse().expect("trusted");
    })
    .await;
    let admin = stack.api.admin().await;
    let (status, known) =
        api_login(&stack, "203.0.113.1", &admin.email, &admin.password, None).await;
    assert_eq!(status, 200);
    let device = known["device_token"]
        .as_str()
        .expect("a device credential")
        .to_owned();

    // Finding 2: five wrong passwords from anywhere locked every address.
    for _ in 0..5 {
        let (status, _) = api_login(&stack, "198.51.100.1", &admin.email, "guess", None).await;
        assert_eq!(status, 401);
    }
    let (status, _) = api_login(&stack, "198.51.100.1", &admin.email, &admin.password, None).await;
    assert_eq!(
        status, 429,
        "the guesser's address is limited for this account"
    );
    let (status, _) = api_login(&stack, "203.0.113.2", &admin.email, &admin.password, None).await;
    assert_eq!(status, 200, "an unknown client elsewhere still gets in");

    // Past the account's limit for unknown clients (20, from many
    // addresses), they are refused; the known device is not.
    for n in 2..=6 {
        for _ in 0..5 {
            let (status, _) = api_login(
                &stack,
                &format!("198.51.100.{n}"),
                &admin.email,
                "guess",
                None,
            )
            .await;
            assert!([401, 429].contains(&status), "{status}");
        }
    }
    let (status, _) = api_login(&stack, "203.0.113.3", &admin.email, &admin.password, None).await;
    assert_eq!(status, 429, "unknown clients wait");
    let (status, body) = api_login(
        &stack,
        "203.0.113.3",
        &admin.email,
        &admin.password,
        Some(&device),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Another account's credential, or a forged one, is no key here.
    let other = stack.api.user("customer").await;
    let (_, theirs) = api_login(&stack, "203.0.113.9", &other.email, &other.password, None).await;
    let their_device = theirs["device_token"].as_str().expect("device").to_owned();
    for credential in [their_device.as_str(), "forged.device.token"] {
        let (status, _) = api_login(
            &stack,
            "203.0.113.3",
            &admin.email,
            &admin.password,
            Some(credential),
        )
        .await;
        assert_eq!(status, 429, "{credential}");
    }

    // The media page keeps the credential as an HttpOnly cookie and sends
    // it back: its admin gets in while unknown clients wait.
    let refused = page_login(&stack, "127.0.0.4", &admin.email, &admin.password, None).await;
    assert_eq!(refused.status(), 429);
    let (_, fresh) = api_login(
        &stack,
        "203.0.113.1",
        &admin.email,
        &admin.password,
        Some(&device),
    )
    .await;
    let fresh = fresh["device_token"].as_str().expect("device").to_owned();
    let cookie = format!("avenue_device={fresh}");
    let signed_in = page_login(
        &stack,
        "127.0.0.4",
        &admin.email,
        &admin.password,
        Some(&cookie),
    )
    .await;
    assert_eq!(signed_in.status(), 200);
    let set_cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(set_cookie.starts_with("avenue_device="), "{set_cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/admin"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let body: Value = signed_in.json().await.expect("json");
    assert!(
        body.get("device_token").is_none(),
        "the page's script never sees it: {body}"
    );
    stack.stop().await;
}
