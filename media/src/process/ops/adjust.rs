//! Corrections measured on the image itself (`auto_brightness`,
//! `auto_contrast`, `auto_color`, `improve`), toning (`tint`) and
//! `vignette`. Cloudinary does not publish these formulas; ours are
//! stated here and in the README, and restated in
//! `scripts/pixel_reference.py`:
//!
//! - levels ignore the darkest and lightest 0.5% of pixels and stretch
//!   what is between to 0-255: on the 601 grey for `auto_contrast`, on
//!   each channel for `auto_color`;
//! - `auto_brightness` scales every channel so the mean grey is 128
//!   (the gain held between 1/4 and 4);
//! - `improve` is `auto_color`, then `auto_contrast`, then outdoors a
//!   saturation of +20;
//! - each blends the corrected image in by its percentage;
//! - `tint` maps each pixel's grey along its colours (from black when it
//!   names one), blended by its amount;
//! - `vignette` darkens by `strength`% times the squared distance from
//!   the centre, the corners being 1.

use image::{DynamicImage, GenericImageView, Pixel};

use crate::process::transformation::{Rgba, Tint};

/// The share of pixels levels ignore at each end.
const CLIP: f64 = 0.005;

type Channels = [f32; 3];

fn grey([r, g, b]: Channels) -> f32 {
    (r * 299.0 + g * 587.0 + b * 114.0) / 1000.0
}

/// Each pixel's colour through `f` (given its coordinates), rounded,
/// then blended in by `share`; alpha kept.
pub(super) fn map(
    image: DynamicImage,
    share: f32,
    f: impl Fn(u32, u32, Channels) -> Channels,
) -> DynamicImage {
    let apply_to = |x: u32, y: u32, px: &mut [u8]| {
        let before = [f32::from(px[0]), f32::from(px[1]), f32::from(px[2])];
        let after = f(x, y, before);
        for ((channel, old), new) in px.iter_mut().zip(before).zip(after) {
            let new = new.round().clamp(0.0, 255.0);
            *channel = (old + (new - old) * share).round().clamp(0.0, 255.0) as u8;
        }
    };
    match image {
        DynamicImage::ImageRgb8(mut rgb) => {
            rgb.enumerate_pixels_mut()
                .for_each(|(x, y, p)| apply_to(x, y, p.channels_mut()));
            DynamicImage::ImageRgb8(rgb)
        }
        other => {
            let mut rgba = other.into_rgba8();
            rgba.enumerate_pixels_mut()
                .for_each(|(x, y, p)| apply_to(x, y, p.channels_mut()));
            DynamicImage::ImageRgba8(rgba)
        }
    }
}

/// Values 0-255 of `values` below which and above which lie at most
/// [`CLIP`] of them.
fn levels(values: impl Iterator<Item = u8>) -> (f32, f32) {
    let mut histogram = [0u64; 256];
    let mut total = 0u64;
    for v in values {
        histogram[usize::from(v)] += 1;
        total += 1;
    }
    let clip = (total as f64 * CLIP) as u64;
    let mut seen = 0;
    let low = (0..256)
        .find(|&v| {
            seen += histogram[v];
            seen > clip
        })
        .unwrap_or(0);
    seen = 0;
    let high = (0..256)
        .rev()
        .find(|&v| {
            seen += histogram[v];
            seen > clip
        })
        .unwrap_or(255);
    (low as f32, high as f32)
}

/// `v` stretched from `low..high` to `0..255` (unchanged if flat).
fn stretch(v: f32, (low, high): (f32, f32)) -> f32 {
    if high <= low {
        v
    } else {
        (v - low) * 255.0 / (high - low)
    }
}

fn auto_contrast(image: DynamicImage, share: f32) -> DynamicImage {
    let rgb = image.to_rgb8();
    let range = levels(rgb.pixels().map(|p| grey(p.0.map(f32::from)).round() as u8));
    map(image, share, |_, _, c| c.map(|v| stretch(v, range)))
}

fn auto_color(image: DynamicImage, share: f32) -> DynamicImage {
    let rgb = image.to_rgb8();
    let ranges: [(f32, f32); 3] = std::array::from_fn(|i| levels(rgb.pixels().map(|p| p.0[i])));
    map(image, share, |_, _, c| {
        std::array::from_fn(|i| stretch(c[i], ranges[i]))
    })
}

fn auto_brightness(image: DynamicImage, share: f32) -> DynamicImage {
    let rgb = image.to_rgb8();
    let count = f64::from(rgb.width()) * f64::from(rgb.height());
    let sum: f64 = rgb
        .pixels()
        .map(|p| f64::from(grey(p.0.map(f32::from))))
        .sum();
    let mean = (sum / count.max(1.0)) as f32;
    let gain = if mean > 0.0 {
        (128.0 / mean).clamp(0.25, 4.0)
    } else {
        4.0
    };
    map(image, share, |_, _, c| c.map(|v| v * gain))
}

