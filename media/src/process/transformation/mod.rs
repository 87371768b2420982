//! Cloudinary's transformation language, parsed into types that can only
//! hold valid values. No pixels here: a URL becomes a [`Transformation`],
//! a list of [`Step`]s, one per `/`-separated component, each a set of
//! `key_value` parameters (order inside a component never matters; the
//! SDKs sort keys). Named transformations (`t_a.b`) are expanded while
//! parsing. `values` parses each value family, `canonical` prints the one
//! spelling used in cache keys and sent to Cloudinary.

mod background;
mod canonical;
mod expression;
mod hints;
mod layer;
mod look;
mod parse;
mod pick;
mod resolve;
mod text;
mod values;

#[cfg(test)]
mod tests;

pub use background::{
    AutoBackground, Background, Gradient, GradientDirection, Palette, MAX_PALETTE,
};
pub use expression::{Condition, Expression, Scope};
pub use hints::{AutoWidth, Hints, HintsUsed};
pub use layer::{Blend, Drawing, Layer, LayerSource, Placement, MAX_LAYERS};
pub use look::{Border, Corners, Effect, Look, Region, Tint, MAX_BORDER, MAX_TINTS};
pub use pick::{Pick, TimeOffset, DEFAULT_DENSITY, MAX_DENSITY, MAX_PAGE};
pub use resolve::Flow;
pub use text::{Align, Text, MAX_FONT_SIZE, MAX_TEXT};
pub use values::MAX_OFFSET;

/// Largest output side, after `dpr`.
pub const MAX_SIDE: u32 = 4096;
/// Longest transformation string accepted (all components).
pub const MAX_TRANSFORMATION_LEN: usize = 1024;
/// Most components a URL may chain.
pub const MAX_COMPONENTS: usize = 16;
/// Most steps once named transformations are expanded.
pub const MAX_STEPS: usize = 24;

/// Why a transformation was refused; `parameter` names the offender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct TransformError {
    pub parameter: String,
    pub reason: String,
}

impl TransformError {
    pub(crate) fn new(parameter: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }
}

/// Where named transformations (`t_NAME`) come from.
pub trait NamedTransformations {
    /// The transformation text `name` stands for.
    fn named(&self, name: &str) -> Option<&str>;
}

/// No named transformations at all.
pub struct NoNames;

impl NamedTransformations for NoNames {
    fn named(&self, _: &str) -> Option<&str> {
        None
    }
}

/// `c_`: how the image meets the requested size (Cloudinary's resize,
/// crop and pad modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crop {
    /// Exactly the size asked, aspect ratio not kept.
    Scale,
    /// Inside the box, aspect kept.
    Fit,
    /// `Fit`, never scaling up.
    Limit,
    /// `Fit`, never scaling down.
    Mfit,
    /// Covers the box, the overflow cut by gravity.
    Fill,
    /// `Fill`, never scaling up.
    Lfill,
    /// `Fill`, unless the cut would lose detail: then `Pad`.
    FillPad,
    /// `Fill` around the gravity, zoomable.
    Thumb,
    /// Cuts a region out, no scaling.
    Crop,
    /// `Fit`, then padded to the box.
    Pad,
    /// `Pad`, never scaling up.
    Lpad,
    /// `Pad`, never scaling down.
    Mpad,
    /// `Fill` placed by content (gravity `auto` unless given).
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gravity {
    Center,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
    /// `x`/`y` name the centre of the region.
    XyCenter,
    /// The most detailed region (see `process::ops::energy`).
    Auto,
    /// The largest face a detector finds (see `process::ops::faces`); the
    /// centre when there is none.
    Face,
    /// All the faces found; the centre when there is none.
    Faces,
    /// All the faces found, else the most detailed region.
    AutoFaces,
}

