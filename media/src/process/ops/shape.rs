//! Round corners (`r_`), a border that follows them (`bo_`) and opacity
//! (`o_`). Edges are anti-aliased by the pixel's distance to the curve
//! (for an ellipse, its first-order estimate), which costs one
//! evaluation per pixel and needs no rasteriser.

use image::{DynamicImage, GenericImageView, RgbaImage};

use crate::process::transformation::{Border, Corners, Rgba};

/// The curve: per corner a circle's radius, or one ellipse.
#[derive(Debug, Clone, Copy)]
enum Outline {
    /// Top-left, top-right, bottom-right, bottom-left, each at most half
    /// the shorter side.
    Radii([f32; 4]),
    Ellipse,
}

impl Outline {
    fn new(corners: Corners, (w, h): (u32, u32)) -> Self {
        match corners {
            Corners::Max => Outline::Ellipse,
            Corners::Radii(radii) => {
                let most = w.min(h) as f32 / 2.0;
                Outline::Radii(radii.map(|r| (r as f32).min(most)))
            }
        }
    }

    /// Widened by `by` pixels on every side (a border around the curve).
    fn grown(self, by: u32) -> Self {
        match self {
            Outline::Radii(radii) => {
                Outline::Radii(radii.map(|r| if r > 0.0 { r + by as f32 } else { 0.0 }))
            }
            Outline::Ellipse => Outline::Ellipse,
        }
    }

    /// How much of the pixel at `x`,`y` of a `w` x `h` shape is inside.
    fn coverage(self, x: u32, y: u32, (w, h): (u32, u32)) -> f32 {
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        let (w, h) = (w as f32, h as f32);
        match self {
            Outline::Ellipse => {
                let (rx, ry) = (w / 2.0, h / 2.0);
                let (dx, dy) = (px - rx, py - ry);
                let f = (dx / rx).powi(2) + (dy / ry).powi(2) - 1.0;
                let gradient = 2.0 * ((dx / (rx * rx)).powi(2) + (dy / (ry * ry)).powi(2)).sqrt();
                if gradient == 0.0 {
                    return 1.0;
                }
                (0.5 - f / gradient).clamp(0.0, 1.0)
            }
            Outline::Radii([tl, tr, br, bl]) => {
                let (left, top) = (px < w / 2.0, py < h / 2.0);
                let r = match (left, top) {
                    (true, true) => tl,
                    (false, true) => tr,
                    (false, false) => br,
                    (true, false) => bl,
                };
                let cx = if left { r } else { w - r };
                let cy = if top { r } else { h - r };
                let beyond_x = if left { px < cx } else { px > cx };
                let beyond_y = if top { py < cy } else { py > cy };
                if r == 0.0 || !(beyond_x && beyond_y) {
                    return 1.0;
                }
                let distance = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
                (r - distance + 0.5).clamp(0.0, 1.0)
            }
        }
    }
}

fn with_alpha_scaled(mut rgba: RgbaImage, outline: Outline) -> RgbaImage {
    let size = rgba.dimensions();
    for (x, y, px) in rgba.enumerate_pixels_mut() {
        let cover = outline.coverage(x, y, size);
        if cover < 1.0 {
            px.0[3] = (f32::from(px.0[3]) * cover).round() as u8;
        }
    }
    rgba
}

/// `image` with its corners cut away: transparent, or `fill` when `b_`
/// names a colour.
pub fn round(image: DynamicImage, corners: Corners, fill: Option<Rgba>) -> DynamicImage {
    let outline = Outline::new(corners, image.dimensions());
    let cut = with_alpha_scaled(image.into_rgba8(), outline);
    match fill {
        Some(colour) => {
            let (w, h) = cut.dimensions();
            let mut canvas = RgbaImage::from_pixel(w, h, image::Rgba(colour.0));
            image::imageops::overlay(&mut canvas, &cut, 0, 0);
            let canvas = DynamicImage::ImageRgba8(canvas);
            if colour.0[3] == 255 {
                DynamicImage::ImageRgb8(canvas.to_rgb8())
            } else {
                canvas
            }
        }
        None => DynamicImage::ImageRgba8(cut),
    }
}

