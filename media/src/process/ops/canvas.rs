//! Canvases: padding an image onto a colour or a fade, and the colours
//! `b_auto` takes from the image itself.

use image::{DynamicImage, GenericImageView};

use crate::process::transformation::{
    AutoBackground, Background, Gradient, GradientDirection, Rgba,
};

/// Pixels looked at to pick an automatic background.
const COLOUR_SAMPLES: u64 = 1 << 16;
/// Border pixels looked at along each side.
const BORDER_SAMPLES: u32 = 512;
/// What stands in when an image offers no pixel to count.
const NO_COLOUR: Rgba = Rgba([8, 8, 8, 255]);

/// What a canvas is painted with.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    Solid(Rgba),
    /// Colours evenly spaced along the direction, blended linearly between.
    Fade(Vec<Rgba>, GradientDirection),
}

impl Fill {
    /// The one colour a fill stands for where no fade is drawn (the
    /// corners a turn opens): its first.
    pub fn first(&self) -> Rgba {
        match self {
            Fill::Solid(colour) => *colour,
            Fill::Fade(colours, _) => colours.first().copied().unwrap_or_default(),
        }
    }

    fn is_opaque(&self) -> bool {
        match self {
            Fill::Solid(colour) => colour.0[3] == 255,
            Fill::Fade(colours, _) => colours.iter().all(|c| c.0[3] == 255),
        }
    }
}

/// What `background` stands for on `image`.
pub fn resolve(background: Background, image: &DynamicImage) -> Fill {
    Fill::Solid(match background {
        Background::Colour(colour) => colour,
        Background::Auto(AutoBackground::Border) => border(image),
        Background::Auto(AutoBackground::Predominant) => predominant(image),
        Background::Auto(AutoBackground::BorderContrast) => contrast(border(image)),
        Background::Auto(AutoBackground::PredominantContrast) => contrast(predominant(image)),
        Background::Gradient(gradient) => return fade(gradient, image),
    })
}

/// The gradient's colours: the most populated colour bins of the border
/// (or of the whole image), most populated first, each turned to its
/// opposite for `_contrast` and then to the nearest palette colour.
fn fade(gradient: Gradient, image: &DynamicImage) -> Fill {
    let count = usize::from(gradient.stops);
    let mut colours = if gradient.border_only {
        ranked(border_pixels(image), count)
    } else {
        ranked(grid_pixels(image), count)
    };
    for colour in &mut colours {
        if gradient.contrast {
            *colour = contrast(*colour);
        }
        if let Some(nearest) = nearest(gradient.palette.colours(), *colour) {
            *colour = nearest;
        }
    }
    Fill::Fade(colours, gradient.direction)
}

fn nearest(palette: &[Rgba], Rgba(target): Rgba) -> Option<Rgba> {
    palette.iter().copied().min_by_key(|Rgba(c)| {
        (0..3)
            .map(|i| (i32::from(c[i]) - i32::from(target[i])).pow(2))
            .sum::<i32>()
    })
}

/// A sample of the outermost rows and columns, at most
/// [`BORDER_SAMPLES`] a side.
fn border_pixels(image: &DynamicImage) -> impl Iterator<Item = [u8; 4]> + '_ {
    let (w, h) = image.dimensions();
    let step_x = (w / BORDER_SAMPLES).max(1) as usize;
    let step_y = (h / BORDER_SAMPLES).max(1) as usize;
    let rows = (0..w)
        .step_by(step_x)
        .flat_map(move |x| [(x, 0), (x, h.saturating_sub(1))]);
    let columns = (0..h)
        .step_by(step_y)
        .flat_map(move |y| [(0, y), (w.saturating_sub(1), y)]);
    rows.chain(columns).map(|(x, y)| image.get_pixel(x, y).0)
}

/// A grid of at most about [`COLOUR_SAMPLES`] pixels over the image.
fn grid_pixels(image: &DynamicImage) -> impl Iterator<Item = [u8; 4]> + '_ {
    let (w, h) = image.dimensions();
    let stride = ((u64::from(w) * u64::from(h) / COLOUR_SAMPLES) as f64)
        .sqrt()
        .ceil()
        .max(1.0) as usize;
    (0..h)
        .step_by(stride)
        .flat_map(move |y| (0..w).step_by(stride).map(move |x| (x, y)))
        .map(|(x, y)| image.get_pixel(x, y).0)
}

/// The average colour of the outermost rows and columns.
fn border(image: &DynamicImage) -> Rgba {
    let mut sum = [0u64; 3];
    let mut count = 0u64;
    for [r, g, b, _] in border_pixels(image) {
        sum[0] += u64::from(r);
        sum[1] += u64::from(g);
        sum[2] += u64::from(b);
        count += 1;
    }
    let avg = |v: u64| (v / count.max(1)) as u8;
    Rgba([avg(sum[0]), avg(sum[1]), avg(sum[2]), 255])
}

