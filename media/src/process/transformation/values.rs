//! The value families of the language, each parsed into a type that can
//! only hold what Cloudinary accepts: lengths, offsets, colours, angles,
//! crop modes, gravities, qualities, formats and flags.

use super::{
    AutoQuality, Crop, Flag, FormatRequest, Gravity, Length, Offset, Progressive, Quality, Rgba,
    Rotation, MAX_SIDE,
};

/// The most an `x_`/`y_` offset may move, in pixels.
pub const MAX_OFFSET: i32 = 10_000;
/// The most an `a_` list may name (`a_hflip.vflip.90`).
const MAX_ROTATIONS: usize = 4;

pub(super) fn decimal(raw: &str) -> Option<f64> {
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    raw.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn whole(raw: &str) -> Option<u32> {
    (!raw.is_empty() && raw.len() <= 10 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse::<u32>().ok())
        .flatten()
}

/// `w_`/`h_`: whole pixels, or a fraction of the component's input with a
/// decimal point (`w_1` is one pixel, `w_1.0` all of it).
pub(super) fn length(raw: &str) -> Result<Length, String> {
    let reason =
        || format!("a whole number of pixels from 1 to {MAX_SIDE}, or a fraction like 0.5");
    if raw.contains('.') {
        return match decimal(raw) {
            Some(value) if value > 0.0 && value <= 1.0 => Ok(Length::Relative(value)),
            _ => Err(reason()),
        };
    }
    match whole(raw) {
        Some(px) if (1..=MAX_SIDE).contains(&px) => Ok(Length::Pixels(px)),
        _ => Err(reason()),
    }
}

/// `x_`/`y_`: pixels or a fraction of the input, either sign.
pub(super) fn offset(raw: &str) -> Result<Offset, String> {
    let reason = || {
        format!("a whole number of pixels from -{MAX_OFFSET} to {MAX_OFFSET}, or a fraction from -1.0 to 1.0")
    };
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let sign = if negative { -1.0 } else { 1.0 };
    if digits.contains('.') {
        return match decimal(digits) {
            Some(value) if value <= 1.0 => Ok(Offset::Relative(sign * value)),
            _ => Err(reason()),
        };
    }
    match whole(digits).and_then(|v| i32::try_from(v).ok()) {
        Some(px) if px <= MAX_OFFSET => Ok(Offset::Pixels(if negative { -px } else { px })),
        _ => Err(reason()),
    }
}

pub(super) fn crop(raw: &str) -> Option<Crop> {
    Some(match raw {
        "scale" => Crop::Scale,
        "fit" => Crop::Fit,
        "limit" => Crop::Limit,
        "mfit" => Crop::Mfit,
        "fill" => Crop::Fill,
        "lfill" => Crop::Lfill,
        "fill_pad" => Crop::FillPad,
        "thumb" => Crop::Thumb,
        "crop" => Crop::Crop,
        "pad" => Crop::Pad,
        "lpad" => Crop::Lpad,
        "mpad" => Crop::Mpad,
        "auto" => Crop::Auto,
        _ => return None,
    })
}

pub(super) const CROPS: &str =
    "one of scale, fit, limit, mfit, fill, lfill, fill_pad, thumb, crop, pad, lpad, mpad, auto";

pub(super) fn gravity(raw: &str) -> Option<Gravity> {
    Some(match raw {
        "center" | "centre" => Gravity::Center,
        "north" => Gravity::North,
        "south" => Gravity::South,
        "east" => Gravity::East,
        "west" => Gravity::West,
        "north_east" => Gravity::NorthEast,
        "north_west" => Gravity::NorthWest,
        "south_east" => Gravity::SouthEast,
        "south_west" => Gravity::SouthWest,
        "xy_center" => Gravity::XyCenter,
        // `auto:subject`, `auto:classic` and the like all ask for the most
        // interesting part; ours is one detector, so they are one gravity.
        "auto" => Gravity::Auto,
        // Cloudinary's fallbacks: `face:center` is what `face` does when
        // it finds none, `face:auto` and `auto:face` look at the content.
        "face" | "face:center" => Gravity::Face,
        "faces" | "faces:center" => Gravity::Faces,
        "face:auto" | "faces:auto" | "auto:face" | "auto:faces" => Gravity::AutoFaces,
        other if other.starts_with("auto:") && other.len() <= 40 => Gravity::Auto,
        _ => return None,
    })
}

pub(super) const GRAVITIES: &str = "one of center, north, south, east, west, north_east, north_west, south_east, south_west, xy_center, auto, face, faces, auto:faces";

pub(super) fn quality(raw: &str) -> Option<Quality> {
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
    whole(raw)
        .filter(|q| (1..=100).contains(q))
        .and_then(|q| u8::try_from(q).ok())
        .map(Quality::Value)
}

pub(super) fn format(raw: &str) -> Option<FormatRequest> {
    Some(match raw {
        "jpg" | "jpeg" => FormatRequest::Jpeg,
        "png" => FormatRequest::Png,
        "webp" => FormatRequest::Webp,
        "avif" => FormatRequest::Avif,
        "auto" => FormatRequest::Auto,
        _ => return None,
    })
}

pub(super) fn aspect(raw: &str) -> Option<f64> {
    let ratio = match raw.split_once(':') {
        Some((w, h)) => decimal(w)? / decimal(h)?,
        None => decimal(raw)?,
    };
    (ratio.is_finite() && (0.01..=100.0).contains(&ratio)).then_some(ratio)
}

/// `z_`: how far `c_crop` and `c_thumb` zoom into their window.
pub(super) fn zoom(raw: &str) -> Option<f64> {
    decimal(raw).filter(|z| (0.1..=10.0).contains(z))
}

/// A colour as Cloudinary writes one: a CSS name, `rgb:` with 3, 4, 6 or
/// 8 hex digits, or the same after `#` (the SDKs' input form) or after
/// `rgb_` (what Nuxt Image's Cloudinary provider writes for `#`).
pub(super) fn colour(raw: &str) -> Option<Rgba> {
    let hex = raw
        .strip_prefix("rgb:")
        .or_else(|| raw.strip_prefix("rgb_"))
        .or_else(|| raw.strip_prefix('#'));
    if let Some(hex) = hex {
        return hex_colour(hex);
    }
    if raw.eq_ignore_ascii_case("transparent") {
        return Some(Rgba([0, 0, 0, 0]));
    }
    if raw.is_empty() || raw.len() > 24 || !raw.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let named = csscolorparser::NAMED_COLORS.get(raw.to_ascii_lowercase().as_str())?;
    Some(Rgba([named[0], named[1], named[2], 255]))
}

fn hex_colour(hex: &str) -> Option<Rgba> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let nibble = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok().map(|n| n * 17);
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    match hex.len() {
        3 => Some(Rgba([nibble(0)?, nibble(1)?, nibble(2)?, 255])),
        4 => Some(Rgba([nibble(0)?, nibble(1)?, nibble(2)?, nibble(3)?])),
        6 => Some(Rgba([byte(0)?, byte(2)?, byte(4)?, 255])),
        8 => Some(Rgba([byte(0)?, byte(2)?, byte(4)?, byte(6)?])),
        _ => None,
    }
}

