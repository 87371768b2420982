//! Layers: `l_ID` (over) and `u_ID` (under) open one, the components up
//! to the next `fl_layer_apply` transform it, and that component places
//! it (gravity, `x`/`y` inward from the edge, blend mode, tiling,
//! overflow). The older one-component form (`l_ID,g_south_east,w_100,
//! x_10`) is a layer whose own component never got a closing
//! `fl_layer_apply`: its gravity and offsets place it.
//!
//! Parsing leaves a flat list of [`Item`]s; [`fold`] nests them.

use super::text::{self, Text};
use super::{Background, Crop, Flag, Gravity, Length, Offset, Step, TransformError};

/// Most layers one URL may draw, nested ones included.
pub const MAX_LAYERS: usize = 8;
/// How deep layers may nest (a layer of a layer of a layer).
pub const MAX_LAYER_DEPTH: usize = 3;
/// Longest public id a layer may name.
const MAX_LAYER_ID: usize = 200;

/// A media a layer draws, named by its public id, folders joined with
/// `:` as the SDKs write them (`brand:logo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerSource {
    pub public_id: String,
}

impl LayerSource {
    /// The id with its folders: `brand:ID` is `["brand"]` and `ID`.
    pub fn parts(&self) -> (Vec<&str>, &str) {
        let mut parts: Vec<&str> = self.public_id.split(':').collect();
        let last = parts.pop().unwrap_or_default();
        (parts, last)
    }
}

/// What a layer draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drawing {
    Media(LayerSource),
    Text(Box<Text>),
}

/// How a layer's pixels meet the image under it (`e_` beside
/// `fl_layer_apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blend {
    Multiply,
    Screen,
    Overlay,
    /// Only the image under the layer's opaque pixels stays.
    Mask,
    /// The layer's opaque pixels are cut out of the image.
    CutOut,
}

impl Blend {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "multiply" => Self::Multiply,
            "screen" => Self::Screen,
            "overlay" => Self::Overlay,
            "mask" => Self::Mask,
            "cut_out" => Self::CutOut,
            _ => return None,
        })
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Multiply => "multiply",
            Self::Screen => "screen",
            Self::Overlay => "overlay",
            Self::Mask => "mask",
            Self::CutOut => "cut_out",
        }
    }
}

/// Where and how a layer is laid on the image.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Placement {
    /// A compass point; the centre when not given.
    pub gravity: Option<Gravity>,
    pub x: Option<Offset>,
    pub y: Option<Offset>,
    pub blend: Option<Blend>,
    /// Repeated across the whole image.
    pub tiled: bool,
    /// The canvas keeps the image's size; what falls outside is cut.
    pub no_overflow: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub drawing: Drawing,
    /// `u_`: drawn under the image.
    pub under: bool,
    /// The layer's own transformation, the `l_` component's other
    /// parameters first.
    pub steps: Vec<Step>,
    pub placement: Placement,
}

impl Layer {
    /// Every media drawn, by this layer and those inside it.
    pub fn sources(&self) -> Vec<&LayerSource> {
        let mut all = Vec::new();
        if let Drawing::Media(source) = &self.drawing {
            all.push(source);
        }
        for step in &self.steps {
            if let Some(inner) = &step.layer {
                all.extend(inner.sources());
            }
        }
        all
    }
}

/// A component as parsed, before layers are nested.
#[derive(Debug)]
pub(super) enum Item {
    Step(Step),
    /// `l_`/`u_` and the other parameters of its component.
    Open {
        source: Drawing,
        under: bool,
        step: Step,
        /// A blend mode written beside `l_`: only the one-component form
        /// may do that.
        blend: Option<Blend>,
        /// `fl_layer_apply` in the same component: the one-component
        /// form, closed at once.
        closed: bool,
    },
    /// The `fl_layer_apply` component.
    Apply(Placement),
}

