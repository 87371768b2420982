//! Client hints: `w_auto[:step][:fallback]`, `w_auto:breakpoints…` and
//! `dpr_auto` become numbers from the request's `Sec-CH-Width` /
//! `Sec-CH-DPR` (or the legacy `Width` / `DPR`) before anything is
//! planned, rounded so that a few variants serve every device.

use super::{Length, Step, TransformError, Transformation, MAX_SIDE};

/// Cloudinary's default rounding step for `w_auto`.
pub const DEFAULT_STEP: u32 = 100;
/// The device pixel ratios `dpr_auto` rounds up to.
const DPR_STEPS: [f64; 7] = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0];
/// `w_auto:breakpoints` without its own numbers: widths from 50 to 1000,
/// at most 20 of them (Cloudinary's defaults).
const BREAKPOINTS: (u32, u32, u32) = (50, 1000, 20);

/// `w_auto`: how a hinted width is rounded, and what serves without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoWidth {
    /// Rounded up to a multiple of `step`.
    Step { step: u32, fallback: Option<u32> },
    /// Rounded up to one of `count` widths spread from `min` to `max`.
    Breakpoints {
        min: u32,
        max: u32,
        count: u32,
        fallback: Option<u32>,
    },
}

/// What the request said about the device.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hints {
    /// Layout width in device pixels.
    pub width: Option<u32>,
    pub dpr: Option<f64>,
}

/// Which hints an answer depended on: each goes into `Vary`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HintsUsed {
    pub width: bool,
    pub dpr: bool,
}

pub(super) fn parse_auto_width(value: &str) -> Result<AutoWidth, String> {
    let reason = || {
        "auto, auto:STEP, auto:STEP:FALLBACK or auto:breakpoints[_MIN_MAX_BYTES_COUNT][:FALLBACK]"
            .to_owned()
    };
    let mut parts = value.split(':');
    if parts.next() != Some("auto") {
        return Err(reason());
    }
    let number = |raw: &str, max: u32| -> Result<u32, String> {
        raw.parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n) && raw.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(reason)
    };
    let first = parts.next();
    let fallback = parts.next().map(|f| number(f, MAX_SIDE)).transpose()?;
    if parts.next().is_some() {
        return Err(reason());
    }
    match first {
        None => Ok(AutoWidth::Step {
            step: DEFAULT_STEP,
            fallback,
        }),
        Some(breakpoints) if breakpoints.starts_with("breakpoints") => {
            let numbers: Vec<&str> = breakpoints.split('_').skip(1).collect();
            let (mut min, mut max, mut count) = BREAKPOINTS;
            match numbers.as_slice() {
                [] => {}
                [lo, hi, _bytes, n] => {
                    min = number(lo, MAX_SIDE)?;
                    max = number(hi, MAX_SIDE)?;
                    count = number(n, 100)?;
                }
                _ => return Err(reason()),
            }
            if min > max {
                return Err(reason());
            }
            Ok(AutoWidth::Breakpoints {
                min,
                max,
                count,
                fallback,
            })
        }
        Some(step) => Ok(AutoWidth::Step {
            step: number(step, MAX_SIDE)?,
            fallback,
        }),
    }
}

impl AutoWidth {
    /// The width served for a hinted `width` (device pixels), or the
    /// fallback without a hint.
    fn resolve(self, hint: Option<u32>) -> Option<u32> {
        match (self, hint) {
            (Self::Step { fallback, .. } | Self::Breakpoints { fallback, .. }, None) => fallback,
            (Self::Step { step, .. }, Some(width)) => {
                let rounded = width.div_ceil(step).saturating_mul(step);
                Some(rounded.clamp(step.min(MAX_SIDE), MAX_SIDE))
            }
            (
                Self::Breakpoints {
                    min, max, count, ..
                },
                Some(width),
            ) => {
                let gap = (max - min) / count.saturating_sub(1).max(1);
                let above = width.saturating_sub(min).div_ceil(gap.max(1));
                Some((min + above * gap.max(1)).clamp(min, max))
            }
        }
    }

    pub(super) fn text(self) -> String {
        match self {
            Self::Step { step, fallback } => match fallback {
                Some(f) => format!("auto:{step}:{f}"),
                None if step == DEFAULT_STEP => "auto".into(),
                None => format!("auto:{step}"),
            },
            Self::Breakpoints {
                min,
                max,
                count,
                fallback,
            } => {
                let list = format!("breakpoints_{min}_{max}_20_{count}");
                match fallback {
                    Some(f) => format!("auto:{list}:{f}"),
                    None => format!("auto:{list}"),
                }
            }
        }
    }
}

/// `dpr_auto` for a hinted ratio: rounded up to a half, 1 to 4.
fn round_dpr(hint: Option<f64>) -> f64 {
    let ratio = hint.filter(|d| d.is_finite()).unwrap_or(1.0);
    DPR_STEPS
        .iter()
        .copied()
        .find(|step| *step >= ratio - 1e-9)
        .unwrap_or(4.0)
}

