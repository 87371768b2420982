//! Renders nobody waits for. `f_auto` for a browser that takes AVIF answers
//! WebP at once while the AVIF renders in the background, then the AVIF
//! with the immutable headers; `MEDIA_EAGER` presets are rendered after each
//! upload in every format a request may get, so the first pull is a hit.

use avenue_shared::MediaDescriptor;
use avenue_tests::{fixtures, signed_path, spawn_media, spawn_media_with, MediaApp};
use mongodb::bson::doc;

const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

async fn stored(app: &MediaApp, bytes: Vec<u8>) -> MediaDescriptor {
    let response = app.upload(bytes, &[]).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

#[tokio::test]
async fn f_auto_answers_webp_at_once_and_avif_once_rendered() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg(400, 300, 7)).await;
    let path = signed_path("c_fill,w_200,h_150/f_auto", &format!("{}.jpg", d.id));

    let first = app.fetch(&path, &[("accept", CHROME)]).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "image/webp");
    assert_eq!(first.headers()["vary"], "Accept");
    assert_eq!(
        first.headers()["cache-control"],
        "public, max-age=60",
        "a stand-in is cached briefly"
    );
    let webp = first.bytes().await.expect("body");
    assert_eq!(
        imagesize::blob_size(&webp)
            .map(|s| (s.width, s.height))
            .ok(),
        Some((200, 150))
    );

    // The AVIF arrives in the background, and is kept.
    assert_eq!(
        app.await_matching("media_variants", doc! { "format": "avif" }, 1)
            .await,
        1,
        "the AVIF was rendered in the background"
    );
    let later = app.fetch(&path, &[("accept", CHROME)]).await;
    assert_eq!(later.headers()["content-type"], "image/avif");
    assert_eq!(later.headers()["cache-control"], IMMUTABLE);
    assert_eq!(later.headers()["vary"], "Accept");
    let avif = later.bytes().await.expect("body");
    assert_eq!(&avif[4..12], b"ftypavif");
    assert_eq!(
        imagesize::blob_size(&avif)
            .map(|s| (s.width, s.height))
            .ok(),
        Some((200, 150))
    );
    // A browser without AVIF was never kept waiting: WebP, immutable.
    let webp_only = app.fetch(&path, &[("accept", "image/webp,*/*")]).await;
    assert_eq!(webp_only.headers()["content-type"], "image/webp");
    assert_eq!(webp_only.headers()["cache-control"], IMMUTABLE);
    app.stop().await;
}

#[tokio::test]
async fn eager_presets_are_rendered_after_upload_so_the_first_pull_is_a_hit() {
    let app = spawn_media_with(|s| {
        s.delivery.eager = vec!["thumb".into(), "auto_card".into()];
        s.delivery
            .presets
            .extend_from("auto_card=c_fill,w_240,h_180/f_auto")
            .expect("preset");
    })
    .await;
    let d = stored(&app, fixtures::jpeg(500, 400, 9)).await;
    // Each preset in the original's format, WebP and AVIF: what front ends
    // end up asking for with an extension, without one, or with f_auto.
    assert_eq!(
        app.await_matching("media_variants", doc! { "media_id": d.id.as_str() }, 6)
            .await,
        6
    );
    let renders = app.metric("avenue_media_variant_renders_total").await;
    assert_eq!(renders, 6.0);
    for (path, accept, mime) in [
        (
            format!("/image/upload/t_thumb/{}.jpg", d.id),
            "*/*",
            "image/jpeg",
        ),
        // Issue 29: each of these pulled renders before.
        (
            format!("/image/upload/t_thumb/f_auto/{}.jpg", d.id),
            CHROME,
            "image/avif",
        ),
        (
            format!("/image/upload/f_auto,t_thumb/{}", d.id),
            "image/webp,*/*",
            "image/webp",
        ),
        (
            format!("/image/upload/t_thumb/{}.webp", d.id),
            "*/*",
            "image/webp",
        ),
        (
            format!("/image/upload/f_auto,q_auto,t_thumb/{}", d.id),
            "image/*",
            "image/jpeg",
        ),
        (
            format!("/image/upload/t_auto_card/{}.jpg", d.id),
            CHROME,
            "image/avif",
        ),
        (
            format!("/image/upload/t_auto_card/{}.jpg", d.id),
            "image/webp,*/*",
            "image/webp",
        ),
        (
            format!("/image/upload/t_auto_card/{}.jpg", d.id),
            "image/*",
            "image/jpeg",
        ),
    ] {
        let response = app.fetch(&path, &[("accept", accept)]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], mime, "{path} {accept}");
        assert_eq!(response.headers()["cache-control"], IMMUTABLE);
    }
    assert_eq!(
        app.metric("avenue_media_variant_renders_total").await,
        renders,
        "every first pull was a hit"
    );
    // A repeat upload of the same bytes renders nothing again.
    let again = app.upload(fixtures::jpeg(500, 400, 9), &[]).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        app.metric("avenue_media_variant_renders_total").await,
        renders
    );
    app.stop().await;
}
