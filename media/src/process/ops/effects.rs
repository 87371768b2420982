//! `e_` effects on an RGB or RGBA image. Alpha changes only where the
//! effect moves pixels (a blur softens transparent edges too).
//!
//! Cloudinary documents each effect's range and default but not its
//! formula, so ours are stated here and in the README, and restated
//! independently in `scripts/pixel_reference.py` for the tests. Level
//! effects follow the enhancement model Pillow and most editors use:
//! blend each pixel with a degenerate image (black for brightness, the
//! mean grey for contrast, the pixel's own grey for saturation) by a
//! factor of `(100 + level) / 100`.

use image::{DynamicImage, GenericImageView};

use super::resize::resize;
use super::{adjust, faces};
use crate::process::transformation::{Effect, Length, Offset, Region, Rgba};

/// Blur strength per pixel of standard deviation (`e_blur:100` is a
/// Gaussian of 5 pixels, `e_blur:2000` of 100).
const BLUR_PER_SIGMA: f32 = 20.0;
/// Above this standard deviation the blur runs on a copy reduced so that
/// it becomes this one, and is scaled back: what a blur that wide leaves
/// has no detail the reduction could lose, and a 2000 blur then costs
/// what a thumbnail does.
const REDUCED_SIGMA: f32 = 4.0;
/// `e_sharpen` and `e_unsharp_mask` subtract a blur of this many pixels.
const SHARPEN_SIGMA: f32 = 1.0;
const UNSHARP_SIGMA: f32 = 2.0;

/// `image` with `effect` applied; `colour` is `co_`.
///
/// # Errors
/// The resizer's refusal while blurring on a reduced copy, as text.
pub fn apply(
    image: DynamicImage,
    effect: Effect,
    colour: Option<Rgba>,
) -> Result<DynamicImage, String> {
    Ok(match effect {
        Effect::Blur(strength) => blur(&image, f32::from(strength) / BLUR_PER_SIGMA)?,
        Effect::Pixelate(size) => {
            let square = size.map_or_else(|| default_square(image.dimensions()), u32::from);
            pixelate(image, square)
        }
        Effect::BlurRegion(strength, region) => in_region(image, region, |part| {
            blur(&part, f32::from(strength) / BLUR_PER_SIGMA)
        })?,
        Effect::PixelateRegion(size, region) => in_region(image, region, |part| {
            let square = size.map_or_else(|| default_square(part.dimensions()), u32::from);
            Ok(pixelate(part, square))
        })?,
        Effect::BlurFaces(strength) => on_faces(image, |part| {
            blur(&part, f32::from(strength) / BLUR_PER_SIGMA)
        })?,
        Effect::PixelateFaces(size) => on_faces(image, |part| {
            let square =
                size.map_or_else(|| (part.width().min(part.height()) / 8).max(2), u32::from);
            Ok(pixelate(part, square))
        })?,
        Effect::Trim(tolerance, colour) => trim(image, tolerance, colour),
        // Cast after the corners and the border (see `shadow`).
        Effect::Shadow(..) => image,
        Effect::Sharpen(strength) => sharpen(image, SHARPEN_SIGMA, f32::from(strength) / 100.0),
        Effect::UnsharpMask(strength) => sharpen(image, UNSHARP_SIGMA, f32::from(strength) / 100.0),
        Effect::Contrast(level) => {
            let mean = f32::from(mean_grey(&image));
            let factor = enhancement(level);
            map(image, |c| c.map(|v| mean + (v - mean) * factor))
        }
        other => match adjust::apply(image, other) {
            Ok(adjusted) => adjusted,
            Err(image) => map(image, per_pixel(other, colour)),
        },
    })
}

/// Shadow strength per pixel of standard deviation (`e_shadow:40` is
/// a Gaussian of 4 pixels).
const SHADOW_PER_SIGMA: f32 = 10.0;
/// `e_shadow` without `co_`: CSS grey.
const SHADOW_GREY: Rgba = Rgba([128, 128, 128, 255]);

