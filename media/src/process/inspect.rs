//! Checking a new original once, at upload: decode it far enough to know it
//! is whole, and keep a BlurHash of it for front ends to paint while the
//! image loads.

use std::io::Cursor;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};

use super::format::ImageFormat;
use super::pipeline::{other_decoder, probe, rotates, unreadable, ProcessError};

/// The BlurHash is computed on an image at most this many pixels a side:
/// it keeps 4x3 cosine components, which a thumbnail holds as well as the
/// original.
const PLACEHOLDER_SIDE: u32 = 32;
/// Components across and down; the string is 28 characters.
const PLACEHOLDER_COMPONENTS: (u32, u32) = (4, 3);

/// What a new original turned out to be once decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Width and height as displayed: EXIF orientation applied.
    pub width: u32,
    pub height: u32,
    /// `false` when the image is over the pixel limit and was not decoded.
    pub decoded: bool,
    /// A BlurHash of the image as displayed, when it was decoded.
    pub placeholder: Option<String>,
}

/// Decodes a new original far enough to know it is whole, so a truncated
/// or corrupt file is refused at upload instead of failing every render
/// later. JPEGs are decoded at 1/8 scale (libjpeg-turbo still reads every
/// entropy-coded byte, so truncation shows, for a few milliseconds); PNGs
/// row by row (one row in memory, every few pixels sampled for the
/// placeholder), GIF, WebP, AVIF and HEIC whole. Images over `max_pixels`
/// are not decoded here; rendering refuses them anyway.
///
/// # Errors
/// [`ProcessError::Unreadable`] when the pixels cannot be decoded.
pub fn inspect(
    source: &[u8],
    format: ImageFormat,
    max_pixels: u64,
) -> Result<Inspected, ProcessError> {
    let (width, height, orientation) = probe(source, format)?;
    let oriented = if rotates(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    if u64::from(width) * u64::from(height) > max_pixels {
        return Ok(Inspected {
            width: oriented.0,
            height: oriented.1,
            decoded: false,
            placeholder: None,
        });
    }
    let small = match format {
        ImageFormat::Jpeg => jpeg_eighth(source)?,
        ImageFormat::Png => png_sampled(source)?,
        ImageFormat::Avif | ImageFormat::Heic => {
            let image = super::heif::decode(source).map_err(unreadable)?;
            Some(
                image
                    .thumbnail(PLACEHOLDER_SIDE, PLACEHOLDER_SIDE)
                    .to_rgba8(),
            )
        }
        other => {
            let decoder = other_decoder(source, other)?;
            let image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
            Some(
                image
                    .thumbnail(PLACEHOLDER_SIDE, PLACEHOLDER_SIDE)
                    .to_rgba8(),
            )
        }
    };
    Ok(Inspected {
        width: oriented.0,
        height: oriented.1,
        decoded: true,
        placeholder: small.and_then(|image| placeholder(image, orientation)),
    })
}

/// The whole JPEG decoded at 1/8 scale, in RGBA.
fn jpeg_eighth(source: &[u8]) -> Result<Option<RgbaImage>, ProcessError> {
    let mut decompressor = turbojpeg::Decompressor::new().map_err(unreadable)?;
    decompressor
        .set_scaling_factor(turbojpeg::ScalingFactor::ONE_EIGHTH)
        .map_err(unreadable)?;
    let header = decompressor.read_header(source).map_err(unreadable)?;
    let scaled = header.scaled(turbojpeg::ScalingFactor::ONE_EIGHTH);
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; scaled.width * scaled.height * 4],
        width: scaled.width,
        pitch: scaled.width * 4,
        height: scaled.height,
        format: turbojpeg::PixelFormat::RGBA,
    };
    decompressor
        .decompress(source, image.as_deref_mut())
        .map_err(unreadable)?;
    let (Ok(width), Ok(height)) = (u32::try_from(scaled.width), u32::try_from(scaled.height))
    else {
        return Ok(None);
    };
    Ok(RgbaImage::from_raw(width, height, image.pixels))
}

