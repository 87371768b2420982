//! Cloudinary's transformation language, parsed into types that can only
//! hold valid values: components separated by `/`, each a comma-separated
//! list of `key_value` parameters.

use std::fmt;

/// Largest output side, after `dpr`.
pub const MAX_SIDE: u32 = 4096;
/// Longest transformation string accepted (all components).
pub const MAX_TRANSFORMATION_LEN: usize = 1024;
/// Most chained components.
pub const MAX_COMPONENTS: usize = 8;

/// Why a transformation was refused; `parameter` names the offender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct TransformError {
    pub parameter: String,
    pub reason: String,
}

impl TransformError {
    fn new(parameter: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crop {
    Scale,
    Fit,
    Limit,
    Fill,
    Thumb,
    Pad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gravity {
    Center,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
    /// The most detailed region (see `process::geometry`).
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// `q_auto`, or one of Cloudinary's levels `q_auto:best|good|eco|low`.
    Auto(AutoQuality),
    Value(u8),
}

/// The levels Cloudinary accepts after `q_auto:`; nothing else passes, so
/// the text we forward to Cloudinary is always one it understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoQuality {
    Default,
    Best,
    Good,
    Eco,
    Low,
}

impl AutoQuality {
    /// The encoder quality each level stands for.
    pub fn value(self) -> u8 {
        match self {
            Self::Best => 90,
            Self::Default | Self::Good => 80,
            Self::Eco => 70,
            Self::Low => 60,
        }
    }
}

/// An output format a transformation may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatRequest {
    Jpeg,
    Png,
    Webp,
    Avif,
    /// Chosen from the `Accept` header.
    Auto,
}

/// An RGBA colour for `b_` (padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgba(pub [u8; 4]);

/// A width or height: pixels, or a fraction of the input (`w_0.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    Pixels(u32),
    Relative(f64),
}

/// One component: the parameters between two `/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    pub width: Option<Length>,
    pub height: Option<Length>,
    pub crop: Option<Crop>,
    pub gravity: Option<Gravity>,
    pub quality: Option<Quality>,
    pub format: Option<FormatRequest>,
    pub dpr: Option<f64>,
    /// Width divided by height.
    pub aspect_ratio: Option<f64>,
    pub background: Option<Rgba>,
}

/// A whole chain, presets already expanded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transformation {
    pub steps: Vec<Step>,
}

impl Transformation {
    /// The format asked for by the last step that names one.
    pub fn format(&self) -> Option<FormatRequest> {
        self.steps.iter().rev().find_map(|s| s.format)
    }

    /// The quality asked for by the last step that names one.
    pub fn quality(&self) -> Option<Quality> {
        self.steps.iter().rev().find_map(|s| s.quality)
    }

    /// The width of a responsive-image transformation: one component of a
    /// pixel width, with at most `c_limit`, `f_auto` and `q_auto` beside it
    /// (what a `srcset` asks for). Strict mode serves these unsigned for
    /// the widths it allows, as imgproxy does its allowed sizes.
    pub fn responsive_width(&self) -> Option<u32> {
        let [step] = self.steps.as_slice() else {
            return None;
        };
        let plain = step.height.is_none()
            && step.gravity.is_none()
            && step.dpr.is_none()
            && step.aspect_ratio.is_none()
            && step.background.is_none()
            && matches!(step.crop, None | Some(Crop::Limit))
            && matches!(step.format, None | Some(FormatRequest::Auto))
            && matches!(
                step.quality,
                None | Some(Quality::Auto(AutoQuality::Default))
            );
        match step.width {
            Some(Length::Pixels(width)) if plain => Some(width),
            _ => None,
        }
    }

    /// Parses `components` (already split on `/`).
    ///
    /// # Errors
    /// [`TransformError`] naming the first bad parameter.
    pub fn parse<'a>(
        components: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TransformError> {
        let mut steps = Vec::new();
        let mut total = 0;
        for component in components {
            total += component.len() + 1;
            if total > MAX_TRANSFORMATION_LEN {
                return Err(TransformError::new(
                    "transformation",
                    format!("longer than {MAX_TRANSFORMATION_LEN} characters"),
                ));
            }
            steps.push(parse_step(component)?);
            if steps.len() > MAX_COMPONENTS {
                return Err(TransformError::new(
                    "transformation",
                    format!("at most {MAX_COMPONENTS} chained components"),
                ));
            }
        }
        Ok(Self { steps })
    }