/// `improve`: colour, then contrast, then (outdoors) saturation.
fn improve(image: DynamicImage, outdoor: bool, share: f32) -> DynamicImage {
    let original = image.clone();
    let mut better = auto_contrast(auto_color(image, 1.0), 1.0);
    if outdoor {
        better = map(better, 1.0, |_, _, c| {
            let g = grey(c);
            c.map(|v| g + (v - g) * 1.2)
        });
    }
    let improved = better.to_rgba8();
    map(original, share, |x, y, _| {
        let p = improved.get_pixel(x, y).0;
        [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
    })
}

/// The colour at `t` (0 to 1) along `stops`, evenly spaced.
fn along(stops: &[[f32; 3]], t: f32) -> [f32; 3] {
    if stops.len() == 1 {
        return stops[0];
    }
    let scaled = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
    let index = (scaled.floor() as usize).min(stops.len() - 2);
    let within = scaled - index as f32;
    std::array::from_fn(|i| stops[index][i] + (stops[index + 1][i] - stops[index][i]) * within)
}

fn tint(image: DynamicImage, tint: Tint) -> DynamicImage {
    let rgb = |Rgba([r, g, b, _]): Rgba| [f32::from(r), f32::from(g), f32::from(b)];
    let mut stops: Vec<[f32; 3]> = tint.colours().iter().copied().map(rgb).collect();
    if stops.len() == 1 {
        stops.insert(0, [0.0; 3]);
    }
    map(image, f32::from(tint.amount) / 100.0, |_, _, c| {
        along(&stops, grey(c) / 255.0)
    })
}

fn vignette(image: DynamicImage, strength: u8) -> DynamicImage {
    let (w, h) = image.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let strength = f32::from(strength) / 100.0;
    map(image, 1.0, |x, y, c| {
        let dx = (x as f32 + 0.5 - cx) / cx;
        let dy = (y as f32 + 0.5 - cy) / cy;
        let reach = (dx * dx + dy * dy) / 2.0;
        let keep = 1.0 - strength * reach;
        c.map(|v| v * keep)
    })
}

/// Which of these `effect` is, applied; `None` when it is none of them.
pub fn apply(
    image: DynamicImage,
    effect: crate::process::transformation::Effect,
) -> Result<DynamicImage, DynamicImage> {
    use crate::process::transformation::Effect;
    let share = |blend: u8| f32::from(blend) / 100.0;
    Ok(match effect {
        Effect::AutoBrightness(blend) => auto_brightness(image, share(blend)),
        Effect::AutoContrast(blend) => auto_contrast(image, share(blend)),
        Effect::AutoColor(blend) => auto_color(image, share(blend)),
        Effect::Improve(outdoor, blend) => improve(image, outdoor, share(blend)),
        Effect::Tint(t) => tint(image, t),
        Effect::Vignette(strength) => vignette(image, strength),
        _ => return Err(image),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::transformation::{Effect, MAX_TINTS};

    /// A dull, dark, blue-cast image: every correction has work to do.
    fn dull() -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(40 + x) as u8, (50 + y) as u8, (90 + x / 2) as u8])
        }))
    }

    #[test]
    fn corrections_stretch_a_dull_image_and_zero_blend_keeps_it() {
        let before = dull();
        for effect in [
            Effect::AutoBrightness(100),
            Effect::AutoContrast(100),
            Effect::AutoColor(100),
            Effect::Improve(true, 100),
            Effect::Improve(false, 100),
            Effect::Vignette(50),
            Effect::Tint(Tint {
                amount: 60,
                colours: [Rgba([255, 0, 0, 255]); MAX_TINTS],
                count: 1,
            }),
        ] {
            let after = apply(before.clone(), effect).expect("one of these");
            assert_ne!(
                after.to_rgb8(),
                before.to_rgb8(),
                "{effect:?} changed nothing"
            );
        }
        for effect in [
            Effect::AutoContrast(0),
            Effect::AutoColor(0),
            Effect::Vignette(0),
        ] {
            let after = apply(before.clone(), effect).expect("one of these");
            assert_eq!(after.to_rgb8(), before.to_rgb8(), "{effect:?}");
        }
        let stretched = apply(before, Effect::AutoColor(100))
            .expect("applies")
            .to_rgb8();
        let reds: Vec<u8> = stretched.pixels().map(|p| p.0[0]).collect();
        assert!(reds.iter().any(|r| *r <= 5) && reds.iter().any(|r| *r >= 250));
        assert!(apply(dull(), Effect::Negate).is_err());
    }
}