/// Parses an `l_`/`u_` value.
pub(super) fn source(raw: &str) -> Result<Drawing, String> {
    if let Some((kind, rest)) = raw.split_once(':') {
        match kind {
            "text" => return Ok(Drawing::Text(Box::new(text::parse(rest)?))),
            "fetch" | "url" => {
                return Err("layers name media by id; this service never fetches a URL".into())
            }
            "video" | "subtitles" | "lut" | "audio" => {
                return Err(format!("{kind} layers are not rendered: image layers only"))
            }
            _ => {}
        }
    }
    let well_formed = !raw.is_empty()
        && raw.len() <= MAX_LAYER_ID
        && raw.split(':').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if well_formed {
        Ok(Drawing::Media(LayerSource {
            public_id: raw.to_owned(),
        }))
    } else {
        Err(format!(
            "a layer is a public id (letters, digits, '-', '_', '.', folders joined with ':'), at most {MAX_LAYER_ID} characters"
        ))
    }
}

/// Parses an `e_` value beside `l_` or `fl_layer_apply` when it is a
/// blend mode.
pub(super) fn blend(raw: &str) -> Option<Blend> {
    Blend::parse(raw)
}

/// The placement in an `fl_layer_apply` component, from a step parsed
/// with the component's other parameters: only gravity, offsets and the
/// placement flags may be there.
pub(super) fn placement(mut step: Step, blend: Option<Blend>) -> Result<Placement, TransformError> {
    let placement = take_placement(&mut step, blend)?;
    step.flags.retain(|f| *f != Flag::Relative);
    if step != Step::default() {
        return Err(TransformError::new(
            "fl",
            "fl_layer_apply places the layer: beside it go only g, x, y, a blend mode (e_multiply, e_screen, e_overlay, e_mask, e_cut_out) and fl_tiled or fl_no_overflow",
        ));
    }
    Ok(placement)
}

/// Moves gravity, offsets and placement flags out of `step`.
fn take_placement(step: &mut Step, blend: Option<Blend>) -> Result<Placement, TransformError> {
    let gravity = step.gravity.take();
    if gravity.is_some_and(|g| g.by_content() || g == Gravity::XyCenter) {
        return Err(TransformError::new(
            "g",
            "a layer is placed by a compass gravity (north, south_east, center…)",
        ));
    }
    let tiled = step.flags.contains(&Flag::Tiled);
    let no_overflow = step.flags.contains(&Flag::NoOverflow);
    step.flags
        .retain(|f| !matches!(f, Flag::Tiled | Flag::NoOverflow));
    Ok(Placement {
        gravity,
        x: step.x.take(),
        y: step.y.take(),
        blend,
        tiled,
        no_overflow,
    })
}

/// `fl_tiled` anywhere but beside `fl_layer_apply`.
pub(super) fn refuse_tiled(step: &Step) -> Result<(), TransformError> {
    if step.flags.contains(&Flag::Tiled) {
        return Err(TransformError::new(
            "fl",
            "fl_tiled goes with fl_layer_apply",
        ));
    }
    Ok(())
}

/// Why a step cannot be part of a layer, if it cannot.
fn refuse_inside(step: &Step) -> Result<(), TransformError> {
    let symbolic =
        !step.assignments.is_empty() || !step.pending.is_empty() || step.branch.is_some();
    if symbolic {
        return Err(TransformError::new(
            "l",
            "a layer's own transformation takes no variables or conditions",
        ));
    }
    if step.auto_width.is_some() || step.auto_dpr {
        return Err(TransformError::new(
            "l",
            "a layer's own transformation takes no client hints (w_auto, dpr_auto)",
        ));
    }
    refuse_tiled(step)?;
    if matches!(step.look.effect, Some(super::Effect::Trim(..))) {
        return Err(TransformError::new(
            "e",
            "e_trim applies to the image, not inside a layer",
        ));
    }
    Ok(())
}

struct Frame {
    source: Drawing,
    under: bool,
    blend: Option<Blend>,
    steps: Vec<Step>,
}

