//! `MEDIA_BACKEND=cloudinary` end to end against the fake: upload, deliver
//! (redirects with the same transformation, signed for strict accounts),
//! delete, readiness, and failures mapped to statuses.

use avenue_media::config::CloudinarySettings;
use avenue_media::store::cloudinary::CloudinaryAccount;
use avenue_media::store::BackendKind;
use avenue_shared::{ErrorBody, MediaDescriptor};
use avenue_tests::cloudinary_fake::{CloudinaryFake, Failure};
use avenue_tests::{fixtures, signed_path, spawn_media_with, MediaApp};

async fn spawn_on(fake: &CloudinaryFake) -> MediaApp {
    let account = CloudinaryAccount::parse(&fake.cloudinary_url(), None).expect("fake account");
    let delivery_base = url::Url::parse(&fake.delivery_base()).expect("url");
    spawn_media_with(|s| {
        s.backend = BackendKind::Cloudinary;
        s.cloudinary = Some(CloudinarySettings {
            account,
            delivery_base,
            sign_delivery: true,
        });
    })
    .await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn location(url: &str) -> String {
    let response = no_redirects().get(url).send().await.expect("answer");
    assert_eq!(response.status(), 302, "{url}");
    response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test]
async fn upload_deliver_and_delete_through_cloudinary() {
    let fake = CloudinaryFake::start().await;
    let app = spawn_on(&fake).await;
    let bytes = fixtures::png(30, 20, 1);
    let response = app.upload(bytes.clone(), &[("folder", "shop")]).await;
    assert_eq!(response.status(), 201);
    let d: MediaDescriptor = response.json().await.expect("descriptor");
    assert_eq!(d.backend, "cloudinary");
    assert_eq!(fake.resource_count(), 1);
    // Nothing of the bytes is kept in MongoDB.
    assert_eq!(app.storage_counts().await, (1, 0, 0, 0));

    // The original: a redirect to Cloudinary's delivery URL, which serves the bytes.
    let original = location(&app.url(&format!("/image/upload/{}.png", d.id))).await;
    assert!(
        original.starts_with(&format!(
            "{}/{}/image/upload/avenue/",
            fake.base_url, fake.cloud
        )),
        "{original}"
    );
    let delivered = reqwest::get(&original)
        .await
        .expect("answer")
        .bytes()
        .await
        .expect("body");
    assert_eq!(delivered.as_ref(), bytes.as_slice());

    // A preset: expanded, and signed with the API secret as Cloudinary checks.
    let preset = location(&app.url(&format!("/image/upload/t_card/{}.jpg", d.id))).await;
    let tail = preset
        .split_once("/image/upload/")
        .map(|(_, t)| t.to_owned())
        .expect("delivery path");
    let (sig, signed) = tail.split_once('/').expect("signature component");
    assert!(
        signed.starts_with("c_fill,g_auto,w_400,h_300/avenue/"),
        "{signed}"
    );
    assert!(signed.ends_with(".jpg"));
    assert_eq!(
        sig,
        avenue_media::process::signature::component(signed, &fake.api_secret)
    );

    // Our own strict mode still applies before any redirect.
    let unsigned = app
        .fetch(&format!("/image/upload/c_fill,w_10,h_10/{}.png", d.id), &[])
        .await;
    assert_eq!(unsigned.status(), 403);
    let signed_custom =
        location(&app.url(&signed_path("c_fill,w_10,h_10", &format!("{}.png", d.id)))).await;
    assert!(
        signed_custom.contains("/c_fill,w_10,h_10/avenue/"),
        "{signed_custom}"
    );

    let ready = app.fetch("/readyz", &[]).await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["backend"], "cloudinary");

    let deleted = app
        .admin(reqwest::Method::DELETE, &format!("/v1/media/{}", d.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(deleted.status(), 204);
    assert_eq!(fake.resource_count(), 0);
    assert_eq!(app.storage_counts().await, (0, 0, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn cloudinary_refusing_our_credentials_is_a_502_and_leaves_nothing() {
    let fake = CloudinaryFake::start().await;
    let app = spawn_on(&fake).await;
    fake.fail_next([Failure::Status(401)]);
    let response = app.upload(fixtures::png(8, 8, 2), &[]).await;
    assert_eq!(response.status(), 502);
    let body: ErrorBody = response.json().await.expect("envelope");
    assert_eq!(body.code, "storage-failed");
    assert!(
        !body.message.contains("401"),
        "no backend detail leaks: {}",
        body.message
    );
    assert_eq!(app.await_storage_counts((0, 0, 0, 0)).await, (0, 0, 0, 0));
    assert_eq!(fake.resource_count(), 0);

    fake.fail_next([Failure::Status(401)]);
    let ready = app.fetch("/readyz", &[]).await;
    assert_eq!(ready.status(), 503);
    app.stop().await;
}
