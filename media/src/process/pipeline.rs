//! Rendering one variant: decode (JPEG through libjpeg-turbo, scaled while
//! decoding when the output is much smaller), apply EXIF orientation, run
//! each step's plan (SIMD resize with fast_image_resize, crop, pad, lay
//! layers), and encode (`super::encode`).
//!
//! CPU-bound and synchronous: callers run it in `spawn_blocking`.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, GenericImageView, ImageDecoder};

use super::encode::{check_encoder_limits, encode};
use super::geometry::{
    extreme_shape, plan_chain, plan_steps, shadow_offset, Composite, LayerSizes, Plan,
};
use super::ops::{canvas, composite, effects, energy, faces, metadata, resize, rotate, shape};
use super::text::{self, Fonts};
use super::transformation::{
    Drawing, Effect, Flag, LayerSource, Step, Text, TransformError, Transformation,
};
use crate::process::format::ImageFormat;

/// Most memory one decoder may allocate: a second line of defence behind
/// the pixel limit, checked before decoding.
const DECODE_ALLOC_LIMIT: u64 = 1024 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("the stored image cannot be decoded: {0}")]
    Unreadable(String),
    #[error("the image is {width}x{height}, more than the {max} pixel limit")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("{0}")]
    Unsupported(String),
    /// Stored before originals were held to a sane shape (imports, older
    /// limits): refused rather than rendered.
    #[error("{0}")]
    ImpossibleShape(String),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error("encoding failed: {0}")]
    Encode(String),
    /// A PDF's page or a video's frame that could not be drawn.
    #[error("{0}")]
    Undrawable(String),
}

pub struct RenderJob<'a> {
    pub source: &'a [u8],
    pub source_format: ImageFormat,
    pub transformation: &'a Transformation,
    pub output: ImageFormat,
    /// 1 to 100.
    pub quality: u8,
    /// Images with more pixels are refused before decoding.
    pub max_pixels: u64,
    /// The originals of the layers the transformation names.
    pub layers: &'a [LayerImage],
    /// What text layers are set in.
    pub fonts: &'a Fonts,
}

/// The original of a layer, by the public id the URL names it with.
#[derive(Debug, Clone)]
pub struct LayerImage {
    pub public_id: String,
    pub bytes: bytes::Bytes,
    pub format: ImageFormat,
}

/// The layers of one render, probed and decoded on demand.
struct Layers<'a> {
    images: &'a [LayerImage],
    fonts: &'a Fonts,
    max_pixels: u64,
}

impl Layers<'_> {
    fn find(&self, source: &LayerSource) -> Result<&LayerImage, TransformError> {
        self.images
            .iter()
            .find(|image| image.public_id == source.public_id)
            .ok_or_else(|| {
                TransformError::new(
                    "l",
                    format!("no media {} to draw as a layer", source.public_id),
                )
            })
    }

    /// The layer rendered through its own chain.
    fn draw(&self, plan: &Composite) -> Result<DynamicImage, ProcessError> {
        let source = match &plan.drawing {
            Drawing::Media(source) => source,
            Drawing::Text(style) => {
                let drawn =
                    text::render(self.fonts, style).map_err(|r| TransformError::new("l", r))?;
                let mut image = DynamicImage::ImageRgba8(drawn);
                for step in &plan.plans {
                    image = apply(image, step, self)?;
                }
                return Ok(image);
            }
        };
        let found = self.find(source)?;
        let original = Original {
            bytes: &found.bytes,
            format: found.format,
            ignore_orientation: false,
        };
        let (oriented, orientation) = original.checked(self.max_pixels)?;
        original.run(
            &plan.plans,
            &[],
            self,
            oriented,
            orientation,
            self.max_pixels,
        )
    }
}

impl LayerSizes for Layers<'_> {
    fn size_of(&self, source: &LayerSource) -> Result<(u32, u32), TransformError> {
        let found = self.find(source)?;
        let (w, h, orientation) = probe(&found.bytes, found.format).map_err(|err| {
            TransformError::new("l", format!("layer {}: {err}", source.public_id))
        })?;
        Ok(if rotates(orientation) { (h, w) } else { (w, h) })
    }

    fn text_size(&self, style: &Text) -> Result<(u32, u32), TransformError> {
        text_size(self.fonts, style)
    }
}