/// `image` over its shadow: its shape (its alpha; an opaque image's
/// rectangle) in `colour`, blurred by `strength`, moved by `(dx, dy)`, on
/// a canvas grown to hold both.
///
/// # Errors
/// The resizer's refusal while blurring, as text.
pub fn shadow(
    image: DynamicImage,
    strength: u8,
    colour: Option<Rgba>,
    (dx, dy): (i32, i32),
) -> Result<DynamicImage, String> {
    let image = image.into_rgba8();
    let (w, h) = image.dimensions();
    let canvas = (w + dx.unsigned_abs(), h + dy.unsigned_abs());
    let Rgba([r, g, b, a]) = colour.unwrap_or(SHADOW_GREY);
    // Every pixel carries the shadow's colour, so blurring moves only alpha.
    let mut cast = image::RgbaImage::from_pixel(canvas.0, canvas.1, image::Rgba([r, g, b, 0]));
    let (sx, sy) = (dx.max(0).unsigned_abs(), dy.max(0).unsigned_abs());
    for (x, y, pixel) in image.enumerate_pixels() {
        let alpha = (u16::from(pixel[3]) * u16::from(a) + 127) / 255;
        cast.put_pixel(x + sx, y + sy, image::Rgba([r, g, b, alpha as u8]));
    }
    let mut cast = DynamicImage::ImageRgba8(cast);
    if strength > 0 {
        cast = blur(&cast, f32::from(strength) / SHADOW_PER_SIGMA)?;
    }
    let mut out = cast.into_rgba8();
    let (ix, iy) = ((-dx).max(0), (-dy).max(0));
    image::imageops::overlay(&mut out, &image, i64::from(ix), i64::from(iy));
    Ok(DynamicImage::ImageRgba8(out))
}

/// `(100 + level) / 100`: 0 turns the effect's degenerate image, 1 the
/// image itself, 2 twice as far from the one as the other.
fn enhancement(level: i16) -> f32 {
    (100.0 + f32::from(level)) / 100.0
}

/// ITU-R 601 luma, as JPEG and Pillow's `convert("L")` weigh it.
fn grey([r, g, b]: [f32; 3]) -> f32 {
    (r * 299.0 + g * 587.0 + b * 114.0) / 1000.0
}

type Channels = [f32; 3];

/// Effects that look at one pixel at a time.
fn per_pixel(effect: Effect, colour: Option<Rgba>) -> Box<dyn Fn(Channels) -> Channels> {
    match effect {
        Effect::Grayscale => Box::new(|c| [grey(c).round(); 3]),
        Effect::BlackWhite(level) => {
            // Whiter than `level` per cent of the way to white: white.
            let threshold = f32::from(level) * 255.0 / 100.0;
            Box::new(move |c| {
                [if grey(c).round() >= threshold {
                    255.0
                } else {
                    0.0
                }; 3]
            })
        }
        Effect::Sepia(level) => {
            let share = f32::from(level) / 100.0;
            Box::new(move |[r, g, b]| {
                let tone = [
                    0.393 * r + 0.769 * g + 0.189 * b,
                    0.349 * r + 0.686 * g + 0.168 * b,
                    0.272 * r + 0.534 * g + 0.131 * b,
                ];
                let original = [r, g, b];
                std::array::from_fn(|i| original[i] + (tone[i].min(255.0) - original[i]) * share)
            })
        }
        Effect::Negate => Box::new(|c| c.map(|v| 255.0 - v)),
        Effect::Brightness(level) => {
            let factor = enhancement(level);
            Box::new(move |c| c.map(|v| v * factor))
        }
        Effect::Saturation(level) => {
            let factor = enhancement(level);
            Box::new(move |c| {
                let g = grey(c);
                c.map(|v| g + (v - g) * factor)
            })
        }
        Effect::Vibrance(strength) => {
            // Saturation raised most where there is least of it.
            let strength = f32::from(strength) / 100.0;
            Box::new(move |c| {
                let (high, low) = (c[0].max(c[1]).max(c[2]), c[0].min(c[1]).min(c[2]));
                let factor = 1.0 + strength * (1.0 - (high - low) / 255.0);
                let g = grey(c);
                c.map(|v| g + (v - g) * factor)
            })
        }
        Effect::Gamma(level) => {
            let gamma = 1.0 + f32::from(level) / 100.0;
            Box::new(move |c| c.map(|v| 255.0 * (v / 255.0).powf(1.0 / gamma)))
        }
        Effect::Colorize(level) => {
            let share = f32::from(level) / 100.0;
            let Rgba([r, g, b, _]) = colour.unwrap_or(Rgba([0, 0, 0, 255]));
            let towards = [f32::from(r), f32::from(g), f32::from(b)];
            Box::new(move |c| std::array::from_fn(|i| c[i] + (towards[i] - c[i]) * share))
        }
        // Whole-image effects are handled by `apply`.
        _ => Box::new(|c| c),
    }
}

