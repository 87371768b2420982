//! What a component does to the pixels it has sized: an effect (`e_`,
//! with `co_` for those that take a colour), round corners (`r_`), a
//! border (`bo_`) and opacity (`o_`). Ranges and defaults are the ones
//! Cloudinary documents (its SDKs' "Range: …, Server default: …").

use super::values::{colour, decimal};
use super::Rgba;

/// Widest border, in pixels.
pub const MAX_BORDER: u32 = 100;
/// Largest corner radius, in pixels (a radius past half the shorter side
/// is drawn at half of it, as `r_max`).
pub const MAX_RADIUS: u32 = 2000;

/// Everything in one component that is not geometry or delivery.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Look {
    pub effect: Option<Effect>,
    /// `co_`: the colour `e_colorize` blends towards.
    pub colour: Option<Rgba>,
    pub corners: Option<Corners>,
    pub border: Option<Border>,
    /// `o_`: 0 (invisible) to 100.
    pub opacity: Option<u8>,
}

impl Look {
    pub fn is_plain(&self) -> bool {
        *self == Self::default()
    }
}

/// `e_NAME[:VALUE]`, the value within Cloudinary's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// 1 to 2000.
    Blur(u16),
    /// The square's side in pixels, 1 to 200; `None` scales with the image.
    Pixelate(Option<u16>),
    Grayscale,
    /// 0 to 100: how dark a pixel must be to turn black (100: all but white).
    BlackWhite(u8),
    /// 1 to 100.
    Sepia(u8),
    Negate,
    /// 1 to 2000.
    Sharpen(u16),
    /// 1 to 2000.
    UnsharpMask(u16),
    /// -99 to 100.
    Brightness(i16),
    /// -100 to 100.
    Contrast(i16),
    /// -100 to 100.
    Saturation(i16),
    /// -50 to 150.
    Gamma(i16),
    /// -100 to 100.
    Vibrance(i16),
    /// 0 to 100, towards `co_` (black without it).
    Colorize(u8),
}

/// `r_`: one radius, two (top-left and bottom-right : top-right and
/// bottom-left), three, four (clockwise from top-left), or `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corners {
    /// Top-left, top-right, bottom-right, bottom-left.
    Radii([u32; 4]),
    /// An ellipse filling the image (a circle when it is square).
    Max,
}

/// `bo_WIDTHpx_solid_COLOUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Border {
    pub width: u32,
    pub colour: Rgba,
}

/// (name, (lowest, highest, default) or `None` for effects without a
/// value, how the value becomes the effect).
type Family = (&'static str, Option<(i32, i32, i32)>, fn(i32) -> Effect);

#[rustfmt::skip]
const FAMILIES: &[Family] = &[
    ("blur", Some((1, 2000, 100)), |v| Effect::Blur(v as u16)),
    ("grayscale", None, |_| Effect::Grayscale),
    ("blackwhite", Some((0, 100, 50)), |v| Effect::BlackWhite(v as u8)),
    ("sepia", Some((1, 100, 80)), |v| Effect::Sepia(v as u8)),
    ("negate", None, |_| Effect::Negate),
    ("sharpen", Some((1, 2000, 100)), |v| Effect::Sharpen(v as u16)),
    ("unsharp_mask", Some((1, 2000, 100)), |v| Effect::UnsharpMask(v as u16)),
    ("brightness", Some((-99, 100, 80)), |v| Effect::Brightness(v as i16)),
    ("contrast", Some((-100, 100, 0)), |v| Effect::Contrast(v as i16)),
    ("saturation", Some((-100, 100, 80)), |v| Effect::Saturation(v as i16)),
    ("gamma", Some((-50, 150, 0)), |v| Effect::Gamma(v as i16)),
    ("vibrance", Some((-100, 100, 20)), |v| Effect::Vibrance(v as i16)),
    ("colorize", Some((0, 100, 100)), |v| Effect::Colorize(v as u8)),
];

pub(super) const EFFECTS: &str = "blur[:1-2000], pixelate[:1-200], grayscale, blackwhite[:0-100], sepia[:1-100], negate, sharpen[:1-2000], unsharp_mask[:1-2000], brightness[:-99-100], contrast[:-100-100], saturation[:-100-100], gamma[:-50-150], vibrance[:-100-100], colorize[:0-100]";

/// Parses an `e_` value.
pub(super) fn effect(raw: &str) -> Result<Effect, String> {
    let (name, value) = match raw.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (raw, None),
    };
    if name == "pixelate" {
        return match value {
            None => Ok(Effect::Pixelate(None)),
            Some(v) => whole(v)
                .filter(|n| (1..=200).contains(n))
                .map(|n| Effect::Pixelate(Some(n as u16)))
                .ok_or_else(|| format!("pixelate takes a square size from 1 to 200, not {v:?}")),
        };
    }
    let (_, range, make) = FAMILIES
        .iter()
        .find(|(family, _, _)| *family == name)
        .ok_or_else(|| format!("{name:?} is not an effect this service renders: {EFFECTS}"))?;
    match (*range, value) {
        (None, None) => Ok(make(0)),
        (None, Some(_)) => Err(format!("{name} takes no value")),
        (Some((_, _, default)), None) => Ok(make(default)),
        (Some((low, high, _)), Some(v)) => whole(v)
            .filter(|n| (low..=high).contains(n))
            .map(make)
            .ok_or_else(|| format!("{name} takes a whole number from {low} to {high}, not {v:?}")),
    }
}

