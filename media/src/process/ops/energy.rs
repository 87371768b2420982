//! Where the detail is: edge energy (luma differences) on a sampled grid,
//! the cheap stand-in for saliency behind `g_auto` and `c_fill_pad`.

use image::{DynamicImage, GenericImageView};

use crate::process::geometry::Rect;

/// Pixels looked at to place a `g_auto` window: enough to find the
/// detailed part of any image, few enough to cost next to nothing.
const ENERGY_SAMPLES: u64 = 1 << 20;

/// Slides `window` along the axis that has room and keeps the position
/// with the most edge energy (a cheap stand-in for saliency). Large images
/// are sampled on a grid, so the cost does not grow with the input.
pub fn busiest_window(image: &DynamicImage, window: Rect) -> Rect {
    let (w, h) = image.dimensions();
    let horizontal = w > window.width;
    let length = if horizontal { w } else { h } as usize;
    let size = if horizontal {
        window.width
    } else {
        window.height
    } as usize;
    if length <= size || w < 2 || h < 2 {
        return window;
    }
    let pixels = u64::from(w) * u64::from(h);
    let stride = ((pixels / ENERGY_SAMPLES) as f64).sqrt().ceil().max(1.0) as u32;
    let luma_at = |x: u32, y: u32| -> i32 {
        let [r, g, b, _] = image.get_pixel(x, y).0;
        (i32::from(r) * 299 + i32::from(g) * 587 + i32::from(b) * 114) / 1000
    };
    let mut energy = vec![0u64; length];
    for y in (0..h - 1).step_by(stride as usize) {
        for x in (0..w - 1).step_by(stride as usize) {
            let here = luma_at(x, y);
            let e = ((here - luma_at(x + 1, y)).abs() + (here - luma_at(x, y + 1)).abs()) as u64;
            energy[if horizontal { x } else { y } as usize] += e;
        }
    }
    let mut best = (0u64, 0usize);
    let mut sum: u64 = energy[..size].iter().sum();
    best.0 = sum;
    for start in 1..=(length - size) {
        sum = sum + energy[start + size - 1] - energy[start - 1];
        if sum > best.0 {
            best = (sum, start);
        }
    }
    if horizontal {
        Rect {
            x: best.1 as u32,
            ..window
        }
    } else {
        Rect {
            y: best.1 as u32,
            ..window
        }
    }
}

/// The share (0 to 1) of the image's edge energy inside `window`, on the
/// same sampled grid as [`busiest_window`].
pub fn detail_share(image: &DynamicImage, window: Rect) -> f64 {
    let (w, h) = image.dimensions();
    if w < 2 || h < 2 {
        return 1.0;
    }
    let pixels = u64::from(w) * u64::from(h);
    let stride = ((pixels / ENERGY_SAMPLES) as f64).sqrt().ceil().max(1.0) as usize;
    let luma_at = |x: u32, y: u32| -> i32 {
        let [r, g, b, _] = image.get_pixel(x, y).0;
        (i32::from(r) * 299 + i32::from(g) * 587 + i32::from(b) * 114) / 1000
    };
    let (mut inside, mut total) = (0u64, 0u64);
    for y in (0..h - 1).step_by(stride) {
        for x in (0..w - 1).step_by(stride) {
            let here = luma_at(x, y);
            let e = ((here - luma_at(x + 1, y)).abs() + (here - luma_at(x, y + 1)).abs()) as u64;
            total += e;
            let within = x >= window.x
                && x < window.x + window.width
                && y >= window.y
                && y < window.y + window.height;
            if within {
                inside += e;
            }
        }
    }
    if total == 0 {
        1.0
    } else {
        inside as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat image with one detailed square at `at`.
    fn detail_at(at: (u32, u32)) -> DynamicImage {
        let mut image = image::RgbImage::from_pixel(300, 100, image::Rgb([128, 128, 128]));
        for y in at.1..at.1 + 40 {
            for x in at.0..at.0 + 40 {
                let v = if (x + y) % 2 == 0 { 0 } else { 255 };
                image.put_pixel(x, y, image::Rgb([v, v, v]));
            }
        }
        DynamicImage::ImageRgb8(image)
    }

    #[test]
    fn the_window_goes_where_the_detail_is() {
        let window = Rect {
            x: 100,
            y: 0,
            width: 100,
            height: 100,
        };
        let moved = busiest_window(&detail_at((240, 30)), window);
        assert!(moved.x >= 180, "{moved:?}");
        let moved = busiest_window(&detail_at((10, 30)), window);
        assert!(moved.x <= 10, "{moved:?}");
        assert!(detail_share(&detail_at((240, 30)), window) < 0.1);
        assert!(detail_share(&detail_at((120, 30)), window) > 0.9);
    }
}