/// Each pixel's colour through `f`, rounded and clamped; alpha kept.
fn map(image: DynamicImage, f: impl Fn(Channels) -> Channels) -> DynamicImage {
    adjust::map(image, 1.0, |_, _, c| f(c))
}

/// The rounded mean ITU-R 601 grey of the whole image.
fn mean_grey(image: &DynamicImage) -> u8 {
    let rgb = image.to_rgb8();
    let count = u64::from(rgb.width()) * u64::from(rgb.height());
    let sum: f64 = rgb
        .pixels()
        .map(|p| f64::from(grey(p.0.map(f32::from)).round()))
        .sum();
    (sum / count.max(1) as f64).round() as u8
}

/// A Gaussian blur of `sigma` pixels, approximated by three box blurs
/// (`image`'s `fast_blur`, the same approximation Pillow and most
/// browsers use), on a reduced copy when it is wide.
fn blur(image: &DynamicImage, sigma: f32) -> Result<DynamicImage, String> {
    let (w, h) = image.dimensions();
    if sigma <= REDUCED_SIGMA {
        return Ok(box_blur(image, sigma));
    }
    let shrink = sigma / REDUCED_SIGMA;
    let small = (
        ((w as f32 / shrink).round() as u32).max(1),
        ((h as f32 / shrink).round() as u32).max(1),
    );
    let reduced = resize(image, small.0, small.1)?;
    let blurred = box_blur(&reduced, REDUCED_SIGMA);
    resize(&blurred, w, h)
}

fn box_blur(image: &DynamicImage, sigma: f32) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(rgb) => {
            DynamicImage::ImageRgb8(image::imageops::fast_blur(rgb, sigma))
        }
        other => DynamicImage::ImageRgba8(image::imageops::fast_blur(&other.to_rgba8(), sigma)),
    }
}

/// The image's bytes (RGB or RGBA, 8 bits a channel) through `f`, with
/// its width, height and channel count.
fn on_bytes(image: DynamicImage, f: impl FnOnce(&mut [u8], u32, u32, usize)) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(mut rgb) => {
            let (w, h) = rgb.dimensions();
            f(&mut rgb, w, h, 3);
            DynamicImage::ImageRgb8(rgb)
        }
        other => {
            let mut rgba = other.into_rgba8();
            let (w, h) = rgba.dimensions();
            f(&mut rgba, w, h, 4);
            DynamicImage::ImageRgba8(rgba)
        }
    }
}

/// `image + amount * (image - blurred)`: an unsharp mask, no threshold.
fn sharpen(image: DynamicImage, sigma: f32, amount: f32) -> DynamicImage {
    let blurred = box_blur(&image, sigma);
    let soft = blurred.as_bytes();
    on_bytes(image, |bytes, _, _, channels| {
        for (px, blur) in bytes.chunks_mut(channels).zip(soft.chunks(channels)) {
            for (channel, blurred) in px.iter_mut().zip(blur).take(3) {
                let (v, b) = (f32::from(*channel), f32::from(*blurred));
                *channel = (v + (v - b) * amount).round().clamp(0.0, 255.0) as u8;
            }
        }
    })
}

