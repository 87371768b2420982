//! Variables, arithmetic on the image's sizes and conditions, as the Node
//! and Python SDKs and `@cloudinary/url-gen` write them, weighed on a
//! landscape and a portrait original and checked against Pillow doing
//! what the branch taken means.

use avenue_tests::reference::{mean_difference, pillow};
use avenue_tests::sdk::{node_url, python_url, urlgen_url};
use avenue_tests::{fixtures, spawn_media, spawn_media_with, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::{json, Value};

use super::{decoded, stored};

const CLOSE: f64 = 3.0;
const BLACK: [u8; 4] = [0, 0, 0, 255];

/// Pillow's steps and the size expected for one original.
type Expected = (Value, (u32, u32));

/// (SDK options, then what is expected of the 300x200 and the 200x300
/// original).
fn cases() -> Vec<(Value, [Expected; 2])> {
    vec![
        // A block with an else: half the original's width when wide.
        (
            json!({"transformation": [
                {"if": "w > 250"},
                {"crop": "scale", "width": "iw / 2"},
                {"if": "else"},
                {"crop": "scale", "width": 50},
                {"if": "end"}
            ]}),
            [
                (json!([["resize", 150, 100]]), (150, 100)),
                (json!([["resize", 50, 75]]), (50, 75)),
            ],
        ),
        // Variables set from each other, used as sizes.
        (
            json!({"variables": [["$small", 60], ["$big", "$small * 2"]], "crop": "fill", "width": "$big", "height": "$small"}),
            [
                (
                    json!([["crop", 0, 25, 300, 150], ["resize", 120, 60]]),
                    (120, 60),
                ),
                (
                    json!([["crop", 0, 100, 200, 100], ["resize", 120, 60]]),
                    (120, 60),
                ),
            ],
        ),
        // A condition beside parameters guards only them; `and` joins.
        (
            json!({"if": "ar > 1 && w >= 300", "crop": "scale", "width": 100}),
            [
                (json!([["resize", 100, 67]]), (100, 67)),
                (json!([]), (200, 300)),
            ],
        ),
        // A measure as a value: a square as tall as the original.
        (
            json!({"crop": "pad", "width": "ih", "height": "ih", "background": "black"}),
            [
                (
                    json!([["resize", 200, 133], ["pad", 200, 200, 0, 33, BLACK]]),
                    (200, 200),
                ),
                (json!([["pad", 300, 300, 50, 0, BLACK]]), (300, 300)),
            ],
        ),
        // `w` is the size where the condition stands, not the original's.
        (
            json!({"transformation": [
                {"crop": "scale", "width": 100},
                {"if": "w = 100 && iw > 100", "crop": "scale", "width": "w * 0.5 + ih / 10"}
            ]}),
            [
                (json!([["resize", 70, 47]]), (70, 47)),
                (json!([["resize", 80, 120]]), (80, 120)),
            ],
        ),
    ]
}

#[tokio::test]
async fn variables_arithmetic_and_conditions_from_both_sdks_match_pillow() {
    let app = spawn_media().await;
    let originals = [fixtures::landmarks(300, 200), fixtures::landmarks(200, 300)];
    let mut ids = Vec::new();
    for source in &originals {
        ids.push(stored(&app, source.clone()).await.id.to_string());
    }
    for (mut options, expected) in cases() {
        options["sign_url"] = json!(true);
        for ((source, id), (ops, size)) in originals.iter().zip(&ids).zip(&expected) {
            let url = node_url(id, &options, DEV_SIGNING_SECRET);
            let ours = decoded(app.fetch(&url, &[]).await, &url).await;
            assert_eq!(ours.dimensions(), *size, "{url}");
            let near = mean_difference(&ours, &pillow(source, ops));
            assert!(near < CLOSE, "{url}: {near:.2} from Pillow doing {ops}");
            let python = python_url(id, &options, DEV_SIGNING_SECRET);
            let same = decoded(app.fetch(&python, &[]).await, &python).await;
            assert_eq!(mean_difference(&ours, &same), 0.0, "{url} and {python}");
        }
    }
    app.stop().await;
}

/// `@cloudinary/url-gen` writes each action as a component of its own,
/// unsigned: served where strict mode is off, as on a Cloudinary account
/// without strict transformations.
#[tokio::test]
async fn url_gen_chains_are_answered_as_cloudinary_would() {
    let app = spawn_media_with(|s| s.delivery.strict = false).await;
    let source = fixtures::landmarks(300, 200);
    let id = stored(&app, source.clone()).await.id.to_string();
    let white = json!([255, 255, 255, 255]);
    for (actions, ops, size) in [
        (
            json!([
                {"variable": ["small", 60]},
                {"variable": ["big", "$small * 2"]},
                {"resize": "fill", "width": "$big", "height": "$small"},
                {"if": "w > 100", "then": [{"resize": "scale", "width": "w / 2"}], "else": [{"resize": "scale", "width": 10}]},
                {"rotate": "hflip"},
                {"format": "auto"},
                {"quality": "auto"}
            ]),
            json!([["crop", 0, 25, 300, 150], ["resize", 60, 30], ["fliph"]]),
            (60, 30),
        ),
        (
            json!([{"resize": "crop", "width": 100, "height": 50, "x": 10, "y": 20, "gravity": "north_west"}]),
            json!([["crop", 10, 20, 100, 50]]),
            (100, 50),
        ),
        (
            json!([{"resize": "pad", "width": 400, "height": 400, "background": "auto"}]),
            json!([["resize", 400, 267], ["pad_border", 400, 400, 0, 66]]),
            (400, 400),
        ),
        (
            json!([{"resize": "fill", "width": 80, "height": 60}, {"rotate": -90}]),
            json!([
                ["crop", 16, 0, 267, 200],
                ["resize", 80, 60],
                ["rotate", 270, white]
            ]),
            (60, 80),
        ),
    ] {
        let url = urlgen_url(&id, &actions);
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        assert_eq!(ours.dimensions(), size, "{url}");
        let near = mean_difference(&ours, &pillow(&source, &ops));
        assert!(near < CLOSE, "{url}: {near:.2} from Pillow doing {ops}");
    }
    app.stop().await;
}

/// Strict mode and the unsigned front-end mode never run a program a
/// browser wrote.
#[tokio::test]
async fn unsigned_programs_are_refused_in_strict_mode() {
    let app = spawn_media().await;
    let id = stored(&app, fixtures::landmarks(300, 200))
        .await
        .id
        .to_string();
    let url = urlgen_url(&id, &json!([{"resize": "scale", "width": "iw / 2"}]));
    assert!(url.contains("w_iw_div_2"), "{url}");
    assert_eq!(app.fetch(&url, &[]).await.status(), 403, "{url}");
    app.stop().await;
}