/// A whole number, either sign (`e_brightness:-40`); `10.0` counts.
fn whole(raw: &str) -> Option<i32> {
    let (sign, digits) = match raw.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, raw),
    };
    let number = decimal(digits)?;
    (number.fract() == 0.0 && number <= 10_000.0).then_some(sign * number as i32)
}

/// Parses an `r_` value.
pub(super) fn corners(raw: &str) -> Result<Corners, String> {
    if raw == "max" {
        return Ok(Corners::Max);
    }
    let radii = raw
        .split(':')
        .map(|r| {
            whole(r)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= MAX_RADIUS)
                .ok_or_else(|| format!("a radius is a whole number of pixels from 0 to {MAX_RADIUS}, or max; not {r:?}"))
        })
        .collect::<Result<Vec<u32>, String>>()?;
    // CSS's shorthand, as Cloudinary documents it.
    Ok(Corners::Radii(match radii[..] {
        [all] => [all; 4],
        [a, b] => [a, b, a, b],
        [a, b, c] => [a, b, c, b],
        [a, b, c, d] => [a, b, c, d],
        _ => return Err("one to four radii".into()),
    }))
}

/// Parses a `bo_` value: `WIDTHpx_solid_COLOUR`.
pub(super) fn border(raw: &str) -> Result<Border, String> {
    let shape = || format!("a border is WIDTHpx_solid_COLOUR, like 4px_solid_black, not {raw:?}");
    let mut parts = raw.splitn(3, '_');
    let (Some(width), Some(style), Some(paint)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(shape());
    };
    let width = width
        .strip_suffix("px")
        .and_then(whole)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=MAX_BORDER).contains(n))
        .ok_or_else(|| format!("a border is 1 to {MAX_BORDER}px wide, not {width:?}"))?;
    if style != "solid" {
        return Err(format!("solid is the only border style, not {style:?}"));
    }
    let colour = colour(paint).ok_or_else(shape)?;
    Ok(Border { width, colour })
}

/// Parses an `o_` value.
pub(super) fn opacity(raw: &str) -> Result<u8, String> {
    whole(raw)
        .filter(|n| (0..=100).contains(n))
        .map(|n| n as u8)
        .ok_or_else(|| format!("opacity is a whole number from 0 to 100, not {raw:?}"))
}

