//! The tail of a delivery URL, `[s--SIG--/][components/][vN/]{id}[.{ext}]`,
//! taken apart without touching the transformation's meaning, and the
//! components parsed with the presets expanded.

use avenue_shared::MediaId;

use super::super::error::AppError;
use crate::process::format::ImageFormat;
use crate::process::presets::Presets;
use crate::process::transformation::Transformation;

/// The parsed tail of a delivery URL.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DeliveryPath<'a> {
    pub signature: Option<&'a str>,
    pub components: Vec<&'a str>,
    /// `{id}[.{ext}]` as written: part of what is signed.
    pub file: &'a str,
    pub id: MediaId,
    /// `None`: the original's format.
    pub ext: Option<ImageFormat>,
}

impl DeliveryPath<'_> {
    /// What Cloudinary signs: the transformations and the file, not the
    /// version.
    pub fn to_sign(&self) -> String {
        if self.components.is_empty() {
            self.file.to_owned()
        } else {
            format!("{}/{}", self.components.join("/"), self.file)
        }
    }

    /// Every text an SDK may have signed for this URL. The SDKs sign
    /// spaces as spaces and write them `%20` only afterwards, except a
    /// text layer's text, which the Node SDK encodes itself before
    /// signing: Python signs `l_text:Times New Roman_36:Hi there`, Node
    /// `l_text:Times New Roman_36:Hi%20there`, and both send `%20` for
    /// every space. All three forms parse to one transformation.
    pub fn signed_forms(&self) -> Vec<String> {
        let written = self.to_sign();
        if !written.contains("%20") {
            return vec![written];
        }
        let spaced = |text: &str| text.replace("%20", " ");
        let text_kept = written
            .split('/')
            .map(|component| {
                component
                    .split(',')
                    .map(|param| match param.split_once("text:") {
                        Some((key, rest)) if key == "l_" || key == "u_" => {
                            match rest.split_once(':') {
                                Some((style, text)) => {
                                    format!("{key}text:{}:{text}", spaced(style))
                                }
                                None => spaced(param),
                            }
                        }
                        _ => spaced(param),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("/");
        vec![spaced(&written), text_kept, written]
    }

    /// One named preset, with at most a format and an automatic quality
    /// beside it, in any of the shapes front ends write (`t_card`,
    /// `f_auto,q_auto,t_card`, `t_card/f_auto`): served unsigned in strict
    /// mode. A chain of presets is a transformation like any other (4^8
    /// chains per media could otherwise be forced to render), and the
    /// format and quality add a handful of renderings at most.
    pub fn single_preset(&self) -> bool {
        let mut names = 0;
        for param in self.components.iter().flat_map(|c| c.split(',')) {
            match param.split_once('_') {
                Some(("t", name)) if !name.is_empty() && !name.contains('.') => names += 1,
                Some(("f", _)) => {}
                Some(("q", level)) if level.starts_with("auto") => {}
                // Client hints, rounded to at least 100 pixels a step: at
                // most 41 widths and 7 ratios per preset and format.
                Some(("dpr", "auto")) => {}
                Some(("w", auto)) if coarse_auto_width(auto) => {}
                _ => return false,
            }
        }
        names == 1
    }
}

/// `w_auto`, `w_auto:STEP[:FALLBACK]` with a step of 100 or more, or
/// `w_auto:breakpoints…`.
fn coarse_auto_width(value: &str) -> bool {
    let mut parts = value.split(':');
    if parts.next() != Some("auto") {
        return false;
    }
    match parts.next() {
        None => true,
        Some(list) if list.starts_with("breakpoints") => true,
        Some(step) => step.parse::<u32>().is_ok_and(|step| step >= 100),
    }
}

pub(super) fn parse_path(path: &str) -> Result<DeliveryPath<'_>, AppError> {
    let mut segments: Vec<&str> = path.split('/').collect();
    let file = segments.pop().unwrap_or_default();
    let mut signature = None;
    if let Some(first) = segments.first() {
        if let Some(sig) = first.strip_prefix("s--").and_then(|s| s.strip_suffix("--")) {
            signature = Some(sig);
            segments.remove(0);
        }
    }
    // A version segment only busts caches; content addressing already makes
    // every URL immutable, so any version serves the same bytes.
    if segments.last().is_some_and(|s| {
        s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
    }) {
        segments.pop();
    }
    let (id, ext) = match file.rsplit_once('.') {
        Some((id, ext)) => (id, Some(ext)),
        None => (file, None),
    };
    let id =
        MediaId::parse(id).map_err(|err| AppError::bad_request("invalid-id", err.to_string()))?;
    let ext = ext
        .map(|ext| {
            ImageFormat::from_extension(&ext.to_ascii_lowercase()).ok_or_else(|| {
                AppError::bad_request(
                    "invalid-path",
                    format!("unknown extension '{ext}'; use jpg, png, webp, gif or avif, or none for the original's format"),
                )
            })
        })
        .transpose()?;
    Ok(DeliveryPath {
        signature,
        components: segments,
        file,
        id,
        ext,
    })
}

/// Parses the components, named presets expanded.
pub(super) fn expand(components: &[&str], presets: &Presets) -> Result<Transformation, AppError> {
    Transformation::parse_with(components.iter().copied(), presets)
        .map_err(|err| AppError::bad_request("invalid-transformation", err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_paths_with_signature_transformations_and_version() {
        let plain_path = format!("{ID}.jpg");
        let plain = parse_path(&plain_path).expect("valid");
        assert_eq!(plain.ext, Some(ImageFormat::Jpeg));
        assert!(plain.components.is_empty());
        let full_path = format!("s--abcdefgh--/c_fill,w_10/t_card/v17/{ID}.png");
        let full = parse_path(&full_path).expect("valid");
        assert_eq!(full.signature, Some("abcdefgh"));
        assert_eq!(full.components, vec!["c_fill,w_10", "t_card"]);
        assert_eq!(full.to_sign(), format!("c_fill,w_10/t_card/{ID}.png"));
        assert_eq!(full.signed_forms(), vec![full.to_sign()]);
        let written = format!("l_text:Times%20New%20Roman_20:Hi%20there,w_9/{ID}");
        let text = parse_path(&written).expect("valid");
        assert_eq!(
            text.signed_forms(),
            vec![
                format!("l_text:Times New Roman_20:Hi there,w_9/{ID}"),
                format!("l_text:Times New Roman_20:Hi%20there,w_9/{ID}"),
                format!("l_text:Times%20New%20Roman_20:Hi%20there,w_9/{ID}"),
            ]
        );
        assert!(!full.single_preset());
        assert!(parse_path(&format!("t_card/{ID}.png"))
            .expect("valid")
            .single_preset());
        assert!(!parse_path(&format!("t_hero/t_card/t_thumb/{ID}.png"))
            .expect("valid")
            .single_preset());
        for front_end in [
            "f_auto,q_auto,t_card",
            "t_card/f_auto",
            "f_webp/t_card",
            "q_auto:eco,t_card",
        ] {
            assert!(
                parse_path(&format!("{front_end}/{ID}"))
                    .expect("valid")
                    .single_preset(),
                "{front_end}"
            );
        }
        for other in [
            "t_card.thumb",
            "t_card,w_100",
            "t_card/q_10",
            "f_auto",
            "t_card/t_card",
        ] {
            assert!(
                !parse_path(&format!("{other}/{ID}"))
                    .expect("valid")
                    .single_preset(),
                "{other}"
            );
        }
        assert!(parse_path(&format!("{ID}.JPEG")).is_ok());
    }

    #[test]
    fn the_extension_may_be_left_out_as_the_sdks_do() {
        // `cloudinary.url(id, {width: 400, crop: "scale"})`, and CldImage's
        // shape with the version after the components.
        let bare = parse_path(ID).expect("valid");
        assert_eq!(bare.ext, None);
        assert_eq!(bare.to_sign(), ID);
        let written = format!("s--abcdefgh--/c_limit,w_800/f_auto/q_auto/v1/{ID}");
        let sdk = parse_path(&written).expect("valid");
        assert_eq!(sdk.ext, None);
        assert_eq!(sdk.components, vec!["c_limit,w_800", "f_auto", "q_auto"]);
        assert_eq!(sdk.to_sign(), format!("c_limit,w_800/f_auto/q_auto/{ID}"));
    }

    #[test]
    fn refuses_bad_paths() {
        assert!(parse_path("not-an-id").is_err());
        assert!(parse_path(&format!("{ID}.")).is_err());
        assert!(parse_path(&format!("{ID}.exe")).is_err());
        assert!(parse_path("../../etc/passwd.jpg").is_err());
    }

    #[test]
    fn presets_expand_and_unknown_ones_are_refused() {
        let presets = Presets::defaults();
        let t = expand(&["t_card", "q_50"], &presets).expect("valid");
        assert_eq!(t.steps.len(), 2);
        assert_eq!(t.canonical(), "c_fill,g_auto,h_300,w_400/q_50");
        let t = expand(&["f_auto,q_auto,t_card"], &presets).expect("valid");
        assert_eq!(t.canonical(), "c_fill,g_auto,h_300,w_400/f_auto,q_auto");
        assert!(expand(&["t_nope"], &presets).is_err());
    }
}
