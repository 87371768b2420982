//! `w_auto` and `dpr_auto` from client hints, as the SDKs write them:
//! rounded, announced in `Vary` and `Accept-CH`, with Cloudinary's
//! fallbacks when the browser sends none.

use avenue_tests::sdk::node_url;
use avenue_tests::{fixtures, spawn_media, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::json;

use super::{decoded, stored};

#[tokio::test]
async fn widths_and_ratios_come_from_client_hints_rounded() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::landmarks(1000, 500)).await;
    let id = d.id.to_string();
    let url = |options: serde_json::Value| node_url(&id, &options, DEV_SIGNING_SECRET);

    let auto = url(json!({"width": "auto", "crop": "scale", "sign_url": true}));
    let at = |width: &'static str| [("sec-ch-width", width)];
    let first = app.fetch(&auto, &at("333")).await;
    let vary = first.headers()["vary"].to_str().expect("ascii").to_owned();
    assert!(
        vary.contains("Sec-CH-Width") && vary.contains("Width"),
        "{vary}"
    );
    assert!(first.headers().contains_key("accept-ch"));
    let etag = first.headers()["etag"].clone();
    assert_eq!(decoded(first, &auto).await.dimensions(), (400, 200));
    // Another width in the same step is the same variant.
    let near = app.fetch(&auto, &at("351")).await;
    assert_eq!(near.headers()["etag"], etag);
    let legacy = app.fetch(&auto, &[("width", "601")]).await;
    assert_eq!(decoded(legacy, &auto).await.dimensions(), (700, 350));
    // No hint: the width as uploaded, or the fallback the URL names.
    let none = app.fetch(&auto, &[]).await;
    assert_eq!(decoded(none, &auto).await.dimensions(), (1000, 500));
    let fallback = url(json!({"width": "auto:100:250", "crop": "scale", "sign_url": true}));
    let answer = app.fetch(&fallback, &[]).await;
    assert_eq!(decoded(answer, &fallback).await.dimensions(), (250, 125));

    // dpr_auto: the ratio rounded up to a half.
    let ratio = url(json!({"width": 100, "dpr": "auto", "crop": "scale", "sign_url": true}));
    let answer = app.fetch(&ratio, &[("sec-ch-dpr", "2.2")]).await;
    assert!(answer.headers()["vary"]
        .to_str()
        .expect("ascii")
        .contains("Sec-CH-DPR"));
    assert_eq!(decoded(answer, &ratio).await.dimensions(), (250, 125));

    // Beside a preset, unsigned, as a responsive front end writes it.
    let preset = url(json!({"transformation": "card", "width": "auto", "dpr": "auto"}));
    assert!(!preset.contains("s--"), "{preset}");
    let answer = app
        .fetch(&preset, &[("sec-ch-width", "480"), ("sec-ch-dpr", "3")])
        .await;
    assert_eq!(decoded(answer, &preset).await.dimensions(), (500, 375));
    app.stop().await;
}
