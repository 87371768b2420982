//! Output geometry for each crop mode, following Cloudinary: what size to
//! resize to, what to cut out, what to pad to, how to turn. Pure
//! arithmetic, so every size is known before the first decode and is
//! tested against a table of expected sizes.

mod layer;
mod place;
mod rotate;
mod shadow;

pub use layer::{plan_layer, Composite, LayerSizes, NoLayers};
pub use place::place;
pub use rotate::Turn;
pub use shadow::shadow_offset;

use super::transformation::{
    Background, Crop, Flow, Gravity, Length, Look, Rgba, Step, TransformError, Transformation,
    MAX_SIDE,
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
    pub colour: Background,
}

/// How a crop follows faces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceCrop {
    /// All faces (`g_faces`), or the largest.
    pub all: bool,
    /// Without a face: the most detailed region, or the planned window.
    pub fallback_auto: bool,
    /// `c_thumb`: zoom onto the faces, times this (`z_`).
    pub thumb: Option<f64>,
}

/// What one step does to an image of a given size, in order: a quarter
/// turn (`a_auto_right`), cut a window from it, resize that, pad onto a
/// canvas, then flip and turn (`a_`). A layer's step does nothing but
/// lay its [`Composite`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// `a_auto_right`/`a_auto_left`: clockwise (`true`) or not, first.
    pub pre_turn: Option<bool>,
    /// Cut from the input before resizing (cover crops, `c_crop`).
    pub pre_crop: Option<Rect>,
    pub resize: (u32, u32),
    pub pad: Option<Pad>,
    /// `g_auto` asks the pipeline to place `pre_crop` by content.
    pub auto_gravity: bool,
    /// `g_face`, `g_faces`, `g_auto:faces`: the pipeline places (and for
    /// `c_thumb` sizes) `pre_crop` around the faces it finds.
    pub faces: Option<FaceCrop>,
    /// `c_fill_pad`: when the window would lose too much detail, the
    /// pipeline resizes to this and pads instead (same output size).
    pub fill_pad: Option<((u32, u32), Pad)>,
    /// Effect, corners, border and opacity, after the pad and before the
    /// turn; a border grows the canvas on every side.
    pub look: Look,
    /// `b_` as a plain colour: what fills the corners `r_` cuts.
    pub backdrop: Option<Rgba>,
    /// `a_`: flips and a turn after everything else.
    pub turn: Option<Turn>,
    /// `l_`/`u_`: a layer laid on the image.
    pub composite: Option<Box<Composite>>,
}

impl Plan {
    /// Size before the border.
    pub fn framed(&self) -> (u32, u32) {
        match self.pad {
            Some(pad) => (pad.width, pad.height),
            None => self.resize,
        }
    }

    /// Size with the border, before any shadow.
    pub fn bordered(&self) -> (u32, u32) {
        let (w, h) = self.framed();
        let edge = self.look.border.map_or(0, |b| 2 * b.width);
        (w + edge, h + edge)
    }

    /// Size before the final turn: the border is outside the image, and
    /// a shadow grows the canvas by its offset.
    fn before_turn(&self) -> (u32, u32) {
        let (w, h) = self.bordered();
        match shadow_offset(self.look.effect, (w, h)) {
            Some((dx, dy)) => (w + dx.unsigned_abs(), h + dy.unsigned_abs()),
            None => (w, h),
        }
    }

    /// Final width and height.
    pub fn output(&self) -> (u32, u32) {
        if let Some(composite) = &self.composite {
            return composite.canvas;
        }
        match self.turn {
            Some(turn) => turn.output,
            None => self.before_turn(),
        }
    }
}

const WHITE: Background = Background::Colour(Rgba([255, 255, 255, 255]));

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
    TransformError::new(
        culprit,
        format!("the output would be wider or taller than {MAX_SIDE} pixels"),
    )
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
    let pre_turn = step.rotation.and_then(|r| r.auto).filter(|_| {
        // A quarter turn first when the box asked for is the other
        // orientation than the image (both sides are given: the parser
        // checks). Fractions compare against the image itself.
        match (step.width, step.height) {
            (Some(Length::Pixels(w)), Some(Length::Pixels(h))) => (w > h) != (width > height),
            (Some(Length::Relative(w)), Some(Length::Relative(h))) => {
                (w * f64::from(width) > h * f64::from(height)) != (width > height)
            }
            _ => false,
        }
    });
    let (width, height) = if pre_turn.is_some() {
        (height, width)
    } else {
        (width, height)
    };
    let mut planned = fit_to_box(width, height, step)?;
    planned.pre_turn = pre_turn;
    planned.look = step.look;
    planned.backdrop = match step.background {
        Some(Background::Colour(colour)) => Some(colour),
        _ => None,
    };
    // Only a border or a shadow grows what the step was given; an untouched
    // original may be larger than MAX_SIDE and is judged by its encoder.
    let (framed_w, framed_h) = planned.before_turn();
    let grown = match step.look.border {
        Some(_) => Some("bo"),
        None => shadow_offset(step.look.effect, (1, 1)).map(|_| "e"),
    };
    if let Some(culprit) = grown.filter(|_| framed_w > MAX_SIDE || framed_h > MAX_SIDE) {
        return Err(too_large(culprit));
    }
    if let Some(rotation) = step.rotation {
        planned.turn = rotate::turn(planned.before_turn(), rotation, step.background)?;
    }
    Ok(planned)
}

