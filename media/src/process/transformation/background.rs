//! `b_`: a colour, or one taken from the image (`b_auto…`), or a fade
//! between colours taken from it (`b_auto:predominant_gradient:4:vertical`).
//! Parsed into types that hold only what Cloudinary documents, and printed
//! back in the one spelling cache keys and Cloudinary get.

use super::values::colour;
use super::Rgba;

/// Most colours a gradient's palette may list.
pub const MAX_PALETTE: usize = 8;

/// `b_`: what fills padding and the corners a rotation opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Background {
    Colour(Rgba),
    /// Taken from the image itself.
    Auto(AutoBackground),
    /// A fade between colours taken from the image.
    Gradient(Gradient),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoBackground {
    /// The average colour of the image's edges (Cloudinary's default).
    Border,
    /// The colour covering most of the image.
    Predominant,
    /// The opposite of `Border`.
    BorderContrast,
    /// The opposite of `Predominant`.
    PredominantContrast,
}

/// `auto:{border|predominant}_gradient[_contrast][:2|4][:direction][:palette_…]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gradient {
    /// Colours counted on the outer rows and columns only, or on all.
    pub border_only: bool,
    /// Each colour replaced by its opposite.
    pub contrast: bool,
    /// How many colours the fade runs through: 2 or 4.
    pub stops: u8,
    pub direction: GradientDirection,
    /// When given, each colour is replaced by the nearest one listed.
    pub palette: Palette,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GradientDirection {
    /// Left to right (Cloudinary's default).
    #[default]
    Horizontal,
    /// Top to bottom.
    Vertical,
    /// Top-left to bottom-right.
    DiagonalDesc,
    /// Bottom-left to top-right.
    DiagonalAsc,
}

/// Up to [`MAX_PALETTE`] colours, kept inline so a step stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Palette {
    colours: [Rgba; MAX_PALETTE],
    len: u8,
}

impl Palette {
    pub fn colours(&self) -> &[Rgba] {
        &self.colours[..usize::from(self.len)]
    }
}

pub(super) const BACKGROUNDS: &str = "a colour (a CSS name, rgb:RRGGBB or rgb:RRGGBBAA), or auto, auto:border, auto:predominant, auto:border_contrast, auto:predominant_contrast, or auto:border_gradient / auto:predominant_gradient [_contrast][:2|4][:horizontal|vertical|diagonal_desc|diagonal_asc][:palette_COLOUR_…]";

/// Parses a `b_` value; the error says what was wrong with it.
pub(super) fn parse(raw: &str) -> Result<Background, String> {
    let auto = match raw {
        "auto" | "auto:border" => Some(AutoBackground::Border),
        "auto:predominant" => Some(AutoBackground::Predominant),
        "auto:border_contrast" => Some(AutoBackground::BorderContrast),
        "auto:predominant_contrast" => Some(AutoBackground::PredominantContrast),
        _ => None,
    };
    if let Some(mode) = auto {
        return Ok(Background::Auto(mode));
    }
    if let Some(rest) = raw.strip_prefix("auto:") {
        if rest.starts_with("border_gradient") || rest.starts_with("predominant_gradient") {
            return gradient(rest).map(Background::Gradient);
        }
    }
    colour(raw)
        .map(Background::Colour)
        .ok_or_else(|| BACKGROUNDS.to_string())
}

fn gradient(raw: &str) -> Result<Gradient, String> {
    // A palette colour may itself hold `:` (`rgb:00ff00`, as url-gen
    // writes it), so the palette is cut off before the rest is split.
    let (head, palette) = match raw.split_once(":palette_") {
        Some((head, list)) => (head, parse_palette(list)?),
        None => (raw, Palette::default()),
    };
    let mut parts = head.split(':');
    let kind = parts.next().unwrap_or_default();
    let (border_only, contrast) = match kind {
        "border_gradient" => (true, false),
        "border_gradient_contrast" => (true, true),
        "predominant_gradient" => (false, false),
        "predominant_gradient_contrast" => (false, true),
        _ => return Err(BACKGROUNDS.to_string()),
    };
    let mut stops = None;
    let mut direction = None;
    for part in parts {
        let slot_taken = match part {
            "2" | "4" => stops.replace(if part == "2" { 2 } else { 4 }).is_some(),
            "horizontal" => direction.replace(GradientDirection::Horizontal).is_some(),
            "vertical" => direction.replace(GradientDirection::Vertical).is_some(),
            "diagonal_desc" => direction.replace(GradientDirection::DiagonalDesc).is_some(),
            "diagonal_asc" => direction.replace(GradientDirection::DiagonalAsc).is_some(),
            other if other.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(format!(
                    "a gradient runs through 2 or 4 colours, not {other}"
                ))
            }
            other => {
                return Err(format!(
                    "{other:?} is not a gradient direction (horizontal, vertical, diagonal_desc, diagonal_asc) or a palette_ list"
                ))
            }
        };
        if slot_taken {
            return Err(format!("{part:?} repeats what the gradient already set"));
        }
    }
    Ok(Gradient {
        border_only,
        contrast,
        stops: stops.unwrap_or(2),
        direction: direction.unwrap_or_default(),
        palette,
    })
}

