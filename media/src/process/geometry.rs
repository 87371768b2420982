//! Output geometry for each crop mode, following Cloudinary: what size to
//! resize to, what to cut out, what to pad to. Pure arithmetic, so it is
//! tested against a table of expected sizes.

use super::transformation::{
    Crop, Gravity, Length, Rgba, Step, TransformError, Transformation, MAX_SIDE,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    pub width: u32,
    pub height: u32,
    /// Where the resized image sits on the canvas.
    pub x: u32,
    pub y: u32,
    pub colour: Rgba,
}

/// What one step does to an image of a given size, in order: cut a window
/// from it, resize that, then pad onto a canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Cut from the input before resizing (cover crops).
    pub pre_crop: Option<Rect>,
    pub resize: (u32, u32),
    pub pad: Option<Pad>,
    /// `g_auto` asks the pipeline to place `pre_crop` by content.
    pub auto_gravity: bool,
}

impl Plan {
    /// Final width and height.
    pub fn output(&self) -> (u32, u32) {
        match self.pad {
            Some(pad) => (pad.width, pad.height),
            None => self.resize,
        }
    }
}

const WHITE: Rgba = Rgba([255, 255, 255, 255]);

/// Longest side an original may have: beyond it nothing is stored, so no
/// stored image is impossible to render.
pub const MAX_ORIGINAL_SIDE: u32 = 30_000;
/// Widest aspect ratio (either way) an original may have.
pub const MAX_ORIGINAL_RATIO: u32 = 100;

/// Why an original's shape is refused, or `None` when it is fine.
pub fn extreme_shape(width: u32, height: u32) -> Option<String> {
    let (long, short) = (width.max(height), width.min(height).max(1));
    if long > MAX_ORIGINAL_SIDE {
        return Some(format!(
            "the image is {width}x{height}; sides over {MAX_ORIGINAL_SIDE} pixels are not accepted"
        ));
    }
    if u64::from(long) > u64::from(MAX_ORIGINAL_RATIO) * u64::from(short) {
        return Some(format!(
            "the image is {width}x{height}; aspect ratios beyond {MAX_ORIGINAL_RATIO}:1 are not accepted"
        ));
    }
    None
}

fn px(value: f64) -> u32 {
    (value.round() as u32).max(1)
}

/// A derived side in whole pixels, refused (naming `culprit`) when it
/// would pass [`MAX_SIDE`]. Checked on the float, before any cast or
/// buffer, so no chain of parameters can ask for more.
fn side(value: f64, culprit: &str) -> Result<u32, TransformError> {
    if value.is_finite() && value.round() <= f64::from(MAX_SIDE) {
        Ok(px(value))
    } else {
        Err(too_large(culprit))
    }
}

fn too_large(culprit: &str) -> TransformError {
    TransformError {
        parameter: culprit.to_owned(),
        reason: format!("the output would be wider or taller than {MAX_SIDE} pixels"),
    }
}