impl Frame {
    fn closed(self, placement: Placement) -> Result<Step, TransformError> {
        if placement.blend.is_some() && self.under {
            return Err(TransformError::new(
                "e",
                "blend modes apply to overlays (l_), not underlays",
            ));
        }
        if self.blend.is_some() {
            return Err(TransformError::new(
                "e",
                "a blend mode goes with fl_layer_apply, not beside l_",
            ));
        }
        for step in &self.steps {
            refuse_inside(step)?;
        }
        let mut steps = self.steps;
        let drawing = match self.source {
            Drawing::Text(mut text) => {
                if let Some(first) = steps.first_mut() {
                    take_text_style(&mut text, first);
                }
                Drawing::Text(text)
            }
            media => media,
        };
        Ok(Step {
            layer: Some(Box::new(Layer {
                drawing,
                under: self.under,
                steps,
                placement,
            })),
            ..Step::default()
        })
    }

    /// The one-component form: the `l_` component's gravity, offsets and
    /// flags place the layer, its other parameters transform it, and the
    /// components after it were never the layer's.
    fn unclosed(mut self) -> Result<(Step, Vec<Step>), TransformError> {
        let rest = self.steps.split_off(1);
        let mut first = self.steps.pop().unwrap_or_default();
        let blend = self.blend.take();
        let placement = take_placement(&mut first, blend)?;
        self.steps = vec![first];
        let step = Frame {
            blend: None,
            ..self
        }
        .closed(placement)?;
        Ok((step, rest))
    }
}

/// A text layer's colour, background and wrapping width are written in
/// its `l_text` component: they style the text, not the drawn image.
fn take_text_style(text: &mut Text, step: &mut Step) {
    if text.colour.is_none() {
        text.colour = step.look.colour.take();
    }
    if let Some(Background::Colour(colour)) = step.background {
        text.background = Some(colour);
        step.background = None;
    }
    if let (Some(Crop::Fit), Some(Length::Pixels(width))) = (step.crop, step.width) {
        text.wrap = Some(width);
        step.crop = None;
        step.width = None;
    }
}

/// Nests layers: each `fl_layer_apply` closes the latest open layer.
pub(super) fn fold(items: Vec<Item>) -> Result<Vec<Step>, TransformError> {
    let mut top = Vec::new();
    let mut open: Vec<Frame> = Vec::new();
    let current = |open: &mut Vec<Frame>, top: &mut Vec<Step>, step: Step| match open.last_mut() {
        Some(frame) => frame.steps.push(step),
        None => top.push(step),
    };
    for item in items {
        match item {
            Item::Step(step) => current(&mut open, &mut top, step),
            Item::Open {
                source,
                under,
                step,
                blend,
                closed,
            } => {
                let frame = Frame {
                    source,
                    under,
                    blend,
                    steps: vec![step],
                };
                if closed {
                    let (step, _) = frame.unclosed()?;
                    current(&mut open, &mut top, step);
                } else {
                    open.push(frame);
                }
            }
            Item::Apply(placement) => {
                let frame = open.pop().ok_or_else(|| {
                    TransformError::new("fl", "fl_layer_apply with no l_ or u_ before it")
                })?;
                let step = frame.closed(placement)?;
                current(&mut open, &mut top, step);
            }
        }
    }
    while let Some(frame) = open.pop() {
        let (step, rest) = frame.unclosed()?;
        current(&mut open, &mut top, step);
        for step in rest {
            current(&mut open, &mut top, step);
        }
    }
    check_counts(&top, 1)?;
    Ok(top)
}

/// Counts layers and their depth below `steps`; `depth` is that of the
/// steps themselves (1 at the top).
fn check_counts(steps: &[Step], depth: usize) -> Result<usize, TransformError> {
    let mut count = 0;
    for step in steps {
        let Some(layer) = &step.layer else { continue };
        if depth > MAX_LAYER_DEPTH {
            return Err(TransformError::new(
                "l",
                format!("layers nest at most {MAX_LAYER_DEPTH} deep"),
            ));
        }
        count += 1 + check_counts(&layer.steps, depth + 1)?;
        if count > MAX_LAYERS {
            return Err(TransformError::new(
                "l",
                format!("at most {MAX_LAYERS} layers in one URL"),
            ));
        }
    }
    Ok(count)
}

