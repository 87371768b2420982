//! A rough CPU cost of a render, known from the plan before anything is
//! decoded, so cheap renders can take a lane of their own and never queue
//! behind expensive ones. The figures are milliseconds per megapixel on
//! one core of the development machine (README, benchmarks); only their
//! proportions matter.

use super::geometry::Plan;
use super::transformation::Effect;
use crate::process::format::ImageFormat;

/// Renders estimated above this many milliseconds take the heavy lane.
pub const HEAVY_MS: f64 = 150.0;

fn decode_ms_per_mp(format: ImageFormat) -> f64 {
    match format {
        // Usually shrunk while decoding (1/2 to 1/8).
        ImageFormat::Jpeg => 1.5,
        ImageFormat::Png | ImageFormat::Gif => 10.0,
        ImageFormat::Webp | ImageFormat::Avif => 12.0,
        // HEVC through libde265, whole (no scaled decode).
        ImageFormat::Heic => 20.0,
    }
}

fn encode_ms_per_mp(format: ImageFormat) -> f64 {
    match format {
        ImageFormat::Jpeg => 8.0,
        ImageFormat::Png => 40.0,
        ImageFormat::Webp => 50.0,
        ImageFormat::Gif => 60.0,
        // rav1e, even at speed 8, is two orders of magnitude slower.
        ImageFormat::Avif => 2000.0,
        // Never an output; priced like the slowest so it is never cheap.
        ImageFormat::Heic => 2000.0,
    }
}

/// Effects, corners, border and opacity: each a pass or a few over the
/// component's pixels. Blurs and sharpening run three box passes each
/// way (a wide blur on a reduced copy, so no dearer); pixelate and
/// contrast read the image twice.
fn look_ms_per_mp(plan: &Plan) -> f64 {
    let look = plan.look;
    let effect = match look.effect {
        None => 0.0,
        Some(
            Effect::Blur(_)
            | Effect::BlurRegion(..)
            | Effect::Sharpen(_)
            | Effect::UnsharpMask(_)
            | Effect::Improve(..)
            | Effect::Shadow(..),
        ) => 25.0,
        Some(
            Effect::Pixelate(_)
            | Effect::PixelateRegion(..)
            | Effect::Contrast(_)
            | Effect::AutoBrightness(_)
            | Effect::AutoContrast(_)
            | Effect::AutoColor(_),
        ) => 10.0,
        Some(_) => 6.0,
    };
    let shape = [
        look.corners.is_some(),
        look.border.is_some(),
        look.opacity.is_some(),
    ]
    .into_iter()
    .filter(|given| *given)
    .count() as f64
        * 6.0;
    effect + shape
}

fn megapixels((w, h): (u32, u32)) -> f64 {
    f64::from(w) * f64::from(h) / 1e6
}

/// Estimated milliseconds of CPU to render `plans` from a `source` image.
pub fn estimate_ms(
    source: (u32, u32),
    source_format: ImageFormat,
    plans: &[Plan],
    output: ImageFormat,
) -> f64 {
    let decode = megapixels(source) * decode_ms_per_mp(source_format);
    let out = plans.last().map_or(source, Plan::output);
    chain_ms(plans) + decode + megapixels(out) * encode_ms_per_mp(output)
}

/// A face detection on its reduced copy (SeetaFace, one core).
const FACE_DETECTION_MS: f64 = 300.0;

/// What a layer format's decode costs when it is not known here: PNG's
/// price, the dearest common one.
const LAYER_DECODE_MS_PER_MP: f64 = 10.0;

/// The steps themselves, layers included (decoded, run through their own
/// chain, laid over the canvas pixel by pixel).
fn chain_ms(plans: &[Plan]) -> f64 {
    let layers: f64 = plans
        .iter()
        .filter_map(|p| p.composite.as_deref())
        .map(|c| {
            megapixels(c.source_size) * LAYER_DECODE_MS_PER_MP
                + chain_ms(&c.plans)
                + megapixels(c.canvas) * 20.0
        })
        .sum();
    let resize: f64 = plans.iter().map(|p| megapixels(p.resize) * 5.0).sum();
    // A turn by any angle resamples the whole canvas, bilinearly.
    let turns: f64 = plans
        .iter()
        .filter_map(|p| p.turn)
        .filter(|t| t.degrees % 90 != 0)
        .map(|t| megapixels(t.output) * 15.0)
        .sum();
    let looks: f64 = plans
        .iter()
        .map(|p| megapixels(p.framed()) * look_ms_per_mp(p))
        .sum();
    let detections = plans
        .iter()
        .filter(|p| {
            p.faces.is_some()
                || matches!(
                    p.look.effect,
                    Some(Effect::BlurFaces(_) | Effect::PixelateFaces(_))
                )
        })
        .count() as f64
        * FACE_DETECTION_MS;
    layers + resize + turns + looks + detections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::geometry::{plan_chain, NoLayers};
    use crate::process::transformation::Transformation;

    fn cost(t: &str, output: ImageFormat) -> f64 {
        let t = Transformation::parse(t.split('/')).expect(t);
        let plans = plan_chain(3000, 2000, &t, &NoLayers).expect("fits");
        estimate_ms((3000, 2000), ImageFormat::Jpeg, &plans, output)
    }

    #[test]
    fn cards_and_thumbs_are_light_large_avif_is_heavy() {
        assert!(cost("c_fill,w_400,h_300", ImageFormat::Jpeg) < HEAVY_MS);
        assert!(cost("c_fill,w_400,h_300", ImageFormat::Webp) < HEAVY_MS);
        assert!(cost("c_thumb,w_150,h_150", ImageFormat::Avif) < HEAVY_MS);
        assert!(cost("c_fill,w_1600,h_900", ImageFormat::Jpeg) < HEAVY_MS);
        assert!(cost("c_fill,w_400,h_300", ImageFormat::Avif) > HEAVY_MS);
        assert!(cost("c_scale,w_2000", ImageFormat::Avif) > HEAVY_MS);
        assert!(cost("c_scale,w_4000/c_fill,w_4000,h_4000", ImageFormat::Png) > HEAVY_MS);
        assert!(
            cost("c_fill,w_400,h_300/a_45", ImageFormat::Jpeg)
                > cost("c_fill,w_400,h_300", ImageFormat::Jpeg)
        );
        // A placeholder's blur is priced on the 50 pixels it blurs.
        assert!(cost("c_scale,e_blur:2000,q_1,w_50", ImageFormat::Jpeg) < HEAVY_MS);
        assert!(cost("e_blur:2000", ImageFormat::Jpeg) > cost("c_scale,w_3000", ImageFormat::Jpeg));
    }
}
