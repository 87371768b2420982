//! `b_auto`'s gradient forms, as the Node SDK and `@cloudinary/url-gen`
//! write them, against Pillow counting the colours itself and drawing the
//! same fade.

use avenue_tests::reference::{mean_difference, pillow};
use avenue_tests::sdk::{node_url, urlgen_url};
use avenue_tests::{spawn_media_with, DEV_SIGNING_SECRET};
use image::{GenericImageView, ImageFormat, Rgb, RgbImage};
use serde_json::{json, Value};

use super::{decoded, stored};

/// Most a channel may differ on average: the two fades round halves
/// differently, never by more than one step.
const CLOSE: f64 = 1.0;
/// Least the answer must differ from the fade of the opposite colours.
const APART: f64 = 15.0;

/// Four stripes of 120, 90, 60 and 30 columns, each colour at the centre
/// of its 16-level bin so that counting bins and counting exact colours
/// agree: the whole image ranks them in stripe order, the border (which
/// adds the first and last columns) first, last, second, third.
fn stripes() -> Vec<u8> {
    let picture = RgbImage::from_fn(300, 200, |x, _| match x {
        0..120 => Rgb([200, 40, 40]),
        120..210 => Rgb([40, 88, 200]),
        210..270 => Rgb([40, 168, 72]),
        _ => Rgb([232, 216, 56]),
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, ImageFormat::Png)
        .expect("encode a PNG");
    out.into_inner()
}

fn fade(border: bool, contrast: bool, stops: u8, direction: &str, palette: Value) -> Value {
    json!({"border": border, "contrast": contrast, "stops": stops, "direction": direction, "palette": palette})
}

#[tokio::test]
async fn gradient_padding_fades_between_the_images_own_colours() {
    // url-gen writes unsigned URLs: served with strict mode off, as on a
    // Cloudinary account without strict transformations.
    let app = spawn_media_with(|s| s.delivery.strict = false).await;
    let source = stripes();
    let id = stored(&app, source.clone()).await.id.to_string();
    let sign = |options: Value| {
        let mut options = options;
        options["sign_url"] = json!(true);
        node_url(&id, &options, DEV_SIGNING_SECRET)
    };
    let palette = json!([[0, 0, 0, 255], [255, 255, 255, 255], [255, 0, 0, 255]]);
    for (url, (width, height, x, y), spec) in [
        (
            sign(
                json!({"crop": "pad", "width": 300, "height": 400, "background": "auto:predominant_gradient:4:vertical"}),
            ),
            (300, 400, 0, 100),
            fade(false, false, 4, "vertical", json!([])),
        ),
        (
            urlgen_url(
                &id,
                &json!([{"resize": "pad", "width": 300, "height": 400, "background": {"gradient": "border"}}]),
            ),
            (300, 400, 0, 100),
            fade(true, false, 2, "horizontal", json!([])),
        ),
        (
            sign(
                json!({"crop": "lpad", "width": 600, "height": 300, "background": "auto:border_gradient_contrast:2:diagonal_asc"}),
            ),
            (600, 300, 150, 50),
            fade(true, true, 2, "diagonal_asc", json!([])),
        ),
        (
            urlgen_url(
                &id,
                &json!([{"resize": "lpad", "width": 500, "height": 500, "background": {
                    "gradient": "predominant", "colors": 4, "direction": "diagonal_desc",
                    "palette": ["black", "white", "#ff0000"]
                }}]),
            ),
            (500, 500, 100, 150),
            fade(false, false, 4, "diagonal_desc", palette),
        ),
    ] {
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        assert_eq!(ours.dimensions(), (width, height), "{url}");
        let ops = json!([["pad_gradient", width, height, x, y, spec]]);
        let near = mean_difference(&ours, &pillow(&source, &ops));
        assert!(near < CLOSE, "{url}: {near:.2} from Pillow doing {ops}");
        let mut opposite = spec.clone();
        opposite["contrast"] = json!(!spec["contrast"].as_bool().unwrap_or(false));
        let wrong = json!([["pad_gradient", width, height, x, y, opposite]]);
        let far = mean_difference(&ours, &pillow(&source, &wrong));
        assert!(
            far > APART,
            "{url}: only {far:.2} from the opposite colours"
        );
    }
    app.stop().await;
}