    /// A canonical text form: the same transformation always prints the
    /// same way, whatever order its parameters came in. Used in cache keys.
    pub fn canonical(&self) -> String {
        self.steps
            .iter()
            .map(Step::canonical)
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn parse_step(component: &str) -> Result<Step, TransformError> {
    if component.is_empty() {
        return Err(TransformError::new("transformation", "empty component"));
    }
    let mut step = Step::default();
    for param in component.split(',') {
        let (key, value) = param
            .split_once('_')
            .ok_or_else(|| TransformError::new(short(param), "expected key_value, like w_400"))?;
        let name = short(key);
        let bad = |reason: &str| TransformError::new(name.clone(), reason.to_owned());
        let duplicate = || TransformError::new(name.clone(), "given twice in one component");
        match key {
            "w" => set(&mut step.width, parse_length(value).map_err(|r| bad(&r))?).map_err(|_| duplicate())?,
            "h" => set(&mut step.height, parse_length(value).map_err(|r| bad(&r))?).map_err(|_| duplicate())?,
            "c" => set(&mut step.crop, parse_crop(value).ok_or_else(|| bad("one of scale, fit, limit, fill, thumb, pad"))?).map_err(|_| duplicate())?,
            "g" => set(&mut step.gravity, parse_gravity(value).ok_or_else(|| bad("one of center, north, south, east, west, north_east, north_west, south_east, south_west, auto"))?).map_err(|_| duplicate())?,
            "q" => set(&mut step.quality, parse_quality(value).ok_or_else(|| bad("1 to 100, auto, or auto:best, auto:good, auto:eco, auto:low"))?).map_err(|_| duplicate())?,
            "f" => set(&mut step.format, parse_format(value).ok_or_else(|| bad("one of jpg, png, webp, avif, auto"))?).map_err(|_| duplicate())?,
            "dpr" => set(&mut step.dpr, parse_decimal(value).filter(|d| (0.1..=5.0).contains(d)).ok_or_else(|| bad("a number from 0.1 to 5"))?).map_err(|_| duplicate())?,
            "ar" => set(&mut step.aspect_ratio, parse_aspect(value).ok_or_else(|| bad("a ratio like 16:9 or 1.5, between 0.01 and 100"))?).map_err(|_| duplicate())?,
            "b" => set(&mut step.background, parse_colour(value).ok_or_else(|| bad("a colour: white, black, transparent, rgb:RRGGBB or rgb:RRGGBBAA"))?).map_err(|_| duplicate())?,
            "t" => {
                return Err(TransformError::new(
                    "t",
                    "a named preset must stand alone in its component",
                ))
            }
            _ => return Err(TransformError::new(name, "unknown parameter")),
        }
    }
    // Sizes in pixels can be checked without the image; relative ones wait
    // for the geometry.
    let dpr = step.dpr.unwrap_or(1.0);
    for (length, name) in [(step.width, "w"), (step.height, "h")] {
        if let Some(Length::Pixels(px)) = length {
            if (f64::from(px) * dpr).round() > f64::from(MAX_SIDE) {
                let culprit = if dpr > 1.0 { "dpr" } else { name };
                return Err(TransformError::new(
                    culprit,
                    format!("the output would be wider or taller than {MAX_SIDE} pixels"),
                ));
            }
        }
    }
    Ok(step)
}

/// A parameter name cut to a printable size, for error messages.
fn short(text: &str) -> String {
    let cut: String = text.chars().take(24).filter(|c| !c.is_control()).collect();
    if cut.is_empty() {
        "transformation".to_owned()
    } else {
        cut
    }
}

fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(value);
    Ok(())
}

fn parse_decimal(raw: &str) -> Option<f64> {
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    raw.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn parse_length(raw: &str) -> Result<Length, String> {
    let reason =
        || format!("a whole number of pixels from 1 to {MAX_SIDE}, or a fraction like 0.5");
    if raw.contains('.') {
        let value = parse_decimal(raw).ok_or_else(reason)?;
        if value > 0.0 && value <= 1.0 {
            return Ok(Length::Relative(value));
        }
        return Err(reason());
    }
    match raw.parse::<u32>() {
        Ok(px) if (1..=MAX_SIDE).contains(&px) && raw.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Length::Pixels(px))
        }
        _ => Err(reason()),
    }
}

fn parse_crop(raw: &str) -> Option<Crop> {
    Some(match raw {
        "scale" => Crop::Scale,
        "fit" => Crop::Fit,
        "limit" => Crop::Limit,
        "fill" => Crop::Fill,
        "thumb" => Crop::Thumb,
        "pad" => Crop::Pad,
        _ => return None,
    })
}

