//! From a symbolic chain to concrete steps, one component at a time: a
//! condition is weighed on the size the image has when it is reached, a
//! variable holds what its expression gave at that point, and a value
//! written as an expression becomes the number it stands for, checked by
//! the same parser a literal is. What cannot be known before the image
//! (format, quality, flags) may not depend on a condition.

use std::borrow::Cow;

use super::expression::Scope;
use super::parse::{check_sizes, parameter};
use super::values::print_decimal;
use super::{Branch, Step, Symbolic, TransformError};

/// Most variables one chain may set.
const MAX_VARIABLES: usize = 16;

/// Checks the shape of a chain's conditions once parsed: every `if_`
/// closed by `if_end`, at most one `if_else`, no nesting (Cloudinary has
/// none), nothing about the answer as a whole inside a branch.
pub(super) fn check_flow(steps: &[Step]) -> Result<(), TransformError> {
    let bad = |reason: &str| TransformError::new("if", reason);
    // `Some(seen_else)` inside a block.
    let mut open: Option<bool> = None;
    let mut variables = 0;
    for step in steps {
        variables += step.assignments.len();
        if variables > MAX_VARIABLES {
            return Err(TransformError::new(
                "$",
                format!("at most {MAX_VARIABLES} variables are set in one URL"),
            ));
        }
        match (&step.branch, open) {
            (Some(Branch::Open(_)), Some(_)) => {
                return Err(bad("conditions do not nest: close the first with if_end"));
            }
            (Some(Branch::Open(_)), None) => open = Some(false),
            (Some(Branch::Else), Some(false)) => open = Some(true),
            (Some(Branch::Else), Some(true)) => return Err(bad("one if_else per condition")),
            (Some(Branch::Else), None) => return Err(bad("if_else without an if_ before it")),
            (Some(Branch::End), Some(_)) => open = None,
            (Some(Branch::End), None) => return Err(bad("if_end without an if_ before it")),
            (Some(Branch::Only(_)) | None, _) => {}
        }
        let conditional = open.is_some() || matches!(step.branch, Some(Branch::Only(_)));
        if conditional {
            let whole_answer = [
                (step.format.is_some(), "f"),
                (step.quality.is_some(), "q"),
                (!step.flags.is_empty(), "fl"),
                (step.rotation.is_some_and(|r| r.ignore_orientation), "a"),
            ];
            if let Some((_, name)) = whole_answer.iter().find(|(given, _)| *given) {
                return Err(TransformError::new(
                    *name,
                    "cannot depend on a condition: the answer's format, quality, flags and \
                     orientation are chosen before the image is read",
                ));
            }
        }
    }
    if open.is_some() {
        return Err(bad("an if_ without if_end"));
    }
    Ok(())
}

/// Walks a chain for one image, step by step.
pub struct Flow {
    scope: Scope,
    /// Inside a block: whether its current branch runs.
    block: Option<bool>,
}

impl Flow {
    /// For an original (already oriented) of `initial` size.
    pub fn new(initial: (u32, u32)) -> Self {
        Self {
            scope: Scope::new(initial),
            block: None,
        }
    }

    /// What `step` does to an input of `current` size: `None` when it
    /// does nothing (a condition's marker, a branch not taken, only
    /// variables), else the step with every value a number.
    ///
    /// # Errors
    /// A condition or expression that cannot be evaluated, or a value
    /// out of its parameter's range, naming the parameter.
    pub fn next<'s>(
        &mut self,
        step: &'s Step,
        current: (u32, u32),
    ) -> Result<Option<Cow<'s, Step>>, TransformError> {
        self.scope.current = current;
        let holds = |condition: &super::Condition, scope: &Scope| {
            condition
                .holds(scope)
                .map_err(|r| TransformError::new("if", r))
        };
        match &step.branch {
            Some(Branch::Open(condition)) => {
                self.block = Some(holds(condition, &self.scope)?);
                return Ok(None);
            }
            Some(Branch::Else) => {
                self.block = self.block.map(|runs| !runs);
                return Ok(None);
            }
            Some(Branch::End) => {
                self.block = None;
                return Ok(None);
            }
            Some(Branch::Only(_)) | None => {}
        }
        if self.block == Some(false) {
            return Ok(None);
        }
        if let Some(Branch::Only(condition)) = &step.branch {
            if !holds(condition, &self.scope)? {
                return Ok(None);
            }
        }
        for (name, expression) in &step.assignments {
            let value = expression
                .evaluate(&self.scope)
                .map_err(|r| TransformError::new(format!("${name}"), r))?;
            self.scope.set(name, value);
        }
        if step.assignments.is_empty() && step.pending.is_empty() && step.branch.is_none() {
            return Ok(Some(Cow::Borrowed(step)));
        }
        let mut concrete = Step {
            assignments: Vec::new(),
            pending: Vec::new(),
            branch: None,
            ..step.clone()
        };
        for (symbolic, expression) in &step.pending {
            let key = symbolic.key();
            let value = expression
                .evaluate(&self.scope)
                .map_err(|r| TransformError::new(key, r))?;
            parameter(&mut concrete, key, key, &literal(*symbolic, value)).map_err(|err| {
                TransformError::new(
                    key,
                    format!(
                        "{} gives {}: {}",
                        expression.text(),
                        print_decimal(value),
                        err.reason
                    ),
                )
            })?;
        }
        check_sizes(&concrete)?;
        Ok((concrete != Step::default()).then_some(Cow::Owned(concrete)))
    }
}

