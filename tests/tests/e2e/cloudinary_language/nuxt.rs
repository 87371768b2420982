//! Nuxt Image's Cloudinary provider: the `src` and `srcset` a
//! `<NuxtImg provider="cloudinary">` renders, written by Nuxt Image's own
//! runtime, served unsigned in `MEDIA_UNSIGNED` mode and refused in
//! strict mode.

use avenue_media::config::{UnsignedMode, UnsignedPolicy};
use avenue_tests::reference::{mean_difference, pillow};
use avenue_tests::sdk::nuxt_img;
use avenue_tests::{fixtures, spawn_media, spawn_media_with};
use image::GenericImageView;
use serde_json::json;

use super::{decoded, stored};

/// Two Lanczos implementations round differently, never by more.
const CLOSE: f64 = 3.0;

#[tokio::test]
async fn nuxt_img_srcsets_are_served_unsigned_in_the_front_end_mode() {
    let app = spawn_media_with(|s| {
        let mut parameters = UnsignedPolicy::default().parameters;
        parameters.insert("b".into());
        s.delivery.unsigned = UnsignedPolicy {
            mode: UnsignedMode::Refuse,
            parameters,
            // What Nuxt's default screens give for `sm:100vw md:50vw` at
            // 1x and 2x, and the 300x200 box at both densities.
            sizes: vec![200, 300, 384, 400, 600, 640, 768, 1280],
            ..UnsignedPolicy::default()
        };
    })
    .await;
    let source = fixtures::landmarks(1600, 900);
    let id = stored(&app, source.clone()).await.id.to_string();

    // A responsive card: a 4:3 crop, one width per screen and density.
    let card = nuxt_img(&json!({
        "src": format!("/{id}"), "width": 800, "fit": "fill",
        "modifiers": {"aspectRatio": "4:3"}, "sizes": "sm:100vw md:50vw"
    }));
    let widths: Vec<&str> = card.srcset.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(widths, ["384w", "640w", "768w", "1280w"], "{card:?}");
    for (path, descriptor) in &card.srcset {
        let width: u32 = descriptor.trim_end_matches('w').parse().expect("a width");
        let answer = app.fetch(path, &[("accept", "image/webp")]).await;
        assert_eq!(answer.headers()["content-type"], "image/webp", "{path}");
        let image = decoded(answer, path).await;
        assert_eq!(image.dimensions(), (width, width * 3 / 4), "{path}");
    }
    let (path, _) = &card.srcset[1];
    let ours = decoded(app.fetch(path, &[]).await, path).await;
    let reference = pillow(
        &source,
        &json!([["crop", 200, 0, 1200, 900], ["resize", 640, 480]]),
    );
    let near = mean_difference(&ours, &reference);
    assert!(near < CLOSE, "{path}: {near:.2} from Pillow");

    // A padded thumbnail on a hex colour, which Nuxt writes `b_rgb_ff0000`.
    let thumb = nuxt_img(&json!({
        "src": format!("/{id}"), "width": 300, "height": 200, "fit": "inside",
        "background": "#ff0000", "format": "png"
    }));
    assert!(thumb.src.contains("b_rgb_ff0000"), "{thumb:?}");
    for ((path, descriptor), scale) in thumb.srcset.iter().zip([1, 2]) {
        assert_eq!(descriptor, &format!("{scale}x"));
        let image = decoded(app.fetch(path, &[]).await, path).await;
        assert_eq!(image.dimensions(), (300 * scale, 200 * scale), "{path}");
        assert_eq!(
            image.get_pixel(150 * scale, 2).0,
            [255, 0, 0, 255],
            "{path}"
        );
    }
    app.stop().await;

    // Strict mode (the default) still wants a signature.
    let strict = spawn_media().await;
    let id = stored(&strict, fixtures::landmarks(1600, 900))
        .await
        .id
        .to_string();
    let card = nuxt_img(&json!({"src": format!("/{id}"), "width": 640, "fit": "fill"}));
    assert_eq!(strict.fetch(&card.src, &[]).await.status(), 403, "{card:?}");
    strict.stop().await;
}
