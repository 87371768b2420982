//! Faces: SeetaFace's frontal detector (the `rustface` crate, with the
//! model its crates.io package ships, embedded by `build.rs`), run on a
//! copy at most [`DETECT_SIDE`] pixels on its longer side. What it finds
//! places crops (`g_face`, `g_faces`, `g_auto:faces`), zooms `c_thumb`
//! onto a face, and is blurred or pixelated (`e_blur_faces`,
//! `e_pixelate_faces`).

use image::{DynamicImage, GenericImageView};

use super::resize::resize;
use crate::process::geometry::Rect;

/// SeetaFace's frontal face cascade, from the `rustface` package.
static MODEL: &[u8] = include_bytes!(env!("AVENUE_FACE_MODEL"));

/// Detection runs on a copy this size at most: a face smaller than the
/// detector's 20-pixel window there is too small to crop around.
const DETECT_SIDE: u32 = 640;
/// SeetaFace's own demo settings, which find the faces of scikit-image's
/// photographs and none in its cat, coffee or rocket.
const MIN_FACE: u32 = 20;
const SCORE_THRESHOLD: f64 = 2.0;
const PYRAMID_SCALE: f32 = 0.8;
const WINDOW_STEP: u32 = 4;
/// A face fills this share of a `c_thumb` window's shorter side.
const THUMB_FACE_SHARE: f64 = 0.55;
/// A hidden face is covered this much beyond the detector's box, which
/// stops at the brows and the chin.
const HIDE_MARGIN: f64 = 0.2;

/// Faces in `image`, largest first, in its own pixels.
pub fn detect(image: &DynamicImage) -> Vec<Rect> {
    let (w, h) = image.dimensions();
    let scale = (f64::from(DETECT_SIDE) / f64::from(w.max(h))).min(1.0);
    let small = if scale < 1.0 {
        let size = (
            ((f64::from(w) * scale).round() as u32).max(1),
            ((f64::from(h) * scale).round() as u32).max(1),
        );
        match resize(image, size.0, size.1) {
            Ok(small) => small,
            Err(_) => return Vec::new(),
        }
    } else {
        image.clone()
    };
    let grey = small.to_luma8();
    let Ok(model) = rustface::read_model(std::io::Cursor::new(MODEL)) else {
        return Vec::new();
    };
    let mut detector = rustface::create_detector_with_model(model);
    detector.set_min_face_size(MIN_FACE);
    detector.set_score_thresh(SCORE_THRESHOLD);
    detector.set_pyramid_scale_factor(PYRAMID_SCALE);
    detector.set_slide_window_step(WINDOW_STEP, WINDOW_STEP);
    let data = rustface::ImageData::new(grey.as_raw(), grey.width(), grey.height());
    let mut faces: Vec<Rect> = detector
        .detect(&data)
        .into_iter()
        .filter_map(|face| {
            let b = face.bbox();
            let back = |v: i32| (f64::from(v.max(0)) / scale).round() as u32;
            let (x, y) = (
                back(b.x()).min(w.saturating_sub(1)),
                back(b.y()).min(h.saturating_sub(1)),
            );
            let width = ((f64::from(b.width()) / scale).round() as u32).min(w - x);
            let height = ((f64::from(b.height()) / scale).round() as u32).min(h - y);
            (width > 0 && height > 0).then_some(Rect {
                x,
                y,
                width,
                height,
            })
        })
        .collect();
    faces.sort_by_key(|f| std::cmp::Reverse(u64::from(f.width) * u64::from(f.height)));
    faces
}

/// The box around `faces` (the largest only unless `all`).
pub fn around(faces: &[Rect], all: bool) -> Option<Rect> {
    let chosen = if all { faces } else { faces.get(..1)? };
    let first = chosen.first()?;
    let (mut left, mut top) = (first.x, first.y);
    let (mut right, mut bottom) = (first.x + first.width, first.y + first.height);
    for f in chosen {
        left = left.min(f.x);
        top = top.min(f.y);
        right = right.max(f.x + f.width);
        bottom = bottom.max(f.y + f.height);
    }
    Some(Rect {
        x: left,
        y: top,
        width: right - left,
        height: bottom - top,
    })
}