/// A value as a literal of its parameter would be written: whole numbers
/// are pixels, fractions below one are shares of the input (as `w_0.5`),
/// larger fractions are rounded to pixels.
fn literal(symbolic: Symbolic, value: f64) -> String {
    let pixels_or_share = |v: f64| {
        if v.fract() == 0.0 || v.abs() > 1.0 {
            format!("{}", v.round() as i64)
        } else {
            let share = print_decimal(v.abs());
            let share = if share.contains('.') {
                share
            } else {
                format!("{share}.0")
            };
            if v < 0.0 {
                format!("-{share}")
            } else {
                share
            }
        }
    };
    match symbolic {
        Symbolic::Width | Symbolic::Height | Symbolic::X | Symbolic::Y => pixels_or_share(value),
        Symbolic::Zoom | Symbolic::AspectRatio => print_decimal(value),
        Symbolic::Angle => format!("{}", (value.round() as i64).rem_euclid(360)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::transformation::{Length, Transformation};

    /// The concrete steps of `text` for an image of `size`, each planned
    /// as keeping its input size (enough for conditions on `iw`/`w`).
    fn run(text: &str, size: (u32, u32)) -> Result<Vec<Step>, TransformError> {
        let t = Transformation::parse(text.split('/'))?;
        let mut flow = Flow::new(size);
        let mut out = Vec::new();
        for step in &t.steps {
            if let Some(step) = flow.next(step, size)? {
                out.push(step.into_owned());
            }
        }
        Ok(out)
    }

    #[test]
    fn values_become_literals() {
        let steps = run("c_scale,w_iw_div_2,h_ih_mul_0.25", (1200, 800)).expect("runs");
        assert_eq!(steps[0].width, Some(Length::Pixels(600)));
        assert_eq!(steps[0].height, Some(Length::Pixels(200)));
        let steps = run("$ratio_0.5/w_$ratio", (1200, 800)).expect("runs");
        assert_eq!(
            steps,
            vec![Step {
                width: Some(Length::Relative(0.5)),
                ..Step::default()
            }]
        );
        let steps = run(
            "$small_150,$big_$small_mul_2,c_fill,w_$big,h_$small",
            (10, 10),
        )
        .expect("runs");
        assert_eq!(steps[0].width, Some(Length::Pixels(300)));
        assert_eq!(steps[0].height, Some(Length::Pixels(150)));
        assert_eq!(
            run("a_w_div_4", (360, 10)).expect("runs")[0]
                .rotation
                .map(|r| r.degrees),
            Some(90)
        );
    }

    #[test]
    fn branches_run_as_written() {
        let wide = "if_w_gt_1000/c_scale,w_500/if_else/c_scale,w_100/if_end";
        assert_eq!(
            run(wide, (2000, 10)).expect("runs")[0].width,
            Some(Length::Pixels(500))
        );
        assert_eq!(
            run(wide, (900, 10)).expect("runs")[0].width,
            Some(Length::Pixels(100))
        );
        let only = "if_ar_gt_1,c_scale,w_50/w_20";
        assert_eq!(run(only, (20, 10)).expect("runs").len(), 2);
        assert_eq!(run(only, (10, 20)).expect("runs").len(), 1);
    }

    #[test]
    fn bad_chains_name_the_parameter() {
        // Shapes refused while parsing, then values refused once weighed
        // on a 4000x4000 image.
        for (text, parameter) in [
            ("if_w_gt_1/w_10", "if"),
            ("if_end", "if"),
            ("if_w_gt_1/if_h_gt_1/if_end/if_end", "if"),
            ("if_w_gt_1/if_else/if_else/if_end", "if"),
            ("if_w_gt_1/f_webp/if_end", "f"),
            ("if_w_gt_1,q_50", "q"),
            ("if_else,w_10", "if"),
            ("w_iw,w_10", "w"),
            ("w_iw_div", "w"),
            ("$1x_10", "$1x"),
            ("w_iw_mul_2", "w"),
            ("w_$nothing", "w"),
            ("h_ih_sub_ih", "h"),
            ("$x_iw_div_0", "$x"),
            ("if_w_gt_$nothing/w_10/if_end", "if"),
        ] {
            let err = run(text, (4000, 4000)).expect_err(text);
            assert_eq!(err.parameter, parameter, "{text}: {err}");
        }
        let err = run("w_iw_mul_2", (4000, 4000)).expect_err("too wide");
        assert!(err.reason.contains("iw_mul_2 gives 8000"), "{err}");
    }

    #[test]
    fn canonical_text_keeps_the_program() {
        let text = "if_w_gt_1000/c_scale,w_iw_div_2/if_else/$s_100,c_fill,h_$s,w_$s/if_end";
        let t = Transformation::parse(text.split('/')).expect("parses");
        assert_eq!(t.canonical(), text);
        assert!(t.is_symbolic());
        let again = Transformation::parse(t.canonical().split('/')).expect("again");
        assert_eq!(again, t);
    }
}
