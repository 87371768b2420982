//! Sign-in limits that hold under concurrency, across instances and
//! behind proxies (issue 12).

use std::net::IpAddr;

use reqwest::Method;
use serde_json::json;

use avenue_tests::api::spawn_stack_with;
use avenue_tests::{mongo_uri, spawn_api_with, spawn_media_with, unique_db};

fn from(address: &str) -> reqwest::Client {
    let ip: IpAddr = address.parse().expect("loopback address");
    reqwest::Client::builder()
        .local_address(ip)
        .build()
        .expect("client")
}

#[tokio::test]
async fn concurrent_guesses_are_reserved_before_hashing() {
    let stack = spawn_stack_with(|s| {
        s.auth.failures_per_account = 5;
        s.auth.failures_per_ip = 1000;
    })
    .await;
    let victim = stack.api.user("customer").await;
    // Seen: 40 concurrent wrong passwords were all checked (limit 5).
    let mut guesses = Vec::new();
    for i in 0..40 {
        let http = stack.api.http.clone();
        let url = stack.api.url("/api/auth/login");
        let body = json!({ "email": victim.email, "password": format!("guess number {i}") });
        guesses.push(tokio::spawn(async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.expect("task").expect("answer"));
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, limited), (5, 35), "{statuses:?}");
    stack.stop().await;
}

#[tokio::test]
async fn limits_hold_across_instances() {
    let stack = spawn_stack_with(|s| {
        s.auth.failures_per_account = 3;
    })
    .await;
    let second = spawn_api_with(
        &mongo_uri(),
        &stack.media.db_name,
        &stack.media.address,
        |s| s.auth.failures_per_account = 3,
    )
    .await;
    let victim = stack.api.user("customer").await;
    let wrong = json!({ "email": victim.email, "password": "not the password" });
    for api in [&stack.api, &second, &stack.api] {
        api.expect(
            401,
            Method::POST,
            "/api/auth/login",
            None,
            Some(wrong.clone()),
        )
        .await;
    }
    let right = json!({ "email": victim.email, "password": victim.password });
    second
        .expect(429, Method::POST, "/api/auth/login", None, Some(right))
        .await;
    drop(second);
    stack.stop().await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_through_trusted_proxies() {
    let db = unique_db();
    // The api trusts the media service (on 127.0.0.1), nobody else.
    let api = spawn_api_with(&mongo_uri(), &db, "http://127.0.0.1:9", |s| {
        s.auth.failures_per_account = 100;
        s.auth.failures_per_ip = 5;
        s.trusted_proxies = "127.0.0.1/32".parse().expect("CIDR");
    })
    .await;
    let admin = api.admin().await;
    let media = spawn_media_with(|s| {
        s.api_url = url::Url::parse(&api.address).expect("url");
    })
    .await;

    // Seen: 20 failed sign-ins with random emails through /admin/login
    // locked the real admin out, since all came from media's address.
    let attacker = from("127.0.0.2");
    let mut statuses = Vec::new();
    for i in 0..20 {
        let response = attacker
            .post(media.url("/admin/login"))
            // A forged hop: media appends the real one, the api stops there.
            .header("x-forwarded-for", "198.51.100.1")
            .json(&json!({ "email": format!("random{i}@example.com"), "password": "guess guess" }))
            .send()
            .await
            .expect("media answers");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    let admin_browser = from("127.0.0.3");
    let signed_in = admin_browser
        .post(media.url("/admin/login"))
        .json(&json!({ "email": admin.email, "password": admin.password }))
        .send()
        .await
        .expect("media answers");
    assert_eq!(signed_in.status(), 200, "the real admin is not locked out");

    // Straight to the api, a forged header counts for nothing: the peer
    // (127.0.0.4) is not a trusted proxy, so it is its own address.
    let forger = from("127.0.0.4");
    for i in 0..5 {
        let response = forger
            .post(api.url("/api/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({ "email": format!("x{i}@example.com"), "password": "guess guess" }))
            .send()
            .await
            .expect("api answers");
        assert_eq!(response.status(), 401);
    }
    let blocked = forger
        .post(api.url("/api/auth/login"))
        .header("x-forwarded-for", "203.0.113.99")
        .json(&json!({ "email": admin.email, "password": admin.password }))
        .send()
        .await
        .expect("api answers");
    assert_eq!(blocked.status(), 429);
    media.stop().await;
}
