//! Image layers (issue 30): watermarks and underlays from URLs the Node
//! SDK writes, in both of its forms, against Pillow laying the same logo
//! where Cloudinary's placement table says (`scripts/pixel_reference.py`,
//! op `layer`), each far enough from the bare image that a layer drawn
//! nowhere would fail.

use avenue_media::store::BackendKind;
use avenue_shared::ErrorBody;
use avenue_tests::cloudinary_fake::CloudinaryFake;
use avenue_tests::reference::{mean_difference, pillow};
use avenue_tests::sdk::node_url;
use avenue_tests::{fixtures, spawn_media, spawn_media_with, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::{json, Value};

use super::{decoded, sent_to_cloudinary, stored};
use avenue_media::config::RemoteDelivery;

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
    let logo_file = std::env::temp_dir().join(format!("avenue-logo-{}.png", uuid::Uuid::new_v4()));
    std::fs::write(&logo_file, &logo_bytes).expect("write the logo");
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
    let _ = std::fs::remove_file(&logo_file);
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
    let fake = CloudinaryFake::start().await;
    let cloudinary = fake.settings();
    let app = spawn_media_with(|s| {
        s.backend = BackendKind::Cloudinary;
        s.cloudinary = Some(cloudinary);
        s.delivery.remote = RemoteDelivery::Redirect;
    })
    .await;
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
