//! `MEDIA_BACKEND=cloudinary` end to end against the fake: upload, deliver
//! (redirects with the same transformation, signed for strict accounts),
//! delete, readiness, and failures mapped to statuses.

use avenue_media::config::RemoteDelivery;
use avenue_media::store::BackendKind;
use avenue_shared::{ErrorBody, MediaDescriptor};
use avenue_tests::cloudinary_fake::{CloudinaryFake, Failure};
use avenue_tests::fixtures::{self, sha256_hex};
use avenue_tests::{signed_path, spawn_media_with, MediaApp};

async fn spawn_on(fake: &CloudinaryFake) -> MediaApp {
    spawn_with(fake, RemoteDelivery::Redirect).await
}

async fn spawn_with(fake: &CloudinaryFake, remote: RemoteDelivery) -> MediaApp {
    let cloudinary = fake.settings();
    spawn_media_with(|s| {
        s.backend = BackendKind::Cloudinary;
        s.cloudinary = Some(cloudinary);
        s.delivery.remote = remote;
    })
    .await
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("an image");
    (image.width(), image.height())
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

    // A preset: expanded to its canonical text (parameters sorted, as the
    // SDKs write them), and signed with the API secret as Cloudinary checks.
    let preset = location(&app.url(&format!("/image/upload/t_card/{}.jpg", d.id))).await;
    let tail = preset
        .split_once("/image/upload/")
        .map(|(_, t)| t.to_owned())
        .expect("delivery path");
    let (sig, signed) = tail.split_once('/').expect("signature component");
    assert!(
        signed.starts_with("c_fill,g_auto,h_300,w_400/avenue/"),
        "{signed}"
    );
    assert!(signed.ends_with(".jpg"));
    assert_eq!(
        sig,
        avenue_media::process::signature::component(signed, &fake.api_secret)
    );
    // The fake checks that signature its own way, and renders the preset.
    let rendered = reqwest::get(&preset).await.expect("answer");
    assert_eq!(rendered.status(), 200, "{preset}");
    assert_eq!(rendered.headers()["content-type"], "image/jpeg");
    assert_eq!(
        dimensions(&rendered.bytes().await.expect("body")),
        (400, 300)
    );
    let tampered = preset.replace("w_400", "w_401");
    assert_eq!(
        reqwest::get(&tampered).await.expect("answer").status(),
        401,
        "a strict account refuses a URL whose signature does not match"
    );

    // Our own strict mode still applies before any redirect.
    let unsigned = app
        .fetch(&format!("/image/upload/c_fill,w_10,h_10/{}.png", d.id), &[])
        .await;
    assert_eq!(unsigned.status(), 403);
    let signed_custom =
        location(&app.url(&signed_path("c_fill,w_10,h_10", &format!("{}.png", d.id)))).await;
    assert!(
        signed_custom.contains("/c_fill,h_10,w_10/avenue/"),
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

#[tokio::test]
async fn proxied_delivery_streams_cloudinary_renders_with_our_cache_headers() {
    let fake = CloudinaryFake::start().await;
    let app = spawn_with(&fake, RemoteDelivery::Proxy).await;
    let bytes = fixtures::png(60, 40, 3);
    let d: MediaDescriptor = app
        .upload(bytes.clone(), &[])
        .await
        .json()
        .await
        .expect("descriptor");
    assert_eq!(d.backend, "cloudinary");

    // The original: our answer, with ranges, no redirect.
    let original = app.fetch(&format!("/image/upload/{}.png", d.id), &[]).await;
    assert_eq!(original.status(), 200);
    assert_eq!(original.headers()["etag"], format!("\"{}\"", d.sha256));
    assert_eq!(sha256_hex(&original.bytes().await.expect("body")), d.sha256);
    let part = app
        .fetch(
            &format!("/image/upload/{}.png", d.id),
            &[("range", "bytes=10-19")],
        )
        .await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.expect("body").as_ref(), &bytes[10..20]);

    // A preset, rendered by Cloudinary and passed through.
    let path = format!("/image/upload/t_card/{}.jpg", d.id);
    let card = app.fetch(&path, &[]).await;
    assert_eq!(card.status(), 200);
    assert_eq!(card.headers()["content-type"], "image/jpeg");
    assert_eq!(
        card.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = card.headers()["etag"].to_str().expect("ascii").to_owned();
    assert_eq!(dimensions(&card.bytes().await.expect("body")), (400, 300));

    // Revalidation is answered here, without asking Cloudinary.
    let fetched = fake.calls("deliver");
    let again = app.fetch(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(fake.calls("deliver"), fetched);

    // f_auto follows the client's Accept, and says so.
    let auto_path = signed_path("c_scale,w_30/f_auto", &format!("{}.jpg", d.id));
    let webp = app.fetch(&auto_path, &[("accept", "image/webp,*/*")]).await;
    assert_eq!(webp.status(), 200);
    assert_eq!(webp.headers()["content-type"], "image/webp");
    assert_eq!(webp.headers()["vary"], "Accept");
    let webp_etag = webp.headers()["etag"].clone();
    assert_eq!(dimensions(&webp.bytes().await.expect("body")), (30, 20));
    let jpeg = app.fetch(&auto_path, &[("accept", "image/jpeg")]).await;
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    assert_ne!(
        jpeg.headers()["etag"],
        webp_etag,
        "one ETag per representation"
    );

    // Cloudinary failing: 503 for outages, 502 when it refuses our URL.
    fake.fail_next([Failure::Status(500)]);
    let down = app
        .fetch(&format!("/image/upload/t_thumb/{}.jpg", d.id), &[])
        .await;
    assert_eq!(down.status(), 503);
    let body: ErrorBody = down.json().await.expect("envelope");
    assert_eq!(body.code, "storage-unavailable");
    fake.fail_next([Failure::Status(401)]);
    let refused = app
        .fetch(&format!("/image/upload/t_product/{}.jpg", d.id), &[])
        .await;
    assert_eq!(refused.status(), 502);
    // Only images pass: an HTML answer would be cached on our origin for a year.
    fake.fail_next([Failure::Html]);
    let html = app
        .fetch(&format!("/image/upload/t_card/{}.jpg", d.id), &[])
        .await;
    assert_eq!(html.status(), 502);
    assert_ne!(
        html.headers().get("cache-control").map(|v| v.as_bytes()),
        Some(&b"public, max-age=31536000, immutable"[..])
    );
    app.stop().await;
}