/// The centre of the most populated colour bin, on a sampled grid.
fn predominant(image: &DynamicImage) -> Rgba {
    ranked(grid_pixels(image), 1)
        .first()
        .copied()
        .unwrap_or(NO_COLOUR)
}

/// The centres of the `count` most populated of 4096 colour bins (4 bits
/// a channel), most populated first, ties to the lower bin; the last
/// repeated when the pixels fill fewer bins.
fn ranked(pixels: impl Iterator<Item = [u8; 4]>, count: usize) -> Vec<Rgba> {
    let mut bins = vec![0u32; 4096];
    for [r, g, b, _] in pixels {
        let bin = (usize::from(r >> 4) << 8) | (usize::from(g >> 4) << 4) | usize::from(b >> 4);
        bins[bin] += 1;
    }
    let mut order: Vec<usize> = (0..bins.len()).filter(|&bin| bins[bin] > 0).collect();
    order.sort_by_key(|&bin| (std::cmp::Reverse(bins[bin]), bin));
    let centre = |nibble: usize| ((nibble as u8) << 4) | 8;
    let mut colours: Vec<Rgba> = order
        .into_iter()
        .take(count)
        .map(|bin| {
            Rgba([
                centre(bin >> 8),
                centre((bin >> 4) & 15),
                centre(bin & 15),
                255,
            ])
        })
        .collect();
    while colours.len() < count {
        colours.push(colours.last().copied().unwrap_or(NO_COLOUR));
    }
    colours
}

fn contrast(Rgba([r, g, b, a]): Rgba) -> Rgba {
    Rgba([255 - r, 255 - g, 255 - b, a])
}

/// `image` placed at `x`,`y` on a `width` x `height` canvas painted
/// with `fill`.
pub fn padded(
    image: &DynamicImage,
    width: u32,
    height: u32,
    (x, y): (u32, u32),
    fill: &Fill,
) -> DynamicImage {
    let opaque = !image.color().has_alpha() && fill.is_opaque();
    let mut canvas = match fill {
        Fill::Solid(Rgba([r, g, b, _])) if opaque => DynamicImage::ImageRgb8(
            image::RgbImage::from_pixel(width, height, image::Rgb([*r, *g, *b])),
        ),
        Fill::Solid(colour) => DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            width,
            height,
            image::Rgba(colour.0),
        )),
        Fill::Fade(colours, direction) => {
            let mut painted = image::RgbaImage::new(width, height);
            paint_fade(&mut painted, colours, *direction);
            let painted = DynamicImage::ImageRgba8(painted);
            if opaque {
                DynamicImage::ImageRgb8(painted.to_rgb8())
            } else {
                painted
            }
        }
    };
    let top = if opaque {
        image.clone()
    } else {
        DynamicImage::ImageRgba8(image.to_rgba8())
    };
    image::imageops::overlay(&mut canvas, &top, i64::from(x), i64::from(y));
    canvas
}