/// `image` inside a border `border.width` wide on every side, following
/// `corners` when there are any.
pub fn frame(image: DynamicImage, border: Border, corners: Option<Corners>) -> DynamicImage {
    let (w, h) = image.dimensions();
    let edge = border.width;
    let size = (w + 2 * edge, h + 2 * edge);
    let band = RgbaImage::from_pixel(size.0, size.1, image::Rgba(border.colour.0));
    let band = match corners {
        Some(corners) => with_alpha_scaled(band, Outline::new(corners, (w, h)).grown(edge)),
        None => band,
    };
    let opaque = !image.color().has_alpha() && border.colour.0[3] == 255 && corners.is_none();
    let mut canvas = DynamicImage::ImageRgba8(band);
    image::imageops::overlay(&mut canvas, &image, i64::from(edge), i64::from(edge));
    if opaque {
        DynamicImage::ImageRgb8(canvas.to_rgb8())
    } else {
        canvas
    }
}

/// `image` at `percent` of its opacity.
pub fn fade(image: DynamicImage, percent: u8) -> DynamicImage {
    if percent >= 100 {
        return image;
    }
    let mut rgba = image.into_rgba8();
    let share = f32::from(percent) / 100.0;
    for px in rgba.pixels_mut() {
        px.0[3] = (f32::from(px.0[3]) * share).round() as u8;
    }
    DynamicImage::ImageRgba8(rgba)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb([255, 0, 0])))
    }

    fn alpha(image: &DynamicImage, x: u32, y: u32) -> u8 {
        image.get_pixel(x, y).0[3]
    }

    #[test]
    fn max_cuts_a_circle_from_a_square() {
        let round = round(red(100, 100), Corners::Max, None);
        assert_eq!(alpha(&round, 0, 0), 0);
        assert_eq!(alpha(&round, 50, 50), 255);
        assert_eq!(alpha(&round, 50, 0), 255, "the top of the circle");
        // 45 degrees: inside at radius 48, outside at radius 52.
        let at = |r: f32| (50.0 - r / 2f32.sqrt()) as u32;
        assert_eq!(alpha(&round, at(47.0), at(47.0)), 255);
        assert_eq!(alpha(&round, at(53.0), at(53.0)), 0);
    }

    #[test]
    fn each_corner_takes_its_own_radius() {
        let round = round(red(100, 60), Corners::Radii([0, 10, 20, 30]), None);
        assert_eq!(alpha(&round, 0, 0), 255, "no radius top left");
        assert_eq!(alpha(&round, 99, 0), 0);
        assert_eq!(alpha(&round, 97, 8), 255, "past the top-right arc's reach");
        assert_eq!(
            alpha(&round, 96, 56),
            0,
            "inside the 20 bottom-right arc's cut"
        );
        assert_eq!(
            alpha(&round, 2, 50),
            0,
            "the 30 radius is cut to half the height"
        );
        let filled = super::round(red(100, 60), Corners::Max, Some(Rgba([0, 0, 255, 255])));
        assert_eq!(filled.get_pixel(0, 0).0, [0, 0, 255, 255]);
    }

    #[test]
    fn a_border_grows_the_image_and_follows_its_corners() {
        let framed = frame(
            red(40, 20),
            Border {
                width: 5,
                colour: Rgba([0, 0, 0, 255]),
            },
            None,
        );
        assert_eq!(framed.dimensions(), (50, 30));
        assert_eq!(framed.get_pixel(2, 2).0, [0, 0, 0, 255]);
        assert_eq!(framed.get_pixel(25, 15).0, [255, 0, 0, 255]);
        let black = Border {
            width: 5,
            colour: Rgba([0, 0, 0, 255]),
        };
        let rounded = frame(
            round(red(40, 40), Corners::Max, None),
            black,
            Some(Corners::Max),
        );
        assert_eq!(alpha(&rounded, 0, 0), 0, "the band is round too");
        assert_eq!(
            rounded.get_pixel(25, 1).0,
            [0, 0, 0, 255],
            "the band at the top"
        );
        let faded = fade(red(4, 4), 50);
        assert_eq!(alpha(&faded, 1, 1), 128);
    }
}