/// `window`'s size centred on `target`, kept inside an image of `size`.
fn centred_on(window: (u32, u32), target: Rect, size: (u32, u32)) -> Rect {
    let centre = |start: u32, span: u32| f64::from(start) + f64::from(span) / 2.0;
    let place = |c: f64, span: u32, whole: u32| {
        let start = (c - f64::from(span) / 2.0).round().max(0.0) as u32;
        start.min(whole.saturating_sub(span))
    };
    Rect {
        x: place(centre(target.x, target.width), window.0, size.0),
        y: place(centre(target.y, target.height), window.1, size.1),
        width: window.0.min(size.0),
        height: window.1.min(size.1),
    }
}

/// The crop window for `faces`: the planned window's size centred on
/// them, or, for `c_thumb`, a window of the same shape just large enough
/// for the faces to fill [`THUMB_FACE_SHARE`] of it (`zoom` tighter),
/// never smaller than `least` nor larger than planned.
pub fn window(
    size: (u32, u32),
    planned: Rect,
    target: Rect,
    thumb: Option<(f64, (u32, u32))>,
) -> Rect {
    let mut span = (planned.width, planned.height);
    if let Some((zoom, least)) = thumb {
        let ratio = f64::from(planned.width) / f64::from(planned.height.max(1));
        let needed = f64::from(target.width.max(target.height)) / THUMB_FACE_SHARE / zoom.max(0.1);
        let (mut w, mut h) = if ratio >= 1.0 {
            (needed * ratio, needed)
        } else {
            (needed, needed / ratio)
        };
        let grow = (f64::from(least.0) / w)
            .max(f64::from(least.1) / h)
            .max(1.0);
        w *= grow;
        h *= grow;
        let shrink = (f64::from(planned.width) / w)
            .min(f64::from(planned.height) / h)
            .min(1.0);
        span = (
            ((w * shrink).round() as u32).clamp(1, planned.width),
            ((h * shrink).round() as u32).clamp(1, planned.height),
        );
    }
    centred_on(span, target, size)
}

/// Each face's box grown by [`HIDE_MARGIN`], inside the image.
pub fn cover(face: Rect, size: (u32, u32)) -> Rect {
    let grow = |span: u32| (f64::from(span) * HIDE_MARGIN).round() as u32;
    let (gx, gy) = (grow(face.width), grow(face.height));
    let x = face.x.saturating_sub(gx);
    let y = face.y.saturating_sub(gy);
    Rect {
        x,
        y,
        width: (face.x + face.width + gx).min(size.0) - x,
        height: (face.y + face.height + gy).min(size.1) - y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_loads_and_a_flat_image_has_no_face() {
        assert!(rustface::read_model(std::io::Cursor::new(MODEL)).is_ok());
        let flat = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            300,
            200,
            image::Rgb([90, 120, 150]),
        ));
        assert!(detect(&flat).is_empty());
    }

    #[test]
    fn windows_centre_on_the_face_and_thumbs_zoom_to_it() {
        let face = Rect {
            x: 600,
            y: 100,
            width: 100,
            height: 120,
        };
        let planned = Rect {
            x: 250,
            y: 0,
            width: 500,
            height: 500,
        };
        let fill = window((1000, 500), planned, face, None);
        assert_eq!((fill.x, fill.width, fill.height), (400, 500, 500));
        let thumb = window((1000, 500), planned, face, Some((1.0, (150, 150))));
        assert_eq!((thumb.width, thumb.height), (218, 218));
        assert_eq!((thumb.x, thumb.y), (541, 51));
        // Never below the output's own size.
        let tiny = Rect {
            width: 10,
            height: 10,
            ..face
        };
        let close = window((1000, 500), planned, tiny, Some((1.0, (150, 150))));
        assert_eq!((close.width, close.height), (150, 150));
        assert_eq!(around(&[face, tiny], true).map(|r| r.width), Some(100));
        let covered = cover(face, (650, 500));
        assert_eq!((covered.x, covered.width), (580, 70));
    }
}