/// The size `style` is drawn at with `fonts`.
///
/// # Errors
/// A font not installed, or text too large: naming `l`.
pub fn text_size(fonts: &Fonts, style: &Text) -> Result<(u32, u32), TransformError> {
    text::layout(fonts, style)
        .map(|l| (l.width, l.height))
        .map_err(|r| TransformError::new("l", r))
}

/// Encoded pixels with what decoding them needs.
struct Original<'a> {
    bytes: &'a [u8],
    format: ImageFormat,
    /// `a_ignore`: the pixels as stored, whatever EXIF says.
    ignore_orientation: bool,
}

impl Original<'_> {
    /// Size as shown and orientation, refused when too large or of an
    /// impossible shape, all before decoding.
    fn checked(&self, max_pixels: u64) -> Result<((u32, u32), Orientation), ProcessError> {
        let (width, height, orientation) = probe(self.bytes, self.format)?;
        let orientation = if self.ignore_orientation {
            Orientation::NoTransforms
        } else {
            orientation
        };
        if u64::from(width) * u64::from(height) > max_pixels {
            return Err(ProcessError::TooManyPixels {
                width,
                height,
                max: max_pixels,
            });
        }
        if let Some(reason) = extreme_shape(width, height) {
            return Err(ProcessError::ImpossibleShape(reason));
        }
        let oriented = if rotates(orientation) {
            (height, width)
        } else {
            (width, height)
        };
        Ok((oriented, orientation))
    }

    /// Decodes, orients and runs `plans`.
    /// `steps`, when given, are what `plans` were planned from: after a
    /// step leaves another size than planned (`e_trim`), the steps after
    /// it are planned again on what it left.
    fn run(
        &self,
        plans: &[Plan],
        steps: &[Step],
        layers: &Layers<'_>,
        oriented: (u32, u32),
        orientation: Orientation,
        max_pixels: u64,
    ) -> Result<DynamicImage, ProcessError> {
        let mut image = decode(self, max_pixels, plans.first(), oriented, orientation)?;
        image.apply_orientation(orientation);
        image = normalise(image);
        let mut replanned: Option<Vec<Plan>> = None;
        for index in 0..plans.len() {
            let step_plan = replanned
                .as_ref()
                .and_then(|fresh| fresh.get(index))
                .unwrap_or(&plans[index]);
            let expected = step_plan.output();
            image = if index == 0 {
                let fitted = step_plan.clone().for_input(oriented, image.dimensions());
                apply(image, &fitted, layers)?
            } else {
                apply(image, step_plan, layers)?
            };
            let actual = image.dimensions();
            if actual != expected && steps.len() == plans.len() {
                let rest = plan_steps(actual, &steps[index + 1..], layers)?;
                let mut fresh = vec![Plan::default(); index + 1];
                fresh.extend(rest);
                replanned = Some(fresh);
            }
        }
        Ok(image)
    }
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
}

/// Renders `job`.
///
/// # Errors
/// [`ProcessError`] for undecodable or oversized sources, invalid
/// geometry, and unsupported formats. Never panics on bad input.
pub fn render(job: &RenderJob<'_>) -> Result<Rendered, ProcessError> {
    let original = Original {
        bytes: job.source,
        format: job.source_format,
        ignore_orientation: job.transformation.ignores_orientation(),
    };
    let (oriented, orientation) = original.checked(job.max_pixels)?;
    let layers = Layers {
        images: job.layers,
        fonts: job.fonts,
        max_pixels: job.max_pixels,
    };
    // The whole chain is planned, and every size it derives checked,
    // before a single pixel buffer exists; layers are probed, not decoded.
    let plans = plan_chain(oriented.0, oriented.1, job.transformation, &layers)?;
    let output = plans.last().map_or(oriented, Plan::output);
    check_encoder_limits(output, job.output)?;
    if job.output == ImageFormat::Heic {
        // Delivery never asks for it: HEIC is an input format only.
        return Err(ProcessError::Unsupported(
            "HEIC is not an output format".into(),
        ));
    }
    // Only a trim leaves a size the plan could not know; its chain has no
    // branch or variable, so its plans and steps pair one to one.
    let replan: &[Step] = if job.transformation.trims() {
        &job.transformation.steps
    } else {
        &[]
    };
    let image = original.run(
        &plans,
        replan,
        &layers,
        oriented,
        orientation,
        job.max_pixels,
    )?;
    let (width, height) = image.dimensions();
    let mut bytes = encode(
        &image,
        job.output,
        job.quality,
        job.transformation.progressive(),
    )
    .map_err(ProcessError::Encode)?;
    let keeps = job.transformation.has_flag(&Flag::KeepIptc)
        || job.transformation.has_flag(&Flag::KeepAttribution);
    if keeps && job.source_format == ImageFormat::Jpeg && job.output == ImageFormat::Jpeg {
        bytes = metadata::with_segments(bytes, &metadata::kept_segments(job.source));
    }
    Ok(Rendered {
        bytes,
        width,
        height,
        format: job.output,
    })
}

