//! Drawing text layers with the fonts the project installs (Debian's
//! `fonts-liberation`, metric-compatible with Arial, Times New Roman and
//! Courier New, and `fonts-dejavu-core`), rasterised by ab_glyph. A
//! family that is not installed is refused, never replaced: a caption
//! set in another face would silently change a brand's look. A glyph the
//! face lacks (an emoji in Arial) comes from DejaVu Sans, the widest.

use std::path::Path;

use ab_glyph::{point, Font, FontVec, GlyphId, PxScale, ScaleFont};
use image::{Rgba, RgbaImage};

use super::transformation::{Align, Rgba as Colour, Text, MAX_SIDE};

/// Family names (lower case) and their four faces: regular, bold,
/// italic, bold italic, relative to the font folder.
#[rustfmt::skip]
const FAMILIES: &[(&[&str], [&str; 4])] = &[
    (&["arial", "helvetica", "liberation sans", "sans-serif"], [
        "liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf",
        "liberation/LiberationSans-Italic.ttf", "liberation/LiberationSans-BoldItalic.ttf"]),
    (&["times", "times new roman", "liberation serif", "serif"], [
        "liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Bold.ttf",
        "liberation/LiberationSerif-Italic.ttf", "liberation/LiberationSerif-BoldItalic.ttf"]),
    (&["courier", "courier new", "liberation mono", "monospace"], [
        "liberation/LiberationMono-Regular.ttf", "liberation/LiberationMono-Bold.ttf",
        "liberation/LiberationMono-Italic.ttf", "liberation/LiberationMono-BoldItalic.ttf"]),
    (&["dejavu sans"], [
        "dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf",
        "dejavu/DejaVuSans-Oblique.ttf", "dejavu/DejaVuSans-BoldOblique.ttf"]),
    (&["dejavu serif"], [
        "dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf",
        "dejavu/DejaVuSerif-Italic.ttf", "dejavu/DejaVuSerif-BoldItalic.ttf"]),
];

/// The family whose faces fill in glyphs another face lacks.
const FALLBACK: usize = 3;

/// The installed faces, read once at start-up.
#[derive(Default)]
pub struct Fonts {
    /// Per family of [`FAMILIES`], per face.
    faces: Vec<[Option<FontVec>; 4]>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loaded = self.faces.iter().flatten().flatten().count();
        write!(f, "Fonts({loaded} faces)")
    }
}

fn face_index(bold: bool, italic: bool) -> usize {
    usize::from(bold) + 2 * usize::from(italic)
}

impl Fonts {
    /// Reads every face of [`FAMILIES`] found under `dir`; those missing
    /// are refused when asked for.
    pub fn load(dir: &Path) -> Self {
        let faces = FAMILIES
            .iter()
            .map(|(_, files)| {
                files.map(|file| {
                    std::fs::read(dir.join(file))
                        .ok()
                        .and_then(|bytes| FontVec::try_from_vec(bytes).ok())
                })
            })
            .collect();
        Self { faces }
    }

    /// How many faces were found.
    pub fn count(&self) -> usize {
        self.faces.iter().flatten().flatten().count()
    }

    fn face(&self, family: usize, bold: bool, italic: bool) -> Option<&FontVec> {
        self.faces.get(family)?[face_index(bold, italic)].as_ref()
    }

    /// The face for `text`, or why there is none.
    fn primary(&self, text: &Text) -> Result<&FontVec, String> {
        let wanted = text.family.to_ascii_lowercase();
        let names = || {
            FAMILIES
                .iter()
                .map(|(names, _)| names[0])
                .collect::<Vec<_>>()
                .join(", ")
        };
        let family = FAMILIES
            .iter()
            .position(|(names, _)| names.contains(&wanted.as_str()))
            .ok_or_else(|| {
                format!(
                    "the font {:?} is not installed; these are (see the README): {}",
                    text.family,
                    names()
                )
            })?;
        self.face(family, text.bold, text.italic).ok_or_else(|| {
            format!(
                "the font {:?} is not installed on this server (fonts-liberation, fonts-dejavu-core)",
                text.family
            )
        })
    }
}

/// One glyph placed on a line: which face (0 the text's, 1 the
/// fallback), the glyph and its pen position.
struct Placed {
    fallback: bool,
    glyph: GlyphId,
    x: f32,
}

struct Line {
    glyphs: Vec<Placed>,
    width: f32,
}

/// The text broken into lines and measured.
pub struct Layout<'f> {
    primary: &'f FontVec,
    fallback: Option<&'f FontVec>,
    size: f32,
    lines: Vec<Line>,
    ascent: f32,
    /// From one baseline to the next.
    advance: f32,
    pub width: u32,
    pub height: u32,
}

