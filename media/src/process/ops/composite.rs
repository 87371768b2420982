//! Laying a rendered layer on the image: over it (`l_`) with a blend
//! mode, or under it (`u_`), once or tiled, on a canvas the geometry has
//! already sized. Straight (not premultiplied) alpha, as the encoders
//! take it.

use image::{DynamicImage, GenericImageView, RgbaImage};

use crate::process::geometry::Composite;
use crate::process::transformation::Blend;

/// One channel of the layer's colour blended with the image's, before
/// the layer's alpha weighs it.
fn blended(mode: Option<Blend>, layer: u8, image: u8) -> u8 {
    let (l, b) = (u32::from(layer), u32::from(image));
    let value = match mode {
        None | Some(Blend::Mask | Blend::CutOut) => l,
        Some(Blend::Multiply) => l * b / 255,
        Some(Blend::Screen) => 255 - (255 - l) * (255 - b) / 255,
        Some(Blend::Overlay) if b < 128 => 2 * l * b / 255,
        Some(Blend::Overlay) => 255 - (2 * (255 - l) * (255 - b) / 255).min(255),
    };
    value as u8
}

/// `top` over `bottom`, `top`'s colour already blended.
fn over(top: [u8; 4], bottom: [u8; 4]) -> [u8; 4] {
    let ta = f32::from(top[3]) / 255.0;
    let ba = f32::from(bottom[3]) / 255.0;
    let out = ta + ba * (1.0 - ta);
    if out <= 0.0 {
        return [0; 4];
    }
    let mut pixel = [0u8; 4];
    for c in 0..3 {
        let value = (f32::from(top[c]) * ta + f32::from(bottom[c]) * ba * (1.0 - ta)) / out;
        pixel[c] = value.round().clamp(0.0, 255.0) as u8;
    }
    pixel[3] = (out * 255.0).round() as u8;
    pixel
}

/// The layer's pixel over canvas position (`x`, `y`), if any.
fn layer_pixel(layer: &RgbaImage, plan: &Composite, x: u32, y: u32) -> Option<[u8; 4]> {
    let (w, h) = layer.dimensions();
    let mut lx = i64::from(x) - plan.layer_at.0;
    let mut ly = i64::from(y) - plan.layer_at.1;
    if plan.tiled {
        lx = lx.rem_euclid(i64::from(w));
        ly = ly.rem_euclid(i64::from(h));
    }
    let lx = u32::try_from(lx).ok().filter(|v| *v < w)?;
    let ly = u32::try_from(ly).ok().filter(|v| *v < h)?;
    Some(layer.get_pixel(lx, ly).0)
}

/// The rows and columns the layer can touch: all of them when tiled or
/// masking (a mask hides what it does not cover), else its rectangle.
fn reach(plan: &Composite, canvas: (u32, u32)) -> (std::ops::Range<u32>, std::ops::Range<u32>) {
    if plan.tiled || matches!(plan.blend, Some(Blend::Mask)) {
        return (0..canvas.0, 0..canvas.1);
    }
    let span = |at: i64, size: u32, limit: u32| {
        let start = at.clamp(0, i64::from(limit));
        let end = (at + i64::from(size)).clamp(0, i64::from(limit));
        (start as u32)..(end as u32)
    };
    (
        span(plan.layer_at.0, plan.size.0, canvas.0),
        span(plan.layer_at.1, plan.size.1, canvas.1),
    )
}