pub(super) fn unreadable(err: impl std::fmt::Display) -> ProcessError {
    ProcessError::Unreadable(err.to_string())
}

pub(super) fn rotates(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Size and orientation from the headers, without decoding pixels.
pub(super) fn probe(
    source: &[u8],
    format: ImageFormat,
) -> Result<(u32, u32, Orientation), ProcessError> {
    match format {
        ImageFormat::Jpeg => {
            let header = turbojpeg::read_header(source).map_err(unreadable)?;
            let mut decoder =
                image::codecs::jpeg::JpegDecoder::new(Cursor::new(source)).map_err(unreadable)?;
            let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
            Ok((
                u32::try_from(header.width).map_err(unreadable)?,
                u32::try_from(header.height).map_err(unreadable)?,
                orientation,
            ))
        }
        // libheif applies the container's rotation: sizes are as shown.
        ImageFormat::Avif | ImageFormat::Heic => {
            let (w, h) = super::heif::size(source).map_err(unreadable)?;
            Ok((w, h, Orientation::NoTransforms))
        }
        other => {
            let mut decoder = other_decoder(source, other)?;
            let (w, h) = decoder.dimensions();
            let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
            Ok((w, h, orientation))
        }
    }
}

pub(super) fn other_decoder(
    source: &[u8],
    format: ImageFormat,
) -> Result<Box<dyn ImageDecoder + '_>, ProcessError> {
    let image_format = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Avif | ImageFormat::Heic => {
            return Err(ProcessError::Unsupported(
                "HEIF images are decoded through libheif".into(),
            ));
        }
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(source), image_format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(DECODE_ALLOC_LIMIT);
    reader.limits(limits);
    reader
        .into_decoder()
        .map(|d| Box::new(d) as Box<dyn ImageDecoder>)
        .map_err(unreadable)
}

/// Decodes the source. A JPEG that will be shrunk a lot is decoded at 1/2,
/// 1/4 or 1/8 scale, which libjpeg-turbo does for a fraction of the cost,
/// as long as the decoded size still covers the first resize target.
fn decode(
    original: &Original<'_>,
    max_pixels: u64,
    first: Option<&Plan>,
    oriented: (u32, u32),
    orientation: Orientation,
) -> Result<DynamicImage, ProcessError> {
    if matches!(original.format, ImageFormat::Avif | ImageFormat::Heic) {
        return super::heif::decode(original.bytes).map_err(unreadable);
    }
    if original.format != ImageFormat::Jpeg {
        let decoder = other_decoder(original.bytes, original.format)?;
        let (width, height) = decoder.dimensions();
        // The decoders' own allocation limit (512 MiB) backs up the pixel
        // limit when an operator raises MEDIA_MAX_PIXELS very high.
        return DynamicImage::from_decoder(decoder).map_err(|err| match err {
            image::ImageError::Limits(_) => ProcessError::TooManyPixels {
                width,
                height,
                max: max_pixels,
            },
            other => unreadable(other),
        });
    }
    let mut decompressor = turbojpeg::Decompressor::new().map_err(unreadable)?;
    let header = decompressor
        .read_header(original.bytes)
        .map_err(unreadable)?;
    let needed = first.map(|p| {
        let (w, h) = p.input_needed(oriented);
        if rotates(orientation) {
            (h as usize, w as usize)
        } else {
            (w as usize, h as usize)
        }
    });
    let mut factor = turbojpeg::ScalingFactor::ONE;
    if let Some((need_w, need_h)) = needed {
        for candidate in [
            turbojpeg::ScalingFactor::ONE_EIGHTH,
            turbojpeg::ScalingFactor::ONE_QUARTER,
            turbojpeg::ScalingFactor::ONE_HALF,
        ] {
            let scaled = header.scaled(candidate);
            if scaled.width >= need_w && scaled.height >= need_h {
                factor = candidate;
                break;
            }
        }
    }
    decompressor
        .set_scaling_factor(factor)
        .map_err(unreadable)?;
    let scaled = header.scaled(factor);
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; 3 * scaled.width * scaled.height],
        width: scaled.width,
        pitch: 3 * scaled.width,
        height: scaled.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    decompressor
        .decompress(original.bytes, image.as_deref_mut())
        .map_err(unreadable)?;
    let buffer = image::RgbImage::from_raw(
        u32::try_from(scaled.width).map_err(unreadable)?,
        u32::try_from(scaled.height).map_err(unreadable)?,
        image.pixels,
    )
    .ok_or_else(|| unreadable("decoded buffer has the wrong size"))?;
    Ok(DynamicImage::ImageRgb8(buffer))
}