/// The scale giving `font` `size` pixels per em (what Cloudinary and
/// Pillow call the size), not ab_glyph's pixels of line height.
fn scale(font: &FontVec, size: f32) -> PxScale {
    let per_em = font.units_per_em().unwrap_or(1000.0);
    PxScale::from(size * font.height_unscaled() / per_em)
}

/// Lays out `text`, checking its size against [`MAX_SIDE`].
///
/// # Errors
/// A font that is not installed, or text too large to draw.
pub fn layout<'f>(fonts: &'f Fonts, text: &Text) -> Result<Layout<'f>, String> {
    let primary = fonts.primary(text)?;
    let fallback = fonts.face(FALLBACK, text.bold, text.italic);
    let size = text.size as f32;
    let metrics = primary.as_scaled(scale(primary, size));
    // Whole pixels above and below the baseline, rounded outwards as
    // FreeType rounds a face's metrics.
    let ascent = metrics.ascent().ceil();
    let descent = (-metrics.descent()).ceil();
    let advance = ascent + descent + text.line_spacing as f32;
    let mut layout = Layout {
        primary,
        fallback,
        size,
        lines: Vec::new(),
        ascent,
        advance,
        width: 0,
        height: 0,
    };
    let wrap = text.wrap.map(|w| w as f32);
    for paragraph in text.text.split('\n') {
        layout.break_paragraph(paragraph, text.letter_spacing as f32, wrap);
    }
    let widest = layout.lines.iter().map(|l| l.width).fold(0.0, f32::max);
    let tall = ascent + descent + advance * (layout.lines.len() as f32 - 1.0);
    if widest > MAX_SIDE as f32 || tall > MAX_SIDE as f32 {
        return Err(format!(
            "the text would be larger than {MAX_SIDE} pixels; wrap it (c_fit,w_) or make it smaller"
        ));
    }
    layout.width = (widest.ceil() as u32).max(1);
    layout.height = (tall.ceil() as u32).max(1);
    Ok(layout)
}

impl Layout<'_> {
    fn font(&self, fallback: bool) -> &FontVec {
        match (fallback, self.fallback) {
            (true, Some(font)) => font,
            _ => self.primary,
        }
    }

    /// The glyphs of `word` from pen position `x`, and where the pen ends.
    fn shape(&self, word: &str, mut x: f32, spacing: f32, out: &mut Vec<Placed>) -> f32 {
        let mut previous: Option<(bool, GlyphId)> = None;
        for c in word.chars() {
            let own = self.primary.glyph_id(c);
            let fallback = own.0 == 0 && self.fallback.is_some_and(|f| f.glyph_id(c).0 != 0);
            let font = self.font(fallback);
            let glyph = if fallback { font.glyph_id(c) } else { own };
            let scaled = font.as_scaled(scale(font, self.size));
            if let Some((was_fallback, before)) = previous {
                if was_fallback == fallback {
                    x += scaled.kern(before, glyph);
                }
                x += spacing;
            }
            out.push(Placed { fallback, glyph, x });
            x += scaled.h_advance(glyph);
            previous = Some((fallback, glyph));
        }
        x
    }

    /// Greedy word wrap at `wrap` pixels; a word wider than a line is
    /// broken between letters.
    fn break_paragraph(&mut self, paragraph: &str, spacing: f32, wrap: Option<f32>) {
        let space = {
            let font = self.primary;
            let scaled = font.as_scaled(scale(font, self.size));
            scaled.h_advance(font.glyph_id(' ')) + spacing
        };
        let mut line = Line {
            glyphs: Vec::new(),
            width: 0.0,
        };
        for word in paragraph.split(' ') {
            let mut pieces = vec![word.to_owned()];
            if let Some(limit) = wrap {
                pieces = self.split_long(word, spacing, limit);
            }
            for piece in pieces {
                let start = if line.glyphs.is_empty() && line.width == 0.0 {
                    0.0
                } else {
                    line.width + space
                };
                let mut glyphs = Vec::new();
                let end = self.shape(&piece, start, spacing, &mut glyphs);
                let overflows = wrap.is_some_and(|limit| end > limit) && start > 0.0;
                if overflows {
                    self.lines.push(std::mem::replace(
                        &mut line,
                        Line {
                            glyphs: Vec::new(),
                            width: 0.0,
                        },
                    ));
                    let mut glyphs = Vec::new();
                    line.width = self.shape(&piece, 0.0, spacing, &mut glyphs);
                    line.glyphs = glyphs;
                } else {
                    line.glyphs.extend(glyphs);
                    line.width = end;
                }
            }
        }
        self.lines.push(line);
    }

    /// `word` cut into pieces no wider than `limit` (one letter at least).
    fn split_long(&self, word: &str, spacing: f32, limit: f32) -> Vec<String> {
        let mut pieces = Vec::new();
        let mut current = String::new();
        for c in word.chars() {
            let mut candidate = current.clone();
            candidate.push(c);
            let width = self.shape(&candidate, 0.0, spacing, &mut Vec::new());
            if width > limit && !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
                current.push(c);
            } else {
                current = candidate;
            }
        }
        pieces.push(current);
        pieces
    }

    /// The lines drawn in `colour` on `background`, aligned within the
    /// widest.
    pub fn draw(&self, align: Align, colour: Colour, background: Option<Colour>) -> RgbaImage {
        let (w, h) = (self.width, self.height);
        let mut coverage = vec![0f32; w as usize * h as usize];
        for (index, line) in self.lines.iter().enumerate() {
            let baseline = self.ascent + self.advance * index as f32;
            let shift = match align {
                Align::Left => 0.0,
                Align::Center => (w as f32 - line.width) / 2.0,
                Align::Right => w as f32 - line.width,
            };
            for placed in &line.glyphs {
                let font = self.font(placed.fallback);
                let glyph = placed.glyph.with_scale_and_position(
                    scale(font, self.size),
                    point(placed.x + shift, baseline),
                );
                let Some(outlined) = font.outline_glyph(glyph) else {
                    continue;
                };
                let bounds = outlined.px_bounds();
                outlined.draw(|gx, gy, c| {
                    let x = bounds.min.x as i64 + i64::from(gx);
                    let y = bounds.min.y as i64 + i64::from(gy);
                    if (0..i64::from(w)).contains(&x) && (0..i64::from(h)).contains(&y) {
                        let cell = &mut coverage[y as usize * w as usize + x as usize];
                        *cell = (*cell + c).min(1.0);
                    }
                });
            }
        }
        let ground = background.map_or([0; 4], |c| c.0);
        let ink = colour.0;
        RgbaImage::from_fn(w, h, |x, y| {
            let c = coverage[y as usize * w as usize + x as usize] * f32::from(ink[3]) / 255.0;
            let below = f32::from(ground[3]) / 255.0;
            let alpha = c + below * (1.0 - c);
            if alpha <= 0.0 {
                return Rgba([0; 4]);
            }
            let mut pixel = [0u8; 4];
            for i in 0..3 {
                let value =
                    (f32::from(ink[i]) * c + f32::from(ground[i]) * below * (1.0 - c)) / alpha;
                pixel[i] = value.round().clamp(0.0, 255.0) as u8;
            }
            pixel[3] = (alpha * 255.0).round() as u8;
            Rgba(pixel)
        })
    }
}

