//! HEIC (what phones upload) and AVIF originals, decoded through Debian's
//! libheif: HEVC by libde265, AV1 by dav1d. libheif applies the container's
//! rotation and mirroring itself, so the sizes here are as displayed and no
//! EXIF orientation is applied on top (HEIF says to ignore it).

use image::{DynamicImage, RgbImage, RgbaImage};
use libheif_rs::{ColorSpace, HeifContext, RgbChroma};

/// Why libheif could not read a file, in its words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HeifError(String);

fn unreadable(err: impl std::fmt::Display) -> HeifError {
    HeifError(err.to_string())
}

/// Displayed width and height of the primary image, from the container
/// alone (no pixel decoded).
///
/// # Errors
/// [`HeifError`] when the container does not parse.
pub fn size(source: &[u8]) -> Result<(u32, u32), HeifError> {
    let context = HeifContext::read_from_bytes(source).map_err(unreadable)?;
    let handle = context.primary_image_handle().map_err(unreadable)?;
    Ok((handle.width(), handle.height()))
}

/// Decodes the primary image into 8-bit RGB(A). The caller has checked the
/// pixel count against its limit from [`size`] first.
///
/// # Errors
/// [`HeifError`] when the pixels cannot be decoded (a
/// truncated file, a codec this libheif lacks).
pub fn decode(source: &[u8]) -> Result<DynamicImage, HeifError> {
    let context = HeifContext::read_from_bytes(source).map_err(unreadable)?;
    let handle = context.primary_image_handle().map_err(unreadable)?;
    let alpha = handle.has_alpha_channel();
    let chroma = if alpha {
        RgbChroma::Rgba
    } else {
        RgbChroma::Rgb
    };
    let image = handle
        .decode(ColorSpace::Rgb(chroma), None)
        .map_err(unreadable)?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| unreadable("libheif gave no interleaved plane"))?;
    let channels: usize = if alpha { 4 } else { 3 };
    let (width, height) = (plane.width, plane.height);
    let row = width as usize * channels;
    if plane.stride < row
        || plane.data.len() < plane.stride * (height as usize).saturating_sub(1) + row
    {
        return Err(unreadable("libheif's plane is smaller than its size"));
    }
    let mut pixels = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        pixels.extend_from_slice(&plane.data[y * plane.stride..y * plane.stride + row]);
    }
    let built = if alpha {
        RgbaImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8)
    };
    built.ok_or_else(|| unreadable("pixel buffer of the wrong size"))
}