/// Lays `layer` (already rendered to `plan.size`) on `image`.
pub fn lay(image: &DynamicImage, layer: &DynamicImage, plan: &Composite) -> DynamicImage {
    let (cw, ch) = plan.canvas;
    let grows = image.dimensions() != plan.canvas;
    let keeps_alpha = image.color().has_alpha()
        || grows
        || matches!(plan.blend, Some(Blend::Mask | Blend::CutOut));
    let base = image.to_rgba8();
    let layer = layer.to_rgba8();
    let mut canvas = RgbaImage::new(cw, ch);
    let (ix, iy) = plan.image_at;
    let (xs, ys) = reach(plan, plan.canvas);
    if plan.under {
        for y in ys.clone() {
            for x in xs.clone() {
                if let Some(pixel) = layer_pixel(&layer, plan, x, y) {
                    canvas.put_pixel(x, y, image::Rgba(pixel));
                }
            }
        }
        for (x, y, pixel) in base.enumerate_pixels() {
            let below = canvas.get_pixel(x + ix, y + iy).0;
            canvas.put_pixel(x + ix, y + iy, image::Rgba(over(pixel.0, below)));
        }
    } else {
        image::imageops::replace(&mut canvas, &base, i64::from(ix), i64::from(iy));
        for y in ys {
            for x in xs.clone() {
                let below = canvas.get_pixel(x, y).0;
                let pixel = match (layer_pixel(&layer, plan, x, y), plan.blend) {
                    (None, Some(Blend::Mask)) => [below[0], below[1], below[2], 0],
                    (None, _) => continue,
                    (Some(top), Some(Blend::Mask)) => {
                        let alpha = u16::from(below[3]) * u16::from(top[3]) / 255;
                        [below[0], below[1], below[2], alpha as u8]
                    }
                    (Some(top), Some(Blend::CutOut)) => {
                        let alpha = u16::from(below[3]) * (255 - u16::from(top[3])) / 255;
                        [below[0], below[1], below[2], alpha as u8]
                    }
                    (Some(top), mode) => {
                        let mut colour = top;
                        for c in 0..3 {
                            colour[c] = blended(mode, top[c], below[c]);
                        }
                        over(colour, below)
                    }
                };
                canvas.put_pixel(x, y, image::Rgba(pixel));
            }
        }
    }
    let laid = DynamicImage::ImageRgba8(canvas);
    if keeps_alpha {
        laid
    } else {
        DynamicImage::ImageRgb8(laid.to_rgb8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::transformation::{Drawing, LayerSource};

    fn plan(layer_at: (i64, i64), size: (u32, u32), canvas: (u32, u32)) -> Composite {
        Composite {
            drawing: Drawing::Media(LayerSource {
                public_id: "logo".into(),
            }),
            source_size: size,
            plans: Vec::new(),
            size,
            layer_at,
            image_at: (0, 0),
            canvas,
            under: false,
            tiled: false,
            blend: None,
        }
    }

    fn solid(w: u32, h: u32, pixel: [u8; 4]) -> DynamicImage {
        DynamicImage::ImageRgba8(RgbaImage::from_pixel(w, h, image::Rgba(pixel)))
    }

    #[test]
    fn a_half_transparent_layer_mixes_and_leaves_the_rest() {
        let image =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(4, 4, image::Rgb([0, 0, 200])));
        let layer = solid(2, 2, [255, 0, 0, 128]);
        let laid = lay(&image, &layer, &plan((2, 2), (2, 2), (4, 4)));
        assert!(!laid.color().has_alpha(), "an opaque image stays opaque");
        assert_eq!(laid.get_pixel(0, 0).0, [0, 0, 200, 255]);
        assert_eq!(laid.get_pixel(3, 3).0, [128, 0, 100, 255]);
    }

    #[test]
    fn blend_modes_follow_their_formulas_and_masks_hide() {
        let image = solid(2, 1, [100, 200, 50, 255]);
        let layer = solid(1, 1, [128, 128, 128, 255]);
        let mut p = plan((0, 0), (1, 1), (2, 1));
        p.blend = Some(Blend::Multiply);
        assert_eq!(
            lay(&image, &layer, &p).get_pixel(0, 0).0,
            [50, 100, 25, 255]
        );
        p.blend = Some(Blend::Screen);
        assert_eq!(
            lay(&image, &layer, &p).get_pixel(0, 0).0,
            [178, 228, 153, 255]
        );
        p.blend = Some(Blend::Mask);
        let masked = lay(&image, &layer, &p);
        assert_eq!(masked.get_pixel(0, 0).0[3], 255);
        assert_eq!(masked.get_pixel(1, 0).0[3], 0, "outside the mask is hidden");
        p.blend = Some(Blend::CutOut);
        let cut = lay(&image, &layer, &p);
        assert_eq!(cut.get_pixel(0, 0).0[3], 0);
        assert_eq!(cut.get_pixel(1, 0).0[3], 255);
    }

    #[test]
    fn tiles_cover_the_image_and_underlays_show_only_where_it_is_clear() {
        let image = solid(4, 4, [0, 0, 0, 0]);
        let layer = solid(1, 1, [9, 9, 9, 255]);
        let mut p = plan((1, 1), (1, 1), (4, 4));
        p.tiled = true;
        let tiled = lay(&image, &layer, &p);
        assert!(tiled.pixels().all(|(_, _, px)| px.0 == [9, 9, 9, 255]));
        p.tiled = false;
        p.under = true;
        let opaque = solid(4, 4, [1, 2, 3, 255]);
        assert!(lay(&opaque, &layer, &p)
            .pixels()
            .all(|(_, _, px)| px.0 == [1, 2, 3, 255]));
    }
}
