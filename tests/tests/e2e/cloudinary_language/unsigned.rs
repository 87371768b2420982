//! `MEDIA_UNSIGNED`: the URLs next-cloudinary's `CldImage` builds in the
//! browser, unsigned, served when their shape is allowed, refused with
//! the reason otherwise, and new renders limited per client address.

use avenue_media::config::{UnsignedMode, UnsignedPolicy};
use avenue_shared::ErrorBody;
use avenue_tests::sdk::loader_url;
use avenue_tests::{fixtures, spawn_media_with, MediaApp};
use image::GenericImageView;
use serde_json::json;

use super::{decoded, stored};

async fn spawn(mode: UnsignedMode, renders_per_minute: u32) -> MediaApp {
    spawn_media_with(|s| {
        s.delivery.unsigned = UnsignedPolicy {
            mode,
            sizes: vec![400, 800],
            renders_per_minute,
            ..UnsignedPolicy::default()
        };
        s.trusted_proxies = "127.0.0.1".parse().expect("trusted");
    })
    .await
}

async fn refusal(answer: reqwest::Response, status: u16) -> String {
    assert_eq!(answer.status(), status);
    answer
        .json::<ErrorBody>()
        .await
        .expect("error body")
        .message
}

#[tokio::test]
async fn cldimage_urls_are_served_unsigned_when_their_shape_is_allowed() {
    let app = spawn(UnsignedMode::Refuse, 100).await;
    let d = stored(&app, fixtures::landmarks(1000, 500)).await;
    let src = d.id.to_string();
    let webp = [("accept", "image/webp")];

    let limit = loader_url(&json!({"src": src, "width": 800, "height": 600}));
    assert!(
        limit.contains("/c_limit,w_800/f_auto/q_auto/v1/"),
        "{limit}"
    );
    let answer = app.fetch(&limit, &webp).await;
    assert_eq!(answer.headers()["content-type"], "image/webp");
    assert_eq!(decoded(answer, &limit).await.dimensions(), (800, 400));
    let fill = loader_url(
        &json!({"src": src, "width": 400, "height": 400, "crop": "fill", "gravity": "auto"}),
    );
    assert_eq!(
        decoded(app.fetch(&fill, &webp).await, &fill)
            .await
            .dimensions(),
        (400, 400)
    );

    // A size off the list, a parameter off the set: refused with why.
    let odd = loader_url(&json!({"src": src, "width": 700}));
    let why = refusal(app.fetch(&odd, &[]).await, 403).await;
    assert!(why.contains("700 is not one of 400, 800"), "{why}");
    let turned = format!("/image/upload/a_90,w_400/{src}");
    let why = refusal(app.fetch(&turned, &[]).await, 403).await;
    assert!(
        why.contains("MEDIA_UNSIGNED_PARAMETERS") && why.contains("sign a_"),
        "{why}"
    );
    let fraction = format!("/image/upload/w_0.5/{src}");
    assert_eq!(app.fetch(&fraction, &[]).await.status(), 403);
    // `w` is allowed, but not as arithmetic a browser chose.
    let program = format!("/image/upload/w_iw_div_2/{src}");
    let why = refusal(app.fetch(&program, &[]).await, 403).await;
    assert!(why.contains("need a signed URL"), "{why}");
    app.stop().await;

    // Off (the default): the same URL needs a signature, as before.
    let strict = spawn(UnsignedMode::Off, 100).await;
    let d = stored(&strict, fixtures::landmarks(1000, 500)).await;
    let limit = loader_url(&json!({"src": d.id.to_string(), "width": 800, "height": 600}));
    assert_eq!(strict.fetch(&limit, &[]).await.status(), 403);
    strict.stop().await;
}

#[tokio::test]
async fn snapping_rounds_sizes_up_to_the_list() {
    let app = spawn(UnsignedMode::Snap, 100).await;
    let d = stored(&app, fixtures::landmarks(1000, 500)).await;
    let odd = loader_url(&json!({"src": d.id.to_string(), "width": 700}));
    let answer = app.fetch(&odd, &[("accept", "image/webp")]).await;
    assert_eq!(decoded(answer, &odd).await.dimensions(), (800, 400));
    let too_wide = loader_url(&json!({"src": d.id.to_string(), "width": 900}));
    assert_eq!(app.fetch(&too_wide, &[]).await.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn new_unsigned_renders_are_limited_per_address_and_hits_are_free() {
    let app = spawn(UnsignedMode::Refuse, 2).await;
    let d = stored(&app, fixtures::landmarks(1000, 500)).await;
    let src = d.id.to_string();
    let url = |width: u32, crop: &str| {
        loader_url(&json!({"src": src, "width": width, "height": 400, "crop": crop}))
    };
    let from = |address: &'static str| [("accept", "image/webp"), ("x-forwarded-for", address)];
    let (first, second, third) = (url(400, "fill"), url(800, "limit"), url(400, "pad"));
    assert_eq!(app.fetch(&first, &from("192.0.2.1")).await.status(), 200);
    assert_eq!(app.fetch(&second, &from("192.0.2.1")).await.status(), 200);
    let over = app.fetch(&third, &from("192.0.2.1")).await;
    let retry: u64 = over.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    let why = refusal(over, 429).await;
    assert!(why.contains("MEDIA_UNSIGNED_RENDERS_PER_MINUTE"), "{why}");
    // What exists already costs nothing; another address has its own share.
    assert_eq!(app.fetch(&first, &from("192.0.2.1")).await.status(), 200);
    assert_eq!(app.fetch(&third, &from("192.0.2.2")).await.status(), 200);
    app.stop().await;
}
