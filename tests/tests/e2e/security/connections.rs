//! What reaches the wire: outbound calls follow no redirect, oversized
//! bodies and heads are refused at once and in JSON, one peer cannot take
//! every connection (findings 3 and 8 to 11).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use avenue_media::purge::PurgeTarget;
use avenue_tests::api::spawn_stack_on;
use avenue_tests::raw::RawConnection;
use avenue_tests::{fixtures, spawn_media_with, unique_db};
use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use super::ip;

#[tokio::test]
async fn purge_and_webhook_calls_follow_no_redirect() {
    // Finding 3: a 307 from the purge endpoint re-sent the token elsewhere.
    #[derive(Default)]
    struct Seen {
        asked: usize,
        stolen: Vec<String>,
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let thief = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let thief_port = thief.local_addr().expect("addr").port();
    let stolen = seen.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(move |headers: HeaderMap| {
            let stolen = stolen.clone();
            async move {
                stolen
                    .lock()
                    .expect("lock")
                    .stolen
                    .push(format!("{headers:?}"));
                "thanks"
            }
        });
        let _ = axum::serve(thief, app).await;
    });
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let redirector_port = redirector.local_addr().expect("addr").port();
    let asked = seen.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(move || {
            let asked = asked.clone();
            async move {
                asked.lock().expect("lock").asked += 1;
                (
                    axum::http::StatusCode::TEMPORARY_REDIRECT,
                    [("location", format!("http://127.0.0.1:{thief_port}/steal"))],
                )
            }
        });
        let _ = axum::serve(redirector, app).await;
    });
    let base = url::Url::parse(&format!("http://127.0.0.1:{redirector_port}/")).expect("url");
    let targets = [
        PurgeTarget::Fastly {
            service: "svc".into(),
            token: avenue_media::config::Secret::new("fastly-token"),
            api_base: base.clone(),
        },
        PurgeTarget::Webhook {
            url: base.join("purge").expect("url"),
            secret: avenue_media::config::Secret::new("hook-secret"),
        },
    ];
    for (round, target) in targets.into_iter().enumerate() {
        let app = spawn_media_with(|s| {
            s.purge.target = Some(target);
            s.purge.interval = Duration::from_millis(100);
            s.purge.first_backoff = Duration::from_millis(100);
        })
        .await;
        let upload: Value = app
            .upload(fixtures::png(6, 6, 40 + round as u8), &[])
            .await
            .json()
            .await
            .expect("descriptor");
        let id = upload["id"].as_str().expect("id");
        let deleted = app
            .admin(Method::DELETE, &format!("/v1/media/{id}"))
            .send()
            .await
            .expect("delete");
        assert_eq!(deleted.status(), 204);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let failed = app
                .count(
                    "purges",
                    mongodb::bson::doc! { "last_error": { "$regex": "307" } },
                )
                .await;
            if failed > 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no purge attempt recorded"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.stop().await;
    }
    let seen = seen.lock().expect("lock");
    assert!(seen.asked >= 2, "both targets were asked");
    assert!(
        seen.stolen.is_empty(),
        "credentials followed a redirect: {:?}",
        seen.stolen
    );
}

#[test]
fn outbound_urls_other_than_https_are_refused_at_start_up() {
    for url in [
        "ftp://hooks.example/purge",
        "file:///etc/passwd",
        "http://hooks.example/purge",
    ] {
        let env = [
            ("MEDIA_PURGE", format!("webhook:{url}")),
            ("MEDIA_PURGE_SECRET", "s".to_owned()),
        ];
        let err = PurgeTarget::from_lookup(&|key: &str| {
            env.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
        })
        .expect_err(url);
        assert!(err.to_string().contains("MEDIA_PURGE"), "{err}");
    }
}

