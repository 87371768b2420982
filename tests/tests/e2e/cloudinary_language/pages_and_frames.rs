//! A PDF's pages (`pg_`, `dn_`) and a video's frames (`so_`, `eo_`,
//! `/video/upload/…/ID.jpg`) as images (issue 30), from URLs the official
//! SDKs write, checked against the paintings the document and the video
//! were made from (`scripts/documents_reference.py`): not against the
//! tools that draw and decode them.

use avenue_tests::reference::{mean_difference, pdf_pages, pillow, video_seconds};
use avenue_tests::sdk::{node_url, python_url};
use avenue_tests::{spawn_media, DEV_SIGNING_SECRET};
use image::{DynamicImage, GenericImageView};
use mongodb::bson::doc;
use serde_json::{json, Value};

use super::{decoded, redirecting_to_cloudinary, sent_to_cloudinary, stored};

/// Drawing and coding blur the blocks' edges a little.
const CLOSE: f64 = 4.0;
/// Any other page or second is at least this far.
const FAR: f64 = 15.0;

fn signed(id: &str, options: Value) -> String {
    let mut options = options;
    options["sign_url"] = json!(true);
    node_url(id, &options, DEV_SIGNING_SECRET)
}

/// Which of `pictures` `ours` is, asserting it is near that one and far
/// from the others.
fn which(ours: &DynamicImage, pictures: &[DynamicImage], what: &str) -> usize {
    let distances: Vec<f64> = pictures
        .iter()
        .map(|picture| {
            let (w, h) = ours.dimensions();
            let sized = picture.resize_exact(w, h, image::imageops::FilterType::Triangle);
            mean_difference(ours, &sized)
        })
        .collect();
    let (best, nearest) = distances
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, d)| (i, *d))
        .expect("pictures");
    assert!(
        nearest < CLOSE,
        "{what}: nearest is {best} at {nearest:.2} ({distances:?})"
    );
    for (i, d) in distances.iter().enumerate() {
        assert!(
            i == best || *d > FAR,
            "{what}: {i} is also near ({distances:?})"
        );
    }
    best
}

async fn refused(app: &avenue_tests::MediaApp, url: &str, status: u16, needle: &str) {
    let answer = app.fetch(url, &[]).await;
    assert_eq!(answer.status(), status, "{url}");
    let body: Value = answer.json().await.expect("a JSON error");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{url}: {message}");
}