/// The `e_` value in the one spelling (every default written out).
pub(super) fn print_effect(effect: Effect) -> String {
    let (name, value) = match effect {
        Effect::Blur(v) | Effect::Sharpen(v) | Effect::UnsharpMask(v) => {
            let name = match effect {
                Effect::Blur(_) => "blur",
                Effect::Sharpen(_) => "sharpen",
                _ => "unsharp_mask",
            };
            (name, Some(i32::from(v)))
        }
        Effect::Pixelate(size) => ("pixelate", size.map(i32::from)),
        Effect::Grayscale => ("grayscale", None),
        Effect::Negate => ("negate", None),
        Effect::BlackWhite(v) => ("blackwhite", Some(i32::from(v))),
        Effect::Sepia(v) => ("sepia", Some(i32::from(v))),
        Effect::Colorize(v) => ("colorize", Some(i32::from(v))),
        Effect::Brightness(v) => ("brightness", Some(i32::from(v))),
        Effect::Contrast(v) => ("contrast", Some(i32::from(v))),
        Effect::Saturation(v) => ("saturation", Some(i32::from(v))),
        Effect::Gamma(v) => ("gamma", Some(i32::from(v))),
        Effect::Vibrance(v) => ("vibrance", Some(i32::from(v))),
    };
    match value {
        Some(v) => format!("{name}:{v}"),
        None => name.to_owned(),
    }
}

pub(super) fn print_corners(corners: Corners) -> String {
    match corners {
        Corners::Max => "max".into(),
        Corners::Radii([a, b, c, d]) if a == b && b == c && c == d => a.to_string(),
        Corners::Radii([a, b, c, d]) => format!("{a}:{b}:{c}:{d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_take_cloudinarys_defaults_and_ranges() {
        assert_eq!(effect("blur"), Ok(Effect::Blur(100)));
        assert_eq!(effect("blur:2000"), Ok(Effect::Blur(2000)));
        assert_eq!(effect("sepia"), Ok(Effect::Sepia(80)));
        assert_eq!(effect("brightness:-99"), Ok(Effect::Brightness(-99)));
        assert_eq!(effect("pixelate"), Ok(Effect::Pixelate(None)));
        assert_eq!(effect("pixelate:20"), Ok(Effect::Pixelate(Some(20))));
        for (raw, reason) in [
            ("blur:2001", "1 to 2000"),
            ("blur:0", "1 to 2000"),
            ("blur:1.5", "1 to 2000"),
            ("brightness:-100", "-99 to 100"),
            ("pixelate:201", "1 to 200"),
            ("grayscale:10", "no value"),
            ("oil_paint", "not an effect"),
        ] {
            let refused = effect(raw).expect_err(raw);
            assert!(refused.contains(reason), "{raw}: {refused}");
        }
        for printed in [
            "blur:100",
            "pixelate",
            "grayscale",
            "gamma:-50",
            "colorize:100",
        ] {
            assert_eq!(print_effect(effect(printed).expect(printed)), printed);
        }
    }

    #[test]
    fn corners_read_like_css_and_borders_like_cloudinary() {
        assert_eq!(corners("20"), Ok(Corners::Radii([20; 4])));
        assert_eq!(corners("10:20"), Ok(Corners::Radii([10, 20, 10, 20])));
        assert_eq!(corners("10:20:30"), Ok(Corners::Radii([10, 20, 30, 20])));
        assert_eq!(corners("1:2:3:4"), Ok(Corners::Radii([1, 2, 3, 4])));
        assert_eq!(corners("max"), Ok(Corners::Max));
        assert!(corners("1:2:3:4:5").is_err());
        assert!(corners("2001").is_err());
        assert!(corners("-1").is_err());
        assert_eq!(
            border("5px_solid_black"),
            Ok(Border {
                width: 5,
                colour: Rgba([0, 0, 0, 255])
            })
        );
        assert_eq!(
            border("2px_solid_rgb:ff000080"),
            Ok(Border {
                width: 2,
                colour: Rgba([255, 0, 0, 128])
            })
        );
        assert!(border("5px_dotted_black").unwrap_err().contains("solid"));
        assert!(border("500px_solid_black")
            .unwrap_err()
            .contains("1 to 100px"));
        assert!(border("5_solid_black").is_err());
        assert_eq!(opacity("50"), Ok(50));
        assert!(opacity("101").is_err());
    }
}
