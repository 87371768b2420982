//! Image layers (issue 30): watermarks and underlays from URLs the Node
//! SDK writes, in both of its forms, against Pillow laying the same logo
//! where Cloudinary's placement table says (`scripts/pixel_reference.py`,
//! op `layer`), each far enough from the bare image that a layer drawn
//! nowhere would fail.

use avenue_shared::ErrorBody;
use avenue_tests::reference::{mean_difference, pillow};
use avenue_tests::scratch::ScratchDir;
use avenue_tests::sdk::{node_url, python_url};
use avenue_tests::{fixtures, signed_path, spawn_media, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::{json, Value};

use super::{decoded, redirecting_to_cloudinary, sent_to_cloudinary, stored};

/// Resampling and alpha rounding differ a little between us and Pillow.
const CLOSE: f64 = 1.5;

/// (the options, which base, the layer's own ops and its placement in
/// the reference's terms, least distance from the bare image).
fn cases(logo: &str) -> Vec<(Value, bool, Value, Value, f64)> {
    let half = json!([["resize", 100, 50]]);
    vec![
        // The watermark, as the SDK's layer_apply form writes it.
        (
            json!({"transformation": [{"overlay": logo, "width": 100}, {"flags": "layer_apply", "gravity": "south_east", "x": 10, "y": 10}]}),
            true,
            half.clone(),
            json!({"gravity": "south_east", "x": 10, "y": 10}),
            2.0,
        ),
        // The older one-component form, with the layer's opacity.
        (
            json!({"overlay": logo, "crop": "scale", "gravity": "south_east", "width": 100, "x": 10, "y": 10, "opacity": 70}),
            true,
            json!([["resize", 100, 50], ["opacity", 70]]),
            json!({"gravity": "south_east", "x": 10, "y": 10}),
            1.0,
        ),
        // Sized on the image, repeated over all of it, multiplied.
        (
            json!({"transformation": [{"overlay": logo, "width": 0.2, "flags": "relative"}, {"flags": ["layer_apply", "tiled"], "effect": "multiply"}]}),
            true,
            json!([["resize", 60, 30]]),
            json!({"tiled": true, "blend": "multiply"}),
            10.0,
        ),
        (
            json!({"transformation": [{"overlay": logo}, {"flags": "layer_apply", "gravity": "north", "y": 0.1, "effect": "screen"}]}),
            true,
            json!([]),
            json!({"gravity": "north", "y": 0.1, "blend": "screen"}),
            5.0,
        ),
        (
            json!({"transformation": [{"overlay": logo}, {"flags": "layer_apply", "effect": "overlay"}]}),
            true,
            json!([]),
            json!({"blend": "overlay"}),
            2.0,
        ),
        // Past the top-left corner: the canvas grows to hold it ...
        (
            json!({"transformation": [{"overlay": logo}, {"flags": "layer_apply", "gravity": "north_west", "x": -20, "y": -10}]}),
            true,
            json!([]),
            json!({"gravity": "north_west", "x": -20, "y": -10}),
            -1.0,
        ),
        // ... unless told not to.
        (
            json!({"transformation": [{"overlay": logo}, {"flags": ["layer_apply", "no_overflow"], "gravity": "north_west", "x": -20, "y": -10}]}),
            true,
            json!([]),
            json!({"gravity": "north_west", "x": -20, "y": -10, "no_overflow": true}),
            2.0,
        ),
        // A mask keeps only what the disc covers; a cut-out the rest.
        (
            json!({"transformation": [{"overlay": logo, "crop": "scale", "width": 300, "height": 200}, {"flags": "layer_apply", "effect": "mask"}]}),
            true,
            json!([["resize", 300, 200]]),
            json!({"blend": "mask"}),
            20.0,
        ),
        (
            json!({"transformation": [{"overlay": logo, "width": 150}, {"flags": "layer_apply", "effect": "cut_out", "gravity": "west"}]}),
            true,
            json!([["resize", 150, 75]]),
            json!({"blend": "cut_out", "gravity": "west"}),
            3.0,
        ),
        // An underlay shows through the transparent half of the image
        // (the SDK writes the number 1.0 as w_1, one pixel: "1.0" it
        // keeps).
        (
            json!({"transformation": [{"underlay": logo, "crop": "scale", "width": "1.0", "height": "1.0", "flags": "relative"}, {"flags": "layer_apply"}]}),
            false,
            json!([["resize", 300, 200]]),
            json!({"under": true}),
            5.0,
        ),
    ]
}

#[tokio::test]
async fn watermarks_and_underlays_land_where_cloudinary_puts_them() {
    let app = spawn_media().await;
    let photo = fixtures::landmarks(300, 200);
    let clear = fixtures::half_transparent_png(300, 200);
    let logo_bytes = fixtures::logo(200, 100);
    let photo_id = stored(&app, photo.clone()).await.id.to_string();
    let clear_id = stored(&app, clear.clone()).await.id.to_string();
    let logo = stored(&app, logo_bytes.clone()).await.id.to_string();
    let scratch = ScratchDir::new("logo");
    let logo_file = scratch.write("logo.png", &logo_bytes);
    let path = logo_file.to_str().expect("utf-8 path").to_owned();
    for (mut options, on_photo, ops, placement, least) in cases(&logo) {
        let (id, source) = if on_photo {
            (&photo_id, &photo)
        } else {
            (&clear_id, &clear)
        };
        options["sign_url"] = json!(true);
        options["format"] = json!("png");
        let url = node_url(id, &options, DEV_SIGNING_SECRET);
        assert!(url.contains(&format!("_{logo}")), "{url}");
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        let reference = pillow(source, &json!([["layer", path, ops, placement]]));
        assert_eq!(ours.dimensions(), reference.dimensions(), "{url}");
        let near = mean_difference(&ours, &reference);
        assert!(
            near < CLOSE,
            "{url}: {near:.2} from Pillow laying {placement}"
        );
        let bare = pillow(source, &json!([]));
        if ours.dimensions() == bare.dimensions() {
            let moved = mean_difference(&ours, &bare);
            assert!(moved > least, "{url}: only {moved:.2} from the bare image");
        } else {
            assert!(least < 0.0, "{url} changed size");
        }
    }
    app.stop().await;
}

/// A layer named in its folder is found there and nowhere else; a layer
/// that is missing, not an id, or a URL is a 400 naming `l`.
#[tokio::test]
async fn layers_are_media_ids_and_never_urls() {
    let app = spawn_media().await;
    let photo = stored(&app, fixtures::landmarks(300, 200))
        .await
        .id
        .to_string();
    let branded = app
        .upload(fixtures::logo(200, 100), &[("folder", "brand")])
        .await;
    assert_eq!(branded.status(), 201);
    let logo = branded
        .json::<avenue_shared::MediaDescriptor>()
        .await
        .expect("descriptor")
        .id
        .to_string();
    let in_folder = node_url(
        &photo,
        &json!({"overlay": format!("brand:{logo}"), "width": 50, "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    assert!(
        in_folder.contains(&format!("l_brand:{logo}")),
        "{in_folder}"
    );
    assert_eq!(
        app.fetch(&in_folder, &[]).await.status(),
        200,
        "{in_folder}"
    );
    let missing = "0123456789abcdef0123456789abcdef";
    for (overlay, reason) in [
        (format!("shop:{logo}"), "not in folder shop"),
        (missing.to_owned(), "no media"),
        ("logo".to_owned(), "32 hex digits"),
        (
            "fetch:aHR0cDovLzEyNy4wLjAuMTo5L2xvZ28ucG5n".to_owned(),
            "never fetches",
        ),
    ] {
        let url = node_url(
            &photo,
            &json!({"overlay": overlay, "width": 50, "sign_url": true}),
            DEV_SIGNING_SECRET,
        );
        let answer = app.fetch(&url, &[]).await;
        assert_eq!(answer.status(), 400, "{url}");
        let body: ErrorBody = answer.json().await.expect("JSON error");
        assert!(
            body.message.starts_with("l: ") && body.message.contains(reason),
            "{url}: {}",
            body.message
        );
    }
    app.stop().await;
}

/// Cloudinary draws a layer it holds: the text it is sent names the logo
/// by its Cloudinary public id, folders joined with `:`.
#[tokio::test]
async fn the_cloudinary_backend_is_sent_its_own_name_for_a_layer() {
    let (_fake, app) = redirecting_to_cloudinary().await;
    let photo = stored(&app, fixtures::landmarks(300, 200))
        .await
        .id
        .to_string();
    let logo = stored(&app, fixtures::logo(200, 100)).await.id.to_string();
    let url = node_url(
        &photo,
        &json!({"transformation": [{"overlay": logo, "width": 100}, {"flags": "layer_apply", "gravity": "south_east", "x": 10, "y": 10}], "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    let sent = sent_to_cloudinary(&app, &url).await;
    assert!(
        sent.starts_with("l_avenue:")
            && sent.contains(",w_100/fl_layer_apply,g_south_east,x_10,y_10/avenue/"),
        "{url} was sent as {sent}"
    );
    assert!(
        !sent.contains(&logo),
        "our id means nothing to Cloudinary: {sent}"
    );
    app.stop().await;
}

const SANS: &str = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf";
const SANS_BOLD: &str = "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf";
const SERIF_ITALIC: &str = "/usr/share/fonts/truetype/liberation/LiberationSerif-Italic.ttf";

/// Where the dark pixels of a light image are, and how many: a caption's
/// ink, to compare placement and weight with FreeType's.
fn ink(image: &image::DynamicImage, changed: impl Fn(u32, u32) -> bool) -> (f64, f64, usize) {
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
    let (w, h) = image.dimensions();
    for y in 0..h {
        for x in 0..w {
            if changed(x, y) {
                sx += f64::from(x);
                sy += f64::from(y);
                n += 1;
            }
        }
    }
    let n_f = n.max(1) as f64;
    (sx / n_f, sy / n_f, n)
}

/// Captions from the SDK's text overlays, set in the installed faces:
/// against FreeType (through Pillow) setting the same text with the same
/// file, the ink lands in the same place with the same weight. FreeType
/// hints and ab_glyph does not, so glyph edges differ by a shade.
#[tokio::test]
async fn captions_are_set_in_the_named_font_where_cloudinary_puts_them() {
    let app = spawn_media().await;
    let photo = fixtures::landmarks(300, 200);
    let id = stored(&app, photo.clone()).await.id.to_string();
    let white = json!([255, 255, 255, 255]);
    let black = json!([0, 0, 0, 255]);
    for (options, font, size, text, colour, background, placement) in [
        (
            json!({"transformation": [{"overlay": {"font_family": "Arial", "font_size": 40, "text": "Avenue"}, "color": "white"}, {"flags": "layer_apply", "gravity": "south", "y": 20}]}),
            SANS,
            40,
            "Avenue",
            white.clone(),
            Value::Null,
            json!({"gravity": "south", "y": 20}),
        ),
        (
            json!({"overlay": {"font_family": "Arial", "font_size": 30, "font_weight": "bold", "text": "Sale, 50% / today"}, "color": "black", "background": "white", "gravity": "north_west", "x": 10, "y": 10}),
            SANS_BOLD,
            30,
            "Sale, 50% / today",
            black.clone(),
            white.clone(),
            json!({"gravity": "north_west", "x": 10, "y": 10}),
        ),
        (
            json!({"transformation": [{"overlay": {"font_family": "Times New Roman", "font_size": 36, "font_style": "italic", "text": "été"}}, {"flags": "layer_apply", "gravity": "east", "x": 15}]}),
            SERIF_ITALIC,
            36,
            "été",
            black,
            Value::Null,
            json!({"gravity": "east", "x": 15}),
        ),
    ] {
        let mut options = options;
        options["sign_url"] = json!(true);
        options["format"] = json!("png");
        let url = node_url(&id, &options, DEV_SIGNING_SECRET);
        assert!(url.contains("l_text:"), "{url}");
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        let ops = json!([["text", font, size, text, colour, background, placement]]);
        let reference = pillow(&photo, &ops);
        assert_eq!(ours.dimensions(), reference.dimensions(), "{url}");
        let near = mean_difference(&ours, &reference);
        assert!(
            near < CLOSE,
            "{url}: {near:.2} from FreeType setting {text:?}"
        );
        let bare = pillow(&photo, &json!([]));
        let moved = |image: &image::DynamicImage| {
            let image = image.clone();
            let bare = bare.clone();
            move |x: u32, y: u32| {
                let (a, b) = (image.get_pixel(x, y).0, bare.get_pixel(x, y).0);
                a.iter().zip(b).any(|(p, q)| p.abs_diff(q) > 64)
            }
        };
        let (ox, oy, on) = ink(&ours, moved(&ours));
        let (rx, ry, rn) = ink(&reference, moved(&reference));
        assert!(on > 100, "{url}: hardly any text drawn ({on} pixels)");
        assert!(
            (ox - rx).abs() < 1.5 && (oy - ry).abs() < 1.5,
            "{url}: ink centred at ({ox:.1}, {oy:.1}), FreeType's at ({rx:.1}, {ry:.1})"
        );
        let weight = on as f64 / rn as f64;
        assert!(
            (0.85..1.15).contains(&weight),
            "{url}: {on} inked pixels, FreeType {rn}"
        );
    }
    app.stop().await;
}

/// Long captions wrap at `c_fit,w_`; a font that is not installed is a
/// 400, never another face; emoji come through both encodings.
#[tokio::test]
async fn captions_wrap_fonts_are_never_swapped_and_emoji_survive() {
    let app = spawn_media().await;
    let white = stored(&app, fixtures::jpeg(400, 300, 255))
        .await
        .id
        .to_string();
    let caption = |overlay: Value, extra: Value| {
        let mut options =
            json!({"overlay": overlay, "gravity": "north_west", "format": "png", "sign_url": true});
        for (key, value) in extra.as_object().into_iter().flatten() {
            options[key] = value.clone();
        }
        node_url(&white, &options, DEV_SIGNING_SECRET)
    };
    let plain = fixtures::jpeg(400, 300, 255);
    let bare = image::load_from_memory(&plain).expect("jpeg");
    let dark = |image: &image::DynamicImage| {
        let (w, h) = image.dimensions();
        let (mut right, mut bottom) = (0, 0);
        for y in 0..h {
            for x in 0..w {
                let (a, b) = (image.get_pixel(x, y).0, bare.get_pixel(x, y).0);
                if a.iter().zip(b).any(|(p, q)| p.abs_diff(q) > 64) {
                    right = right.max(x + 1);
                    bottom = bottom.max(y + 1);
                }
            }
        }
        (right, bottom)
    };
    let text =
        json!({"font_family": "Arial", "font_size": 20, "text": "Spring collection now in store"});
    let one_line = caption(text.clone(), json!({}));
    let wrapped = caption(text, json!({"crop": "fit", "width": 120}));
    assert!(
        wrapped.contains("c_fit") && wrapped.contains("w_120"),
        "{wrapped}"
    );
    let (wide, low) = dark(&decoded(app.fetch(&one_line, &[]).await, &one_line).await);
    let (narrow, tall) = dark(&decoded(app.fetch(&wrapped, &[]).await, &wrapped).await);
    assert!(wide > 200 && low <= 23, "one line: {wide}x{low}");
    assert!(narrow <= 120 && tall > 2 * 23, "wrapped: {narrow}x{tall}");

    // The Python SDK signs and writes spaces raw (the client sends %20),
    // where the Node SDK encodes the text before signing: both verify.
    let python = python_url(
        &white,
        &json!({"overlay": {"font_family": "Times New Roman", "font_size": 20, "text": "Spring collection"}, "gravity": "north_west", "format": "png", "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    assert!(python.contains("Times New Roman"), "{python}");
    let (serif_wide, _) = dark(&decoded(app.fetch(&python, &[]).await, &python).await);
    assert!(serif_wide > 100, "{python}: {serif_wide}");

    let missing = caption(
        json!({"font_family": "Comic Sans MS", "font_size": 20, "text": "Hi"}),
        json!({}),
    );
    let answer = app.fetch(&missing, &[]).await;
    assert_eq!(answer.status(), 400, "{missing}");
    let body: ErrorBody = answer.json().await.expect("JSON error");
    assert!(
        body.message.starts_with("l: ") && body.message.contains("not installed"),
        "{}",
        body.message
    );

    // The SDK encodes the emoji once; encoded twice it means the same.
    let smile = caption(
        json!({"font_family": "Arial", "font_size": 40, "text": "Hi 😀"}),
        json!({}),
    );
    assert!(smile.contains("%F0%9F%98%80"), "{smile}");
    let without = caption(
        json!({"font_family": "Arial", "font_size": 40, "text": "Hi"}),
        json!({}),
    );
    let (with_emoji, _) = dark(&decoded(app.fetch(&smile, &[]).await, &smile).await);
    let (without_emoji, _) = dark(&decoded(app.fetch(&without, &[]).await, &without).await);
    assert!(
        with_emoji > without_emoji + 20,
        "{with_emoji} vs {without_emoji}"
    );
    let twice_url = signed_path(
        "g_north_west,l_text:Arial_40:Hi%20%25F0%259F%2598%2580",
        &format!("{white}.png"),
    );
    let again = decoded(app.fetch(&twice_url, &[]).await, &twice_url).await;
    assert_eq!(dark(&again).0, with_emoji, "{twice_url}");
    app.stop().await;
}
