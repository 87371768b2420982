//! Encoding a rendered image: JPEG 4:2:0 through libjpeg-turbo, lossy
//! WebP through libwebp, PNG, GIF and AVIF (rav1e) through `image`.
//! Encoders write pixels only, so metadata is stripped.

use image::codecs::png::{CompressionType, PngEncoder};
use image::{DynamicImage, ExtendedColorType, GenericImageView, ImageEncoder};

use super::format::ImageFormat;
use super::transformation::TransformError;

/// rav1e speed (1 slowest to 10 fastest).
const AVIF_SPEED: u8 = 8;

/// Largest side each encoder can write (WebP's bitstream stores 14 bits;
/// libavif refuses more than 16384 by default; GIF stores 16 bits).
fn encoder_max_side(format: ImageFormat) -> u32 {
    match format {
        ImageFormat::Webp => 16_383,
        ImageFormat::Avif | ImageFormat::Heic => 16_384,
        ImageFormat::Gif => 65_535,
        ImageFormat::Jpeg => 65_500,
        ImageFormat::Png => u32::MAX,
    }
}

pub fn check_encoder_limits(output: (u32, u32), format: ImageFormat) -> Result<(), TransformError> {
    let max = encoder_max_side(format);
    if output.0 > max || output.1 > max {
        return Err(TransformError::new(
            "f",
            format!(
                "{} images are at most {max} pixels a side; this one would be {}x{}",
                format.extension().to_uppercase(),
                output.0,
                output.1
            ),
        ));
    }
    Ok(())
}

pub fn encode(
    image: &DynamicImage,
    format: ImageFormat,
    quality: u8,
    progressive: bool,
) -> Result<Vec<u8>, String> {
    let (w, h) = image.dimensions();
    let failed = |err: &dyn std::fmt::Display| err.to_string();
    let color = if image.color().has_alpha() {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    match format {
        ImageFormat::Jpeg => {
            // JPEG has no alpha: flatten onto white, as Cloudinary does.
            let rgb = flatten(image);
            let pixels = turbojpeg::Image {
                pixels: rgb.as_raw().as_slice(),
                width: w as usize,
                pitch: 3 * w as usize,
                height: h as usize,
                format: turbojpeg::PixelFormat::RGB,
            };
            let mut compressor = turbojpeg::Compressor::new().map_err(|e| failed(&e))?;
            compressor
                .set_quality(i32::from(quality))
                .and_then(|()| compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2))
                .and_then(|()| compressor.set_progressive(progressive))
                .map_err(|e| failed(&e))?;
            compressor.compress_to_vec(pixels).map_err(|e| failed(&e))
        }
        ImageFormat::Png => {
            let mut out = Vec::new();
            let encoder = PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            );
            encoder
                .write_image(image.as_bytes(), w, h, color)
                .map_err(|e| failed(&e))?;
            Ok(out)
        }
        ImageFormat::Webp => {
            let memory = if image.color().has_alpha() {
                webp::Encoder::from_rgba(image.as_bytes(), w, h)
                    .encode_simple(false, f32::from(quality))
            } else {
                webp::Encoder::from_rgb(image.as_bytes(), w, h)
                    .encode_simple(false, f32::from(quality))
            }
            .map_err(|e| failed(&format!("{e:?}")))?;
            Ok(memory.to_vec())
        }
        ImageFormat::Avif => {
            let mut out = Vec::new();
            // Speed 8 of 10: AV1 is slow to encode, and a CDN miss waits for it.
            // One thread: renders already run one per core.
            let encoder = image::codecs::avif::AvifEncoder::new_with_speed_quality(
                &mut out,
                AVIF_SPEED,
                quality.clamp(1, 100),
            )
            .with_num_threads(Some(1));
            encoder
                .write_image(image.as_bytes(), w, h, color)
                .map_err(|e| failed(&e))?;
            Ok(out)
        }
        ImageFormat::Gif => {
            let mut out = Vec::new();
            let rgba = image.to_rgba8();
            image::codecs::gif::GifEncoder::new(&mut out)
                .encode(rgba.as_raw(), w, h, ExtendedColorType::Rgba8)
                .map_err(|e| failed(&e))?;
            Ok(out)
        }
        // Delivery never asks for it: HEIC is an input format only.
        ImageFormat::Heic => Err("HEIC is not an output format".into()),
    }
}

fn flatten(image: &DynamicImage) -> image::RgbImage {
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb.clone(),
        other => {
            let rgba = other.to_rgba8();
            let mut rgb = image::RgbImage::new(rgba.width(), rgba.height());
            for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
                let a = u32::from(px[3]);
                for c in 0..3 {
                    out[c] = ((u32::from(px[c]) * a + 255 * (255 - a)) / 255) as u8;
                }
            }
            rgb
        }
    }
}
