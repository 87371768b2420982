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
    /// Each 0 to 100: how much of the correction is blended in.
    AutoBrightness(u8),
    AutoContrast(u8),
    AutoColor(u8),
    /// `improve[:indoor|outdoor][:0-100]`: `true` outdoors.
    Improve(bool, u8),
    /// `tint[:0-100][:COLOUR…]`: up to [`MAX_TINTS`] colours from the
    /// darkest tones to the lightest.
    Tint(Tint),
    /// 0 to 100.
    Vignette(u8),
    /// A blur (1 to 2000) of the region `w_`, `h_`, `x_`, `y_` name.
    BlurRegion(u16, Region),
    /// Squares (1 to 200, or scaled) over the region.
    PixelateRegion(Option<u16>, Region),
    /// A blur (1 to 2000) over every face found.
    BlurFaces(u16),
    /// Squares (1 to 200, or scaled to each face) over every face.
    PixelateFaces(Option<u16>),
    /// Edges within `tolerance` (0 to 100) of a colour cut away: the
    /// colour given, else the top-left pixel's.
    Trim(u8, Option<Rgba>),
    /// A shadow of the image's shape, `co_` (grey without it), blurred
    /// by the strength (0 to 100) and moved by the component's `x_`, `y_`
    /// (the region's; its width and height stay unset).
    Shadow(u8, Region),
}

/// Most colours `e_tint` takes.
pub const MAX_TINTS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tint {
    pub amount: u8,
    pub colours: [Rgba; MAX_TINTS],
    /// How many of `colours` are given (at least one).
    pub count: u8,
}

impl Tint {
    pub fn colours(&self) -> &[Rgba] {
        &self.colours[..usize::from(self.count)]
    }
}

/// Where a region effect applies: `x_`/`y_` its top-left corner, `w_`/`h_`
/// its size, each in pixels or a fraction of the image; what is not given
/// reaches the image's edge.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Region {
    pub x: Option<super::Offset>,
    pub y: Option<super::Offset>,
    pub width: Option<super::Length>,
    pub height: Option<super::Length>,
}

impl Eq for Region {}

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
    ("auto_brightness", Some((0, 100, 100)), |v| Effect::AutoBrightness(v as u8)),
    ("auto_contrast", Some((0, 100, 100)), |v| Effect::AutoContrast(v as u8)),
    ("auto_color", Some((0, 100, 100)), |v| Effect::AutoColor(v as u8)),
    ("vignette", Some((0, 100, 20)), |v| Effect::Vignette(v as u8)),
    ("blur_region", Some((1, 2000, 100)), |v| Effect::BlurRegion(v as u16, Region::default())),
    ("blur_faces", Some((1, 2000, 500)), |v| Effect::BlurFaces(v as u16)),
    ("shadow", Some((0, 100, 40)), |v| Effect::Shadow(v as u8, Region::default())),
];

pub(super) const EFFECTS: &str = "blur[:1-2000], blur_region[:1-2000], pixelate[:1-200], pixelate_region[:1-200], blur_faces[:1-2000], pixelate_faces[:1-200], trim[:0-100][:COLOUR], grayscale, blackwhite[:0-100], sepia[:1-100], negate, sharpen[:1-2000], unsharp_mask[:1-2000], brightness[:-99-100], contrast[:-100-100], saturation[:-100-100], gamma[:-50-150], vibrance[:-100-100], colorize[:0-100], tint[:0-100][:COLOUR…], vignette[:0-100], shadow[:0-100], auto_brightness[:0-100], auto_contrast[:0-100], auto_color[:0-100], improve[:indoor|outdoor][:0-100]";

