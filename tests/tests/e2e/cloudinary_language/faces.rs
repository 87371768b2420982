//! Faces (issue 30), on scikit-image's real photographs, checked against
//! another detector: scikit-image's own LBP cascade
//! (`scripts/faces_reference.py`). Ours is SeetaFace's (`rustface`).

use avenue_tests::reference::{faces, mean_difference, photo};
use avenue_tests::sdk::node_url;
use avenue_tests::{spawn_media, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::{json, Value};

use super::{decoded, stored};

/// Where across `source` the full-height window `ours` shows is centred:
/// the window position (every 2 pixels) whose scaled copy is nearest.
fn window_centre(source: &image::DynamicImage, ours: &image::DynamicImage) -> f64 {
    let (sw, sh) = source.dimensions();
    let (ow, oh) = ours.dimensions();
    let width = (f64::from(sh) * f64::from(ow) / f64::from(oh)).round() as u32;
    (0..=sw - width)
        .step_by(2)
        .map(|x| {
            let cut = source.crop_imm(x, 0, width, sh);
            let scaled = cut.resize_exact(ow, oh, image::imageops::FilterType::Triangle);
            (mean_difference(&scaled, ours), x)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(0.0, |(_, x)| f64::from(x) + f64::from(width) / 2.0)
}

fn centre([x, y, w, h]: [u32; 4]) -> (f64, f64) {
    (
        f64::from(x) + f64::from(w) / 2.0,
        f64::from(y) + f64::from(h) / 2.0,
    )
}

#[tokio::test]
async fn crops_follow_the_faces_another_detector_finds() {
    let app = spawn_media().await;
    let sign = |id: &str, options: Value| {
        let mut options = options;
        options["sign_url"] = json!(true);
        options["format"] = json!("png");
        node_url(id, &options, DEV_SIGNING_SECRET)
    };
    for name in ["astronaut.png", "camera.png"] {
        let source = photo(name);
        let size = image::load_from_memory(&source)
            .expect("photo")
            .dimensions();
        let face = *faces(&source).first().expect("scikit-image finds the face");
        let id = stored(&app, source.clone()).await.id.to_string();
        // A tall window slides sideways: to the face, not the middle.
        let url = sign(
            &id,
            json!({"crop": "fill", "gravity": "face", "width": 100, "height": 300}),
        );
        assert!(url.contains("g_face"), "{url}");
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        let picked = window_centre(&image::load_from_memory(&source).expect("photo"), &ours);
        let (face_x, middle_x) = (centre(face).0, f64::from(size.0) / 2.0);
        assert!(
            (picked - face_x).abs() <= 12.0 && (picked - face_x).abs() < (picked - middle_x).abs(),
            "{name}: the window is centred at x={picked}, the other detector's face at {face_x}, the middle at {middle_x}"
        );

        // An avatar: zoomed onto the face, which the other detector then
        // finds large and in the middle.
        let avatar = sign(
            &id,
            json!({"crop": "thumb", "gravity": "face", "width": 150, "height": 150}),
        );
        let response = app.fetch(&avatar, &[]).await;
        assert_eq!(response.status(), 200, "{avatar}");
        let bytes = response.bytes().await.expect("body").to_vec();
        let found = faces(&bytes);
        let [x, y, w, _] = *found
            .first()
            .unwrap_or_else(|| panic!("{name}: no face in {avatar}"));
        let (cx, cy) = centre([x, y, w, w]);
        // Unzoomed, the face would be a fifth of that; the window never
        // goes below 150 original pixels (no upscaling), so a small face
        // (the cameraman's) stays a third of the frame.
        assert!(w >= 45, "{name}: the face is only {w} of 150 pixels wide");
        assert!(
            (cx - 75.0).abs() < 25.0 && (cy - 75.0).abs() < 30.0,
            "{name}: the face is centred at ({cx}, {cy})"
        );
    }
    // No face in the cat or the rocket: g_face keeps the centre, and
    // g_auto:faces looks for detail instead, as g_auto does.
    for name in ["chelsea.png", "rocket.jpg"] {
        let source = photo(name);
        assert!(faces(&source).is_empty(), "{name} has a face after all");
        let size = image::load_from_memory(&source)
            .expect("photo")
            .dimensions();
        let id = stored(&app, source.clone()).await.id.to_string();
        let url = sign(
            &id,
            json!({"crop": "fill", "gravity": "face", "width": 100, "height": 300}),
        );
        let ours = decoded(app.fetch(&url, &[]).await, &url).await;
        let picked = window_centre(&image::load_from_memory(&source).expect("photo"), &ours);
        let middle_x = f64::from(size.0) / 2.0;
        assert!(
            (picked - middle_x).abs() <= 2.0,
            "{name}: the window is centred at x={picked}, not the middle {middle_x}"
        );
        let auto_faces = sign(
            &id,
            json!({"crop": "fill", "gravity": "auto:faces", "width": 100, "height": 300}),
        );
        let auto = sign(
            &id,
            json!({"crop": "fill", "gravity": "auto", "width": 100, "height": 300}),
        );
        let a = app
            .fetch(&auto_faces, &[])
            .await
            .bytes()
            .await
            .expect("body");
        let b = app.fetch(&auto, &[]).await.bytes().await.expect("body");
        assert_eq!(a, b, "{auto_faces} and {auto} differ without a face");
    }
    app.stop().await;
}

/// Hiding faces before publishing user content: the face the other
/// detector finds is blurred or pixelated beyond recognition, and the
/// rest of the photograph is untouched.
#[tokio::test]
async fn faces_are_blurred_or_pixelated_and_nothing_else() {
    let app = spawn_media().await;
    let source = photo("astronaut.png");
    let original = image::load_from_memory(&source).expect("photo").to_rgba8();
    let [fx, fy, fw, fh] = *faces(&source).first().expect("a face");
    let id = stored(&app, source.clone()).await.id.to_string();
    for effect in [
        "blur_faces",
        "pixelate_faces",
        "blur_faces:2000",
        "pixelate_faces:20",
    ] {
        let url = node_url(
            &id,
            &json!({"effect": effect, "format": "png", "sign_url": true}),
            DEV_SIGNING_SECRET,
        );
        let ours = decoded(app.fetch(&url, &[]).await, &url).await.to_rgba8();
        let (mut inside, mut inside_n, mut outside_changed, mut outside_n) =
            (0u64, 0u64, 0u64, 0u64);
        let (grow_x, grow_y) = (fw * 6 / 10, fh * 6 / 10);
        for (x, y, px) in ours.enumerate_pixels() {
            let before = original.get_pixel(x, y).0;
            let moved: u64 =
                px.0.iter()
                    .zip(before)
                    .map(|(a, b)| u64::from(a.abs_diff(b)))
                    .sum();
            let in_face = (fx..fx + fw).contains(&x) && (fy..fy + fh).contains(&y);
            let near_face = (fx.saturating_sub(grow_x)..fx + fw + grow_x).contains(&x)
                && (fy.saturating_sub(grow_y)..fy + fh + grow_y).contains(&y);
            if in_face {
                inside += moved;
                inside_n += 1;
            } else if !near_face {
                outside_n += 1;
                outside_changed += u64::from(moved > 0);
            }
        }
        let inside_mean = inside as f64 / inside_n as f64 / 4.0;
        assert!(
            inside_mean > 8.0,
            "{url}: the face moved only {inside_mean:.1}"
        );
        assert_eq!(
            outside_changed, 0,
            "{url}: {outside_changed} of {outside_n} pixels away from the face changed"
        );
        // The face is gone for the other detector too.
        let bytes = app
            .fetch(&url, &[])
            .await
            .bytes()
            .await
            .expect("body")
            .to_vec();
        let left = faces(&bytes);
        assert!(
            !left
                .iter()
                .any(|b| (centre(*b).0 - centre([fx, fy, fw, fh]).0).abs() < 20.0),
            "{url}: the face is still found: {left:?}"
        );
    }
    app.stop().await;
}
