//! The image formats the service accepts, decided from the bytes alone.

use std::fmt;

/// An accepted image format. The client's file name and `Content-Type` are
/// never consulted: a PNG called `photo.jpg` is a PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
    Avif,
}

/// What the first bytes of an upload say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    Accepted(ImageFormat),
    /// A recognised format we do not accept, by name (for the error message).
    Refused(&'static str),
    /// Too few bytes to tell yet.
    NeedMore,
    Unknown,
}

/// Bytes needed before [`sniff`] stops answering [`Sniffed::NeedMore`].
pub const SNIFF_BYTES: usize = 64;

impl ImageFormat {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
            Self::Avif => "image/avif",
        }
    }

    /// The canonical file extension, used in delivery URLs.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
            Self::Avif => "avif",
        }
    }

    /// Parses a delivery URL extension (`jpeg` is an alias of `jpg`).
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" | "jpeg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::Webp),
            "gif" => Some(Self::Gif),
            "avif" => Some(Self::Avif),
            _ => None,
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Webp, Self::Gif, Self::Avif]
            .into_iter()
            .find(|format| format.mime() == mime)
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// Identifies the format from the magic numbers at the start of `head`.
pub fn sniff(head: &[u8]) -> Sniffed {
    if looks_like_svg(head) {
        // SVG can carry scripts and external references; it needs a sanitiser
        // before it can be served from our origin.
        return Sniffed::Refused("SVG");
    }
    match imagesize::image_type(head) {
        Ok(imagesize::ImageType::Jpeg) => Sniffed::Accepted(ImageFormat::Jpeg),
        Ok(imagesize::ImageType::Png) => Sniffed::Accepted(ImageFormat::Png),
        Ok(imagesize::ImageType::Webp) => Sniffed::Accepted(ImageFormat::Webp),
        Ok(imagesize::ImageType::Gif) => Sniffed::Accepted(ImageFormat::Gif),
        Ok(imagesize::ImageType::Heif(imagesize::Compression::Av1)) => {
            Sniffed::Accepted(ImageFormat::Avif)
        }
        Ok(imagesize::ImageType::Heif(_)) => Sniffed::Refused("HEIF/HEIC"),
        Ok(other) => Sniffed::Refused(refused_name(other)),
        Err(_) if head.len() < SNIFF_BYTES => Sniffed::NeedMore,
        Err(_) => Sniffed::Unknown,
    }
}

fn refused_name(kind: imagesize::ImageType) -> &'static str {
    use imagesize::ImageType as T;
    match kind {
        T::Bmp => "BMP",
        T::Tiff => "TIFF",
        T::Ico => "ICO",
        T::Psd => "PSD",
        T::Jxl => "JPEG XL",
        _ => "this image format",
    }
}

fn looks_like_svg(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    trimmed.starts_with("<svg")
        || (trimmed.starts_with("<?xml") && text.contains("<svg"))
        || (trimmed.starts_with("<!doctype svg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_accepted_magic_numbers() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        assert_eq!(sniff(png), Sniffed::Accepted(ImageFormat::Png));
        let mut gif = b"GIF89a\x01\0\x01\0".to_vec();
        gif.resize(SNIFF_BYTES, 0);
        assert_eq!(sniff(&gif), Sniffed::Accepted(ImageFormat::Gif));
    }

    #[test]
    fn refuses_svg_and_text() {
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"),
            Sniffed::Refused("SVG")
        );
        assert_eq!(sniff(b"  <svg></svg>"), Sniffed::Refused("SVG"));
        assert_eq!(sniff(&[b'a'; 100]), Sniffed::Unknown);
        assert_eq!(sniff(b"ab"), Sniffed::NeedMore);
    }

    #[test]
    fn extensions_round_trip() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Webp,
            ImageFormat::Gif,
            ImageFormat::Avif,
        ] {
            assert_eq!(
                ImageFormat::from_extension(format.extension()),
                Some(format)
            );
            assert_eq!(ImageFormat::from_mime(format.mime()), Some(format));
        }
        assert_eq!(ImageFormat::from_extension("jpeg"), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::from_extension("exe"), None);
    }
}
