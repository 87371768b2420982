//! The one spelling of a transformation: parameters sorted by key, each
//! value written the way both this parser and Cloudinary read it. Cache
//! keys use it, and it is the only text another service is ever sent.

use super::text as text_layer;
use super::values::print_decimal;
use super::{background, look};
use super::{
    AutoQuality, Branch, Crop, Drawing, Flag, FormatRequest, Gravity, Layer, Length, Offset,
    Progressive, Quality, Rotation, Step,
};

pub(super) fn text(steps: &[Step]) -> String {
    steps.iter().map(step).collect::<Vec<_>>().join("/")
}

/// A step as its components: one, or a layer's several.
fn step(s: &Step) -> String {
    match &s.layer {
        Some(inner) => layer(inner),
        None => params(s).join(","),
    }
}

fn length(l: Length) -> String {
    match l {
        Length::Pixels(px) => px.to_string(),
        // Always with a point: `w_1.0` is the whole input, `w_1` one pixel.
        Length::Relative(r) if r.fract() == 0.0 => format!("{r:.1}"),
        Length::Relative(r) => format!("{r}"),
    }
}

fn offset(o: Offset) -> String {
    match o {
        Offset::Pixels(px) => px.to_string(),
        Offset::Relative(r) if r.fract() == 0.0 => format!("{r:.1}"),
        Offset::Relative(r) => format!("{r}"),
    }
}

fn rotation(r: Rotation) -> String {
    let mut parts: Vec<String> = Vec::new();
    match r.auto {
        Some(true) => parts.push("auto_right".into()),
        Some(false) => parts.push("auto_left".into()),
        None => {}
    }
    if r.hflip {
        parts.push("hflip".into());
    }
    if r.vflip {
        parts.push("vflip".into());
    }
    if r.ignore_orientation {
        parts.push("ignore".into());
    }
    if r.degrees != 0 || parts.is_empty() {
        parts.push(r.degrees.to_string());
    }
    parts.join(".")
}

fn flag(f: &Flag) -> String {
    match f {
        Flag::Progressive(Progressive::Progressive) => "progressive".into(),
        Flag::Progressive(Progressive::Semi) => "progressive:semi".into(),
        Flag::Progressive(Progressive::Steep) => "progressive:steep".into(),
        Flag::Progressive(Progressive::None) => "progressive:none".into(),
        Flag::Attachment(None) => "attachment".into(),
        Flag::Attachment(Some(name)) => format!("attachment:{name}"),
        Flag::KeepIptc => "keep_iptc".into(),
        Flag::KeepAttribution => "keep_attribution".into(),
        Flag::StripProfile => "strip_profile".into(),
        Flag::ForceStrip => "force_strip".into(),
        Flag::PreserveTransparency => "preserve_transparency".into(),
        Flag::ImmutableCache => "immutable_cache".into(),
        Flag::Lossy => "lossy".into(),
        Flag::NoOverflow => "no_overflow".into(),
        Flag::AnyFormat => "any_format".into(),
        Flag::IgnoreAspectRatio => "ignore_aspect_ratio".into(),
        Flag::Png24 => "png24".into(),
        Flag::Png32 => "png32".into(),
        Flag::Relative => "relative".into(),
        Flag::Tiled => "tiled".into(),
        Flag::LayerApply => "layer_apply".into(),
    }
}

/// The components a layer prints as: `l_ID` among its first step's
/// parameters, its other steps, and `fl_layer_apply` with the placement.
fn layer(layer: &Layer) -> String {
    let key = if layer.under { "u" } else { "l" };
    let mut components = Vec::new();
    let mut steps = layer.steps.iter();
    let mut first = steps.next().map(params).unwrap_or_default();
    match &layer.drawing {
        Drawing::Media(source) => first.push(format!("{key}_{}", source.public_id)),
        Drawing::Text(style) => {
            first.push(format!("{key}_{}", text_layer::print(style)));
            if let Some(colour) = style.colour {
                first.push(format!("co_{}", background::print_colour(colour)));
            }
            if let Some(colour) = style.background {
                first.push(format!("b_{}", background::print_colour(colour)));
            }
            if let Some(width) = style.wrap {
                first.push("c_fit".into());
                first.push(format!("w_{width}"));
            }
        }
    }
    first.sort();
    components.push(first.join(","));
    for inner in steps {
        components.push(step(inner));
    }
    let placement = layer.placement;
    let mut flags = vec!["layer_apply"];
    if placement.no_overflow {
        flags.push("no_overflow");
    }
    if placement.tiled {
        flags.push("tiled");
    }
    let mut apply = vec![format!("fl_{}", flags.join("."))];
    if let Some(blend) = placement.blend {
        apply.push(format!("e_{}", blend.as_str()));
    }
    if let Some(gravity) = placement.gravity {
        apply.push(format!("g_{}", gravity.as_str()));
    }
    if let Some(x) = placement.x {
        apply.push(format!("x_{}", offset(x)));
    }
    if let Some(y) = placement.y {
        apply.push(format!("y_{}", offset(y)));
    }
    apply.sort();
    components.push(apply.join(","));
    components.join("/")
}