/// Parses an `e_` value.
pub(super) fn effect(raw: &str) -> Result<Effect, String> {
    let (name, value) = match raw.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (raw, None),
    };
    if name == "pixelate" || name == "pixelate_region" || name == "pixelate_faces" {
        let size = match value {
            None => None,
            Some(v) => Some(
                whole(v)
                    .filter(|n| (1..=200).contains(n))
                    .map(|n| n as u16)
                    .ok_or_else(|| {
                        format!("{name} takes a square size from 1 to 200, not {v:?}")
                    })?,
            ),
        };
        return Ok(match name {
            "pixelate" => Effect::Pixelate(size),
            "pixelate_faces" => Effect::PixelateFaces(size),
            _ => Effect::PixelateRegion(size, Region::default()),
        });
    }
    match name {
        "improve" => return improve(value),
        "tint" => return tint(value),
        "trim" => return trim(value),
        _ => {}
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

/// `improve[:indoor|outdoor][:BLEND]`, outdoor and 100 unless given.
fn improve(value: Option<&str>) -> Result<Effect, String> {
    let mut outdoor = true;
    let mut blend = 100;
    for part in value.into_iter().flat_map(|v| v.split(':')) {
        match part {
            "indoor" => outdoor = false,
            "outdoor" => outdoor = true,
            other => {
                blend = whole(other)
                    .filter(|n| (0..=100).contains(n))
                    .ok_or_else(|| format!("improve takes indoor or outdoor and a blend from 0 to 100, not {other:?}"))?;
            }
        }
    }
    Ok(Effect::Improve(outdoor, blend as u8))
}

/// `trim[:TOLERANCE][:COLOUR]`: 10 and the top-left pixel unless given.
fn trim(value: Option<&str>) -> Result<Effect, String> {
    let Some(value) = value else {
        return Ok(Effect::Trim(10, None));
    };
    let (tolerance, colour) = match value.split_once(':') {
        Some((t, c)) if whole(t).is_some() => (Some(t), Some(c)),
        _ if whole(value).is_some() => (Some(value), None),
        _ => (None, Some(value)),
    };
    let tolerance = match tolerance {
        None => 10,
        Some(t) => whole(t)
            .filter(|n| (0..=100).contains(n))
            .ok_or_else(|| format!("trim's tolerance is 0 to 100, not {t:?}"))?
            as u8,
    };
    let colour = colour
        .map(|c| super::values::colour(c).ok_or_else(|| format!("{c:?} is not a colour to trim")))
        .transpose()?;
    Ok(Effect::Trim(tolerance, colour))
}

/// `tint[:AMOUNT][:COLOUR…]`: 60 and red unless given.
fn tint(value: Option<&str>) -> Result<Effect, String> {
    // `rgb:RRGGBB` is one colour, not two parts.
    let mut parts: Vec<String> = Vec::new();
    let mut pieces = value.into_iter().flat_map(|v| v.split(':'));
    while let Some(piece) = pieces.next() {
        match piece {
            "rgb" => parts.push(format!("rgb:{}", pieces.next().unwrap_or_default())),
            other => parts.push(other.to_owned()),
        }
    }
    let mut amount = 60;
    if let Some(first) = parts.first() {
        if *first == "equalize" {
            return Err("tint's equalize is not rendered".into());
        }
        if let Some(n) = whole(first.as_str()) {
            if !(0..=100).contains(&n) {
                return Err(format!("tint's amount is 0 to 100, not {n}"));
            }
            amount = n as u8;
            parts.remove(0);
        }
    }
    if parts.len() > MAX_TINTS {
        return Err(format!("tint takes at most {MAX_TINTS} colours"));
    }
    let mut colours = [Rgba([255, 0, 0, 255]); MAX_TINTS];
    for (slot, part) in colours.iter_mut().zip(&parts) {
        *slot = super::values::colour(part).ok_or_else(|| {
            format!("{part:?} is not a tint colour (a CSS name or rgb:RRGGBB; positions are not rendered)")
        })?;
    }
    Ok(Effect::Tint(Tint {
        amount,
        colours,
        count: parts.len().max(1) as u8,
    }))
}

/// A region effect takes the component's `w_`, `h_`, `x_` and `y_` as
/// its region, as Cloudinary reads them there.
pub(super) fn take_region(step: &mut super::Step) {
    let region = || Region {
        x: step.x,
        y: step.y,
        width: step.width,
        height: step.height,
    };
    let effect = match step.look.effect {
        Some(Effect::BlurRegion(strength, _)) => Effect::BlurRegion(strength, region()),
        Some(Effect::PixelateRegion(size, _)) => Effect::PixelateRegion(size, region()),
        // The shadow's offset; the component's size still sizes the image.
        Some(Effect::Shadow(strength, _)) => {
            step.look.effect = Some(Effect::Shadow(
                strength,
                Region {
                    x: step.x.take(),
                    y: step.y.take(),
                    ..Region::default()
                },
            ));
            return;
        }
        _ => return,
    };
    step.look.effect = Some(effect);
    step.x = None;
    step.y = None;
    step.width = None;
    step.height = None;
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
        Effect::AutoBrightness(v) => ("auto_brightness", Some(i32::from(v))),
        Effect::AutoContrast(v) => ("auto_contrast", Some(i32::from(v))),
        Effect::AutoColor(v) => ("auto_color", Some(i32::from(v))),
        Effect::Vignette(v) => ("vignette", Some(i32::from(v))),
        Effect::BlurRegion(v, _) => ("blur_region", Some(i32::from(v))),
        Effect::PixelateRegion(size, _) => ("pixelate_region", size.map(i32::from)),
        Effect::BlurFaces(v) => ("blur_faces", Some(i32::from(v))),
        Effect::Shadow(v, _) => ("shadow", Some(i32::from(v))),
        Effect::Trim(tolerance, colour) => {
            return match colour {
                Some(c) => format!("trim:{tolerance}:{}", super::background::print_colour(c)),
                None => format!("trim:{tolerance}"),
            };
        }
        Effect::PixelateFaces(size) => ("pixelate_faces", size.map(i32::from)),
        Effect::Improve(outdoor, blend) => {
            let mode = if outdoor { "outdoor" } else { "indoor" };
            return format!("improve:{mode}:{blend}");
        }
        Effect::Tint(tint) => {
            let colours: Vec<String> = tint
                .colours()
                .iter()
                .map(|c| super::background::print_colour(*c))
                .collect();
            return format!("tint:{}:{}", tint.amount, colours.join(":"));
        }
    };
    match value {
        Some(v) => format!("{name}:{v}"),
        None => name.to_owned(),
    }
}