/// The crop, resize and pad of one step.
fn fit_to_box(width: u32, height: u32, step: &Step) -> Result<Plan, TransformError> {
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
    let crop = step.crop.unwrap_or(Crop::Scale);
    let gravity = step.gravity.unwrap_or(match crop {
        Crop::Auto => Gravity::Auto,
        // c_crop measures x/y from the top left unless told otherwise.
        Crop::Crop if step.x.is_some() || step.y.is_some() => Gravity::NorthWest,
        _ => Gravity::Center,
    });
    let same = Plan {
        pre_turn: None,
        pre_crop: None,
        resize: (width, height),
        pad: None,
        auto_gravity: false,
        faces: match gravity {
            Gravity::Face | Gravity::Faces | Gravity::AutoFaces => Some(FaceCrop {
                all: gravity != Gravity::Face,
                fallback_auto: gravity == Gravity::AutoFaces,
                thumb: (crop == Crop::Thumb).then(|| step.zoom.unwrap_or(1.0)),
            }),
            _ => None,
        },
        fill_pad: None,
        look: Look::default(),
        backdrop: None,
        composite: None,
        turn: None,
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
    let fit_scale = |w: f64, h: f64| (w / sw).min(h / sh);
    let scaled = |s: f64| -> Result<(u32, u32), TransformError> {
        Ok((side(sw * s, w_from)?, side(sh * s, h_from)?))
    };
    // The largest window of the input with the aspect ratio `ratio`,
    // placed by gravity and moved by x/y, zoomed for thumbs.
    let cover = |ratio: f64| -> Rect {
        let (cw, ch) = if sw / sh > ratio {
            (px(sh * ratio).min(width), height)
        } else {
            (width, px(sw / ratio).min(height))
        };
        let window = place::window((width, height), (cw, ch), gravity, step.x, step.y);
        match step.zoom {
            Some(zoom) if crop == Crop::Thumb => place::zoomed((width, height), window, zoom),
            _ => window,
        }
    };
    let cut_to = |out: (u32, u32)| -> Plan {
        let window = cover(f64::from(out.0) / f64::from(out.1));
        Plan {
            pre_crop: Some(window),
            resize: out,
            auto_gravity: gravity == Gravity::Auto,
            ..same.clone()
        }
    };
    let padded = |inner: (u32, u32), out: (u32, u32)| -> Plan {
        let (inner_w, inner_h) = (inner.0.min(out.0), inner.1.min(out.1));
        let spot = place(out.0, out.1, inner_w, inner_h, gravity);
        Plan {
            resize: (inner_w, inner_h),
            pad: Some(Pad {
                width: out.0,
                height: out.1,
                x: spot.x,
                y: spot.y,
                colour: step.background.unwrap_or(WHITE),
            }),
            ..same.clone()
        }
    };

    let plan = match (crop, tw, th) {
        (Crop::Crop, w, h) => {
            let region = (
                w.map_or(width, |w| px(w / dpr).min(width)),
                h.map_or(height, |h| px(h / dpr).min(height)),
            );
            let mut window = place::window((width, height), region, gravity, step.x, step.y);
            if let Some(zoom) = step.zoom {
                window = place::zoomed((width, height), window, zoom);
            }
            // The region keeps its size (times dpr); a zoom shows less of
            // the image in it.
            let out = (
                side(f64::from(region.0) * dpr, w_from)?,
                side(f64::from(region.1) * dpr, h_from)?,
            );
            Plan {
                pre_crop: Some(window),
                resize: out,
                auto_gravity: gravity == Gravity::Auto,
                ..same.clone()
            }
        }
        // No size at all: only an aspect ratio (or nothing) to honour.
        (_, None, None) => match step.aspect_ratio {
            Some(ar) if crop.cuts() => {
                let window = cover(ar);
                Plan {
                    pre_crop: Some(window),
                    resize: (window.width, window.height),
                    auto_gravity: gravity == Gravity::Auto,
                    ..same.clone()
                }
            }
            Some(ar) if crop == Crop::Scale => Plan {
                resize: (side(sw, "ar")?, side(sw / ar, "ar")?),
                ..same.clone()
            },
            _ if dpr != 1.0 => Plan {
                resize: scaled(dpr)?,
                ..same.clone()
            },
            _ => same.clone(),
        },
        (Crop::Scale, w, h) => Plan {
            resize: keep_aspect(w, h)?,
            ..same.clone()
        },
        (Crop::Fit, Some(w), Some(h)) => Plan {
            resize: scaled(fit_scale(w, h))?,
            ..same.clone()
        },
        (Crop::Limit, Some(w), Some(h)) => {
            let s = fit_scale(w, h);
            if s >= 1.0 {
                same.clone()
            } else {
                Plan {
                    resize: scaled(s)?,
                    ..same.clone()
                }
            }
        }
        (Crop::Mfit, Some(w), Some(h)) => {
            let s = fit_scale(w, h);
            if s <= 1.0 {
                same.clone()
            } else {
                Plan {
                    resize: scaled(s)?,
                    ..same.clone()
                }
            }
        }
        (Crop::Limit | Crop::Mfit, w, h) => {
            let over = w.is_some_and(|w| sw > w) || h.is_some_and(|h| sh > h);
            if over == (crop == Crop::Limit) {
                Plan {
                    resize: keep_aspect(w, h)?,
                    ..same.clone()
                }
            } else {
                same.clone()
            }
        }
        (Crop::Fill | Crop::Thumb | Crop::Auto, Some(w), Some(h)) => {
            cut_to((side(w, w_from)?, side(h, h_from)?))
        }
        (Crop::Lfill, Some(w), Some(h)) => {
            let out = (side(w, w_from)?, side(h, h_from)?);
            if (w / sw).max(h / sh) >= 1.0 {
                // Never scaled up: what exceeds the box is cut, at the
                // image's own resolution.
                let region = (out.0.min(width), out.1.min(height));
                let window = place::window((width, height), region, gravity, step.x, step.y);
                Plan {
                    pre_crop: Some(window),
                    resize: region,
                    auto_gravity: gravity == Gravity::Auto,
                    ..same.clone()
                }
            } else {
                cut_to(out)
            }
        }
        (Crop::FillPad, Some(w), Some(h)) => {
            let out = (side(w, w_from)?, side(h, h_from)?);
            let alternative = padded(scaled(fit_scale(w, h))?, out);
            Plan {
                fill_pad: alternative.pad.map(|pad| (alternative.resize, pad)),
                ..cut_to(out)
            }
        }
        (Crop::Pad, Some(w), Some(h)) => {
            let out = (side(w, w_from)?, side(h, h_from)?);
            padded(scaled(fit_scale(w, h))?, out)
        }
        (Crop::Lpad, Some(w), Some(h)) => {
            let out = (side(w, w_from)?, side(h, h_from)?);
            padded(scaled(fit_scale(w, h).min(1.0))?, out)
        }
        (Crop::Mpad, Some(w), Some(h)) => {
            let s = fit_scale(w, h);
            if s < 1.0 {
                same.clone()
            } else {
                padded(scaled(s)?, (side(w, w_from)?, side(h, h_from)?))
            }
        }
        // One side only: every other mode keeps the aspect ratio.
        (
            Crop::Fit
            | Crop::Fill
            | Crop::Lfill
            | Crop::FillPad
            | Crop::Thumb
            | Crop::Auto
            | Crop::Pad
            | Crop::Lpad
            | Crop::Mpad,
            w,
            h,
        ) => {
            let never_up = matches!(crop, Crop::Lfill | Crop::Lpad);
            let up = w.is_some_and(|w| w > sw) || h.is_some_and(|h| h > sh);
            if never_up && up {
                same.clone()
            } else {
                Plan {
                    resize: keep_aspect(w, h)?,
                    ..same
                }
            }
        }
    };
    Ok(plan)
}

impl Crop {
    /// Modes that cut the image to a window.
    fn cuts(self) -> bool {
        matches!(
            self,
            Self::Fill | Self::Lfill | Self::FillPad | Self::Thumb | Self::Auto | Self::Crop
        )
    }
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
    layers: &dyn LayerSizes,
) -> Result<Vec<Plan>, TransformError> {
    plan_steps((width, height), &transformation.steps, layers)
}

/// [`plan_chain`] for a list of steps (a chain's, or a layer's own).
///
/// # Errors
/// As [`plan_chain`].
pub fn plan_steps(
    input: (u32, u32),
    steps: &[Step],
    layers: &dyn LayerSizes,
) -> Result<Vec<Plan>, TransformError> {
    let mut size = input;
    let mut plans = Vec::with_capacity(steps.len());
    // Variables and conditions are weighed at each step on the size the
    // image has there; a plain chain passes through unchanged.
    let mut flow = Flow::new(size);
    for step in steps {
        let Some(step) = flow.next(step, size)? else {
            continue;
        };
        let planned = match &step.layer {
            Some(layer) => Plan {
                resize: size,
                composite: Some(Box::new(plan_layer(size, layer, layers)?)),
                ..Plan::default()
            },
            None => plan(size.0, size.1, &step)?,
        };
        size = planned.output();
        plans.push(planned);
    }
    Ok(plans)
}

impl Plan {
    /// The smallest input that still gives this plan full resolution: a
    /// decoder that can shrink while decoding (JPEG) may stop there.
    pub fn input_needed(&self, input: (u32, u32)) -> (u32, u32) {
        // A turn first, or a choice between cutting and padding made on
        // the image itself: decode it whole.
        if self.pre_turn.is_some() || self.fill_pad.is_some() || self.faces.is_some() {
            return input;
        }
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

#[cfg(test)]
mod tests;