impl Gravity {
    /// Placed by what the image shows, known only once it is decoded.
    pub fn by_content(self) -> bool {
        matches!(
            self,
            Self::Auto | Self::Face | Self::Faces | Self::AutoFaces
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// `q_auto`, or one of Cloudinary's levels `q_auto:best|good|eco|low`.
    Auto(AutoQuality),
    Value(u8),
}

/// The levels Cloudinary accepts after `q_auto:`; nothing else passes, so
/// the text we forward to Cloudinary is always one it understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoQuality {
    Default,
    Best,
    Good,
    Eco,
    Low,
}

impl AutoQuality {
    /// The encoder quality each level stands for.
    pub fn value(self) -> u8 {
        match self {
            Self::Best => 90,
            Self::Default | Self::Good => 80,
            Self::Eco => 70,
            Self::Low => 60,
        }
    }
}

/// An output format a transformation may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatRequest {
    Jpeg,
    Png,
    Webp,
    Avif,
    /// Chosen from the `Accept` header.
    Auto,
}

/// An RGBA colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rgba(pub [u8; 4]);

/// A width or height: pixels, or a fraction of the input (`w_0.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    Pixels(u32),
    Relative(f64),
}

/// An `x_`/`y_` offset: pixels or a fraction of the input, either sign.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offset {
    Pixels(i32),
    Relative(f64),
}

/// `a_`: flips, then a turn clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rotation {
    /// 0 to 359, clockwise.
    pub degrees: i32,
    pub hflip: bool,
    pub vflip: bool,
    /// `auto_right` (`Some(true)`) or `auto_left`: a quarter turn when the
    /// requested box is the other orientation than the image.
    pub auto: Option<bool>,
    /// `a_ignore`: the EXIF orientation is not applied.
    pub ignore_orientation: bool,
}

/// `fl_progressive[:mode]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Progressive {
    Progressive,
    Semi,
    Steep,
    None,
}

/// An `fl_` flag this service accepts. Those that change the bytes are
/// part of the rendering key; the rest change headers or nothing (the
/// README says which and why).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// Progressive JPEG (any mode but `none`).
    Progressive(Progressive),
    /// `Content-Disposition: attachment`, with an optional file name.
    Attachment(Option<String>),
    /// Keep the original's IPTC and XMP (JPEG to JPEG).
    KeepIptc,
    /// Keep the copyright fields of the metadata: the IPTC and XMP
    /// segments that hold them are kept whole (JPEG to JPEG).
    KeepAttribution,
    /// Metadata is always stripped: accepted, changes nothing.
    StripProfile,
    ForceStrip,
    /// `f_auto` keeps an image with transparency in a format with alpha.
    PreserveTransparency,
    /// Every answer is already `immutable`.
    ImmutableCache,
    /// Lossy output is already what JPEG, WebP and AVIF give.
    Lossy,
    /// Beside `fl_layer_apply`: the canvas keeps the image's size.
    /// Elsewhere accepted so CldImage's URLs parse, and changes nothing.
    NoOverflow,
    /// In a layer's own transformation: relative sizes (`w_0.5`) are of
    /// the image the layer goes on, not of the layer.
    Relative,
    /// Beside `fl_layer_apply`: the layer repeats across the image. Taken
    /// into the placement while parsing.
    Tiled,
    /// Closes a layer. Taken away while parsing.
    LayerApply,
    /// `f_auto` already keeps the original's family.
    AnyFormat,
    /// About vector and video sources.
    IgnoreAspectRatio,
    /// PNG is already written with 8 bits a channel, alpha when there is.
    Png24,
    Png32,
}

impl Flag {
    /// Whether the flag changes the rendered bytes.
    pub fn renders(&self) -> bool {
        matches!(
            self,
            Self::Progressive(_) | Self::KeepIptc | Self::KeepAttribution | Self::Relative
        )
    }
}

/// A parameter whose value may be an expression (`w_iw_div_2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbolic {
    Width,
    Height,
    X,
    Y,
    Zoom,
    AspectRatio,
    Angle,
}

