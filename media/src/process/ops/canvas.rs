//! Canvases: padding an image onto a colour, and the colours `b_auto`
//! takes from the image itself.

use image::{DynamicImage, GenericImageView};

use crate::process::transformation::{AutoBackground, Background, Rgba};

/// Pixels looked at to pick an automatic background.
const COLOUR_SAMPLES: u64 = 1 << 16;

/// The colour `background` stands for on `image`.
pub fn resolve(background: Background, image: &DynamicImage) -> Rgba {
    match background {
        Background::Colour(colour) => colour,
        Background::Auto(AutoBackground::Border) => border(image),
        Background::Auto(AutoBackground::Predominant) => predominant(image),
        Background::Auto(AutoBackground::BorderContrast) => contrast(border(image)),
        Background::Auto(AutoBackground::PredominantContrast) => contrast(predominant(image)),
    }
}

/// The average colour of the outermost rows and columns.
fn border(image: &DynamicImage) -> Rgba {
    let (w, h) = image.dimensions();
    let mut sum = [0u64; 3];
    let mut count = 0u64;
    let mut add = |x: u32, y: u32| {
        let [r, g, b, _] = image.get_pixel(x, y).0;
        sum[0] += u64::from(r);
        sum[1] += u64::from(g);
        sum[2] += u64::from(b);
        count += 1;
    };
    let step_x = (w / 512).max(1) as usize;
    let step_y = (h / 512).max(1) as usize;
    for x in (0..w).step_by(step_x) {
        add(x, 0);
        add(x, h - 1);
    }
    for y in (0..h).step_by(step_y) {
        add(0, y);
        add(w - 1, y);
    }
    let avg = |v: u64| (v / count.max(1)) as u8;
    Rgba([avg(sum[0]), avg(sum[1]), avg(sum[2]), 255])
}

/// The centre of the most populated of 4096 colour bins (4 bits a
/// channel), on a sampled grid.
fn predominant(image: &DynamicImage) -> Rgba {
    let (w, h) = image.dimensions();
    let stride = ((u64::from(w) * u64::from(h) / COLOUR_SAMPLES) as f64)
        .sqrt()
        .ceil()
        .max(1.0) as usize;
    let mut bins = vec![0u32; 4096];
    for y in (0..h).step_by(stride) {
        for x in (0..w).step_by(stride) {
            let [r, g, b, _] = image.get_pixel(x, y).0;
            let bin = (usize::from(r >> 4) << 8) | (usize::from(g >> 4) << 4) | usize::from(b >> 4);
            bins[bin] += 1;
        }
    }
    let (bin, _) = bins
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .unwrap_or((0, &0));
    let centre = |nibble: usize| ((nibble as u8) << 4) | 8;
    Rgba([
        centre(bin >> 8),
        centre((bin >> 4) & 15),
        centre(bin & 15),
        255,
    ])
}

fn contrast(Rgba([r, g, b, a]): Rgba) -> Rgba {
    Rgba([255 - r, 255 - g, 255 - b, a])
}

/// `image` placed at `x`,`y` on a `width` x `height` canvas of `colour`.
pub fn padded(
    image: &DynamicImage,
    width: u32,
    height: u32,
    (x, y): (u32, u32),
    colour: Rgba,
) -> DynamicImage {
    let keeps_alpha = image.color().has_alpha() || colour.0[3] < 255;
    let mut canvas = if keeps_alpha {
        DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            width,
            height,
            image::Rgba(colour.0),
        ))
    } else {
        let [r, g, b, _] = colour.0;
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            width,
            height,
            image::Rgb([r, g, b]),
        ))
    };
    let top = if keeps_alpha {
        DynamicImage::ImageRgba8(image.to_rgba8())
    } else {
        image.clone()
    };
    image::imageops::overlay(&mut canvas, &top, i64::from(x), i64::from(y));
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_backgrounds_come_from_the_image() {
        // A red frame around a mostly blue image.
        let mut img = image::RgbImage::from_pixel(100, 100, image::Rgb([0, 0, 255]));
        for i in 0..100 {
            for (x, y) in [(i, 0), (i, 99), (0, i), (99, i)] {
                img.put_pixel(x, y, image::Rgb([255, 0, 0]));
            }
        }
        let image = DynamicImage::ImageRgb8(img);
        let border = resolve(Background::Auto(AutoBackground::Border), &image);
        assert_eq!(border, Rgba([255, 0, 0, 255]));
        let main = resolve(Background::Auto(AutoBackground::Predominant), &image);
        assert_eq!(main, Rgba([8, 8, 248, 255]));
        let opposite = resolve(Background::Auto(AutoBackground::BorderContrast), &image);
        assert_eq!(opposite, Rgba([0, 255, 255, 255]));
    }
}
