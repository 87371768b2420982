//! Flips and turns. Quarter turns move pixels exactly (`image`); any
//! other angle resamples bilinearly onto the grown canvas (imageproc's
//! projective warp), the corners filled with the background.

use image::DynamicImage;
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};

use crate::process::transformation::Rgba;

/// A quarter turn, clockwise or not.
pub fn quarter(image: &DynamicImage, clockwise: bool) -> DynamicImage {
    if clockwise {
        image.rotate90()
    } else {
        image.rotate270()
    }
}

/// Flips, then `degrees` (0 to 359) clockwise onto a canvas of `output`.
pub fn turn(
    mut image: DynamicImage,
    hflip: bool,
    vflip: bool,
    degrees: i32,
    output: (u32, u32),
    fill: Rgba,
) -> DynamicImage {
    if hflip {
        image = image.fliph();
    }
    if vflip {
        image = image.flipv();
    }
    match degrees {
        0 => image,
        90 => image.rotate90(),
        180 => image.rotate180(),
        270 => image.rotate270(),
        other => any_angle(&image, other, output, fill),
    }
}

fn any_angle(image: &DynamicImage, degrees: i32, output: (u32, u32), fill: Rgba) -> DynamicImage {
    let source = image.to_rgba8();
    let centre = |(w, h): (u32, u32)| (w as f32 / 2.0, h as f32 / 2.0);
    let (in_x, in_y) = centre((source.width(), source.height()));
    let (out_x, out_y) = centre(output);
    let projection = Projection::translate(out_x, out_y)
        * Projection::rotate((degrees as f32).to_radians())
        * Projection::translate(-in_x, -in_y);
    let mut canvas = image::RgbaImage::new(output.0, output.1);
    warp_into(
        &source,
        &projection,
        Interpolation::Bilinear,
        image::Rgba(fill.0),
        &mut canvas,
    );
    let turned = DynamicImage::ImageRgba8(canvas);
    // An opaque image on an opaque fill stays without alpha, so JPEG and
    // the encoders' RGB paths see what they saw before.
    if !image.color().has_alpha() && fill.0[3] == 255 {
        DynamicImage::ImageRgb8(turned.to_rgb8())
    } else {
        turned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GenericImageView;

    /// Red on the left half, blue on the right.
    fn halves() -> DynamicImage {
        let mut img = image::RgbImage::from_pixel(40, 20, image::Rgb([255, 0, 0]));
        for y in 0..20 {
            for x in 20..40 {
                img.put_pixel(x, y, image::Rgb([0, 0, 255]));
            }
        }
        DynamicImage::ImageRgb8(img)
    }

    #[test]
    fn turns_are_clockwise_and_flips_come_first() {
        let white = Rgba([255, 255, 255, 255]);
        let right = turn(halves(), false, false, 90, (20, 40), white);
        assert_eq!(right.dimensions(), (20, 40));
        // Clockwise: the left (red) half ends on top.
        assert_eq!(right.get_pixel(10, 5).0[..3], [255, 0, 0]);
        let flipped = turn(halves(), true, false, 0, (40, 20), white);
        assert_eq!(flipped.get_pixel(5, 10).0[..3], [0, 0, 255]);
        // The warp agrees with the exact quarter turn away from the seam.
        let warped = any_angle(&halves(), 90, (20, 40), white);
        assert_eq!(warped.dimensions(), (20, 40));
        assert_eq!(warped.get_pixel(10, 5).0[..3], [255, 0, 0]);
        assert_eq!(warped.get_pixel(10, 35).0[..3], [0, 0, 255]);
    }

    #[test]
    fn an_angle_grows_the_canvas_and_fills_the_corners() {
        let fill = Rgba([0, 255, 0, 255]);
        let turned = turn(halves(), false, false, 45, (43, 43), fill);
        assert_eq!(turned.dimensions(), (43, 43));
        assert_eq!(turned.get_pixel(0, 0).0[..3], [0, 255, 0]);
        assert!(!turned.color().has_alpha());
        let clear = turn(halves(), false, false, 45, (43, 43), Rgba([0, 0, 0, 0]));
        assert_eq!(clear.get_pixel(0, 0).0[3], 0);
        assert_eq!(clear.get_pixel(21, 21).0[3], 255);
    }
}