impl super::Transformation {
    /// Every layer the chain draws, nested ones included.
    pub fn layer_sources(&self) -> Vec<&LayerSource> {
        self.steps
            .iter()
            .filter_map(|s| s.layer.as_deref())
            .flat_map(Layer::sources)
            .collect()
    }

    /// The same chain with each layer's public id replaced by `rename`'s
    /// answer (what another backend calls the same media).
    pub fn with_layer_ids(&self, rename: &dyn Fn(&LayerSource) -> String) -> Self {
        fn steps(list: &[Step], rename: &dyn Fn(&LayerSource) -> String) -> Vec<Step> {
            list.iter()
                .map(|step| match &step.layer {
                    Some(layer) => Step {
                        layer: Some(Box::new(Layer {
                            drawing: match &layer.drawing {
                                Drawing::Media(source) => Drawing::Media(LayerSource {
                                    public_id: rename(source),
                                }),
                                text => text.clone(),
                            },
                            steps: steps(&layer.steps, rename),
                            ..(**layer).clone()
                        })),
                        ..step.clone()
                    },
                    None => step.clone(),
                })
                .collect()
        }
        Self {
            steps: steps(&self.steps, rename),
            default_image: self.default_image.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Crop, Length, Transformation};
    use super::*;

    fn parse(s: &str) -> Result<Transformation, TransformError> {
        Transformation::parse(s.split('/'))
    }

    fn media(layer: &Layer) -> &LayerSource {
        match &layer.drawing {
            Drawing::Media(source) => source,
            Drawing::Text(_) => panic!("a media layer"),
        }
    }

    fn only_layer(t: &Transformation) -> &Layer {
        let [step] = t.steps.as_slice() else {
            panic!("one step: {t:?}")
        };
        step.layer.as_deref().expect("a layer")
    }

    #[test]
    fn the_sdks_layer_forms_are_one_layer() {
        // The Node SDK's two forms and url-gen's, for one watermark.
        let apply = parse("l_logo,w_100/fl_layer_apply,g_south_east,x_10,y_10").expect("apply");
        let layer = only_layer(&apply);
        assert_eq!(media(layer).public_id, "logo");
        assert!(!layer.under);
        assert_eq!(layer.steps.len(), 1);
        assert_eq!(layer.steps[0].width, Some(Length::Pixels(100)));
        assert_eq!(layer.placement.gravity, Some(Gravity::SouthEast));
        assert_eq!(layer.placement.x, Some(Offset::Pixels(10)));
        assert_eq!(
            apply.canonical(),
            "l_logo,w_100/fl_layer_apply,g_south_east,x_10,y_10"
        );

        let legacy = parse("c_scale,g_south_east,l_logo,o_70,w_100,x_10,y_10").expect("legacy");
        let layer = only_layer(&legacy);
        assert_eq!(layer.steps[0].crop, Some(Crop::Scale));
        assert_eq!(layer.steps[0].look.opacity, Some(70));
        assert_eq!(
            layer.steps[0].gravity, None,
            "gravity places, it does not crop"
        );
        assert_eq!(layer.placement.gravity, Some(Gravity::SouthEast));
        assert_eq!(layer.placement.y, Some(Offset::Pixels(10)));
        assert_eq!(
            legacy.canonical(),
            "c_scale,l_logo,o_70,w_100/fl_layer_apply,g_south_east,x_10,y_10"
        );
        // Printed text parses back to the same layer.
        assert_eq!(parse(&legacy.canonical()).expect("reparse"), legacy);

        let urlgen = parse(
            "l_brand:logo/c_scale,w_100/e_multiply,fl_layer_apply,fl_no_overflow,fl_tiled,g_south_east,x_10,y_10",
        )
        .expect("url-gen");
        let layer = only_layer(&urlgen);
        assert_eq!(media(layer).parts(), (vec!["brand"], "logo"));
        assert_eq!(layer.steps.len(), 2);
        assert_eq!(layer.placement.blend, Some(Blend::Multiply));
        assert!(layer.placement.tiled && layer.placement.no_overflow);
        assert_eq!(
            urlgen.canonical(),
            "l_brand:logo/c_scale,w_100/e_multiply,fl_layer_apply.no_overflow.tiled,g_south_east,x_10,y_10"
        );
    }

    #[test]
    fn layers_nest_and_steps_after_a_one_component_layer_are_the_images() {
        let t = parse("w_400/l_a,g_north,w_50/e_grayscale").expect("valid");
        assert_eq!(t.steps.len(), 3);
        assert!(t.steps[1].layer.is_some());
        assert!(t.steps[2].look.effect.is_some(), "grayscale is the image's");

        let nested = parse("l_card/l_logo,w_20/fl_layer_apply,g_north/fl_layer_apply,g_south")
            .expect("nested");
        let outer = only_layer(&nested);
        assert_eq!(media(outer).public_id, "card");
        let inner = outer.steps[1].layer.as_deref().expect("inner");
        assert_eq!(media(inner).public_id, "logo");
        assert_eq!(inner.placement.gravity, Some(Gravity::North));
        assert_eq!(outer.placement.gravity, Some(Gravity::South));
        assert_eq!(nested.layer_sources().len(), 2);
        assert_eq!(parse(&nested.canonical()).expect("reparse"), nested);

        // url-gen writes each flag apart; the others join them with dots.
        assert_eq!(
            parse("fl_lossy,fl_png24").expect("two fl_"),
            parse("fl_png24.lossy").expect("one fl_")
        );
        let under = parse("u_bg/c_scale,fl_relative,w_0.5/fl_layer_apply").expect("underlay");
        let layer = only_layer(&under);
        assert!(layer.under);
        assert!(layer.steps[1].flags.contains(&Flag::Relative));
    }

    #[test]
    fn unsafe_or_unknown_layers_are_refused_with_a_reason() {
        for (url, parameter, reason) in [
            ("l_fetch:aHR0cDovL2V4YW1wbGUuY29t", "l", "never fetches"),
            ("l_text:Arial_40_underline:Hi", "l", "underline"),
            ("l_video:clip", "l", "image layers only"),
            ("l_a%2Fb", "l", "public id"),
            ("fl_layer_apply,g_south", "fl", "no l_ or u_"),
            ("l_a/fl_layer_apply,w_100", "fl", "only g, x, y"),
            ("l_a/fl_layer_apply,g_auto", "g", "compass"),
            ("e_multiply", "e", "fl_layer_apply"),
            ("u_a/fl_layer_apply,e_screen", "e", "overlays"),
            ("fl_tiled", "fl", "fl_layer_apply"),
            ("l_a/$w_10/fl_layer_apply", "l", "variables"),
            ("l_a,t_card", "t", "stand apart"),
            (
                "l_a/l_b/l_c/l_d/fl_layer_apply/fl_layer_apply/fl_layer_apply/fl_layer_apply",
                "l",
                "nest at most",
            ),
            (
                "l_a,g_north/l_a,g_north/l_a,g_north/l_a,g_north/l_a,g_north/l_a,g_north/l_a,g_north/l_a,g_north/l_a,g_north",
                "l",
                "at most 8 layers",
            ),
            (
                "l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply",
                "transformation",
                "at most",
            ),
        ] {
            let refused = parse(url).expect_err(url);
            assert_eq!(refused.parameter, parameter, "{url}: {refused}");
            assert!(refused.reason.contains(reason), "{url}: {refused}");
        }
    }
}