/// `a_`: degrees (either sign, any angle), `hflip`, `vflip`,
/// `auto_right`, `auto_left`, `ignore`, or a dot-joined list of them.
pub(super) fn rotation(raw: &str) -> Option<Rotation> {
    let mut rotation = Rotation::default();
    let modes: Vec<&str> = raw.split('.').collect();
    if modes.len() > MAX_ROTATIONS {
        return None;
    }
    for mode in modes {
        match mode {
            "hflip" => rotation.hflip = !rotation.hflip,
            "vflip" => rotation.vflip = !rotation.vflip,
            "auto_right" => rotation.auto = Some(true),
            "auto_left" => rotation.auto = Some(false),
            "ignore" => rotation.ignore_orientation = true,
            degrees => {
                let (negative, digits) = match degrees.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, degrees),
                };
                let value = whole(digits).filter(|d| *d <= 3600)?;
                let value = i32::try_from(value).ok()?;
                let turned = rotation.degrees + if negative { -value } else { value };
                rotation.degrees = turned.rem_euclid(360);
            }
        }
    }
    Some(rotation)
}

pub(super) const ROTATIONS: &str =
    "degrees from -3600 to 3600, hflip, vflip, auto_right, auto_left, ignore, or a dot-joined list of them";

/// Longest file name `fl_attachment:` may give.
const MAX_ATTACHMENT_NAME: usize = 100;

/// One `fl_` flag. Every image flag Cloudinary documents parses; see
/// [`Flag`] for what each does here.
pub(super) fn flag(raw: &str) -> Result<Flag, String> {
    let (name, argument) = match raw.split_once(':') {
        Some((name, argument)) => (name, Some(argument)),
        None => (raw, None),
    };
    let no_argument = |flag: Flag| match argument {
        None => Ok(flag),
        Some(_) => Err(format!("{name} takes no value")),
    };
    match name {
        "progressive" => Ok(Flag::Progressive(match argument {
            None => Progressive::Progressive,
            Some("semi") => Progressive::Semi,
            Some("steep") => Progressive::Steep,
            Some("none") => Progressive::None,
            Some(_) => return Err("progressive takes semi, steep or none".into()),
        })),
        "attachment" => match argument {
            None => Ok(Flag::Attachment(None)),
            Some(file) if valid_attachment_name(file) => Ok(Flag::Attachment(Some(file.into()))),
            Some(_) => Err(format!(
                "attachment names are 1 to {MAX_ATTACHMENT_NAME} letters, digits, '-' or '_' (the extension follows the format)"
            )),
        },
        "keep_iptc" => no_argument(Flag::KeepIptc),
        "keep_attribution" => no_argument(Flag::KeepAttribution),
        "strip_profile" => no_argument(Flag::StripProfile),
        "force_strip" => no_argument(Flag::ForceStrip),
        "preserve_transparency" => no_argument(Flag::PreserveTransparency),
        "immutable_cache" => no_argument(Flag::ImmutableCache),
        "lossy" => no_argument(Flag::Lossy),
        "no_overflow" => no_argument(Flag::NoOverflow),
        "any_format" => no_argument(Flag::AnyFormat),
        "ignore_aspect_ratio" => no_argument(Flag::IgnoreAspectRatio),
        "png24" => no_argument(Flag::Png24),
        "png32" => no_argument(Flag::Png32),
        "relative" => no_argument(Flag::Relative),
        "tiled" => no_argument(Flag::Tiled),
        "layer_apply" => no_argument(Flag::LayerApply),
        "animated" | "awebp" | "apng" | "clip" | "clip_evenodd" | "cutter" | "draco"
        | "getinfo" | "group4" | "ignore_mask_channels" | "region_relative"
        | "rasterize" | "replace_image" | "sanitize" | "text_disallow_overflow"
        | "text_no_trim" | "tiff8_lzw" | "c2pa" | "png8" | "force_icc" => Err(format!(
            "fl_{name} is a Cloudinary flag this service does not apply yet (see the README's Cloudinary table)"
        )),
        _ => Err("unknown flag".into()),
    }
}

fn valid_attachment_name(name: &str) -> bool {
    (1..=MAX_ATTACHMENT_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// A number as the canonical text writes it: at most six decimals, so
/// what the parser reads back prints the same way again.
pub(super) fn print_decimal(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}