/// Plans `step` for an input of `width` x `height` (already oriented).
///
/// Every size the plan holds is either the input's own or at most
/// [`MAX_SIDE`] a side: cover crops (`fill`, `thumb`) cut their window from
/// the input first and then resize it to the output, so no intermediate is
/// ever larger than what comes out.
///
/// # Errors
/// When a derived size would exceed [`MAX_SIDE`] on a side; the error
/// names the parameter that asked for it.
pub fn plan(width: u32, height: u32, step: &Step) -> Result<Plan, TransformError> {
    let (sw, sh) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let dpr = step.dpr.unwrap_or(1.0);
    let resolve = |length: Option<Length>, whole: f64| {
        length.map(|l| match l {
            Length::Pixels(p) => f64::from(p) * dpr,
            Length::Relative(r) => r * whole * dpr,
        })
    };
    let blame = |name: &'static str| if dpr > 1.0 { "dpr" } else { name };
    let mut tw = resolve(step.width, sw);
    let mut th = resolve(step.height, sh);
    let (mut w_from, mut h_from) = (blame("w"), blame("h"));
    if let Some(ar) = step.aspect_ratio {
        match (tw, th) {
            (Some(w), None) => {
                th = Some(w / ar);
                h_from = "ar";
            }
            (None, Some(h)) => {
                tw = Some(h * ar);
                w_from = "ar";
            }
            _ => {}
        }
    }
    // Targets are checked as asked, before any mode derives from them.
    if let Some(w) = tw {
        side(w, w_from)?;
    }
    if let Some(h) = th {
        side(h, h_from)?;
    }
    let gravity = step.gravity.unwrap_or(Gravity::Center);
    let crop = step.crop.unwrap_or(Crop::Scale);
    let same = Plan {
        pre_crop: None,
        resize: (width, height),
        pad: None,
        auto_gravity: false,
    };
    // One side given: the other follows the input's aspect ratio. The
    // derived side is blamed on the given one.
    let keep_aspect = |w: Option<f64>, h: Option<f64>| -> Result<(u32, u32), TransformError> {
        Ok(match (w, h) {
            (Some(w), Some(h)) => (side(w, w_from)?, side(h, h_from)?),
            (Some(w), None) => (side(w, w_from)?, side(sh * w / sw, w_from)?),
            (None, Some(h)) => (side(sw * h / sh, h_from)?, side(h, h_from)?),
            (None, None) => (width, height),
        })
    };
    let fit = |w: f64, h: f64| -> Result<(u32, u32), TransformError> {
        let s = (w / sw).min(h / sh);
        Ok((side(sw * s, w_from)?, side(sh * s, h_from)?))
    };
    // The largest window of the input with the aspect ratio `ratio`.
    let cover = |ratio: f64| -> Rect {
        let (cw, ch) = if sw / sh > ratio {
            (px(sh * ratio).min(width), height)
        } else {
            (width, px(sw / ratio).min(height))
        };
        place(width, height, cw, ch, gravity)
    };

    let plan = match (crop, tw, th) {
        // No size at all: only an aspect ratio (or nothing) to honour.
        (_, None, None) => match step.aspect_ratio {
            Some(ar) if matches!(crop, Crop::Fill | Crop::Thumb) => {
                let window = cover(ar);
                Plan {
                    pre_crop: Some(window),
                    resize: (window.width, window.height),
                    auto_gravity: gravity == Gravity::Auto,
                    ..same
                }
            }
            Some(ar) if crop == Crop::Scale => Plan {
                resize: (side(sw, "ar")?, side(sw / ar, "ar")?),
                ..same
            },
            _ => same,
        },
        (Crop::Scale, w, h) => Plan {
            resize: keep_aspect(w, h)?,
            ..same
        },
        (Crop::Fit, Some(w), Some(h)) => Plan {
            resize: fit(w, h)?,
            ..same
        },
        (Crop::Limit, Some(w), Some(h)) => {
            if sw <= w && sh <= h {
                same
            } else {
                Plan {
                    resize: fit(w, h)?,
                    ..same
                }
            }
        }
        (Crop::Limit, w, h) => {
            let over = w.is_some_and(|w| sw > w) || h.is_some_and(|h| sh > h);
            if over {
                Plan {
                    resize: keep_aspect(w, h)?,
                    ..same
                }
            } else {
                same
            }
        }
        (Crop::Fill | Crop::Thumb, Some(w), Some(h)) => {
            let out = (side(w, w_from)?, side(h, h_from)?);
            let window = cover(f64::from(out.0) / f64::from(out.1));
            Plan {
                pre_crop: Some(window),
                resize: out,
                auto_gravity: gravity == Gravity::Auto,
                ..same
            }
        }
        (Crop::Pad, Some(w), Some(h)) => {
            let (out_w, out_h) = (side(w, w_from)?, side(h, h_from)?);
            let inner = fit(w, h)?;
            let (inner_w, inner_h) = (inner.0.min(out_w), inner.1.min(out_h));
            let spot = place(out_w, out_h, inner_w, inner_h, gravity);
            Plan {
                resize: (inner_w, inner_h),
                pad: Some(Pad {
                    width: out_w,
                    height: out_h,
                    x: spot.x,
                    y: spot.y,
                    colour: step.background.unwrap_or(WHITE),
                }),
                ..same
            }
        }
        // One side only: every other mode keeps the aspect ratio.
        (Crop::Fit | Crop::Fill | Crop::Thumb | Crop::Pad, w, h) => Plan {
            resize: keep_aspect(w, h)?,
            ..same
        },
    };
    Ok(plan)
}

/// Plans every step of `transformation` for an input of `width` x
/// `height`, each step's output being the next one's input, so a whole
/// chain is known to fit before anything is decoded.
///
/// # Errors
/// The first step that would exceed the bounds.
pub fn plan_chain(
    width: u32,
    height: u32,
    transformation: &Transformation,
) -> Result<Vec<Plan>, TransformError> {
    let mut size = (width, height);
    let mut plans = Vec::with_capacity(transformation.steps.len());
    for step in &transformation.steps {
        let planned = plan(size.0, size.1, step)?;
        size = planned.output();
        plans.push(planned);
    }
    Ok(plans)
}

