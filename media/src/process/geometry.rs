//! Output geometry for each crop mode, following Cloudinary: what size to
//! resize to, what to cut out, what to pad to. Pure arithmetic, so it is
//! tested against a table of expected sizes.

use super::transformation::{Crop, Gravity, Length, Rgba, Step, TransformError, MAX_SIDE};

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

/// What one step does to an image of a given size, in order: resize the
/// whole image, then crop a window of it, then pad onto a canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Cut from the input before resizing (aspect-ratio crops with no size).
    pub pre_crop: Option<Rect>,
    pub resize: (u32, u32),
    pub crop: Option<Rect>,
    pub pad: Option<Pad>,
    /// `g_auto` asks the pipeline to place `crop` by content.
    pub auto_gravity: bool,
}

impl Plan {
    /// Final width and height.
    pub fn output(&self) -> (u32, u32) {
        match (self.pad, self.crop) {
            (Some(pad), _) => (pad.width, pad.height),
            (None, Some(crop)) => (crop.width, crop.height),
            (None, None) => self.resize,
        }
    }
}

const WHITE: Rgba = Rgba([255, 255, 255, 255]);

fn px(value: f64) -> u32 {
    (value.round() as u32).max(1)
}

/// Plans `step` for an input of `width` x `height` (already oriented).
///
/// # Errors
/// When the output would exceed [`MAX_SIDE`] on a side.
pub fn plan(width: u32, height: u32, step: &Step) -> Result<Plan, TransformError> {
    let (sw, sh) = (f64::from(width), f64::from(height));
    let dpr = step.dpr.unwrap_or(1.0);
    let resolve = |length: Option<Length>, whole: f64| {
        length.map(|l| match l {
            Length::Pixels(p) => f64::from(p) * dpr,
            Length::Relative(r) => r * whole * dpr,
        })
    };
    let mut tw = resolve(step.width, sw);
    let mut th = resolve(step.height, sh);
    if let Some(ar) = step.aspect_ratio {
        match (tw, th) {
            (Some(w), None) => th = Some(w / ar),
            (None, Some(h)) => tw = Some(h * ar),
            _ => {}
        }
    }
    for (value, name) in [(tw, "w"), (th, "h")] {
        if value.is_some_and(|v| v.round() > f64::from(MAX_SIDE)) {
            let culprit = if dpr > 1.0 { "dpr" } else { name };
            return Err(TransformError {
                parameter: culprit.to_owned(),
                reason: format!("the output would be wider or taller than {MAX_SIDE} pixels"),
            });
        }
    }
    let gravity = step.gravity.unwrap_or(Gravity::Center);
    let crop = step.crop.unwrap_or(Crop::Scale);
    let same = Plan {
        pre_crop: None,
        resize: (width, height),
        crop: None,
        pad: None,
        auto_gravity: false,
    };
    let keep_aspect = |w: Option<f64>, h: Option<f64>| -> (u32, u32) {
        match (w, h) {
            (Some(w), Some(h)) => (px(w), px(h)),
            (Some(w), None) => (px(w), px(sh * w / sw)),
            (None, Some(h)) => (px(sw * h / sh), px(h)),
            (None, None) => (width, height),
        }
    };
    let fit = |w: f64, h: f64| -> (u32, u32) {
        let s = (w / sw).min(h / sh);
        (px(sw * s), px(sh * s))
    };

    let plan = match (crop, tw, th) {
        // No size at all: only an aspect ratio (or nothing) to honour.
        (_, None, None) => match step.aspect_ratio {
            Some(ar) if matches!(crop, Crop::Fill | Crop::Thumb) => {
                let (cw, ch) = if sw / sh > ar {
                    (px(sh * ar), height)
                } else {
                    (width, px(sw / ar))
                };
                let window = place(width, height, cw.min(width), ch.min(height), gravity);
                Plan {
                    pre_crop: Some(window),
                    resize: (window.width, window.height),
                    auto_gravity: gravity == Gravity::Auto,
                    ..same
                }
            }
            Some(ar) if crop == Crop::Scale => Plan {
                resize: (width, px(sw / ar)),
                ..same
            },
            _ => same,
        },
        (Crop::Scale, w, h) => Plan {
            resize: keep_aspect(w, h),
            ..same
        },
        (Crop::Fit, Some(w), Some(h)) => Plan {
            resize: fit(w, h),
            ..same
        },
        (Crop::Limit, Some(w), Some(h)) => {
            if sw <= w && sh <= h {
                same
            } else {
                Plan {
                    resize: fit(w, h),
                    ..same
                }
            }
        }
        (Crop::Limit, w, h) => {
            let over = w.is_some_and(|w| sw > w) || h.is_some_and(|h| sh > h);
            if over {
                Plan {
                    resize: keep_aspect(w, h),
                    ..same
                }
            } else {
                same
            }
        }
        (Crop::Fill | Crop::Thumb, Some(w), Some(h)) => {
            let s = (w / sw).max(h / sh);
            let (out_w, out_h) = (px(w), px(h));
            let resized = (px(sw * s).max(out_w), px(sh * s).max(out_h));
            Plan {
                resize: resized,
                crop: Some(place(resized.0, resized.1, out_w, out_h, gravity)),
                auto_gravity: gravity == Gravity::Auto,
                ..same
            }
        }
        (Crop::Pad, Some(w), Some(h)) => {
            let inner = fit(w, h);
            let (out_w, out_h) = (px(w), px(h));
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
            resize: keep_aspect(w, h),
            ..same
        },
    };
    Ok(plan)
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
            "h"
        );
    }

    #[test]
    fn fill_crops_by_gravity_and_pad_places_by_gravity() {
        let steps = Transformation::parse(["c_fill,w_400,h_400,g_east"])
            .expect("valid")
            .steps;
        let p = plan(3000, 2000, &steps[0]).expect("plan");
        assert_eq!(p.resize, (600, 400));
        assert_eq!(
            p.crop,
            Some(Rect {
                x: 200,
                y: 0,
                width: 400,
                height: 400
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
}