/// 8 bits per channel, RGB or RGBA: what the resizer and encoders share.
fn normalise(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// Below this share of the image's detail inside its window, `c_fill_pad`
/// pads instead of cutting.
const FILL_PAD_MIN_DETAIL: f64 = 0.8;

fn apply(
    mut image: DynamicImage,
    plan: &Plan,
    layers: &Layers<'_>,
) -> Result<DynamicImage, ProcessError> {
    if let Some(laid) = &plan.composite {
        let layer = layers.draw(laid)?;
        return Ok(composite::lay(&image, &layer, laid));
    }
    let resize_to = |image: &DynamicImage, (w, h): (u32, u32)| {
        resize::resize(image, w, h).map_err(ProcessError::Encode)
    };
    if let Some(clockwise) = plan.pre_turn {
        image = rotate::quarter(&image, clockwise);
    }
    let mut pad = plan.pad;
    let mut target = plan.resize;
    if let Some(mut window) = plan.pre_crop {
        if plan.auto_gravity {
            window = energy::busiest_window(&image, window);
        }
        if let Some(crop) = plan.faces {
            let found = faces::detect(&image);
            match faces::around(&found, crop.all) {
                Some(target) => {
                    let thumb = crop.thumb.map(|zoom| (zoom, plan.resize));
                    window = faces::window(image.dimensions(), window, target, thumb);
                }
                None if crop.fallback_auto => window = energy::busiest_window(&image, window),
                None => {}
            }
        }
        match plan.fill_pad {
            Some((inner, alternative))
                if energy::detail_share(&image, window) < FILL_PAD_MIN_DETAIL =>
            {
                target = inner;
                pad = Some(alternative);
            }
            _ => image = image.crop_imm(window.x, window.y, window.width, window.height),
        }
    }
    if image.dimensions() != target {
        image = resize_to(&image, target)?;
    }
    if let Some(pad) = pad {
        let fill = canvas::resolve(pad.colour, &image);
        image = canvas::padded(&image, pad.width, pad.height, (pad.x, pad.y), &fill);
    }
    image = finish(image, plan)?;
    if let Some(turn) = plan.turn {
        let fill = canvas::resolve(turn.fill, &image).first();
        image = rotate::turn(
            image,
            turn.hflip,
            turn.vflip,
            turn.degrees,
            turn.output,
            fill,
        );
    }
    Ok(image)
}

/// The component's effect, corners, border and opacity, in that order.
fn finish(mut image: DynamicImage, plan: &Plan) -> Result<DynamicImage, ProcessError> {
    let look = plan.look;
    if let Some(effect) = look.effect {
        image = effects::apply(image, effect, look.colour).map_err(ProcessError::Encode)?;
    }
    if let Some(corners) = look.corners {
        image = shape::round(image, corners, plan.backdrop);
    }
    if let Some(border) = look.border {
        image = shape::frame(image, border, look.corners);
    }
    if let (Some(Effect::Shadow(strength, _)), Some(offset)) =
        (look.effect, shadow_offset(look.effect, image.dimensions()))
    {
        image =
            effects::shadow(image, strength, look.colour, offset).map_err(ProcessError::Encode)?;
    }
    if let Some(percent) = look.opacity {
        image = shape::fade(image, percent);
    }
    Ok(image)
}