/// Squares of `size` pixels (smaller at the right and bottom edges), each
/// painted its own mean colour.
fn pixelate(image: DynamicImage, size: u32) -> DynamicImage {
    let size = size.max(1);
    on_bytes(image, |bytes, w, h, channels| {
        let at = |x: u32, y: u32| (y as usize * w as usize + x as usize) * channels;
        for top in (0..h).step_by(size as usize) {
            for left in (0..w).step_by(size as usize) {
                let (right, bottom) = ((left + size).min(w), (top + size).min(h));
                let mut sum = [0u64; 4];
                for y in top..bottom {
                    for x in left..right {
                        let px = &bytes[at(x, y)..at(x, y) + channels];
                        for (total, v) in sum.iter_mut().zip(px) {
                            *total += u64::from(*v);
                        }
                    }
                }
                let count = u64::from((right - left) * (bottom - top));
                let mean: Vec<u8> = sum[..channels]
                    .iter()
                    .map(|total| ((total + count / 2) / count) as u8)
                    .collect();
                for y in top..bottom {
                    for x in left..right {
                        bytes[at(x, y)..at(x, y) + channels].copy_from_slice(&mean);
                    }
                }
            }
        }
    })
}

/// The default square of `e_pixelate`: a twentieth of the shorter side.
fn default_square((w, h): (u32, u32)) -> u32 {
    (w.min(h) / 20).clamp(2, 200)
}

/// The part of `image` a region names, in pixels, clamped to it.
fn region_rect(image: &DynamicImage, region: Region) -> (u32, u32, u32, u32) {
    let (w, h) = image.dimensions();
    let start = |offset: Option<Offset>, whole: u32| match offset {
        None => 0,
        Some(Offset::Pixels(px)) => px.clamp(0, whole as i32) as u32,
        Some(Offset::Relative(f)) => (f.max(0.0) * f64::from(whole))
            .round()
            .min(f64::from(whole)) as u32,
    };
    let (x, y) = (start(region.x, w), start(region.y, h));
    let size = |length: Option<Length>, whole: u32, from: u32| {
        let rest = whole - from;
        match length {
            None => rest,
            Some(Length::Pixels(px)) => px.min(rest),
            Some(Length::Relative(f)) => ((f * f64::from(whole)).round().max(0.0) as u32).min(rest),
        }
    };
    (x, y, size(region.width, w, x), size(region.height, h, y))
}

/// The image cut to the box of pixels farther than `tolerance`% of 255
/// (in any channel) from `colour`, or from the top-left pixel; fully
/// transparent pixels count as background. Unchanged when nothing is.
fn trim(image: DynamicImage, tolerance: u8, colour: Option<Rgba>) -> DynamicImage {
    let rgba = image.to_rgba8();
    let (w, h) = rgba.dimensions();
    if w == 0 || h == 0 {
        return image;
    }
    let reference = colour.map_or(rgba.get_pixel(0, 0).0, |c| c.0);
    let limit = u16::from(tolerance) * 255 / 100;
    let (mut left, mut top, mut right, mut bottom) = (w, h, 0, 0);
    for (x, y, px) in rgba.enumerate_pixels() {
        let clear = px.0[3] == 0 && reference[3] == 0;
        let near = px.0[..3]
            .iter()
            .zip(&reference[..3])
            .all(|(a, b)| u16::from(a.abs_diff(*b)) <= limit)
            && px.0[3].abs_diff(reference[3]) as u16 <= limit;
        if !(clear || near) {
            left = left.min(x);
            top = top.min(y);
            right = right.max(x + 1);
            bottom = bottom.max(y + 1);
        }
    }
    if right <= left || bottom <= top {
        return image;
    }
    image.crop_imm(left, top, right - left, bottom - top)
}