/// A region effect's `w_`, `h_`, `x_`, `y_`, printed in the component.
pub(super) fn region(effect: Option<Effect>) -> Option<Region> {
    match effect {
        Some(
            Effect::BlurRegion(_, region)
            | Effect::PixelateRegion(_, region)
            | Effect::Shadow(_, region),
        ) => Some(region),
        _ => None,
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
    fn corrections_tints_and_regions_read_as_cloudinary_writes_them() {
        assert_eq!(effect("improve"), Ok(Effect::Improve(true, 100)));
        assert_eq!(effect("improve:indoor:40"), Ok(Effect::Improve(false, 40)));
        assert_eq!(effect("auto_color"), Ok(Effect::AutoColor(100)));
        assert_eq!(effect("trim"), Ok(Effect::Trim(10, None)));
        assert_eq!(effect("trim:25"), Ok(Effect::Trim(25, None)));
        assert_eq!(
            effect("trim:25:rgb:ffffff"),
            Ok(Effect::Trim(25, Some(Rgba([255, 255, 255, 255]))))
        );
        assert_eq!(
            effect("trim:white"),
            Ok(Effect::Trim(10, Some(Rgba([255, 255, 255, 255]))))
        );
        assert_eq!(print_effect(Effect::Trim(25, None)), "trim:25");
        let Ok(Effect::Tint(tint)) = effect("tint:80:blue:rgb:ffff00") else {
            panic!("a tint")
        };
        assert_eq!(tint.amount, 80);
        assert_eq!(
            tint.colours(),
            [Rgba([0, 0, 255, 255]), Rgba([255, 255, 0, 255])]
        );
        let Ok(Effect::Tint(red)) = effect("tint") else {
            panic!("a tint")
        };
        assert_eq!(
            (red.amount, red.colours()),
            (60, &[Rgba([255, 0, 0, 255])][..])
        );
        for (raw, reason) in [
            ("tint:equalize:80:red", "equalize"),
            ("tint:80:red:20p", "positions"),
            ("improve:sunny", "indoor or outdoor"),
            ("pixelate_region:300", "1 to 200"),
        ] {
            let refused = effect(raw).expect_err(raw);
            assert!(refused.contains(reason), "{raw}: {refused}");
        }
        // The component's w, h, x, y are the region, not a resize.
        let t = super::super::Transformation::parse(["e_blur_region:800,h_40,w_0.5,x_10,y_20"])
            .expect("valid");
        let step = &t.steps[0];
        assert_eq!((step.width, step.height, step.x), (None, None, None));
        assert!(matches!(
            step.look.effect,
            Some(Effect::BlurRegion(
                800,
                Region {
                    width: Some(super::super::Length::Relative(_)),
                    ..
                }
            ))
        ));
        assert_eq!(t.canonical(), "e_blur_region:800,h_40,w_0.5,x_10,y_20");
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
