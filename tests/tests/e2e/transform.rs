//! Transformation URLs: sizes per crop mode, signatures and strict mode,
//! format negotiation, orientation, alpha, caching and single flight.

use avenue_shared::{ErrorBody, MediaDescriptor};
use avenue_tests::{
    fixtures, signed_path, spawn_media, spawn_media_on, spawn_media_with, unique_db, MediaApp,
};
use image::GenericImageView;
use mongodb::bson::doc;

async fn stored(app: &MediaApp, bytes: Vec<u8>) -> MediaDescriptor {
    let response = app.upload(bytes, &[]).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

fn file(d: &MediaDescriptor, ext: &str) -> String {
    format!("{}.{ext}", d.id)
}

async fn decoded(response: reqwest::Response) -> image::DynamicImage {
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("body");
    image::load_from_memory(&bytes).expect("a decodable image")
}

#[tokio::test]
async fn output_sizes_match_cloudinary_for_each_crop_mode() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg(300, 200, 1)).await;
    let table: &[(&str, (u32, u32))] = &[
        ("c_scale,w_40", (40, 27)),
        ("c_scale,h_50", (75, 50)),
        ("c_scale,w_40,h_40", (40, 40)),
        ("c_fit,w_40,h_40", (40, 27)),
        ("c_limit,w_400,h_400", (300, 200)),
        ("c_limit,w_60,h_60", (60, 40)),
        ("c_fill,w_40,h_40", (40, 40)),
        ("c_fill,w_40,h_40,g_auto", (40, 40)),
        ("c_fill,w_90,h_20,g_south_east", (90, 20)),
        ("c_thumb,w_30,h_30", (30, 30)),
        ("c_pad,w_40,h_40,b_black", (40, 40)),
        ("c_scale,w_20,dpr_2", (40, 27)),
        ("c_fill,ar_1:1,w_50", (50, 50)),
        ("c_fill,ar_16:9", (300, 169)),
        ("c_fill,w_100,h_100/c_scale,w_0.5", (50, 50)),
    ];
    for (t, expected) in table {
        let image = decoded(app.fetch(&signed_path(t, &file(&d, "jpg")), &[]).await).await;
        assert_eq!(image.dimensions(), *expected, "{t}");
    }
    app.stop().await;
}

#[tokio::test]
async fn strict_mode_needs_a_valid_signature_except_for_presets() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg(300, 200, 2)).await;
    let f = file(&d, "jpg");
    let ok = app.fetch(&signed_path("c_fill,w_40,h_40", &f), &[]).await;
    assert_eq!(ok.status(), 200);

    let cases = [
        (
            format!("/image/upload/c_fill,w_40,h_40/{f}"),
            "signature-required",
        ),
        (
            format!("/image/upload/s--AAAAAAAA--/c_fill,w_40,h_40/{f}"),
            "bad-signature",
        ),
        // A signature for another transformation does not carry over.
        (
            signed_path("c_fill,w_40,h_40", &f).replace("w_40,h_40", "w_41,h_40"),
            "bad-signature",
        ),
        (format!("/image/upload/{}.png", d.id), "signature-required"),
    ];
    for (path, code) in cases {
        let response = app.fetch(&path, &[]).await;
        assert_eq!(response.status(), 403, "{path}");
        let body: ErrorBody = response.json().await.expect("envelope");
        assert_eq!(body.code, code, "{path}");
    }
    let preset = decoded(app.fetch(&format!("/image/upload/t_card/{f}"), &[]).await).await;
    assert_eq!(preset.dimensions(), (400, 300));
    let thumb = decoded(
        app.fetch(&format!("/image/upload/t_thumb/{}.webp", d.id), &[])
            .await,
    )
    .await;
    assert_eq!(thumb.dimensions(), (150, 150));
    app.stop().await;

    let relaxed = spawn_media_with(|s| s.delivery.strict = false).await;
    let d = stored(&relaxed, fixtures::jpeg(300, 200, 2)).await;
    let open = relaxed
        .fetch(
            &format!("/image/upload/c_fill,w_40,h_40/{}", file(&d, "jpg")),
            &[],
        )
        .await;
    assert_eq!(open.status(), 200);
    relaxed.stop().await;
}