#[tokio::test]
async fn an_oversized_declared_body_is_refused_without_waiting_for_it() {
    // Finding 9: the 413 came only when the 10 s drain gave up.
    let app = spawn_media_with(|s| s.server.drain_time = Duration::from_secs(60)).await;
    let mut connection = RawConnection::open(app.port).await;
    let head = format!(
        "POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nContent-Length: 999999999999\r\n\r\n",
        app.admin_token
    );
    connection.send(head.as_bytes()).await.expect("head");
    connection
        .send(&fixtures::png(4, 4, 1)[..16])
        .await
        .expect("a few bytes");
    assert!(
        connection.answered_within(Duration::from_secs(5)).await,
        "the answer waited for a body of a terabyte"
    );
    let answer = connection.read_response().await.expect("an answer");
    assert_eq!(answer.status, 413);
    assert_eq!(answer.json()["code"], "too-large");
    assert_eq!(answer.header("connection"), Some("close"));
    app.stop().await;

    // The api's JSON and upload endpoints alike.
    let stack = spawn_stack_on(&unique_db(), |s| {
        s.server.drain_time = Duration::from_secs(60);
    })
    .await;
    let admin = stack.api.admin().await;
    let port: u16 = stack
        .api
        .address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    for (path, content_type) in [
        ("/api/auth/login", "application/json"),
        ("/api/shop/products", "application/json"),
        ("/api/uploads", "multipart/form-data; boundary=x"),
    ] {
        let mut connection = RawConnection::open(port).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: {content_type}\r\nContent-Length: 999999999999\r\n\r\n{{\"a",
            admin.token
        );
        connection.send(head.as_bytes()).await.expect("head");
        assert!(
            connection.answered_within(Duration::from_secs(5)).await,
            "{path}: the answer waited for the body"
        );
        let answer = connection.read_response().await.expect("an answer");
        assert_eq!(answer.status, 413, "{path}");
        assert_eq!(answer.json()["code"], "too-large", "{path}");
    }
    stack.stop().await;
}

#[tokio::test]
async fn one_peer_cannot_take_every_connection_and_probes_are_always_answered() {
    // Finding 10: 2,100 half-open connections from one address took them all.
    let app = spawn_media_with(|s| {
        s.server.max_connections = 40;
        s.server.max_connections_per_peer = 20;
        s.server.probe_connections = 2;
        s.server.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(RawConnection::open_from(app.port, Some(ip("127.0.0.2"))).await);
    }
    let mut refused = 0;
    for connection in &mut held {
        if connection.closed_within(Duration::from_millis(200)).await {
            refused += 1;
        }
    }
    assert_eq!(refused, 10, "20 of 30 are kept for one peer");
    let probe = |from: &'static str, path: &'static str| async move {
        let mut connection = RawConnection::open_from(app.port, Some(ip(from))).await;
        connection
            .send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .expect("request");
        connection
            .read_response()
            .await
            .map(|r| (r.status, r.json()))
    };
    assert_eq!(
        probe("127.0.0.3", "/healthz").await.expect("answered").0,
        200
    );
    // Fill the rest from another peer: the server is full.
    for _ in 0..20 {
        held.push(RawConnection::open_from(app.port, Some(ip("127.0.0.4"))).await);
    }
    let (status, _) = probe("127.0.0.5", "/healthz")
        .await
        .expect("a probe is answered when full");
    assert_eq!(status, 200);
    let (status, body) = probe("127.0.0.5", "/v1/presets")
        .await
        .expect("refused in JSON");
    assert_eq!(status, 503);
    assert_eq!(body["code"], "too-many-connections");
    drop(held);
    app.stop().await;
}

#[tokio::test]
async fn a_huge_header_is_refused_in_json_on_both_services() {
    // Finding 11: 431 with an empty body and no content type.
    let stack = spawn_stack_on(&unique_db(), |_| {}).await;
    let big = "a".repeat(40 * 1024);
    for port in [
        stack.media.port,
        stack
            .api
            .address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port"),
    ] {
        let mut connection = RawConnection::open(port).await;
        connection
            .send(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes())
            .await
            .expect("request");
        let answer = connection.read_response().await.expect("an answer");
        assert_eq!(answer.status, 431);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(
            answer.json()["code"],
            "header-too-large",
            "{:?}",
            answer.body
        );
        // Past hyper's own buffer, and a line hyper cannot parse: hyper
        // answers these before our code, and they are JSON all the same.
        let huge = "a".repeat(400 * 1024);
        for (request, status, code) in [
            (
                format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {huge}\r\n\r\n"),
                431,
                "header-too-large",
            ),
            (
                "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".to_owned(),
                400,
                "bad-request",
            ),
        ] {
            let mut connection = RawConnection::open(port).await;
            // The server may answer and close before it has read it all.
            let _ = connection.send(request.as_bytes()).await;
            let answer = connection.read_response().await.expect("an answer");
            assert_eq!(answer.status, status);
            assert_eq!(answer.header("content-type"), Some("application/json"));
            assert_eq!(answer.json()["code"], code, "{:?}", answer.body);
        }
        // An unknown method is JSON too.
        let mut connection = RawConnection::open(port).await;
        connection
            .send(b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        let answer = connection.read_response().await.expect("an answer");
        assert!(answer.status >= 400, "{}", answer.status);
        assert!(answer.json()["code"].is_string(), "{:?}", answer.body);
    }
    stack.stop().await;
}