/// `f` applied over every face found (each a little beyond its box).
fn on_faces(
    mut image: DynamicImage,
    f: impl Fn(DynamicImage) -> Result<DynamicImage, String>,
) -> Result<DynamicImage, String> {
    let size = image.dimensions();
    for face in faces::detect(&image) {
        let c = faces::cover(face, size);
        let region = Region {
            x: Some(Offset::Pixels(c.x as i32)),
            y: Some(Offset::Pixels(c.y as i32)),
            width: Some(Length::Pixels(c.width)),
            height: Some(Length::Pixels(c.height)),
        };
        image = in_region(image, region, &f)?;
    }
    Ok(image)
}

/// `f` applied to the region only.
fn in_region(
    mut image: DynamicImage,
    region: Region,
    f: impl FnOnce(DynamicImage) -> Result<DynamicImage, String>,
) -> Result<DynamicImage, String> {
    let (x, y, w, h) = region_rect(&image, region);
    if w == 0 || h == 0 {
        return Ok(image);
    }
    let part = f(image.crop_imm(x, y, w, h))?;
    image::imageops::replace(&mut image, &part, i64::from(x), i64::from(y));
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, 200])
        }))
    }

    #[test]
    fn every_effect_changes_the_image_and_keeps_its_size() {
        let before = sample();
        for effect in [
            Effect::Blur(100),
            Effect::Blur(2000),
            Effect::Pixelate(None),
            Effect::Grayscale,
            Effect::BlackWhite(50),
            Effect::Sepia(80),
            Effect::Negate,
            Effect::Sharpen(400),
            Effect::UnsharpMask(400),
            Effect::Brightness(40),
            Effect::Contrast(60),
            Effect::Saturation(-80),
            Effect::Gamma(100),
            Effect::Vibrance(100),
            Effect::Colorize(60),
        ] {
            let after =
                apply(before.clone(), effect, Some(Rgba([255, 0, 0, 255]))).expect("applies");
            assert_eq!(after.dimensions(), before.dimensions(), "{effect:?}");
            assert_ne!(
                after.to_rgb8(),
                before.to_rgb8(),
                "{effect:?} changed nothing"
            );
        }
    }

    #[test]
    fn level_effects_at_their_neutral_value_change_nothing() {
        let before = sample();
        for effect in [
            Effect::Brightness(0),
            Effect::Contrast(0),
            Effect::Saturation(0),
            Effect::Gamma(0),
            Effect::Vibrance(0),
            Effect::Colorize(0),
        ] {
            let after = apply(before.clone(), effect, None).expect("applies");
            assert_eq!(after.to_rgb8(), before.to_rgb8(), "{effect:?}");
        }
    }

    #[test]
    fn trim_keeps_what_differs_from_the_corner_or_the_colour() {
        let mut canvas = image::RgbImage::from_pixel(50, 40, image::Rgb([250, 250, 250]));
        for y in 10..20 {
            for x in 5..30 {
                canvas.put_pixel(x, y, image::Rgb([20, 30, 40]));
            }
        }
        let image = DynamicImage::ImageRgb8(canvas);
        let cut = apply(image.clone(), Effect::Trim(10, None), None).expect("trims");
        assert_eq!(cut.dimensions(), (25, 10));
        let against_black = apply(
            image.clone(),
            Effect::Trim(10, Some(Rgba([0, 0, 0, 255]))),
            None,
        )
        .expect("trims");
        assert_eq!(
            against_black.dimensions(),
            (50, 40),
            "nothing is near black"
        );
        let everything = apply(image, Effect::Trim(100, None), None).expect("trims");
        assert_eq!(
            everything.dimensions(),
            (50, 40),
            "all background: unchanged"
        );
    }

    #[test]
    fn alpha_survives_every_effect() {
        let mut rgba = sample().to_rgba8();
        rgba.get_pixel_mut(3, 3).0[3] = 7;
        let before = DynamicImage::ImageRgba8(rgba);
        for effect in [
            Effect::Negate,
            Effect::Pixelate(Some(1)),
            Effect::Sharpen(100),
        ] {
            let after = apply(before.clone(), effect, None).expect("applies");
            assert_eq!(after.to_rgba8().get_pixel(3, 3).0[3], 7, "{effect:?}");
        }
    }
}