impl Plan {
    /// The smallest input that still gives this plan full resolution: a
    /// decoder that can shrink while decoding (JPEG) may stop there.
    pub fn input_needed(&self, input: (u32, u32)) -> (u32, u32) {
        match self.pre_crop {
            Some(window) => {
                let need = |out: u32, whole: u32, part: u32| {
                    let scaled = u64::from(out) * u64::from(whole) / u64::from(part.max(1));
                    u32::try_from(scaled).unwrap_or(u32::MAX)
                };
                (
                    need(self.resize.0, input.0, window.width),
                    need(self.resize.1, input.1, window.height),
                )
            }
            None => self.resize,
        }
    }

    /// The same plan for an input decoded at another size: the window cut
    /// from the input scales with it, the output stays.
    pub fn for_input(mut self, planned: (u32, u32), actual: (u32, u32)) -> Self {
        if planned == actual {
            return self;
        }
        if let Some(window) = self.pre_crop {
            let scale = |v: u32, from: u32, to: u32| {
                u32::try_from(u64::from(v) * u64::from(to) / u64::from(from.max(1)))
                    .unwrap_or(u32::MAX)
            };
            let x = scale(window.x, planned.0, actual.0).min(actual.0.saturating_sub(1));
            let y = scale(window.y, planned.1, actual.1).min(actual.1.saturating_sub(1));
            let width = scale(window.width, planned.0, actual.0)
                .min(actual.0.saturating_sub(x))
                .max(1);
            let height = scale(window.height, planned.1, actual.1)
                .min(actual.1.saturating_sub(y))
                .max(1);
            self.pre_crop = Some(Rect {
                x,
                y,
                width,
                height,
            });
        }
        self
    }
}