impl Transformation {
    /// Whether any step waits for a hint.
    pub fn uses_hints(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.auto_width.is_some() || s.auto_dpr)
    }

    /// The transformation with every `w_auto` and `dpr_auto` replaced by
    /// numbers from `hints`, and which hints that took.
    ///
    /// # Errors
    /// When a hinted width times the ratio would pass [`MAX_SIDE`].
    pub fn with_hints(&self, hints: Hints) -> Result<(Self, HintsUsed), TransformError> {
        let mut used = HintsUsed::default();
        let mut resolved = self.clone();
        for step in &mut resolved.steps {
            let mut hinted_width = false;
            if let Some(auto) = step.auto_width.take() {
                used.width = true;
                hinted_width = hints.width.is_some();
                step.width = auto.resolve(hints.width).map(Length::Pixels);
            }
            if std::mem::take(&mut step.auto_dpr) {
                used.dpr = true;
                // A hinted width is in device pixels already.
                step.dpr = Some(if hinted_width {
                    1.0
                } else {
                    round_dpr(hints.dpr)
                });
            }
            check(step)?;
        }
        Ok((resolved, used))
    }
}

fn check(step: &Step) -> Result<(), TransformError> {
    let dpr = step.dpr.unwrap_or(1.0);
    if let Some(Length::Pixels(px)) = step.width {
        if (f64::from(px) * dpr).round() > f64::from(MAX_SIDE) {
            return Err(TransformError::new(
                "dpr",
                format!("the output would be wider than {MAX_SIDE} pixels"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(text: &str, hints: Hints) -> (Transformation, HintsUsed) {
        Transformation::parse(text.split('/'))
            .expect(text)
            .with_hints(hints)
            .expect("within bounds")
    }

    fn width(text: &str, hint: Option<u32>) -> Option<Length> {
        let hints = Hints {
            width: hint,
            dpr: None,
        };
        resolved(text, hints).0.steps[0].width
    }

    #[test]
    fn hinted_widths_round_up_to_the_step_and_clamp() {
        assert_eq!(width("w_auto", Some(333)), Some(Length::Pixels(400)));
        assert_eq!(width("w_auto", Some(400)), Some(Length::Pixels(400)));
        assert_eq!(width("w_auto:50", Some(333)), Some(Length::Pixels(350)));
        assert_eq!(width("w_auto:100:640", None), Some(Length::Pixels(640)));
        assert_eq!(width("w_auto", None), None);
        assert_eq!(width("w_auto", Some(9_000)), Some(Length::Pixels(MAX_SIDE)));
        assert_eq!(width("w_auto", Some(1)), Some(Length::Pixels(100)));
        // Breakpoints: 50 to 1000, 20 widths 50 apart.
        assert_eq!(
            width("w_auto:breakpoints", Some(333)),
            Some(Length::Pixels(350))
        );
        assert_eq!(
            width("w_auto:breakpoints", Some(3000)),
            Some(Length::Pixels(1000))
        );
        assert_eq!(
            width("w_auto:breakpoints_100_900_30000_5:800", None),
            Some(Length::Pixels(800))
        );
        assert_eq!(
            width("w_auto:breakpoints_100_900_30000_5", Some(301)),
            Some(Length::Pixels(500))
        );
        // Every hint from 1 to 5000 lands on one of at most 41 widths.
        let mut seen: Vec<_> = (1..=5000).map(|w| width("w_auto", Some(w))).collect();
        seen.dedup();
        assert!(seen.len() <= 41);
    }

    #[test]
    fn dpr_auto_rounds_up_to_halves_and_a_width_hint_has_it_already() {
        let dpr = |text: &str, hints: Hints| resolved(text, hints).0.steps[0].dpr;
        let ratio = |d: f64| Hints {
            width: None,
            dpr: Some(d),
        };
        assert_eq!(dpr("dpr_auto,w_100", ratio(1.0)), Some(1.0));
        assert_eq!(dpr("dpr_auto,w_100", ratio(1.1)), Some(1.5));
        assert_eq!(dpr("dpr_auto,w_100", ratio(2.625)), Some(3.0));
        assert_eq!(dpr("dpr_auto,w_100", ratio(9.0)), Some(4.0));
        assert_eq!(dpr("dpr_auto,w_100", Hints::default()), Some(1.0));
        let both = Hints {
            width: Some(750),
            dpr: Some(3.0),
        };
        let (t, used) = resolved("dpr_auto,w_auto", both);
        assert_eq!(t.steps[0].dpr, Some(1.0));
        assert_eq!(t.steps[0].width, Some(Length::Pixels(800)));
        assert_eq!(
            used,
            HintsUsed {
                width: true,
                dpr: true
            }
        );
        let (_, used) = resolved("w_100", both);
        assert_eq!(used, HintsUsed::default());
    }

    #[test]
    fn malformed_auto_widths_are_refused() {
        for text in [
            "w_auto:0",
            "w_auto:x",
            "w_auto:100:0",
            "w_auto:1:2:3",
            "w_auto:breakpoints_1_2",
            "w_auto:breakpoints_900_100_1_5",
        ] {
            let err = Transformation::parse([text]).expect_err(text);
            assert_eq!(err.parameter, "w", "{text}");
        }
        let t = Transformation::parse(["w_auto:50:300,dpr_auto"]).expect("valid");
        let again = Transformation::parse([t.canonical().as_str()]).expect("canonical");
        assert_eq!(again, t);
    }
}