impl Symbolic {
    pub fn key(self) -> &'static str {
        match self {
            Self::Width => "w",
            Self::Height => "h",
            Self::X => "x",
            Self::Y => "y",
            Self::Zoom => "z",
            Self::AspectRatio => "ar",
            Self::Angle => "a",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        [
            Self::Width,
            Self::Height,
            Self::X,
            Self::Y,
            Self::Zoom,
            Self::AspectRatio,
            Self::Angle,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }
}

/// `if_…`, `if_else`, `if_end`: which components run.
#[derive(Debug, Clone, PartialEq)]
pub enum Branch {
    /// A component of its own: the components up to `if_else` or
    /// `if_end` run when the condition holds.
    Open(Condition),
    /// Beside other parameters: this component runs when it holds.
    Only(Condition),
    Else,
    End,
}

/// One component: the parameters between two `/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    pub width: Option<Length>,
    pub height: Option<Length>,
    pub crop: Option<Crop>,
    pub gravity: Option<Gravity>,
    pub x: Option<Offset>,
    pub y: Option<Offset>,
    pub zoom: Option<f64>,
    pub quality: Option<Quality>,
    pub format: Option<FormatRequest>,
    pub dpr: Option<f64>,
    /// `w_auto…`: the width waits for the request's client hints.
    pub auto_width: Option<AutoWidth>,
    /// `dpr_auto`: the ratio waits for the request's client hints.
    pub auto_dpr: bool,
    /// Width divided by height.
    pub aspect_ratio: Option<f64>,
    pub background: Option<Background>,
    pub rotation: Option<Rotation>,
    /// Sorted, each once.
    pub flags: Vec<Flag>,
    /// `$name_value`, set in this order before the other parameters.
    pub assignments: Vec<(String, Expression)>,
    /// Parameters whose values wait for the image's sizes.
    pub pending: Vec<(Symbolic, Expression)>,
    pub branch: Option<Branch>,
    /// `e_`, `co_`, `r_`, `bo_`, `o_`.
    pub look: Look,
    /// A layer drawn on the image (such a step holds nothing else).
    pub layer: Option<Box<Layer>>,
    /// `pg_`, `dn_`, `so_`, `eo_`: which page or frame the chain starts
    /// from. Leaves the geometry alone.
    pub pick: Pick,
}

impl Step {
    /// Changes no pixel and no size: only format, quality or flags.
    fn is_delivery_only(&self) -> bool {
        let Self {
            width,
            height,
            crop,
            gravity,
            x,
            y,
            zoom,
            quality: _,
            format: _,
            dpr,
            auto_width,
            auto_dpr,
            aspect_ratio,
            background,
            rotation,
            flags: _,
            assignments,
            pending,
            branch,
            look,
            layer,
            pick: _,
        } = self;
        width.is_none()
            && height.is_none()
            && crop.is_none()
            && gravity.is_none()
            && x.is_none()
            && y.is_none()
            && zoom.is_none()
            && dpr.is_none()
            && auto_width.is_none()
            && !auto_dpr
            && aspect_ratio.is_none()
            && background.is_none()
            && rotation.is_none()
            && assignments.is_empty()
            && pending.is_empty()
            && branch.is_none()
            && look.is_plain()
            && layer.is_none()
    }
}

/// A whole chain, named transformations already expanded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transformation {
    pub steps: Vec<Step>,
    /// `d_ID.ext`: what answers, with the same steps, when the asked
    /// image does not exist. Not part of the canonical text: delivery
    /// resolves it before any backend sees the request.
    pub default_image: Option<String>,
}

impl Transformation {
    /// The format asked for by the last step that names one.
    pub fn format(&self) -> Option<FormatRequest> {
        self.steps.iter().rev().find_map(|s| s.format)
    }

    /// The quality asked for by the last step that names one.
    pub fn quality(&self) -> Option<Quality> {
        self.steps.iter().rev().find_map(|s| s.quality)
    }

    /// Every flag of every step.
    pub fn flags(&self) -> impl Iterator<Item = &Flag> {
        self.steps.iter().flat_map(|s| s.flags.iter())
    }

    pub fn has_flag(&self, flag: &Flag) -> bool {
        self.flags().any(|f| f == flag)
    }

    /// `fl_attachment`: `Some(None)` without a name.
    pub fn attachment(&self) -> Option<Option<&str>> {
        self.flags().find_map(|f| match f {
            Flag::Attachment(name) => Some(name.as_deref()),
            _ => None,
        })
    }

    /// Progressive JPEG asked for (`fl_progressive` but not `:none`).
    pub fn progressive(&self) -> bool {
        self.flags()
            .any(|f| matches!(f, Flag::Progressive(mode) if *mode != Progressive::None))
    }