/// One component's parameters, in their one order.
fn params(s: &Step) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(r) = s.rotation {
        parts.push(format!("a_{}", rotation(r)));
    }
    if let Some(v) = s.aspect_ratio {
        parts.push(format!("ar_{}", print_decimal(v)));
    }
    if let Some(b) = s.background {
        parts.push(format!("b_{}", background::print(b)));
    }
    if let Some(border) = s.look.border {
        parts.push(format!(
            "bo_{}px_solid_{}",
            border.width,
            background::print_colour(border.colour)
        ));
    }
    if let Some(c) = s.crop {
        parts.push(format!("c_{}", c.as_str()));
    }
    if let Some(colour) = s.look.colour {
        parts.push(format!("co_{}", background::print_colour(colour)));
    }
    if let Some(v) = s.dpr {
        parts.push(format!("dpr_{}", print_decimal(v)));
    }
    if s.auto_dpr {
        parts.push("dpr_auto".into());
    }
    if let Some(effect) = s.look.effect {
        parts.push(format!("e_{}", look::print_effect(effect)));
    }
    if let Some(f) = s.format {
        parts.push(format!("f_{}", f.as_str()));
    }
    if !s.flags.is_empty() {
        let flags: Vec<String> = s.flags.iter().map(flag).collect();
        parts.push(format!("fl_{}", flags.join(".")));
    }
    if let Some(g) = s.gravity {
        parts.push(format!("g_{}", g.as_str()));
    }
    if let Some(h) = s.height {
        parts.push(format!("h_{}", length(h)));
    }
    if let Some(q) = s.quality {
        parts.push(match q {
            Quality::Auto(AutoQuality::Default) => "q_auto".to_owned(),
            Quality::Auto(level) => format!("q_auto:{}", format!("{level:?}").to_ascii_lowercase()),
            Quality::Value(v) => format!("q_{v}"),
        });
    }
    if let Some(w) = s.width {
        parts.push(format!("w_{}", length(w)));
    }
    if let Some(auto) = s.auto_width {
        parts.push(format!("w_{}", auto.text()));
    }
    if let Some(x) = s.x {
        parts.push(format!("x_{}", offset(x)));
    }
    if let Some(y) = s.y {
        parts.push(format!("y_{}", offset(y)));
    }
    if let Some(z) = s.zoom {
        parts.push(format!("z_{}", print_decimal(z)));
    }
    if let Some(region) = look::region(s.look.effect) {
        let fields = [
            ("w", region.width.map(length)),
            ("h", region.height.map(length)),
            ("x", region.x.map(offset)),
            ("y", region.y.map(offset)),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                parts.push(format!("{key}_{value}"));
            }
        }
    }
    if let Some(o) = s.look.opacity {
        parts.push(format!("o_{o}"));
    }
    if let Some(corners) = s.look.corners {
        parts.push(format!("r_{}", look::print_corners(corners)));
    }
    s.pick.print(&mut parts);
    for (symbolic, expression) in &s.pending {
        parts.push(format!("{}_{}", symbolic.key(), expression.text()));
    }
    // `_` sorts before every letter, so whole texts sort as their keys.
    parts.sort();
    // The SDKs' order: the condition, then variables as they were set.
    let mut first: Vec<String> = Vec::new();
    match &s.branch {
        Some(Branch::Open(c) | Branch::Only(c)) => first.push(format!("if_{}", c.text())),
        Some(Branch::Else) => first.push("if_else".into()),
        Some(Branch::End) => first.push("if_end".into()),
        None => {}
    }
    for (name, expression) in &s.assignments {
        first.push(format!("${name}_{}", expression.text()));
    }
    first.extend(parts);
    first
}

impl Crop {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scale => "scale",
            Self::Fit => "fit",
            Self::Limit => "limit",
            Self::Mfit => "mfit",
            Self::Fill => "fill",
            Self::Lfill => "lfill",
            Self::FillPad => "fill_pad",
            Self::Thumb => "thumb",
            Self::Crop => "crop",
            Self::Pad => "pad",
            Self::Lpad => "lpad",
            Self::Mpad => "mpad",
            Self::Auto => "auto",
        }
    }
}

impl Gravity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Center => "center",
            Self::North => "north",
            Self::South => "south",
            Self::East => "east",
            Self::West => "west",
            Self::NorthEast => "north_east",
            Self::NorthWest => "north_west",
            Self::SouthEast => "south_east",
            Self::SouthWest => "south_west",
            Self::XyCenter => "xy_center",
            Self::Auto => "auto",
            Self::Face => "face",
            Self::Faces => "faces",
            Self::AutoFaces => "auto:faces",
        }
    }
}

impl FormatRequest {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Auto => "auto",
        }
    }
}
