//! Effects, round corners, borders and opacity (issue 30), from URLs the
//! Node SDK writes, against Pillow doing the same effect with its own
//! filters (`scripts/pixel_reference.py`), and each far enough from the
//! untouched image that an effect doing nothing would fail.

use avenue_tests::reference::{mean_difference, pillow};
use avenue_tests::sdk::node_url;
use avenue_tests::{fixtures, spawn_media, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::{json, Value};

use super::{decoded, stored};

/// Most a channel may differ on average from Pillow: box-blur passes and
/// rounding differ between the two, never by more than this.
const CLOSE: f64 = 2.5;

/// Pixels allowed to differ by more than [`FAR`] in some channel.
const STRAYS: usize = 20;
const FAR: u8 = 96;

fn far_off(ours: &image::DynamicImage, reference: &image::DynamicImage) -> usize {
    let (a, b) = (ours.to_rgba8(), reference.to_rgba8());
    a.pixels()
        .zip(b.pixels())
        .filter(|(x, y)| x.0.iter().zip(y.0).any(|(p, q)| p.abs_diff(q) > FAR))
        .count()
}

/// (options, what they mean in Pillow's terms, least distance from the
/// same crop without the effect; negative where the size changes).
fn cases() -> Vec<(Value, Value, f64)> {
    let red = json!([255, 0, 0, 255]);
    vec![
        (
            json!({"effect": "grayscale"}),
            json!([["effect", "grayscale", 0, null]]),
            10.0,
        ),
        (
            json!({"effect": "blackwhite:40"}),
            json!([["effect", "blackwhite", 40, null]]),
            40.0,
        ),
        (
            json!({"effect": "sepia"}),
            json!([["effect", "sepia", 80, null]]),
            10.0,
        ),
        (
            json!({"effect": "negate"}),
            json!([["effect", "negate", 0, null]]),
            40.0,
        ),
        (
            json!({"effect": "brightness:40"}),
            json!([["effect", "brightness", 40, null]]),
            10.0,
        ),
        (
            json!({"effect": "contrast:-60"}),
            json!([["effect", "contrast", -60, null]]),
            10.0,
        ),
        (
            json!({"effect": "saturation:-80"}),
            json!([["effect", "saturation", -80, null]]),
            10.0,
        ),
        (
            json!({"effect": "gamma:100"}),
            json!([["effect", "gamma", 100, null]]),
            10.0,
        ),
        (
            json!({"effect": "vibrance:100"}),
            json!([["effect", "vibrance", 100, null]]),
            5.0,
        ),
        (
            json!({"effect": "colorize:60", "color": "red"}),
            json!([["effect", "colorize", 60, red]]),
            30.0,
        ),
        (
            json!({"effect": "pixelate:20"}),
            json!([["effect", "pixelate", 20, null]]),
            1.0,
        ),
        (
            json!({"effect": "blur:100"}),
            json!([["effect", "blur", 100, null]]),
            1.0,
        ),
        (
            json!({"effect": "sharpen:800"}),
            json!([["effect", "sharpen", 800, null]]),
            0.2,
        ),
        (
            json!({"effect": "unsharp_mask:800"}),
            json!([["effect", "unsharp_mask", 800, null]]),
            0.2,
        ),
        // Round avatars and cards: transparent corners in PNG.
        (
            json!({"crop": "fill", "width": 200, "height": 200, "radius": "max"}),
            json!([["crop", 50, 0, 200, 200], ["round", "max", null]]),
            10.0,
        ),
        (
            json!({"radius": [10, 20, 30, 40]}),
            json!([["round", [10, 20, 30, 40], null]]),
            0.4,
        ),
        (
            json!({"radius": 30, "background": "red"}),
            json!([["round", [30, 30, 30, 30], red.clone()]]),
            1.0,
        ),
        (
            json!({"border": "5px_solid_black"}),
            json!([["border", 5, [0, 0, 0, 255], null]]),
            -1.0,
        ),
        (
            json!({"border": {"width": 4, "color": "red"}, "radius": 25}),
            json!([
                ["round", [25, 25, 25, 25], null],
                ["border", 4, red, [25, 25, 25, 25]]
            ]),
            -1.0,
        ),
        (json!({"opacity": 50}), json!([["opacity", 50]]), 20.0),
        // Corrections, each undoing what the step before did to the
        // image: Pillow's autocontrast (per channel, or on the grey with
        // preserve_tone) is the reference.
        (
            json!({"transformation": [{"effect": "contrast:-60"}, {"effect": "auto_contrast"}]}),
            json!([
                ["effect", "contrast", -60, null],
                ["effect", "auto_contrast", 100, null]
            ]),
            0.0,
        ),
        (
            json!({"transformation": [{"effect": "colorize:30", "color": "blue"}, {"effect": "auto_color:80"}]}),
            json!([
                ["effect", "colorize", 30, [0, 0, 255, 255]],
                ["effect", "auto_color", 80, null]
            ]),
            0.0,
        ),
        (
            json!({"transformation": [{"effect": "brightness:-50"}, {"effect": "auto_brightness"}]}),
            json!([
                ["effect", "brightness", -50, null],
                ["effect", "auto_brightness", 100, null]
            ]),
            0.0,
        ),
        (
            json!({"transformation": [{"effect": "contrast:-40"}, {"effect": "improve"}]}),
            json!([
                ["effect", "contrast", -40, null],
                ["effect", "improve", 100, "outdoor"]
            ]),
            0.0,
        ),
        (
            json!({"transformation": [{"effect": "contrast:-40"}, {"effect": "improve:indoor:50"}]}),
            json!([
                ["effect", "contrast", -40, null],
                ["effect", "improve", 50, "indoor"]
            ]),
            0.0,
        ),
        (
            json!({"effect": "tint:80:blue:yellow"}),
            json!([["effect", "tint", 80, [[0, 0, 255, 255], [255, 255, 0, 255]]]]),
            20.0,
        ),
        (
            json!({"effect": "tint"}),
            json!([["effect", "tint", 60, [red]]]),
            20.0,
        ),
        (
            json!({"effect": "vignette:60"}),
            json!([["effect", "vignette", 60, null]]),
            5.0,
        ),
        // A shadow grows the canvas by its offset, and follows the
        // corners cut in the same component.
        (
            json!({"effect": "shadow:50", "x": 12, "y": -6, "color": "black"}),
            json!([["shadow", 50, 12, -6, [0, 0, 0, 255]]]),
            -1.0,
        ),
        (
            json!({"crop": "fill", "width": 200, "height": 200, "radius": "max", "effect": "shadow"}),
            json!([
                ["crop", 50, 0, 200, 200],
                ["round", "max", null],
                ["shadow", 40, 8, 8, [128, 128, 128, 255]]
            ]),
            -1.0,
        ),
        // The component's w, h, x, y name the region, not a resize.
        (
            json!({"effect": "blur_region:800", "width": 100, "height": 80, "x": 20, "y": 30}),
            json!([["region", "blur", 800, [20, 30, 100, 80]]]),
            1.0,
        ),
        (
            json!({"effect": "pixelate_region:10", "width": 0.5, "height": 0.5, "x": 75, "y": 55}),
            json!([["region", "pixelate", 10, [75, 55, 150, 100]]]),
            0.5,
        ),
    ]
}

#[tokio::test]
async fn effects_and_shapes_match_an_independent_reference() {
    let app = spawn_media().await;
    let source = fixtures::landmarks(300, 200);
    let id = stored(&app, source.clone()).await.id.to_string();
    for (mut options, ops, least) in cases() {
        // The same crop without the effect or shape.
        let geometry: Vec<Value> = ops
            .as_array()
            .into_iter()
            .flatten()
            .filter(|op| matches!(op[0].as_str(), Some("crop" | "resize")))
            .cloned()
            .collect();
        let untouched = pillow(&source, &Value::Array(geometry));
        options["sign_url"] = json!(true);
        let url = node_url(&id, &options, DEV_SIGNING_SECRET);
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        let reference = pillow(&source, &ops);
        assert_eq!(ours.dimensions(), reference.dimensions(), "{url}");
        let near = mean_difference(&ours, &reference);
        assert!(near < CLOSE, "{url}: {near:.2} from Pillow doing {ops}");
        // An average hides a wrong corner: no pixel may be far off either,
        // beyond the odd one where the two anti-aliasings round apart.
        let off = far_off(&ours, &reference);
        assert!(
            off <= STRAYS,
            "{url}: {off} pixels far from Pillow doing {ops}"
        );
        // A border changes the size, which is change enough.
        if ours.dimensions() == untouched.dimensions() {
            let moved = mean_difference(&ours, &untouched);
            assert!(
                moved > least,
                "{url}: only {moved:.2} from the untouched image"
            );
        } else {
            assert!(least < 0.0, "{url} changed size");
        }
    }
    app.stop().await;
}

/// The placeholder every guide and the WordPress plugin emit: blurred on
/// the 50 pixels it is scaled to, so it is one flat-ish colour field.
#[tokio::test]
async fn a_blurred_placeholder_is_tiny_and_smooth() {
    let app = spawn_media().await;
    let source = fixtures::landmarks(1200, 800);
    let id = stored(&app, source.clone()).await.id.to_string();
    let options = json!({"crop": "scale", "width": 50, "effect": "blur:2000", "quality": 1, "fetch_format": "jpg", "sign_url": true});
    let url = node_url(&id, &options, DEV_SIGNING_SECRET);
    assert!(url.contains("e_blur:2000"), "{url}");
    let ours = decoded(app.fetch(&url, &[]).await, &url).await;
    assert_eq!(ours.dimensions(), (50, 33));
    let sharp = pillow(&source, &json!([["resize", 50, 33]]));
    assert!(
        mean_difference(&ours, &sharp) > 10.0,
        "{url}: the quadrants of the original are still there"
    );
    app.stop().await;
}

/// A product shot on a white sweep: `e_trim` cuts the margin, and the
/// resize after it is sized on what is left, as Pillow's bounding box of
/// the difference from white says.
#[tokio::test]
async fn trim_cuts_the_margin_and_what_follows_is_sized_on_the_rest() {
    let app = spawn_media().await;
    let product = image::load_from_memory(&fixtures::landmarks(200, 100)).expect("png");
    let mut sweep = image::RgbaImage::from_pixel(300, 200, image::Rgba([255, 255, 255, 255]));
    image::imageops::overlay(&mut sweep, &product.to_rgba8(), 60, 50);
    let mut source = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(sweep)
        .write_to(&mut source, image::ImageFormat::Png)
        .expect("png");
    let source = source.into_inner();
    let id = stored(&app, source.clone()).await.id.to_string();
    for (options, ops, size) in [
        (
            json!({"transformation": [{"effect": "trim"}, {"crop": "scale", "width": 100}]}),
            json!([["trim", 10, null], ["resize", 100, 50]]),
            (100, 50),
        ),
        (
            json!({"effect": "trim:30:white"}),
            json!([["trim", 30, [255, 255, 255, 255]]]),
            (200, 100),
        ),
    ] {
        let mut options = options;
        options["sign_url"] = json!(true);
        options["format"] = json!("png");
        let url = node_url(&id, &options, DEV_SIGNING_SECRET);
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        assert_eq!(ours.dimensions(), size, "{url}");
        let reference = pillow(&source, &ops);
        assert_eq!(reference.dimensions(), size, "Pillow: {ops}");
        let near = mean_difference(&ours, &reference);
        assert!(near < CLOSE, "{url}: {near:.2} from Pillow doing {ops}");
    }
    for (written, reason) in [
        ("e_trim,w_100", "component of its own"),
        ("$w_100/e_trim/c_scale,w_$w", "variables"),
        ("l_abc/e_trim/fl_layer_apply", "inside a layer"),
        ("e_trim:101", "0 to 100"),
    ] {
        let url = avenue_tests::signed_path(written, &format!("{id}.png"));
        let answer = app.fetch(&url, &[]).await;
        assert_eq!(answer.status(), 400, "{written}");
        let body: avenue_shared::ErrorBody = answer.json().await.expect("JSON error");
        assert!(body.message.contains(reason), "{written}: {}", body.message);
    }
    app.stop().await;
}