    /// Uses variables, arithmetic on the image's sizes or conditions:
    /// its steps are only known once the original's size is.
    pub fn is_symbolic(&self) -> bool {
        self.steps
            .iter()
            .any(|s| !s.assignments.is_empty() || !s.pending.is_empty() || s.branch.is_some())
    }

    /// The page or frame the chain starts from (each parameter is given
    /// once, outside layers: the parser made sure).
    pub fn pick(&self) -> Pick {
        self.steps
            .iter()
            .fold(Pick::default(), |chain, step| chain.or(step.pick))
    }

    /// `e_trim` in the chain: what follows is sized once it has run.
    pub fn trims(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.look.effect, Some(Effect::Trim(..))))
    }

    /// `a_ignore` anywhere: the EXIF orientation is not applied.
    pub fn ignores_orientation(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.rotation.is_some_and(|r| r.ignore_orientation))
    }

    /// The width of a responsive-image transformation: one component of a
    /// pixel width, with at most `c_limit`, `f_auto` and `q_auto` beside it
    /// (what a `srcset` asks for). Strict mode serves these unsigned for
    /// the widths it allows, as imgproxy does its allowed sizes.
    pub fn responsive_width(&self) -> Option<u32> {
        let [step] = self.steps.as_slice() else {
            return None;
        };
        let bare = Step {
            width: step.width,
            crop: step.crop,
            format: step.format,
            quality: step.quality,
            ..Step::default()
        };
        let plain = *step == bare
            && matches!(step.crop, None | Some(Crop::Limit))
            && matches!(step.format, None | Some(FormatRequest::Auto))
            && matches!(
                step.quality,
                None | Some(Quality::Auto(AutoQuality::Default))
            );
        match step.width {
            Some(Length::Pixels(width)) if plain => Some(width),
            _ => None,
        }
    }

    /// Parses `components` (already split on `/`), with no named
    /// transformations defined.
    ///
    /// # Errors
    /// [`TransformError`] naming the first bad parameter.
    pub fn parse<'a>(
        components: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TransformError> {
        Self::parse_with(components, &NoNames)
    }

    /// Parses `components`, expanding `t_NAME` from `names`.
    ///
    /// # Errors
    /// [`TransformError`] naming the first bad parameter or unknown name.
    pub fn parse_with<'a>(
        components: impl IntoIterator<Item = &'a str>,
        names: &dyn NamedTransformations,
    ) -> Result<Self, TransformError> {
        let transformation = parse::transformation(components, names)?;
        resolve::check_flow(&transformation.steps)?;
        if transformation.is_symbolic() && transformation.trims() {
            return Err(TransformError::new(
                "e",
                "e_trim does not combine with variables or conditions: they would be weighed on the untrimmed size",
            ));
        }
        Ok(transformation)
    }

    /// A canonical text form: the same transformation always prints the
    /// same way, whatever order its parameters came in. What Cloudinary is
    /// sent.
    pub fn canonical(&self) -> String {
        canonical::text(&self.steps)
    }

    /// Changes no pixel: every step is about format, quality or headers
    /// (what [`Self::rendering_key`] leaves empty), without building it.
    pub fn keeps_pixels(&self) -> bool {
        self.steps
            .iter()
            .all(|s| s.is_delivery_only() && !s.flags.iter().any(Flag::renders))
    }

    /// What decides the pixels, apart from the output format and quality
    /// (which the variant key holds on their own): the canonical text
    /// without `f_`, `q_` and flags that change no byte, and without
    /// components left empty by that. `t_card/f_auto`, `f_auto,t_card` and
    /// `t_card` with `.webp` are one rendering.
    pub fn rendering_key(&self) -> String {
        let steps: Vec<Step> = self
            .steps
            .iter()
            .map(|step| Step {
                format: None,
                quality: None,
                flags: step.flags.iter().filter(|f| f.renders()).cloned().collect(),
                ..step.clone()
            })
            // A step that only picks a page or frame changes every pixel.
            .filter(|step| {
                !step.is_delivery_only() || !step.flags.is_empty() || !step.pick.is_none()
            })
            .collect();
        canonical::text(&steps)
    }
}

impl std::fmt::Display for Transformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}