#[tokio::test]
async fn nonsense_parameters_are_400_naming_the_parameter() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg(30, 20, 3)).await;
    let f = file(&d, "jpg");
    let long = "w_1,".repeat(500);
    let cases: Vec<(String, &str)> = vec![
        ("w_0".into(), "w"),
        ("w_-1".into(), "w"),
        ("w_abc".into(), "w"),
        ("h_99999".into(), "h"),
        ("e_sepia:101".into(), "e"),
        ("c_fill,w_3000,dpr_2".into(), "dpr"),
        ("t_unknown".into(), "t"),
        (long.trim_end_matches(',').to_owned(), "transformation"),
    ];
    for (t, parameter) in cases {
        for path in [format!("/image/upload/{t}/{f}"), signed_path(&t, &f)] {
            let response = app.fetch(&path, &[]).await;
            assert_eq!(response.status(), 400, "{t}");
            let body: ErrorBody = response.json().await.expect("envelope");
            assert_eq!(body.code, "invalid-transformation");
            assert!(body.message.starts_with(parameter), "{t}: {}", body.message);
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn f_auto_negotiates_from_accept_and_varies() {
    // AVIF rendered while the client waits (deferral: background.rs).
    let app = spawn_media_with(|s| {
        s.delivery.auto_avif = avenue_media::config::AutoAvif::Inline;
    })
    .await;
    let jpeg = stored(&app, fixtures::jpeg(60, 40, 4)).await;
    let png = stored(&app, fixtures::png(60, 40, 4)).await;
    let path = signed_path("f_auto,w_30", &file(&jpeg, "jpg"));
    let avif = app
        .fetch(&path, &[("accept", "image/avif,image/webp,*/*")])
        .await;
    assert_eq!(avif.headers()["content-type"], "image/avif");
    assert_eq!(avif.headers()["vary"], "Accept");
    let avif_bytes = avif.bytes().await.expect("body");
    assert_eq!(&avif_bytes[4..12], b"ftypavif");
    let size = imagesize::blob_size(&avif_bytes).expect("AVIF header");
    assert_eq!((size.width, size.height), (30, 20));
    let webp = app.fetch(&path, &[("accept", "image/webp,*/*")]).await;
    assert_eq!(webp.headers()["content-type"], "image/webp");
    assert_eq!(webp.headers()["vary"], "Accept");
    let plain = app.fetch(&path, &[("accept", "image/*")]).await;
    assert_eq!(plain.headers()["content-type"], "image/jpeg");
    assert_eq!(plain.headers()["vary"], "Accept");
    assert_ne!(webp.headers()["etag"], plain.headers()["etag"]);
    let png_family = app
        .fetch(&signed_path("f_auto,w_30", &file(&png, "png")), &[])
        .await;
    assert_eq!(png_family.headers()["content-type"], "image/png");
    // An explicit format does not vary.
    let fixed = app
        .fetch(&signed_path("f_webp,w_30", &file(&jpeg, "jpg")), &[])
        .await;
    assert_eq!(fixed.headers()["content-type"], "image/webp");
    assert!(fixed.headers().get("vary").is_none());
    let by_extension = app
        .fetch(&signed_path("c_fill,w_16,h_16", &file(&png, "avif")), &[])
        .await;
    assert_eq!(by_extension.headers()["content-type"], "image/avif");
    app.stop().await;
}

#[tokio::test]
async fn exif_orientation_is_applied_and_metadata_stripped() {
    let app = spawn_media().await;
    // Orientation 6: displayed rotated 90 degrees clockwise, so the red left
    // half of the stored pixels ends up on top.
    let d = stored(&app, fixtures::jpeg_with_orientation(80, 40, 6)).await;
    let response = app
        .fetch(&signed_path("c_scale,w_20", &file(&d, "jpg")), &[])
        .await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("body");
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "metadata stripped");
    let image = image::load_from_memory(&bytes).expect("jpeg");
    assert_eq!(image.dimensions(), (20, 40));
    let top = image.get_pixel(10, 3);
    let bottom = image.get_pixel(10, 36);
    assert!(top[0] > 180 && top[2] < 80, "top is red: {top:?}");
    assert!(
        bottom[2] > 180 && bottom[0] < 80,
        "bottom is blue: {bottom:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn alpha_survives_png_and_webp_and_jpeg_flattens_it() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::half_transparent_png(40, 20)).await;
    for ext in ["png", "webp"] {
        let image = decoded(
            app.fetch(&signed_path("c_scale,w_20", &file(&d, ext)), &[])
                .await,
        )
        .await;
        assert_eq!(image.dimensions(), (20, 10), "{ext}");
        assert!(image.color().has_alpha(), "{ext}");
        assert_eq!(image.get_pixel(1, 5)[3], 0, "{ext}: left is transparent");
        assert!(image.get_pixel(18, 5)[3] > 250, "{ext}: right is opaque");
    }
    let jpeg = decoded(
        app.fetch(&signed_path("c_scale,w_20", &file(&d, "jpg")), &[])
            .await,
    )
    .await;
    let left = jpeg.get_pixel(1, 5);
    assert!(
        left[0] > 240 && left[1] > 240 && left[2] > 240,
        "flattened onto white: {left:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn concurrent_requests_for_one_variant_render_it_once() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg(600, 400, 5)).await;
    let path = signed_path("c_fill,w_200,h_200,q_70", &file(&d, "jpg"));
    let requests = (0..12).map(|_| app.fetch(&path, &[]));
    let responses = futures::future::join_all(requests).await;
    let mut bodies = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        bodies.push(response.bytes().await.expect("body"));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(app.metric("avenue_media_variant_renders_total").await, 1.0);
    // Stored in the background, once.
    assert_eq!(app.await_count("media_variants", 1).await, 1);
    assert_eq!(app.count("media_staging", doc! {}).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn variants_have_strong_etags_and_answer_304_without_rendering() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg(100, 100, 6)).await;
    let path = signed_path("c_fill,w_50,h_50", &file(&d, "jpg"));
    let first = app.fetch(&path, &[]).await;
    assert_eq!(
        first.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = first.headers()["etag"].to_str().expect("ascii").to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"));
    let again = app.fetch(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    // A different variant of the same media has a different ETag, and its
    // revalidation does not render it.
    let other = signed_path("c_fill,w_60,h_60", &file(&d, "jpg"));
    let head = app.http.head(app.url(&other)).send().await.expect("answer");
    let other_etag = head.headers()["etag"].to_str().expect("ascii").to_owned();
    assert_ne!(other_etag, etag);
    let renders = app.metric("avenue_media_variant_renders_total").await;
    let revalidated = app.fetch(&other, &[("if-none-match", &other_etag)]).await;
    assert_eq!(revalidated.status(), 304);
    assert_eq!(
        app.metric("avenue_media_variant_renders_total").await,
        renders
    );
    app.stop().await;
}

#[tokio::test]
async fn variants_persist_across_instances_and_go_with_their_media() {
    let db = unique_db();
    let first = spawn_media_on(&db, |_| {}).await;
    let d = stored(&first, fixtures::noise_png(500, 500, 7)).await;
    // A small variant (stored inline) and a large one (stored in GridFS).
    let small = signed_path("c_fill,w_100,h_100", &file(&d, "jpg"));
    let large = signed_path("c_scale,w_400", &file(&d, "png"));
    let small_bytes = first.fetch(&small, &[]).await.bytes().await.expect("body");
    let large_bytes = first.fetch(&large, &[]).await.bytes().await.expect("body");
    assert!(large_bytes.len() > 300 * 1024, "{}", large_bytes.len());
    assert_eq!(
        first.metric("avenue_media_variant_renders_total").await,
        2.0
    );
    assert_eq!(first.await_count("media_variants", 2).await, 2);
    assert_eq!(first.await_count("media_staging", 0).await, 0);
    // The original and the large variant are GridFS files.
    assert_eq!(first.count("media.files", doc! {}).await, 2);
    first.stop_keeping_data().await;

    let second = spawn_media_on(&db, |_| {}).await;
    assert_eq!(
        second.fetch(&small, &[]).await.bytes().await.expect("body"),
        small_bytes
    );
    assert_eq!(
        second.fetch(&large, &[]).await.bytes().await.expect("body"),
        large_bytes
    );
    assert_eq!(
        second.metric("avenue_media_variant_renders_total").await,
        0.0
    );
    assert_eq!(
        second.metric("avenue_media_variant_store_hits_total").await,
        2.0
    );

    let deleted = second
        .admin(reqwest::Method::DELETE, &format!("/v1/media/{}", d.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(deleted.status(), 204);
    assert_eq!(second.count("media_variants", doc! {}).await, 0);
    assert_eq!(second.storage_counts().await, (0, 0, 0, 0));
    second.stop().await;
}

#[tokio::test]
async fn broken_originals_get_clear_errors_not_500() {
    let app = spawn_media_with(|s| s.limits.max_pixels = 2_000_000_000).await;
    // A real 30000 x 30000 PNG of about 100 KB that would take 900 MB
    // decoded: the decoder's allocation limit refuses it before allocating.
    let bomb_bytes = fixtures::png_bomb(30_000);
    assert!(bomb_bytes.len() < 1024 * 1024, "{}", bomb_bytes.len());
    let bomb = stored(&app, bomb_bytes).await;
    let response = app
        .fetch(&signed_path("c_scale,w_100", &file(&bomb, "png")), &[])
        .await;
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("envelope");
    assert_eq!(body.code, "too-many-pixels", "{}", body.message);

    // Only a header, or a truncated file: refused at upload now, so no
    // stored original fails every render.
    let whole = fixtures::jpeg(200, 200, 8);
    let truncated = whole[..whole.len() * 6 / 10].to_vec();
    for broken in [fixtures::png_header(300, 300), truncated] {
        let response = app.upload(broken, &[]).await;
        assert_eq!(response.status(), 422);
        let body: ErrorBody = response.json().await.expect("envelope");
        assert_eq!(body.code, "unreadable-image");
    }
    app.stop().await;
}

/// URLs as Cloudinary's Node SDK writes them: no extension by default (the
/// original's format), `?_a=` analytics after the path, the version after
/// the components. Issue 29: every one of these was `400 expected
/// /image/upload/{id}.{ext}`.
#[tokio::test]
async fn urls_as_the_node_sdk_writes_them_are_served() {
    use avenue_tests::sdk::node_url;
    use avenue_tests::DEV_SIGNING_SECRET;
    use serde_json::json;

    let app = spawn_media().await;
    let png = fixtures::png(120, 80, 7);
    let d = stored(&app, png.clone()).await;
    let url =
        |options: serde_json::Value| node_url(&d.id.to_string(), &options, DEV_SIGNING_SECRET);

    // The original, as uploaded.
    let plain = url(json!({}));
    assert!(plain.contains("?_a="), "{plain}");
    let original = app.fetch(&plain, &[]).await;
    assert_eq!(original.status(), 200, "{plain}");
    assert_eq!(original.headers()["content-type"], "image/png");
    assert_eq!(
        original.bytes().await.expect("body").as_ref(),
        png.as_slice()
    );

    // Signed transformations keep the original's format without `f_`,
    // and take the one named with it (`format` writes an extension).
    for (options, size, mime) in [
        (
            json!({ "width": 40, "crop": "scale", "sign_url": true }),
            Some((40, 27)),
            "image/png",
        ),
        (
            json!({ "width": 30, "height": 30, "crop": "fill", "sign_url": true, "version": 1712345678 }),
            Some((30, 30)),
            "image/png",
        ),
        (
            json!({ "width": 40, "crop": "scale", "format": "webp", "sign_url": true }),
            Some((40, 27)),
            "image/webp",
        ),
        // One named preset is served unsigned, in the original's format.
        (json!({ "transformation": "thumb" }), None, "image/png"),
    ] {
        let written = url(options.clone());
        let answer = app.fetch(&written, &[]).await;
        assert_eq!(answer.status(), 200, "{written}");
        assert_eq!(answer.headers()["content-type"], mime, "{written}");
        let image = decoded(answer).await;
        if let Some(size) = size {
            assert_eq!(image.dimensions(), size, "{written}");
        }
    }

    // The query string is not part of the signature or the cache key.
    let signed = url(json!({ "width": 40, "crop": "scale", "sign_url": true }));
    let path = signed.split('?').next().expect("a path").to_owned();
    let etag = |response: &reqwest::Response| response.headers()["etag"].clone();
    let with_query = app.fetch(&signed, &[]).await;
    let without = app.fetch(&path, &[]).await;
    assert_eq!(etag(&with_query), etag(&without));
    let other_query = app.fetch(&format!("{path}?_a=something-else"), &[]).await;
    assert_eq!(etag(&other_query), etag(&without));

    // Strict mode still holds: unsigned, a transformation is refused.
    let unsigned = url(json!({ "width": 40, "crop": "scale" }));
    assert_eq!(app.fetch(&unsigned, &[]).await.status(), 403, "{unsigned}");
    app.stop().await;
}
