//! From text to [`Step`]s. A component is split on `,`, each parameter on
//! its first `_`, and only then is the value percent-decoded, so a value
//! may hold an encoded `,`, `/` or `:`. `t_` names expand in place: the
//! named steps first, in the order the dots give, then the component's
//! other parameters as one more step.

use percent_encoding::percent_decode_str;

use super::expression::{looks_symbolic, variable_name, Condition, Expression};
use super::layer::{self, Item};
use super::{hints, look, values};
use super::{
    Branch, Crop, Flag, Gravity, Length, NamedTransformations, Pick, Step, Symbolic,
    TransformError, Transformation, MAX_COMPONENTS, MAX_SIDE, MAX_STEPS, MAX_TRANSFORMATION_LEN,
};

/// How deep named transformations may name others.
const MAX_NAME_DEPTH: usize = 3;
/// Most names one `t_` may join with dots.
const MAX_NAMES: usize = 4;

pub(super) fn transformation<'a>(
    components: impl IntoIterator<Item = &'a str>,
    names: &dyn NamedTransformations,
) -> Result<Transformation, TransformError> {
    let mut items = Vec::new();
    let mut default_image = None;
    let mut total = 0;
    for (index, component) in components.into_iter().enumerate() {
        total += component.len() + 1;
        if total > MAX_TRANSFORMATION_LEN {
            return Err(TransformError::new(
                "transformation",
                format!("longer than {MAX_TRANSFORMATION_LEN} characters"),
            ));
        }
        if index >= MAX_COMPONENTS {
            return Err(TransformError::new(
                "transformation",
                format!("at most {MAX_COMPONENTS} chained components"),
            ));
        }
        component_into(component, names, 0, &mut items, &mut default_image)?;
    }
    let steps = layer::fold(items)?;
    Pick::of_chain(&steps)?;
    Ok(Transformation {
        steps,
        default_image,
    })
}