/// Reads every row (so truncation shows) with one row in memory, keeping
/// every few pixels of every few rows for the placeholder. Interlaced PNGs
/// arrive pass by pass, so they are checked but get no placeholder.
fn png_sampled(source: &[u8]) -> Result<Option<RgbaImage>, ProcessError> {
    let mut decoder = png::Decoder::new(Cursor::new(source));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(unreadable)?;
    let info = reader.info();
    let (width, height, interlaced) = (info.width, info.height, info.interlaced);
    let (color, _) = reader.output_color_type();
    let channels = color.samples();
    let step = (width.max(height) / PLACEHOLDER_SIDE).max(1);
    let (out_w, out_h) = (width.div_ceil(step), height.div_ceil(step));
    let mut sampled = Vec::with_capacity((out_w * out_h * 4) as usize);
    let mut y = 0u32;
    while let Some(row) = reader.next_row().map_err(unreadable)? {
        if !interlaced && y.is_multiple_of(step) {
            for pixel in row.data().chunks_exact(channels).step_by(step as usize) {
                sampled.extend_from_slice(&to_rgba(pixel));
            }
        }
        y += 1;
    }
    if interlaced {
        return Ok(None);
    }
    Ok(RgbaImage::from_raw(out_w, out_h, sampled))
}

fn to_rgba(pixel: &[u8]) -> [u8; 4] {
    match *pixel {
        [g] => [g, g, g, 255],
        [g, a] => [g, g, g, a],
        [r, g, b] => [r, g, b, 255],
        [r, g, b, a, ..] => [r, g, b, a],
        [] => [0, 0, 0, 0],
    }
}

/// The BlurHash of `image` as displayed. Transparent pixels are painted
/// over white, as a page background most often is.
fn placeholder(image: RgbaImage, orientation: Orientation) -> Option<String> {
    let mut image = DynamicImage::ImageRgba8(image);
    if image.width() > PLACEHOLDER_SIDE || image.height() > PLACEHOLDER_SIDE {
        image = image.resize(PLACEHOLDER_SIDE, PLACEHOLDER_SIDE, FilterType::Triangle);
    }
    image.apply_orientation(orientation);
    let mut rgba = image.to_rgba8();
    for pixel in rgba.pixels_mut() {
        let alpha = u16::from(pixel[3]);
        for channel in 0..3 {
            let value = u16::from(pixel[channel]);
            pixel[channel] = ((value * alpha + 255 * (255 - alpha)) / 255) as u8;
        }
        pixel[3] = 255;
    }
    if rgba.width() == 0 || rgba.height() == 0 {
        return None;
    }
    let (x, y) = PLACEHOLDER_COMPONENTS;
    blurhash::encode(x, y, rgba.width(), rgba.height(), rgba.as_raw()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(image: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    #[test]
    fn placeholders_are_blurhashes_of_what_is_shown() {
        // Red on the left, blue on the right: the hash's first AC component
        // runs left to right, so the two halves must show in it.
        let image = DynamicImage::ImageRgba8(RgbaImage::from_fn(300, 200, |x, _| {
            if x < 150 {
                image::Rgba([255, 0, 0, 255])
            } else {
                image::Rgba([0, 0, 255, 255])
            }
        }));
        let mut decoded_hashes = Vec::new();
        for (format, ours) in [
            (image::ImageFormat::Png, ImageFormat::Png),
            (image::ImageFormat::Jpeg, ImageFormat::Jpeg),
            (image::ImageFormat::Gif, ImageFormat::Gif),
        ] {
            let bytes = encoded(&image.to_rgb8().into(), format);
            let inspected = inspect(&bytes, ours, u64::MAX).expect("inspect");
            assert_eq!((inspected.width, inspected.height), (300, 200));
            let hash = inspected.placeholder.expect("a placeholder");
            assert_eq!(hash.len(), 28, "{hash}");
            let decoded = blurhash::decode(&hash, 4, 1, 1.0).expect("decodes");
            let (left, right) = (&decoded[0..4], &decoded[12..16]);
            assert!(
                left[0] > left[2] && right[2] > right[0],
                "{ours:?}: {decoded:?}"
            );
            decoded_hashes.push(decoded);
        }
        // The codecs differ, the picture does not: the hashes paint alike.
        for other in &decoded_hashes[1..] {
            let close = other
                .iter()
                .zip(&decoded_hashes[0])
                .all(|(a, b)| a.abs_diff(*b) <= 24);
            assert!(close, "{decoded_hashes:?}");
        }
    }

    #[test]
    fn truncated_images_are_refused_and_huge_ones_left_undecoded() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::new(64, 64));
        let png = encoded(&image, image::ImageFormat::Png);
        assert!(inspect(&png[..png.len() / 2], ImageFormat::Png, u64::MAX).is_err());
        let huge = inspect(&png, ImageFormat::Png, 100).expect("not decoded");
        assert!(!huge.decoded && huge.placeholder.is_none());
    }
}