fn parse_palette(list: &str) -> Result<Palette, String> {
    let mut palette = Palette::default();
    for name in list.split('_') {
        let index = usize::from(palette.len);
        if index == MAX_PALETTE {
            return Err(format!(
                "a gradient palette lists at most {MAX_PALETTE} colours"
            ));
        }
        palette.colours[index] = colour(name)
            .ok_or_else(|| format!("{name:?} in the gradient palette is not a colour"))?;
        palette.len += 1;
    }
    Ok(palette)
}

/// The one spelling: every default written out, so that equivalent URLs
/// share a rendering.
pub(super) fn print(b: Background) -> String {
    match b {
        Background::Colour(c) => print_colour(c),
        Background::Auto(AutoBackground::Border) => "auto".into(),
        Background::Auto(AutoBackground::Predominant) => "auto:predominant".into(),
        Background::Auto(AutoBackground::BorderContrast) => "auto:border_contrast".into(),
        Background::Auto(AutoBackground::PredominantContrast) => "auto:predominant_contrast".into(),
        Background::Gradient(g) => {
            let source = if g.border_only {
                "border"
            } else {
                "predominant"
            };
            let contrast = if g.contrast { "_contrast" } else { "" };
            let direction = match g.direction {
                GradientDirection::Horizontal => "horizontal",
                GradientDirection::Vertical => "vertical",
                GradientDirection::DiagonalDesc => "diagonal_desc",
                GradientDirection::DiagonalAsc => "diagonal_asc",
            };
            let mut text = format!("auto:{source}_gradient{contrast}:{}:{direction}", g.stops);
            if !g.palette.colours().is_empty() {
                let names: Vec<String> = g
                    .palette
                    .colours()
                    .iter()
                    .map(|c| print_colour(*c))
                    .collect();
                text.push_str(":palette_");
                text.push_str(&names.join("_"));
            }
            text
        }
    }
}

pub(super) fn print_colour(Rgba([r, g, b, a]): Rgba) -> String {
    format!("rgb:{r:02x}{g:02x}{b:02x}{a:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_parse_as_url_gen_writes_them_and_print_one_spelling() {
        for (raw, printed) in [
            (
                "auto:border_gradient",
                "auto:border_gradient:2:horizontal",
            ),
            (
                "auto:predominant_gradient_contrast:4:diagonal_desc:palette_red_rgb:00ff00",
                "auto:predominant_gradient_contrast:4:diagonal_desc:palette_rgb:ff0000ff_rgb:00ff00ff",
            ),
            (
                "auto:predominant_gradient:vertical:4",
                "auto:predominant_gradient:4:vertical",
            ),
        ] {
            let parsed = parse(raw).expect(raw);
            assert_eq!(print(parsed), printed);
            assert_eq!(parse(printed), Ok(parsed), "{printed} reads back");
        }
    }

    #[test]
    fn gradients_outside_the_documented_forms_are_refused_with_a_reason() {
        for (raw, reason) in [
            ("auto:border_gradient:3", "2 or 4"),
            ("auto:border_gradient:sideways", "not a gradient direction"),
            ("auto:border_gradient:2:4", "repeats"),
            ("auto:border_gradient:palette_red_nocolour", "not a colour"),
            (
                "auto:border_gradient:palette_a_b_c_d_e_f_g_h_i",
                "not a colour",
            ),
            (
                "auto:border_gradient:palette_red_red_red_red_red_red_red_red_red",
                "at most 8",
            ),
            ("auto:predominant_gradients", "auto:border_gradient"),
        ] {
            let refused = parse(raw).expect_err(raw);
            assert!(refused.contains(reason), "{raw}: {refused}");
        }
    }
}
