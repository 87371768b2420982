//! Every crop, pad and turn mode, from URLs the Node and Python SDKs
//! write, against Pillow doing the same cut, resize, pad or turn.

use avenue_tests::reference::{mean_difference, pillow};
use avenue_tests::sdk::{node_url, python_url};
use avenue_tests::{fixtures, spawn_media, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::{json, Value};

use super::{decoded, stored};

/// Most a channel may differ on average from the reference: two Lanczos
/// implementations and two bilinear warps round differently, never by
/// more than this on the fixture.
const CLOSE: f64 = 3.0;
/// Least the same answer must differ from the reference of a mirrored
/// source: a check that could not tell a wrong side from the right one
/// would pass anything.
const APART: f64 = 15.0;

/// (what the front end asks, what it means in Pillow's terms, size).
fn cases() -> Vec<(Value, Value, (u32, u32))> {
    let white = json!([255, 255, 255, 255]);
    vec![
        (
            json!({"crop": "crop", "width": 100, "height": 50, "x": 10, "y": 20, "gravity": "north_west"}),
            json!([["crop", 10, 20, 100, 50]]),
            (100, 50),
        ),
        (
            json!({"crop": "crop", "width": 0.5, "height": 0.5}),
            json!([["crop", 75, 50, 150, 100]]),
            (150, 100),
        ),
        (
            json!({"crop": "crop", "gravity": "xy_center", "x": 150, "y": 100, "width": 60, "height": 40}),
            json!([["crop", 120, 80, 60, 40]]),
            (60, 40),
        ),
        (
            json!({"crop": "crop", "gravity": "south_east", "x": 10, "y": 20, "width": 100, "height": 50}),
            json!([["crop", 190, 130, 100, 50]]),
            (100, 50),
        ),
        // Past the edge: the region is moved back inside the image.
        (
            json!({"crop": "crop", "x": 280, "y": 190, "width": 100, "height": 50}),
            json!([["crop", 200, 150, 100, 50]]),
            (100, 50),
        ),
        (
            json!({"crop": "crop", "width": 100, "height": 100, "x": 100, "y": 50, "gravity": "north_west", "zoom": 2}),
            json!([["crop", 125, 75, 50, 50], ["resize", 100, 100]]),
            (100, 100),
        ),
        (
            json!({"crop": "crop", "width": 50, "height": 50, "dpr": 2.0}),
            json!([["crop", 125, 75, 50, 50], ["resize", 100, 100]]),
            (100, 100),
        ),
        (
            json!({"crop": "fill", "width": 100, "height": 100, "gravity": "west"}),
            json!([["crop", 0, 0, 200, 200], ["resize", 100, 100]]),
            (100, 100),
        ),
        (
            json!({"crop": "thumb", "width": 100, "height": 100, "zoom": 2}),
            json!([["crop", 100, 50, 100, 100]]),
            (100, 100),
        ),
        // Never scaled up: what passes the box is cut at full resolution.
        (
            json!({"crop": "lfill", "width": 400, "height": 100}),
            json!([["crop", 0, 50, 300, 100]]),
            (300, 100),
        ),
        (
            json!({"crop": "lpad", "width": 400, "height": 400, "background": "black"}),
            json!([["pad", 400, 400, 50, 100, [0, 0, 0, 255]]]),
            (400, 400),
        ),
        (
            json!({"crop": "mpad", "width": 600, "height": 600}),
            json!([["resize", 600, 400], ["pad", 600, 600, 0, 100, white]]),
            (600, 600),
        ),
        (
            json!({"crop": "mfit", "width": 600, "height": 600}),
            json!([["resize", 600, 400]]),
            (600, 400),
        ),
        (
            json!({"crop": "pad", "width": 100, "height": 100, "background": "rgb:00ff00", "gravity": "north"}),
            json!([
                ["resize", 100, 67],
                ["pad", 100, 100, 0, 0, [0, 255, 0, 255]]
            ]),
            (100, 100),
        ),
        // b_auto: the padding takes the image's border colour.
        (
            json!({"crop": "pad", "width": 400, "height": 400, "background": "auto"}),
            json!([["resize", 400, 267], ["pad_border", 400, 400, 0, 66]]),
            (400, 400),
        ),
        (
            json!({"angle": 90}),
            json!([["rotate", 90, white]]),
            (200, 300),
        ),
        (json!({"angle": "hflip"}), json!([["fliph"]]), (300, 200)),
        (
            json!({"angle": ["vflip", 180]}),
            json!([["flipv"], ["rotate", 180, white]]),
            (300, 200),
        ),
        (
            json!({"transformation": [{"crop": "fill", "width": 80, "height": 60}, {"angle": -90}]}),
            json!([
                ["crop", 16, 0, 267, 200],
                ["resize", 80, 60],
                ["rotate", 270, white]
            ]),
            (60, 80),
        ),
        // A portrait box for a landscape image: a quarter turn first.
        (
            json!({"crop": "fill", "width": 100, "height": 150, "angle": "auto_right"}),
            json!([["rotate", 90, white], ["resize", 100, 150]]),
            (100, 150),
        ),
        // Any angle grows the canvas; the corners stay transparent in PNG.
        (
            json!({"angle": 30}),
            json!([["rotate", 30, [0, 0, 0, 0]]]),
            (360, 324),
        ),
    ]
}

#[tokio::test]
async fn crops_pads_and_turns_match_an_independent_reference() {
    let app = spawn_media().await;
    let source = fixtures::landmarks(300, 200);
    let d = stored(&app, source.clone()).await;
    let id = d.id.to_string();
    for (mut options, ops, size) in cases() {
        options["sign_url"] = json!(true);
        let url = node_url(&id, &options, DEV_SIGNING_SECRET);
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        assert_eq!(ours.dimensions(), size, "{url}");
        let reference = pillow(&source, &ops);
        let near = mean_difference(&ours, &reference);
        assert!(near < CLOSE, "{url}: {near:.2} from Pillow doing {ops}");
        let mut mirrored_ops = vec![json!(["fliph"])];
        mirrored_ops.extend(ops.as_array().cloned().unwrap_or_default());
        let wrong = pillow(&source, &Value::Array(mirrored_ops));
        let far = mean_difference(&ours, &wrong);
        assert!(far > APART, "{url}: only {far:.2} from a mirrored source");
    }
    app.stop().await;
}

/// The Python SDK writes the same language (its own key order, its own
/// number spelling); the answers are the same.
#[tokio::test]
async fn urls_the_python_sdk_writes_are_answered_alike() {
    let app = spawn_media().await;
    let source = fixtures::landmarks(300, 200);
    let d = stored(&app, source.clone()).await;
    let id = d.id.to_string();
    for (options, ops) in [
        (
            json!({"crop": "crop", "width": 0.5, "height": 0.5, "gravity": "south_west", "sign_url": true}),
            json!([["crop", 0, 100, 150, 100]]),
        ),
        (
            json!({"transformation": [{"crop": "lpad", "width": 400, "height": 400, "background": "black"}, {"angle": "hflip"}], "sign_url": true}),
            json!([["pad", 400, 400, 50, 100, [0, 0, 0, 255]], ["fliph"]]),
        ),
    ] {
        let url = python_url(&id, &options, DEV_SIGNING_SECRET);
        let node = node_url(&id, &options, DEV_SIGNING_SECRET);
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        let near = mean_difference(&ours, &pillow(&source, &ops));
        assert!(near < CLOSE, "{url}: {near:.2}");
        let same = decoded(app.fetch(&node, &[]).await, &node).await;
        assert_eq!(mean_difference(&ours, &same), 0.0, "{url} and {node}");
    }
    app.stop().await;
}

/// `a_ignore`: the pixels as stored, not as EXIF says to show them.
#[tokio::test]
async fn a_ignore_keeps_the_stored_orientation() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg_with_orientation(60, 40, 6)).await;
    let id = d.id.to_string();
    let shown = node_url(
        &id,
        &json!({"width": "1.0", "crop": "scale", "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    let stored_way = node_url(
        &id,
        &json!({"angle": "ignore", "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    let shown = decoded(app.fetch(&shown, &[]).await, &shown).await;
    assert_eq!(shown.dimensions(), (40, 60));
    let raw = decoded(app.fetch(&stored_way, &[]).await, &stored_way).await;
    assert_eq!(raw.dimensions(), (60, 40));
    app.stop().await;
}