fn parse_gravity(raw: &str) -> Option<Gravity> {
    Some(match raw {
        "center" => Gravity::Center,
        "north" => Gravity::North,
        "south" => Gravity::South,
        "east" => Gravity::East,
        "west" => Gravity::West,
        "north_east" => Gravity::NorthEast,
        "north_west" => Gravity::NorthWest,
        "south_east" => Gravity::SouthEast,
        "south_west" => Gravity::SouthWest,
        "auto" => Gravity::Auto,
        _ => return None,
    })
}

fn parse_quality(raw: &str) -> Option<Quality> {
    let auto = match raw {
        "auto" => Some(AutoQuality::Default),
        "auto:best" => Some(AutoQuality::Best),
        "auto:good" => Some(AutoQuality::Good),
        "auto:eco" => Some(AutoQuality::Eco),
        "auto:low" => Some(AutoQuality::Low),
        _ => None,
    };
    if let Some(level) = auto {
        return Some(Quality::Auto(level));
    }
    raw.parse::<u8>()
        .ok()
        .filter(|q| (1..=100).contains(q) && raw.bytes().all(|b| b.is_ascii_digit()))
        .map(Quality::Value)
}

fn parse_format(raw: &str) -> Option<FormatRequest> {
    Some(match raw {
        "jpg" | "jpeg" => FormatRequest::Jpeg,
        "png" => FormatRequest::Png,
        "webp" => FormatRequest::Webp,
        "avif" => FormatRequest::Avif,
        "auto" => FormatRequest::Auto,
        _ => return None,
    })
}

fn parse_aspect(raw: &str) -> Option<f64> {
    let ratio = match raw.split_once(':') {
        Some((w, h)) => parse_decimal(w)? / parse_decimal(h)?,
        None => parse_decimal(raw)?,
    };
    (ratio.is_finite() && (0.01..=100.0).contains(&ratio)).then_some(ratio)
}

fn parse_colour(raw: &str) -> Option<Rgba> {
    let named = match raw {
        "white" => Some([255, 255, 255, 255]),
        "black" => Some([0, 0, 0, 255]),
        "transparent" => Some([0, 0, 0, 0]),
        "red" => Some([255, 0, 0, 255]),
        "green" => Some([0, 128, 0, 255]),
        "blue" => Some([0, 0, 255, 255]),
        "gray" | "grey" => Some([128, 128, 128, 255]),
        _ => None,
    };
    if let Some(rgba) = named {
        return Some(Rgba(rgba));
    }
    let hex = raw.strip_prefix("rgb:")?;
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    match hex.len() {
        6 => Some(Rgba([byte(0)?, byte(2)?, byte(4)?, 255])),
        8 => Some(Rgba([byte(0)?, byte(2)?, byte(4)?, byte(6)?])),
        _ => None,
    }
}

/// A ratio or multiplier as the canonical text writes it: at most six
/// decimals, so what the parser reads back prints the same way again.
fn decimal(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

impl Crop {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scale => "scale",
            Self::Fit => "fit",
            Self::Limit => "limit",
            Self::Fill => "fill",
            Self::Thumb => "thumb",
            Self::Pad => "pad",
        }
    }
}

impl Gravity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Center => "center",
            Self::North => "north",
            Self::South => "south",
            Self::East => "east",
            Self::West => "west",
            Self::NorthEast => "north_east",
            Self::NorthWest => "north_west",
            Self::SouthEast => "south_east",
            Self::SouthWest => "south_west",
            Self::Auto => "auto",
        }
    }
}

impl FormatRequest {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Auto => "auto",
        }
    }
}