fn component_into(
    component: &str,
    names: &dyn NamedTransformations,
    depth: usize,
    steps: &mut Vec<Item>,
    default_image: &mut Option<String>,
) -> Result<(), TransformError> {
    if component.is_empty() {
        return Err(TransformError::new("transformation", "empty component"));
    }
    let mut step = Step::default();
    let mut named: Option<&str> = None;
    let mut only_whole_chain = false;
    // `l_`/`u_`: this component opens a layer.
    let mut opening = None;
    let mut blend = None;
    for param in component.split(',') {
        let (key, raw) = param
            .split_once('_')
            .ok_or_else(|| TransformError::new(short(param), "expected key_value, like w_400"))?;
        let name = short(key);
        let value = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| TransformError::new(name.clone(), "not valid UTF-8 once decoded"))?;
        if key == "t" {
            if named.replace(raw).is_some() {
                return Err(TransformError::new("t", "given twice in one component"));
            }
            continue;
        }
        if key == "if" {
            let branch = match &*value {
                "else" => Branch::Else,
                "end" => Branch::End,
                condition => Branch::Open(Condition::parse(condition).map_err(|r| bad_if(&r))?),
            };
            if step.branch.replace(branch).is_some() {
                return Err(TransformError::new("if", "given twice in one component"));
            }
            continue;
        }
        if let Some(variable) = key.starts_with('$').then(|| variable_name(key)) {
            let variable = variable.ok_or_else(|| {
                TransformError::new(
                    name.clone(),
                    "a variable is $ and a letter, then letters or digits",
                )
            })?;
            let expression =
                Expression::parse(&value).map_err(|r| TransformError::new(name.clone(), r))?;
            step.assignments.push((variable.to_owned(), expression));
            continue;
        }
        if let Some(symbolic) = Symbolic::from_key(key).filter(|_| looks_symbolic(&value)) {
            let expression =
                Expression::parse(&value).map_err(|r| TransformError::new(name.clone(), r))?;
            step.pending.push((symbolic, expression));
            continue;
        }
        if key == "l" || key == "u" {
            let source = layer::source(&value).map_err(|r| TransformError::new(name.clone(), r))?;
            if opening.replace((source, key == "u")).is_some() {
                return Err(TransformError::new(name, "one layer per component"));
            }
            continue;
        }
        if let Some(mode) = (key == "e").then(|| layer::blend(&value)).flatten() {
            if blend.replace(mode).is_some() {
                return Err(TransformError::new("e", "given twice in one component"));
            }
            continue;
        }
        if key == "d" {
            // The stand-in for a missing image: about the whole answer,
            // not this component's pixels.
            if !valid_default_image(&value) || default_image.replace(value.into_owned()).is_some() {
                return Err(TransformError::new(
                    "d",
                    "one default image, its public id with an extension (d_ID.png)",
                ));
            }
            only_whole_chain = true;
            continue;
        }
        parameter(&mut step, key, &name, &value)?;
    }
    if step.branch.is_some() && (named.is_some() || only_whole_chain) {
        return Err(bad_if(
            "stands in a component of its own beside t_ or d_: write if_…/t_name/if_end",
        ));
    }
    look::take_region(&mut step);
    if matches!(step.look.effect, Some(super::Effect::Trim(..)))
        && step
            != (Step {
                look: super::Look {
                    effect: step.look.effect,
                    ..super::Look::default()
                },
                ..Step::default()
            })
    {
        return Err(TransformError::new(
            "e",
            "e_trim stands in a component of its own (e_trim/c_fill,w_…): what follows is sized on what it leaves",
        ));
    }
    let applying = step.flags.contains(&Flag::LayerApply);
    step.flags.retain(|f| *f != Flag::LayerApply);
    if (opening.is_some() || applying) && (named.is_some() || only_whole_chain) {
        return Err(TransformError::new(
            "t",
            "t_ and d_ stand apart from l_, u_ and fl_layer_apply",
        ));
    }
    if let Some(list) = named {
        expand(list, names, depth, steps, default_image)?;
        only_whole_chain = true;
    }
    shape_branch(&mut step)?;
    pending_once(&step)?;
    if only_whole_chain && step == Step::default() {
        return Ok(());
    }
    check_sizes(&step)?;
    let item = match (opening, applying) {
        (Some((source, under)), closed) => Item::Open {
            source,
            under,
            step,
            blend,
            closed,
        },
        (None, true) => Item::Apply(layer::placement(step, blend)?),
        (None, false) => {
            if blend.is_some() {
                return Err(TransformError::new(
                    "e",
                    "blend modes (multiply, screen, overlay, mask, cut_out) go with fl_layer_apply",
                ));
            }
            layer::refuse_tiled(&step)?;
            Item::Step(step)
        }
    };
    steps.push(item);
    if steps.len() > MAX_STEPS {
        return Err(TransformError::new(
            "transformation",
            format!("at most {MAX_STEPS} steps once named transformations are expanded"),
        ));
    }
    Ok(())
}

/// `t_a.b`: each name's transformation, in order.
fn expand(
    list: &str,
    names: &dyn NamedTransformations,
    depth: usize,
    steps: &mut Vec<Item>,
    default_image: &mut Option<String>,
) -> Result<(), TransformError> {
    let wanted: Vec<&str> = list.split('.').collect();
    if wanted.len() > MAX_NAMES {
        return Err(TransformError::new(
            "t",
            format!("at most {MAX_NAMES} names joined with '.'"),
        ));
    }
    if depth >= MAX_NAME_DEPTH {
        return Err(TransformError::new(
            "t",
            format!("named transformations nest at most {MAX_NAME_DEPTH} deep"),
        ));
    }
    for name in wanted {
        let text = names.named(name).ok_or_else(|| {
            TransformError::new(
                "t",
                format!(
                    "no preset named '{}'",
                    name.chars()
                        .take(40)
                        .filter(|c| !c.is_control())
                        .collect::<String>()
                ),
            )
        })?;
        for component in text.split('/') {
            component_into(component, names, depth + 1, steps, default_image)?;
        }
    }
    Ok(())
}