/// A `w` x `h` window inside `outer_w` x `outer_h`, placed by `gravity`
/// (`auto` starts centred; the pipeline moves it by content).
pub fn place(outer_w: u32, outer_h: u32, w: u32, h: u32, gravity: Gravity) -> Rect {
    let free_x = outer_w.saturating_sub(w);
    let free_y = outer_h.saturating_sub(h);
    let (x, y) = match gravity {
        Gravity::Center | Gravity::Auto => (free_x / 2, free_y / 2),
        Gravity::North => (free_x / 2, 0),
        Gravity::South => (free_x / 2, free_y),
        Gravity::East => (free_x, free_y / 2),
        Gravity::West => (0, free_y / 2),
        Gravity::NorthEast => (free_x, 0),
        Gravity::NorthWest => (0, 0),
        Gravity::SouthEast => (free_x, free_y),
        Gravity::SouthWest => (0, free_y),
    };
    Rect {
        x,
        y,
        width: w.min(outer_w),
        height: h.min(outer_h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::transformation::Transformation;

    fn output(src: (u32, u32), t: &str) -> Result<(u32, u32), TransformError> {
        let steps = Transformation::parse(t.split('/'))?.steps;
        let mut size = src;
        for step in &steps {
            size = plan(size.0, size.1, step)?.output();
        }
        Ok(size)
    }

    /// Expected sizes, as Cloudinary documents each crop mode.
    #[test]
    fn output_sizes_per_crop_mode() {
        let src = (3000, 2000);
        let table: &[(&str, (u32, u32))] = &[
            ("w_400", (400, 267)),
            ("c_scale,w_400", (400, 267)),
            ("c_scale,h_300", (450, 300)),
            ("c_scale,w_400,h_300", (400, 300)),
            ("c_scale,w_0.5", (1500, 1000)),
            ("c_fit,w_400,h_400", (400, 267)),
            ("c_fit,w_4000,h_4000", (4000, 2667)),
            ("c_fit,w_400", (400, 267)),
            ("c_limit,w_4000,h_4000", (3000, 2000)),
            ("c_limit,w_400,h_400", (400, 267)),
            ("c_limit,w_4000", (3000, 2000)),
            ("c_limit,h_500", (750, 500)),
            ("c_fill,w_400,h_400", (400, 400)),
            ("c_fill,w_400,h_300", (400, 300)),
            ("c_fill,w_100,h_1000", (100, 1000)),
            ("c_fill,w_400", (400, 267)),
            ("c_thumb,w_100,h_100", (100, 100)),
            ("c_pad,w_400,h_400", (400, 400)),
            ("c_pad,w_4000,h_100", (4000, 100)),
            ("c_fill,ar_1:1,w_300", (300, 300)),
            ("c_fill,ar_16:9", (3000, 1688)),
            ("c_fill,ar_1:2", (1000, 2000)),
            ("c_scale,ar_1.0", (3000, 3000)),
            ("w_200,dpr_2", (400, 267)),
            ("c_fill,w_400,h_300,dpr_2", (800, 600)),
            ("c_fill,w_400,h_300,dpr_1.5", (600, 450)),
            ("c_fill,w_400,h_300/c_scale,w_200", (200, 150)),
            ("c_pad,w_300,h_300,b_black/c_fill,w_100,h_50", (100, 50)),
            ("q_80", (3000, 2000)),
        ];
        for (t, expected) in table {
            assert_eq!(output(src, t).expect(t), *expected, "{t}");
        }
    }

    #[test]
    fn outputs_over_the_limit_are_refused() {
        assert_eq!(
            output((3000, 2000), "w_3000,dpr_2")
                .expect_err("too wide")
                .parameter,
            "dpr"
        );
        assert_eq!(
            output((3000, 2000), "c_scale,w_0.9,dpr_2")
                .expect_err("too wide")
                .parameter,
            "dpr"
        );
        assert!(output((3000, 2000), "w_4096").is_ok());
        assert_eq!(
            output((3000, 2000), "ar_0.01,w_100")
                .expect_err("tall")
                .parameter,
            "ar"
        );
    }

    #[test]
    fn fill_crops_by_gravity_and_pad_places_by_gravity() {
        let steps = Transformation::parse(["c_fill,w_400,h_400,g_east"])
            .expect("valid")
            .steps;
        let p = plan(3000, 2000, &steps[0]).expect("plan");
        // The window is cut from the input, then resized to the output.
        assert_eq!(p.resize, (400, 400));
        assert_eq!(
            p.pre_crop,
            Some(Rect {
                x: 1000,
                y: 0,
                width: 2000,
                height: 2000
            })
        );
        let steps = Transformation::parse(["c_pad,w_400,h_400,g_north,b_rgb:00ff00"])
            .expect("valid")
            .steps;
        let p = plan(3000, 2000, &steps[0]).expect("plan");
        assert_eq!(p.resize, (400, 267));
        let pad = p.pad.expect("pad");
        assert_eq!((pad.x, pad.y, pad.colour), (0, 0, Rgba([0, 255, 0, 255])));
    }

    fn chain(t: &str) -> Transformation {
        Transformation::parse(t.split('/')).expect(t)
    }

    /// What was seen to abort the process or eat gigabytes, now planned
    /// within bounds or refused naming the parameter.
    #[test]
    fn seen_attacks_are_bounded_or_refused() {
        let plans = plan_chain(
            3000,
            2000,
            &chain("c_scale,w_4096,h_1/c_fill,w_4096,h_4096"),
        )
        .expect("bounded");
        assert_eq!(plans[1].resize, (4096, 4096));
        assert_eq!(plans[1].pre_crop.map(|w| (w.width, w.height)), Some((1, 1)));
        // t_hero on a 4000x4 strip: the window is cut first, so no
        // intermediate is larger than the output.
        let hero = plan_chain(4000, 4, &chain("c_fill,g_auto,w_1600,h_900,q_auto")).expect("ok");
        assert_eq!(hero[0].resize, (1600, 900));
        let window = hero[0].pre_crop.expect("window");
        assert!(window.width <= 4000 && window.height <= 4, "{window:?}");
        // t_thumb on a 1x50,000,000 strip (refused at upload, but may be stored).
        let thumb = plan_chain(1, 50_000_000, &chain("c_thumb,g_auto,w_150,h_150")).expect("ok");
        assert_eq!(thumb[0].resize, (150, 150));
        for (t, culprit) in [
            ("ar_0.1", "ar"),
            ("c_fill,ar_0.1,w_500,dpr_1", "ar"),
            ("c_fill,ar_0.1,w_500,dpr_2", "ar"),
            ("c_scale,w_10,h_4096/c_scale,w_4000", "w"),
            ("c_scale,w_1,h_4096/c_scale,w_2", "w"),
            ("c_scale,w_4096,h_1/h_4096", "h"),
        ] {
            let err = plan_chain(3000, 2000, &chain(t)).expect_err(t);
            assert_eq!(err.parameter, culprit, "{t}: {err}");
        }
    }

    #[test]
    fn extreme_originals_are_named() {
        assert!(extreme_shape(1, 50_000_000).is_some());
        assert!(extreme_shape(30_001, 1_000).is_some());
        assert!(extreme_shape(4000, 4).is_some());
        assert!(extreme_shape(3001, 30).is_some());
        assert!(extreme_shape(3000, 30).is_none());
        assert!(extreme_shape(30_000, 20_000).is_none());
        assert!(extreme_shape(1, 1).is_none());
    }

    #[test]
    fn a_plan_for_a_smaller_decode_keeps_its_output() {
        let plans = plan_chain(3000, 2000, &chain("c_fill,g_east,w_100,h_100")).expect("ok");
        assert_eq!(plans[0].input_needed((3000, 2000)), (150, 100));
        let scaled = plans[0].for_input((3000, 2000), (375, 250));
        assert_eq!(scaled.resize, (100, 100));
        assert_eq!(
            scaled.pre_crop,
            Some(Rect {
                x: 125,
                y: 0,
                width: 250,
                height: 250
            })
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn parameter() -> impl Strategy<Value = String> {
            let crops = ["scale", "fit", "limit", "fill", "thumb", "pad"];
            let gravities = ["center", "north", "south_east", "west", "auto"];
            prop_oneof![
                (1u32..=4096).prop_map(|v| format!("w_{v}")),
                (1u32..=4096).prop_map(|v| format!("h_{v}")),
                (1u32..=100).prop_map(|v| format!("w_{}", f64::from(v) / 100.0)),
                (1u32..=100).prop_map(|v| format!("h_{}", f64::from(v) / 100.0)),
                prop::sample::select(crops.to_vec()).prop_map(|c| format!("c_{c}")),
                prop::sample::select(gravities.to_vec()).prop_map(|g| format!("g_{g}")),
                (1u32..=40, 1u32..=40).prop_map(|(a, b)| format!("ar_{a}:{b}")),
                (1u32..=9999).prop_map(|v| format!("ar_{}", f64::from(v) / 100.0)),
                (1u32..=50).prop_map(|v| format!("dpr_{}", f64::from(v) / 10.0)),
                (1u32..=100).prop_map(|v| format!("q_{v}")),
                prop::sample::select(vec!["q_auto", "q_auto:eco", "f_webp", "f_auto", "f_jpg"])
                    .prop_map(str::to_owned),
                any::<[u8; 3]>().prop_map(|[r, g, b]| format!("b_rgb:{r:02x}{g:02x}{b:02x}")),
            ]
        }

        fn transformation() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::collection::vec(parameter(), 1..5).prop_map(|p| p.join(",")),
                1..=8,
            )
            .prop_map(|components| components.join("/"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            /// Any chain over any acceptable original is refused or stays
            /// within bounds at every step: no buffer larger than the
            /// input or than MAX_SIDE a side, no window outside the input.
            #[test]
            fn plans_are_refused_or_bounded(
                text in transformation(),
                width in 1u32..=MAX_ORIGINAL_SIDE,
                height in 1u32..=MAX_ORIGINAL_SIDE,
            ) {
                prop_assume!(extreme_shape(width, height).is_none());
                let Ok(t) = Transformation::parse(text.split('/')) else { return Ok(()) };
                let Ok(plans) = plan_chain(width, height, &t) else { return Ok(()) };
                let mut input = (width, height);
                for p in &plans {
                    let (rw, rh) = p.resize;
                    prop_assert!(rw >= 1 && rh >= 1);
                    prop_assert!(rw <= input.0.max(MAX_SIDE) && rh <= input.1.max(MAX_SIDE), "{text}: {p:?} from {input:?}");
                    let area = u64::from(rw) * u64::from(rh);
                    let budget = (u64::from(input.0) * u64::from(input.1)).max(u64::from(MAX_SIDE).pow(2));
                    prop_assert!(area <= budget, "{text}: {p:?}");
                    if let Some(w) = p.pre_crop {
                        prop_assert!(w.width >= 1 && w.height >= 1);
                        prop_assert!(w.x + w.width <= input.0 && w.y + w.height <= input.1, "{text}: {p:?}");
                    }
                    if let Some(pad) = p.pad {
                        prop_assert!(pad.width <= MAX_SIDE && pad.height <= MAX_SIDE);
                        prop_assert!(rw <= pad.width && rh <= pad.height);
                    }
                    input = p.output();
                }
            }

            /// The canonical text parses back to itself.
            #[test]
            fn canonical_text_round_trips(text in transformation()) {
                let Ok(t) = Transformation::parse(text.split('/')) else { return Ok(()) };
                let canonical = t.canonical();
                let again = Transformation::parse(canonical.split('/'));
                prop_assert!(again.is_ok(), "{text} -> {canonical}: {again:?}");
                prop_assert_eq!(again.map(|a| a.canonical()).unwrap_or_default(), canonical);
            }
        }
    }
}
