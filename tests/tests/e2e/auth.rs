//! Management endpoints need an admin or service token; delivery is public.

use avenue_shared::{Claims, ErrorBody, JwtKeys, MediaDescriptor, Role};
use avenue_tests::{fixtures, spawn_media, token, token_for};
use reqwest::Method;

const SOME_ID: &str = "0123456789abcdef0123456789abcdef";

fn endpoints() -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/v1/media".into()),
        (Method::GET, "/v1/media".into()),
        (Method::GET, format!("/v1/media/{SOME_ID}")),
        (Method::PATCH, format!("/v1/media/{SOME_ID}")),
        (Method::DELETE, format!("/v1/media/{SOME_ID}")),
        (Method::POST, format!("/v1/media/{SOME_ID}/refs")),
        (
            Method::DELETE,
            format!("/v1/media/{SOME_ID}/refs/shop_products:1"),
        ),
        (Method::GET, "/v1/storage/status".into()),
    ]
}

#[tokio::test]
async fn missing_or_bad_tokens_are_401_on_every_management_route() {
    let app = spawn_media().await;
    let expired = JwtKeys::from_secret(avenue_tests::DEV_SECRET.as_bytes())
        .sign(&Claims {
            sub: "old".into(),
            role: Role::Admin,
            exp: 1_000_000,
            epoch: 0,
        })
        .expect("sign");
    let foreign = JwtKeys::from_secret(b"another secret")
        .sign(&Claims::new("x", Role::Admin, 600))
        .expect("sign");
    let credentials: Vec<Option<String>> = vec![
        None,
        Some("Bearer".into()),
        Some("Bearer not.a.jwt".into()),
        Some(format!("Basic {}", token(Role::Admin))),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {foreign}")),
    ];
    for (method, path) in endpoints() {
        for credential in &credentials {
            let mut request = app
                .http
                .request(method.clone(), app.url(&path))
                .header("content-type", "image/png")
                .body(fixtures::png(4, 4, 1));
            if let Some(value) = credential {
                request = request.header("authorization", value);
            }
            let response = request.send().await.expect("answer");
            assert_eq!(
                response.status(),
                401,
                "{method} {path} with {credential:?}"
            );
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: ErrorBody = response.json().await.expect("envelope");
            assert_eq!(body.code, "unauthenticated");
        }
    }
    assert_eq!(app.storage_counts().await, (0, 0, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn roles_other_than_admin_and_service_are_403() {
    let app = spawn_media().await;
    for role in [Role::Customer, Role::Brand, Role::Creator, Role::Other] {
        for (method, path) in endpoints() {
            let response = app
                .http
                .request(method.clone(), app.url(&path))
                .bearer_auth(token(role.clone()))
                .header("content-type", "image/png")
                .body(fixtures::png(4, 4, 1))
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), 403, "{role:?} {method} {path}");
            let body: ErrorBody = response.json().await.expect("envelope");
            assert_eq!(body.code, "forbidden");
        }
    }
    assert_eq!(app.storage_counts().await, (0, 0, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_service_token_may_upload_and_delivery_needs_none() {
    let app = spawn_media().await;
    let response = app
        .http
        .post(app.url("/v1/media"))
        .bearer_auth(token_for("avenue-api", Role::Service, 60))
        .header("content-type", "image/png")
        .body(fixtures::png(4, 4, 9))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 201);
    let d: MediaDescriptor = response.json().await.expect("descriptor");
    let owner = app
        .db()
        .collection::<mongodb::bson::Document>("media")
        .find_one(mongodb::bson::doc! { "_id": d.id.as_str() })
        .await
        .expect("query")
        .expect("record");
    assert_eq!(owner.get_str("owner").expect("owner"), "avenue-api");
    let public = app.fetch(&format!("/image/upload/{}.png", d.id), &[]).await;
    assert_eq!(public.status(), 200);
    app.stop().await;
}