pub(super) fn parameter(
    step: &mut Step,
    key: &str,
    name: &str,
    value: &str,
) -> Result<(), TransformError> {
    let bad = |reason: &str| TransformError::new(name, reason);
    let twice = || TransformError::new(name, "given twice in one component");
    if step.pick.parameter(key, value)? {
        return Ok(());
    }
    match key {
        "w" if value.starts_with("auto") => set(
            &mut step.auto_width,
            hints::parse_auto_width(value).map_err(|r| bad(&r))?,
        ),
        "w" => set(&mut step.width, values::length(value).map_err(|r| bad(&r))?),
        "dpr" if value == "auto" => {
            if std::mem::replace(&mut step.auto_dpr, true) {
                return Err(twice());
            }
            Ok(())
        }
        "h" => set(
            &mut step.height,
            values::length(value).map_err(|r| bad(&r))?,
        ),
        "x" => set(&mut step.x, values::offset(value).map_err(|r| bad(&r))?),
        "y" => set(&mut step.y, values::offset(value).map_err(|r| bad(&r))?),
        "c" => set(
            &mut step.crop,
            values::crop(value).ok_or_else(|| bad(values::CROPS))?,
        ),
        "g" => set(
            &mut step.gravity,
            values::gravity(value).ok_or_else(|| bad(values::GRAVITIES))?,
        ),
        "z" => set(
            &mut step.zoom,
            values::zoom(value).ok_or_else(|| bad("a number from 0.1 to 10"))?,
        ),
        "q" => set(
            &mut step.quality,
            values::quality(value).ok_or_else(|| {
                bad("1 to 100, auto, or auto:best, auto:good, auto:eco, auto:low")
            })?,
        ),
        "f" => set(
            &mut step.format,
            values::format(value).ok_or_else(|| bad("one of jpg, png, webp, avif, auto"))?,
        ),
        "dpr" => set(
            &mut step.dpr,
            values::decimal(value)
                .filter(|d| (0.1..=5.0).contains(d))
                .ok_or_else(|| bad("a number from 0.1 to 5"))?,
        ),
        "ar" => set(
            &mut step.aspect_ratio,
            values::aspect(value)
                .ok_or_else(|| bad("a ratio like 16:9 or 1.5, between 0.01 and 100"))?,
        ),
        "b" => set(
            &mut step.background,
            super::background::parse(value).map_err(|reason| bad(&reason))?,
        ),
        "a" => set(
            &mut step.rotation,
            values::rotation(value).ok_or_else(|| bad(values::ROTATIONS))?,
        ),
        "e" => set(
            &mut step.look.effect,
            look::effect(value).map_err(|r| bad(&r))?,
        ),
        "co" => set(
            &mut step.look.colour,
            values::colour(value).ok_or_else(|| bad("a colour (a CSS name or rgb:RRGGBB)"))?,
        ),
        "r" => set(
            &mut step.look.corners,
            look::corners(value).map_err(|r| bad(&r))?,
        ),
        "bo" => set(
            &mut step.look.border,
            look::border(value).map_err(|r| bad(&r))?,
        ),
        "o" => set(
            &mut step.look.opacity,
            look::opacity(value).map_err(|r| bad(&r))?,
        ),
        // url-gen writes each flag as its own `fl_` (`fl_layer_apply,
        // fl_no_overflow`), the other SDKs join them with dots.
        "fl" => {
            for flag in value.split('.') {
                step.flags.push(values::flag(flag).map_err(|r| bad(&r))?);
            }
            step.flags.sort();
            step.flags.dedup();
            Ok(())
        }
        _ => return Err(bad("unknown parameter")),
    }
    .map_err(|()| twice())
}

fn bad_if(reason: &str) -> TransformError {
    TransformError::new("if", reason)
}