impl Step {
    /// Parameters sorted by key, each value in the one spelling the parser
    /// and Cloudinary both accept.
    fn canonical(&self) -> String {
        let mut parts = Vec::new();
        let length = |l: &Length| match l {
            Length::Pixels(px) => px.to_string(),
            // Shortest text that reads back as the same number, always with
            // a point: `w_1.0` is the whole input, `w_1` one pixel.
            Length::Relative(r) if r.fract() == 0.0 => format!("{r:.1}"),
            Length::Relative(r) => format!("{r}"),
        };
        if let Some(v) = self.aspect_ratio {
            parts.push(format!("ar_{}", decimal(v)));
        }
        if let Some(Rgba([r, g, b, a])) = self.background {
            parts.push(format!("b_rgb:{r:02x}{g:02x}{b:02x}{a:02x}"));
        }
        if let Some(c) = self.crop {
            parts.push(format!("c_{}", c.as_str()));
        }
        if let Some(v) = self.dpr {
            parts.push(format!("dpr_{}", decimal(v)));
        }
        if let Some(f) = self.format {
            parts.push(format!("f_{}", f.as_str()));
        }
        if let Some(g) = self.gravity {
            parts.push(format!("g_{}", g.as_str()));
        }
        if let Some(h) = &self.height {
            parts.push(format!("h_{}", length(h)));
        }
        if let Some(q) = self.quality {
            parts.push(match q {
                Quality::Auto(AutoQuality::Default) => "q_auto".to_owned(),
                Quality::Auto(level) => {
                    format!("q_auto:{}", format!("{level:?}").to_ascii_lowercase())
                }
                Quality::Value(v) => format!("q_{v}"),
            });
        }
        if let Some(w) = &self.width {
            parts.push(format!("w_{}", length(w)));
        }
        parts.join(",")
    }
}

impl fmt::Display for Transformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Transformation, TransformError> {
        Transformation::parse(s.split('/'))
    }

    #[test]
    fn parses_cloudinary_parameters() {
        let t =
            parse("c_fill,w_400,h_300,g_north_east,q_80,f_webp,dpr_2,b_rgb:ff000080/ar_16:9,c_pad")
                .expect("valid");
        assert_eq!(t.steps.len(), 2);
        let s = &t.steps[0];
        assert_eq!(s.width, Some(Length::Pixels(400)));
        assert_eq!(s.height, Some(Length::Pixels(300)));
        assert_eq!(s.crop, Some(Crop::Fill));
        assert_eq!(s.gravity, Some(Gravity::NorthEast));
        assert_eq!(s.quality, Some(Quality::Value(80)));
        assert_eq!(s.format, Some(FormatRequest::Webp));
        assert_eq!(s.dpr, Some(2.0));
        assert_eq!(s.background, Some(Rgba([255, 0, 0, 128])));
        assert!((t.steps[1].aspect_ratio.expect("ar") - 16.0 / 9.0).abs() < 1e-9);
        assert_eq!(t.format(), Some(FormatRequest::Webp));
        assert_eq!(
            parse("w_0.5").expect("relative").steps[0].width,
            Some(Length::Relative(0.5))
        );
    }

    #[test]
    fn canonical_form_ignores_parameter_order() {
        let a = parse("w_400,h_300,c_fill").expect("valid");
        let b = parse("c_fill,h_300,w_400").expect("valid");
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.canonical(), "c_fill,h_300,w_400");
        // The text other services receive: Cloudinary's own spellings.
        assert_eq!(
            parse("g_north_east,c_thumb,w_1.0,q_auto:eco,f_jpeg,ar_16:9")
                .expect("valid")
                .canonical(),
            "ar_1.777778,c_thumb,f_jpg,g_north_east,q_auto:eco,w_1.0"
        );
        assert_ne!(
            a.canonical(),
            parse("c_fit,h_300,w_400").expect("valid").canonical()
        );
    }

    #[test]
    fn nonsense_is_refused_naming_the_parameter() {
        let cases = [
            ("w_0", "w"),
            ("w_-1", "w"),
            ("w_abc", "w"),
            ("w_4097", "w"),
            ("w_1.5", "w"),
            ("h_", "h"),
            ("c_stretch", "c"),
            ("g_up", "g"),
            ("q_0", "q"),
            ("q_101", "q"),
            ("q_auto:bogus", "q"),
            ("q_auto:good&x=1", "q"),
            ("f_bmp", "f"),
            ("dpr_9", "dpr"),
            ("ar_0:1", "ar"),
            ("b_rgb:zzzzzz", "b"),
            ("e_sepia", "e"),
            ("w_10,w_20", "w"),
            ("nonsense", "nonsense"),
            ("w_100,t_thumb", "t"),
            ("w_3000,dpr_2", "dpr"),
        ];
        for (input, parameter) in cases {
            let err = parse(input).expect_err(input);
            assert_eq!(err.parameter, parameter, "{input}: {err}");
        }
        assert!(parse(&"w_1,".repeat(400)).is_err());
        assert!(parse("w_1/w_2/w_3/w_4/w_5/w_6/w_7/w_8/w_9").is_err());
        assert_eq!(
            parse("w_100/").expect_err("empty").parameter,
            "transformation"
        );
        assert_eq!(
            parse(&format!("{}_1", "x".repeat(100)))
                .expect_err("long")
                .parameter
                .len(),
            24
        );
    }
}