/// A linear fade through `colours`, evenly spaced from one side (or
/// corner) of the canvas to the other. Written out because neither
/// `image` nor `imageproc` draws more than two stops or a diagonal; the
/// formula is the one `scripts/pixel_reference.py` states independently.
fn paint_fade(canvas: &mut image::RgbaImage, colours: &[Rgba], direction: GradientDirection) {
    if colours.len() < 2 {
        let only = colours.first().copied().unwrap_or_default();
        canvas.pixels_mut().for_each(|p| *p = image::Rgba(only.0));
        return;
    }
    let (w, h) = canvas.dimensions();
    let share = |v: u32, size: u32| {
        if size > 1 {
            f64::from(v) / f64::from(size - 1)
        } else {
            0.0
        }
    };
    let spans = (colours.len() - 1) as f64;
    for (x, y, pixel) in canvas.enumerate_pixels_mut() {
        let (across, down) = (share(x, w), share(y, h));
        let t = match direction {
            GradientDirection::Horizontal => across,
            GradientDirection::Vertical => down,
            GradientDirection::DiagonalDesc => (across + down) / 2.0,
            GradientDirection::DiagonalAsc => (across + 1.0 - down) / 2.0,
        };
        let at = t * spans;
        let index = (at.floor() as usize).min(colours.len() - 2);
        let part = at - index as f64;
        let (Rgba(from), Rgba(to)) = (colours[index], colours[index + 1]);
        for channel in 0..4 {
            let (a, b) = (f64::from(from[channel]), f64::from(to[channel]));
            pixel.0[channel] = (a + (b - a) * part).round() as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A red frame around a mostly blue image with a green block.
    fn framed() -> DynamicImage {
        let mut img = image::RgbImage::from_pixel(100, 100, image::Rgb([0, 0, 255]));
        for y in 60..90 {
            for x in 60..90 {
                img.put_pixel(x, y, image::Rgb([0, 255, 0]));
            }
        }
        for i in 0..100 {
            for (x, y) in [(i, 0), (i, 99), (0, i), (99, i)] {
                img.put_pixel(x, y, image::Rgb([255, 0, 0]));
            }
        }
        DynamicImage::ImageRgb8(img)
    }

    fn solid(fill: Fill) -> Rgba {
        match fill {
            Fill::Solid(colour) => colour,
            other => panic!("expected one colour, got {other:?}"),
        }
    }

    #[test]
    fn automatic_backgrounds_come_from_the_image() {
        let image = framed();
        let border = solid(resolve(Background::Auto(AutoBackground::Border), &image));
        assert_eq!(border, Rgba([255, 0, 0, 255]));
        let main = solid(resolve(
            Background::Auto(AutoBackground::Predominant),
            &image,
        ));
        assert_eq!(main, Rgba([8, 8, 248, 255]));
        let opposite = solid(resolve(
            Background::Auto(AutoBackground::BorderContrast),
            &image,
        ));
        assert_eq!(opposite, Rgba([0, 255, 255, 255]));
    }

    fn gradient(palette: &[Rgba], border_only: bool, contrast: bool) -> Background {
        let palette = palette
            .iter()
            .map(|Rgba([r, g, b, _])| format!("rgb:{r:02x}{g:02x}{b:02x}"))
            .collect::<Vec<_>>()
            .join("_");
        let source = if border_only { "border" } else { "predominant" };
        let contrast = if contrast { "_contrast" } else { "" };
        let mut raw = format!("c_pad,b_auto:{source}_gradient{contrast}:4:vertical");
        if !palette.is_empty() {
            raw.push_str(":palette_");
            raw.push_str(&palette);
        }
        crate::process::transformation::Transformation::parse([raw.as_str()])
            .ok()
            .and_then(|t| t.steps.first().and_then(|s| s.background))
            .unwrap_or_else(|| panic!("{raw} parses"))
    }

    #[test]
    fn gradients_take_the_most_common_colours_in_order() {
        let image = framed();
        let (blue, green, red) = (
            Rgba([8, 8, 248, 255]),
            Rgba([8, 248, 8, 255]),
            Rgba([248, 8, 8, 255]),
        );
        let vertical = GradientDirection::Vertical;
        let everywhere = resolve(gradient(&[], false, false), &image);
        assert_eq!(
            everywhere,
            Fill::Fade(vec![blue, green, red, red], vertical)
        );
        // The border is all red: one colour, repeated.
        let edges = resolve(gradient(&[], true, false), &image);
        assert_eq!(edges, Fill::Fade(vec![red; 4], vertical));
        let opposite = resolve(gradient(&[], true, true), &image);
        assert_eq!(
            opposite,
            Fill::Fade(vec![Rgba([7, 247, 247, 255]); 4], vertical)
        );
        let (black, white) = (Rgba([0, 0, 0, 255]), Rgba([255, 255, 255, 255]));
        let pure_red = Rgba([255, 0, 0, 255]);
        let snapped = resolve(gradient(&[black, white, pure_red], false, false), &image);
        assert_eq!(
            snapped,
            Fill::Fade(vec![black, black, pure_red, pure_red], vertical)
        );
        let opposite_snapped = resolve(gradient(&[black, white], false, true), &image);
        assert_eq!(opposite_snapped, Fill::Fade(vec![white; 4], vertical));
    }

    #[test]
    fn a_fade_runs_from_its_first_colour_to_its_last_along_its_direction() {
        let (red, blue) = (Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 255]));
        let image = DynamicImage::ImageRgb8(image::RgbImage::new(1, 1));
        for (direction, start, end, middle) in [
            (GradientDirection::Horizontal, (0, 50), (100, 50), (50, 0)),
            (GradientDirection::Vertical, (50, 0), (50, 60), (0, 30)),
            (GradientDirection::DiagonalDesc, (0, 0), (100, 60), (100, 0)),
            (GradientDirection::DiagonalAsc, (0, 60), (100, 0), (0, 0)),
        ] {
            let fill = Fill::Fade(vec![red, blue], direction);
            let canvas = padded(&image, 101, 61, (50, 30), &fill).to_rgb8();
            let at = |(x, y): (u32, u32)| canvas.get_pixel(x, y).0;
            assert_eq!(at(start), [255, 0, 0], "{direction:?}");
            assert_eq!(at(end), [0, 0, 255], "{direction:?}");
            // Halfway along the direction, halfway between the colours.
            assert_eq!(at(middle), [128, 0, 128], "{direction:?}");
        }
    }
}