/// `if_` beside other parameters guards only them; `if_else` and
/// `if_end` stand alone.
fn shape_branch(step: &mut Step) -> Result<(), TransformError> {
    let Some(branch) = step.branch.take() else {
        return Ok(());
    };
    let alone = *step == Step::default();
    step.branch = Some(match branch {
        Branch::Open(condition) if !alone => Branch::Only(condition),
        Branch::Else | Branch::End if !alone => {
            return Err(bad_if(
                "if_else and if_end stand in a component of their own",
            ));
        }
        other => other,
    });
    Ok(())
}

/// A parameter given as an expression may not also be given plainly.
fn pending_once(step: &Step) -> Result<(), TransformError> {
    for (index, (symbolic, _)) in step.pending.iter().enumerate() {
        let plain = match symbolic {
            Symbolic::Width => step.width.is_some() || step.auto_width.is_some(),
            Symbolic::Height => step.height.is_some(),
            Symbolic::X => step.x.is_some(),
            Symbolic::Y => step.y.is_some(),
            Symbolic::Zoom => step.zoom.is_some(),
            Symbolic::AspectRatio => step.aspect_ratio.is_some(),
            Symbolic::Angle => step.rotation.is_some(),
        };
        if plain || step.pending[..index].iter().any(|(s, _)| s == symbolic) {
            return Err(TransformError::new(
                symbolic.key(),
                "given twice in one component",
            ));
        }
    }
    Ok(())
}

/// Sizes in pixels are checked here, without the image; relative ones
/// wait for the geometry.
pub(super) fn check_sizes(step: &Step) -> Result<(), TransformError> {
    let dpr = step.dpr.unwrap_or(1.0);
    for (length, name) in [(step.width, "w"), (step.height, "h")] {
        if let Some(Length::Pixels(px)) = length {
            if (f64::from(px) * dpr).round() > f64::from(MAX_SIDE) {
                let culprit = if dpr > 1.0 { "dpr" } else { name };
                return Err(TransformError::new(
                    culprit,
                    format!("the output would be wider or taller than {MAX_SIDE} pixels"),
                ));
            }
        }
    }
    if (step.width.is_some() && step.auto_width.is_some()) || (step.dpr.is_some() && step.auto_dpr)
    {
        return Err(TransformError::new(
            if step.auto_dpr { "dpr" } else { "w" },
            "given twice in one component",
        ));
    }
    // Cloudinary refuses these pairs; so do we, rather than guess.
    if step.gravity.is_some_and(Gravity::by_content)
        && matches!(
            step.crop,
            Some(
                Crop::Scale
                    | Crop::Fit
                    | Crop::Limit
                    | Crop::Mfit
                    | Crop::Pad
                    | Crop::Lpad
                    | Crop::Mpad
            )
        )
    {
        return Err(TransformError::new(
            "g",
            "g_auto and the face gravities need a mode that cuts: fill, lfill, fill_pad, thumb, crop or auto",
        ));
    }
    if step.crop == Some(Crop::FillPad) && step.gravity != Some(Gravity::Auto) {
        return Err(TransformError::new("c", "c_fill_pad needs g_auto"));
    }
    if let Some(rotation) = step.rotation {
        let given = |plain: bool, symbolic: Symbolic| {
            plain || step.pending.iter().any(|(s, _)| *s == symbolic)
        };
        if rotation.auto.is_some()
            && !(given(step.width.is_some(), Symbolic::Width)
                && given(step.height.is_some(), Symbolic::Height))
        {
            return Err(TransformError::new(
                "a",
                "auto_right and auto_left compare the image with the requested w and h: give both",
            ));
        }
    }
    Ok(())
}

/// `d_`: a public id (letters, digits, `-`, `_`, `:` for folders) with
/// an extension.
fn valid_default_image(value: &str) -> bool {
    value.len() <= 128
        && value.split_once('.').is_some_and(|(id, ext)| {
            !id.is_empty()
                && !ext.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// A parameter name cut to a printable size, for error messages.
fn short(text: &str) -> String {
    let cut: String = text.chars().take(24).filter(|c| !c.is_control()).collect();
    if cut.is_empty() {
        "transformation".to_owned()
    } else {
        cut
    }
}

fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(value);
    Ok(())
}
