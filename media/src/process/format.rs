//! The formats the service accepts, decided from the bytes alone: images it
//! can transform, and videos and documents it stores and delivers as they
//! came (Cloudinary's `video` and `raw` resource types).

use std::fmt;

use crate::store::ResourceKind;

/// An accepted image format. The client's file name and `Content-Type` are
/// never consulted: a PNG called `photo.jpg` is a PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
    Avif,
    /// HEIF with HEVC: what phones take photos in. Decoded for every
    /// transformation; delivered as uploaded only under its own extension.
    Heic,
}

/// A video container the site plays in a `<video>` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoFormat {
    Mp4,
    Webm,
    QuickTime,
}

/// Anything an upload may be. Only images are decoded and transformed;
/// videos and PDFs are checked by their magic numbers and served as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Image(ImageFormat),
    Video(VideoFormat),
    Pdf,
}

impl FileFormat {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Image(image) => image.mime(),
            Self::Video(VideoFormat::Mp4) => "video/mp4",
            Self::Video(VideoFormat::Webm) => "video/webm",
            Self::Video(VideoFormat::QuickTime) => "video/quicktime",
            Self::Pdf => "application/pdf",
        }
    }

    /// The canonical file extension, used in delivery URLs.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Image(image) => image.extension(),
            Self::Video(VideoFormat::Mp4) => "mp4",
            Self::Video(VideoFormat::Webm) => "webm",
            Self::Video(VideoFormat::QuickTime) => "mov",
            Self::Pdf => "pdf",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        ImageFormat::from_mime(mime).map(Self::Image).or_else(|| {
            [
                Self::Video(VideoFormat::Mp4),
                Self::Video(VideoFormat::Webm),
                Self::Video(VideoFormat::QuickTime),
                Self::Pdf,
            ]
            .into_iter()
            .find(|format| format.mime() == mime)
        })
    }

    /// How a backend files it, and the first segment of its delivery path.
    pub fn resource(self) -> ResourceKind {
        match self {
            Self::Image(_) => ResourceKind::Image,
            Self::Video(_) => ResourceKind::Video,
            Self::Pdf => ResourceKind::Raw,
        }
    }

    /// The image format, for what only images can do (transformations).
    pub fn image(self) -> Option<ImageFormat> {
        match self {
            Self::Image(image) => Some(image),
            _ => None,
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// What the first bytes of an upload say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    Accepted(FileFormat),
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
            Self::Heic => "image/heic",
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
            Self::Heic => "heic",
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
            "heic" | "heif" => Some(Self::Heic),
            _ => None,
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        [
            Self::Jpeg,
            Self::Png,
            Self::Webp,
            Self::Gif,
            Self::Avif,
            Self::Heic,
        ]
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
    let image = |format| Sniffed::Accepted(FileFormat::Image(format));
    match imagesize::image_type(head) {
        Ok(imagesize::ImageType::Jpeg) => image(ImageFormat::Jpeg),
        Ok(imagesize::ImageType::Png) => image(ImageFormat::Png),
        Ok(imagesize::ImageType::Webp) => image(ImageFormat::Webp),
        Ok(imagesize::ImageType::Gif) => image(ImageFormat::Gif),
        Ok(imagesize::ImageType::Heif(imagesize::Compression::Av1)) => image(ImageFormat::Avif),
        // imagesize calls every ISO BMFF file HEIF; only still-image
        // brands are. The rest (isom, mp42, qt, ...) are movies.
        Ok(imagesize::ImageType::Heif(imagesize::Compression::Unknown))
            if !head.get(8..12).is_some_and(|brand| {
                [b"mif1", b"msf1", b"mif2", b"miaf"]
                    .iter()
                    .any(|still| brand == still.as_slice())
            }) =>
        {
            sniff_file(head).unwrap_or(Sniffed::Unknown)
        }
        Ok(imagesize::ImageType::Heif(imagesize::Compression::Hevc)) => image(ImageFormat::Heic),
        Ok(imagesize::ImageType::Heif(_)) => Sniffed::Refused("HEIF other than HEIC or AVIF"),
        Ok(other) => Sniffed::Refused(refused_name(other)),
        Err(_) => match sniff_file(head) {
            Some(found) => found,
            None if head.len() < SNIFF_BYTES => Sniffed::NeedMore,
            None => Sniffed::Unknown,
        },
    }
}

/// Videos and documents, by the signatures their specifications fix:
/// ISO BMFF's `ftyp` box (MP4, QuickTime), the EBML header with the
/// `webm` doctype, and PDF's `%PDF-`.
fn sniff_file(head: &[u8]) -> Option<Sniffed> {
    if head.starts_with(b"%PDF-") {
        return Some(Sniffed::Accepted(FileFormat::Pdf));
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let video = match &head[8..12] {
            b"qt  " => VideoFormat::QuickTime,
            // Still-image brands (HEIC, AVIF) were told apart above.
            _ => VideoFormat::Mp4,
        };
        return Some(Sniffed::Accepted(FileFormat::Video(video)));
    }
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        let window = &head[..head.len().min(SNIFF_BYTES)];
        if window.windows(4).any(|w| w == b"webm") {
            return Some(Sniffed::Accepted(FileFormat::Video(VideoFormat::Webm)));
        }
        if window.windows(8).any(|w| w == b"matroska") {
            return Some(Sniffed::Refused("Matroska (MKV) video"));
        }
        return (head.len() >= SNIFF_BYTES).then_some(Sniffed::Unknown);
    }
    None
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
        assert_eq!(
            sniff(png),
            Sniffed::Accepted(FileFormat::Image(ImageFormat::Png))
        );
        let mut gif = b"GIF89a\x01\0\x01\0".to_vec();
        gif.resize(SNIFF_BYTES, 0);
        assert_eq!(
            sniff(&gif),
            Sniffed::Accepted(FileFormat::Image(ImageFormat::Gif))
        );
    }

    #[test]
    fn recognises_videos_and_pdfs() {
        let padded = |head: &[u8]| {
            let mut out = head.to_vec();
            out.resize(SNIFF_BYTES, 0);
            out
        };
        let cases: [(&[u8], FileFormat); 5] = [
            (
                b"\0\0\0\x20ftypisom\0\0\x02\0",
                FileFormat::Video(VideoFormat::Mp4),
            ),
            (
                b"\0\0\0\x18ftypmp42\0\0\0\0",
                FileFormat::Video(VideoFormat::Mp4),
            ),
            (
                b"\0\0\0\x14ftypqt  \0\0\x02\0",
                FileFormat::Video(VideoFormat::QuickTime),
            ),
            (
                b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm",
                FileFormat::Video(VideoFormat::Webm),
            ),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", FileFormat::Pdf),
        ];
        for (head, format) in cases {
            assert_eq!(sniff(&padded(head)), Sniffed::Accepted(format), "{format}");
            assert_eq!(FileFormat::from_mime(format.mime()), Some(format));
        }
        assert_eq!(
            sniff(&padded(
                b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska"
            )),
            Sniffed::Refused("Matroska (MKV) video")
        );
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3"), Sniffed::NeedMore);
        assert_eq!(FileFormat::Pdf.resource(), ResourceKind::Raw);
        assert_eq!(FileFormat::Pdf.image(), None);
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
            ImageFormat::Heic,
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