/// `text` drawn as its layer: black on transparent unless styled.
///
/// # Errors
/// As [`layout`].
pub fn render(fonts: &Fonts, text: &Text) -> Result<RgbaImage, String> {
    let layout = layout(fonts, text)?;
    let colour = text.colour.unwrap_or(Colour([0, 0, 0, 255]));
    Ok(layout.draw(text.align.unwrap_or_default(), colour, text.background))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        Fonts::load(Path::new("/usr/share/fonts/truetype"))
    }

    fn text(words: &str, wrap: Option<u32>) -> Text {
        Text {
            family: "Arial".into(),
            size: 40,
            text: words.into(),
            wrap,
            ..Text::default()
        }
    }

    #[test]
    fn arial_is_liberation_sans_and_missing_fonts_are_refused() {
        let fonts = fonts();
        assert!(fonts.count() >= 12, "{fonts:?}: install fonts-liberation");
        let one = layout(&fonts, &text("Avenue", None)).expect("drawn");
        // FreeType (Pillow) measures 'Avenue' at 40 px 134.97 wide, 37
        // above the baseline and 9 below.
        assert!((one.width as i32 - 135).abs() <= 1, "{}", one.width);
        assert_eq!(one.height, 46);
        let mut comic = text("Avenue", None);
        comic.family = "Comic Sans MS".into();
        let refused = layout(&fonts, &comic).err().expect("not installed");
        assert!(refused.contains("not installed"), "{refused}");
        assert!(layout(&Fonts::default(), &text("Avenue", None)).is_err());
    }

    #[test]
    fn text_wraps_at_the_width_and_draws_ink() {
        let fonts = fonts();
        let long = "Spring collection now in store";
        let wrapped = layout(&fonts, &text(long, Some(200))).expect("drawn");
        assert!(wrapped.width <= 200, "{}", wrapped.width);
        assert!(wrapped.lines.len() >= 3, "{} lines", wrapped.lines.len());
        let narrow = layout(&fonts, &text("Unbreakable", Some(40))).expect("drawn");
        assert!(narrow.width <= 40 && narrow.lines.len() > 1);
        let image = render(&fonts, &text("Hi 😀", None)).expect("drawn");
        let inked = image.pixels().filter(|p| p.0[3] > 128).count();
        assert!(inked > 100, "{inked} inked pixels");
        let plain = render(&fonts, &text("Hi", None)).expect("drawn");
        assert!(
            image.width() > plain.width(),
            "the emoji came from DejaVu Sans"
        );
    }
}