#[tokio::test]
async fn pdf_pages_are_images_drawn_at_cloudinary_s_density() {
    let app = spawn_media().await;
    let (pdf, pages) = pdf_pages(&[(600, 400, 1), (400, 600, 2)]);
    let id = stored(&app, pdf).await.id.to_string();

    // The size guide's first page, whole: 150 dpi gives back its pixels.
    // Drawing a page is a render: signed, like any other.
    let first = signed(&id, json!({"format": "png"}));
    let page = decoded(app.fetch(&first, &[]).await, &first).await;
    assert_eq!(page.dimensions(), (600, 400));
    assert_eq!(which(&page, &pages, &first), 0);

    // What the issue tried: pg_N,w_300 as the Node SDK writes it.
    let url = signed(
        &id,
        json!({"page": 2, "width": 300, "crop": "scale", "format": "png"}),
    );
    assert!(url.contains("pg_2") && url.contains(".png"), "{url}");
    let ours = decoded(app.fetch(&url, &[]).await, &url).await;
    assert_eq!(ours.dimensions(), (300, 450));
    let reference = pillow(&png(&pages[1]), &json!([["resize", 300, 450]]));
    let off = mean_difference(&ours, &reference);
    assert!(off < CLOSE, "{url}: {off:.2} from Pillow's");
    assert_eq!(which(&ours, &pages, &url), 1);

    // dn_ draws at another density; any transformation follows.
    let url = signed(&id, json!({"density": 75, "format": "jpg"}));
    assert!(url.contains("dn_75"), "{url}");
    let half = decoded(app.fetch(&url, &[]).await, &url).await;
    assert_eq!(half.dimensions(), (300, 200));
    let url = python_url(
        &id,
        &json!({"page": 2, "crop": "fill", "width": 120, "height": 120, "format": "webp", "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    let square = decoded(app.fetch(&url, &[]).await, &url).await;
    assert_eq!(square.dimensions(), (120, 120));
    let reference = pillow(
        &png(&pages[1]),
        &json!([["crop", 0, 100, 400, 400], ["resize", 120, 120]]),
    );
    let off = mean_difference(&square, &reference);
    assert!(off < CLOSE, "{url}: {off:.2} from Pillow's");

    // Pages it does not have, and frames of a document, say why.
    refused(
        &app,
        &signed(&id, json!({"page": 3, "format": "png"})),
        400,
        "2 page(s)",
    )
    .await;
    refused(
        &app,
        &signed(&id, json!({"start_offset": 1, "format": "png"})),
        400,
        "so",
    )
    .await;
    refused(&app, &format!("/image/upload/dn_301/{id}.png"), 400, "dn").await;
    refused(
        &app,
        &format!("/image/upload/pg_2/pg_1/{id}.png"),
        400,
        "once",
    )
    .await;
    refused(
        &app,
        &format!("/image/upload/l_{id},pg_2/fl_layer_apply/{id}.png"),
        400,
        "layer",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_broken_or_enormous_pdf_is_refused_and_nothing_is_kept() {
    let app = spawn_media().await;
    let (pdf, _) = pdf_pages(&[(600, 400, 3)]);
    // The header survives, the body does not.
    let mut broken = pdf.clone();
    broken.truncate(600);
    let broken = stored(&app, broken).await.id.to_string();
    refused(&app, &signed(&broken, json!({"format": "png"})), 422, "PDF").await;
    // A page drawn at 300 dpi would pass the pixel limit: refused before
    // any drawing, with the way out.
    let small = avenue_tests::spawn_media_with(|s| s.limits.max_render_pixels = 500_000).await;
    let id = stored(&small, pdf).await.id.to_string();
    refused(
        &small,
        &signed(&id, json!({"density": 300, "format": "png"})),
        400,
        "lower dn_",
    )
    .await;
    let fine = signed(&id, json!({"density": 150, "format": "png"}));
    assert_eq!(
        decoded(small.fetch(&fine, &[]).await, &fine)
            .await
            .dimensions(),
        (600, 400)
    );
    assert_eq!(app.count("variants", doc! {}).await, 0);
    small.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn video_frames_are_images_of_the_moment_asked() {
    let app = spawn_media().await;
    let (mp4, seconds) = video_seconds(320, 240, 5);
    let id = stored(&app, mp4).await.id.to_string();
    let frame = |options: Value| {
        let mut options = options;
        options["resource_type"] = json!("video");
        signed(&id, options)
    };
    for (options, second, size) in [
        // What the issue tried: so_1 as a poster.
        (json!({"start_offset": 1.5, "format": "jpg"}), 1, (320, 240)),
        // Without an offset, the middle of the video (2.5 s).
        (json!({"format": "png"}), 2, (320, 240)),
        (
            json!({"start_offset": "70p", "format": "png"}),
            3,
            (320, 240),
        ),
        (
            json!({"start_offset": 4.2, "width": 100, "crop": "scale", "format": "webp"}),
            4,
            (100, 75),
        ),
        // eo_ alone: the middle of what is left (1.5 s).
        (json!({"end_offset": 3, "format": "png"}), 1, (320, 240)),
    ] {
        let url = frame(options);
        assert!(url.starts_with("/video/upload/"), "{url}");
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        assert_eq!(ours.dimensions(), size, "{url}");
        assert_eq!(which(&ours, &seconds, &url), second, "{url}");
    }
    // so_auto: ffmpeg's pick of the frame that best stands for the start;
    // one of the paintings, whole. The Python SDK writes it the same.
    let url = python_url(
        &id,
        &json!({"resource_type": "video", "start_offset": "auto", "format": "jpg", "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    assert!(url.contains("so_auto"), "{url}");
    let auto = decoded(app.fetch(&url, &[]).await, &url).await;
    which(&auto, &seconds, &url);

    // Past the end, pages of a video, and the video under /image/.
    refused(
        &app,
        &frame(json!({"start_offset": 9, "format": "jpg"})),
        400,
        "lasts 5.00 s",
    )
    .await;
    refused(&app, &frame(json!({"page": 2, "format": "jpg"})), 400, "pg").await;
    refused(
        &app,
        &format!("/image/upload/so_1/{id}.jpg"),
        400,
        "/video/upload/",
    )
    .await;
    // The video itself is still delivered as uploaded.
    let whole = app.fetch(&format!("/video/upload/{id}.mp4"), &[]).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    // An image is no video, and frames need a signature like any render.
    let photo = stored(&app, avenue_tests::fixtures::png(40, 30, 1))
        .await
        .id
        .to_string();
    refused(
        &app,
        &format!("/video/upload/so_1/{photo}.jpg"),
        400,
        "frames of videos",
    )
    .await;
    app.stop().await;
}

/// The Cloudinary backend draws its own video frames: it is sent the
/// canonical text under its video path. It keeps a PDF as a raw file,
/// which it does not draw: pages are drawn here from the bytes.
#[tokio::test]
async fn the_cloudinary_backend_draws_frames_and_pages_come_from_here() {
    let (_fake, app) = redirecting_to_cloudinary().await;
    let (mp4, _) = video_seconds(160, 120, 2);
    let video = stored(&app, mp4).await.id.to_string();
    let url = signed(
        &video,
        json!({"resource_type": "video", "start_offset": 1, "width": 80, "crop": "scale", "format": "jpg"}),
    );
    let sent = sent_to_cloudinary(&app, &url).await;
    assert!(
        sent.starts_with("c_scale,so_1,w_80/avenue/") && sent.ends_with(".jpg"),
        "{url} was sent as {sent}"
    );

    let (pdf, pages) = pdf_pages(&[(300, 200, 4), (200, 300, 5)]);
    let doc = stored(&app, pdf).await.id.to_string();
    let url = signed(&doc, json!({"page": 2, "format": "png"}));
    let page = decoded(app.fetch(&url, &[]).await, &url).await;
    assert_eq!(page.dimensions(), (200, 300));
    assert_eq!(which(&page, &pages, &url), 1);
    app.stop().await;
}

fn png(image: &DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}
