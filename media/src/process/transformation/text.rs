//! Text layers: `l_text:FAMILY_SIZE[_bold][_italic][_ALIGN]
//! [_letter_spacing_N][_line_spacing_N]:TEXT`. The SDKs encode a comma
//! or slash in the text twice (`%252C`), everything else once, so the
//! text is decoded once more after the parameter's own decoding. Its
//! colour (`co_`), background (`b_`) and wrapping width (`c_fit,w_`)
//! come from the `l_text` component.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::Rgba;

/// Longest text a layer may draw, in characters.
pub const MAX_TEXT: usize = 500;
/// Largest font size, in pixels per em.
pub const MAX_FONT_SIZE: u32 = 1000;
/// Most letter or line spacing either way, in pixels.
const MAX_SPACING: i32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

impl Align {
    fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Center => "center",
            Self::Right => "right",
        }
    }
}

/// What a text layer draws and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    /// As written (`Arial`, `Times New Roman`); the README lists those
    /// installed.
    pub family: String,
    pub size: u32,
    pub bold: bool,
    pub italic: bool,
    /// Only for text that wraps or has several lines.
    pub align: Option<Align>,
    pub letter_spacing: i32,
    pub line_spacing: i32,
    pub text: String,
    /// `co_`: black unless given.
    pub colour: Option<Rgba>,
    /// `b_`: transparent unless given.
    pub background: Option<Rgba>,
    /// `c_fit,w_`: lines wrap at this width.
    pub wrap: Option<u32>,
}

fn spacing(raw: Option<&str>, name: &str) -> Result<i32, String> {
    let refused =
        || format!("{name}_spacing takes whole pixels from -{MAX_SPACING} to {MAX_SPACING}");
    let raw = raw.ok_or_else(refused)?;
    raw.parse::<i32>()
        .ok()
        .filter(|n| n.abs() <= MAX_SPACING)
        .ok_or_else(refused)
}

/// Parses what follows `text:` in an `l_` value.
pub(super) fn parse(raw: &str) -> Result<Text, String> {
    let (style, text) = raw
        .split_once(':')
        .ok_or("a text layer is text:FAMILY_SIZE:TEXT, like text:Arial_40:Sale")?;
    let mut tokens = style.split('_');
    let family = tokens.next().unwrap_or_default().trim();
    if family.is_empty() || family.len() > 64 {
        return Err("a text layer names a font family first (text:Arial_40:…)".into());
    }
    let size = tokens
        .next()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| (1..=MAX_FONT_SIZE).contains(s))
        .ok_or_else(|| {
            format!("after the family comes the size in pixels, 1 to {MAX_FONT_SIZE}")
        })?;
    let mut parsed = Text {
        family: family.to_owned(),
        size,
        ..Text::default()
    };
    while let Some(token) = tokens.next() {
        match token {
            "normal" => {}
            "bold" => parsed.bold = true,
            "italic" => parsed.italic = true,
            "left" => parsed.align = Some(Align::Left),
            "center" => parsed.align = Some(Align::Center),
            "right" => parsed.align = Some(Align::Right),
            "letter" | "line" if tokens.next() == Some("spacing") => {
                let value = spacing(tokens.next(), token)?;
                if token == "letter" {
                    parsed.letter_spacing = value;
                } else {
                    parsed.line_spacing = value;
                }
            }
            // Rendering hints: our rasteriser always anti-aliases.
            "antialias" | "hinting" => {
                tokens.next();
            }
            other => {
                return Err(format!(
                    "the text style {other:?} is not rendered: bold, italic, normal, left, center, right, letter_spacing_N, line_spacing_N"
                ))
            }
        }
    }
    // Decoded once with the parameter; commas and slashes were encoded
    // twice, so once more here.
    let decoded = percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| "the text is not valid UTF-8 once decoded")?;
    if decoded.is_empty() || decoded.chars().count() > MAX_TEXT {
        return Err(format!("a text layer draws 1 to {MAX_TEXT} characters"));
    }
    if decoded.chars().any(|c| c.is_control() && c != '\n') {
        return Err("the text holds control characters (only a new line, %0A, is drawn)".into());
    }
    parsed.text = decoded.into_owned();
    Ok(parsed)
}

/// What the SDKs encode in a text: everything but letters, digits and
/// `-._~`; a comma, slash or percent sign twice.
const TEXT_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text:STYLE:TEXT` in the one spelling.
pub(super) fn print(text: &Text) -> String {
    let mut style = vec![
        utf8_percent_encode(&text.family, TEXT_SET).to_string(),
        text.size.to_string(),
    ];
    if text.bold {
        style.push("bold".into());
    }
    if text.italic {
        style.push("italic".into());
    }
    if let Some(align) = text.align {
        style.push(align.as_str().into());
    }
    if text.letter_spacing != 0 {
        style.push(format!("letter_spacing_{}", text.letter_spacing));
    }
    if text.line_spacing != 0 {
        style.push(format!("line_spacing_{}", text.line_spacing));
    }
    let once = utf8_percent_encode(&text.text, TEXT_SET).to_string();
    let twice = once
        .replace("%25", "%2525")
        .replace("%2C", "%252C")
        .replace("%2F", "%252F");
    format!("text:{}:{twice}", style.join("_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_text_reads_back_as_written() {
        // What the Node SDK writes for "Hi, there/é 😀" in bold Arial,
        // once the parameter itself is decoded.
        let text = parse("Arial_40_bold_letter_spacing_4:Hi%2C there%2Fé 😀").expect("valid");
        assert_eq!(text.family, "Arial");
        assert_eq!(text.size, 40);
        assert!(text.bold && !text.italic);
        assert_eq!(text.letter_spacing, 4);
        assert_eq!(text.text, "Hi, there/é 😀");
        let printed = print(&text);
        assert_eq!(
            printed,
            "text:Arial_40_bold_letter_spacing_4:Hi%252C%20there%252F%C3%A9%20%F0%9F%98%80"
        );
        let once = percent_decode_str(printed.trim_start_matches("text:"))
            .decode_utf8()
            .expect("utf-8")
            .into_owned();
        assert_eq!(parse(&once).expect("reparse"), text);
        assert_eq!(
            parse("Times New Roman_12:100%25").expect("percent").text,
            "100%"
        );
    }

    #[test]
    fn bad_text_is_refused_with_a_reason() {
        for (raw, reason) in [
            ("Arial:Hi", "size"),
            ("Arial_0:Hi", "size"),
            ("Arial_2000:Hi", "size"),
            ("Arial_40_underline:Hi", "underline"),
            ("Arial_40_letter_spacing_x:Hi", "letter_spacing"),
            ("Arial_40", "text:FAMILY_SIZE:TEXT"),
            ("Arial_40:", "1 to 500"),
            ("Arial_40:%07", "control"),
        ] {
            let refused = parse(raw).expect_err(raw);
            assert!(refused.contains(reason), "{raw}: {refused}");
        }
        let long = format!("Arial_40:{}", "a".repeat(MAX_TEXT + 1));
        assert!(parse(&long).is_err());
    }
}
