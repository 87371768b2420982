//! Where a layer lands: its own chain planned on its original's size,
//! then placed by gravity and offsets (inward from the edge the gravity
//! names, as Cloudinary's table has it), and the canvas grown to hold it
//! unless `fl_no_overflow` or `fl_tiled` keep the image's size.

use super::{plan_steps, Plan, MAX_SIDE};
use crate::process::transformation::{
    Blend, Drawing, Flag, Gravity, Layer, LayerSource, Length, Offset, Step, Text, TransformError,
};

/// The size of each layer's original (already oriented), by public id.
pub trait LayerSizes {
    /// # Errors
    /// When the layer is not known.
    fn size_of(&self, source: &LayerSource) -> Result<(u32, u32), TransformError>;

    /// The size `text` is drawn at.
    ///
    /// # Errors
    /// A font that is not installed, or text too large.
    fn text_size(&self, text: &Text) -> Result<(u32, u32), TransformError>;
}

/// No layer is known: a chain with one is refused.
pub struct NoLayers;

impl LayerSizes for NoLayers {
    fn size_of(&self, source: &LayerSource) -> Result<(u32, u32), TransformError> {
        Err(TransformError::new(
            "l",
            format!("no media {} to draw as a layer", source.public_id),
        ))
    }

    fn text_size(&self, _: &Text) -> Result<(u32, u32), TransformError> {
        Err(TransformError::new("l", "no fonts to draw text with"))
    }
}

/// A planned layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    pub drawing: Drawing,
    /// The layer's original, oriented.
    pub source_size: (u32, u32),
    /// The layer's own chain.
    pub plans: Vec<Plan>,
    /// What that chain gives.
    pub size: (u32, u32),
    /// Where the layer's top-left corner lands on the canvas (outside it
    /// when the layer is cut by `fl_no_overflow`; one tile's place when
    /// tiled).
    pub layer_at: (i64, i64),
    /// Where the image's top-left corner lands on the canvas.
    pub image_at: (u32, u32),
    pub canvas: (u32, u32),
    pub under: bool,
    pub tiled: bool,
    pub blend: Option<Blend>,
}

/// A fraction of `whole`, or pixels.
fn offset_px(offset: Option<Offset>, whole: u32) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pixels(px)) => i64::from(px),
        Some(Offset::Relative(f)) => (f * f64::from(whole)).round() as i64,
    }
}

/// `fl_relative`: the step's fractions are of the image under the layer.
fn relative_to(step: &Step, base: (u32, u32)) -> Step {
    if !step.flags.contains(&Flag::Relative) {
        return step.clone();
    }
    let of = |length: Option<Length>, whole: u32| match length {
        Some(Length::Relative(f)) => Some(Length::Pixels(
            ((f * f64::from(whole)).round().max(1.0)).min(f64::from(u32::MAX)) as u32,
        )),
        other => other,
    };
    Step {
        width: of(step.width, base.0),
        height: of(step.height, base.1),
        ..step.clone()
    }
}

/// Plans `layer` on an image of `base` size.
///
/// # Errors
/// The layer's own chain out of bounds, or a canvas grown past
/// [`MAX_SIDE`].
pub fn plan_layer(
    base: (u32, u32),
    layer: &Layer,
    sizes: &dyn LayerSizes,
) -> Result<Composite, TransformError> {
    let source_size = match &layer.drawing {
        Drawing::Media(source) => sizes.size_of(source)?,
        Drawing::Text(text) => sizes.text_size(text)?,
    };
    let steps: Vec<Step> = layer.steps.iter().map(|s| relative_to(s, base)).collect();
    let plans = plan_steps(source_size, &steps, sizes)?;
    let size = plans.last().map_or(source_size, Plan::output);
    let placement = layer.placement;
    let gravity = placement.gravity.unwrap_or(Gravity::Center);
    let (east, west, north, south) = match gravity {
        Gravity::East => (true, false, false, false),
        Gravity::West => (false, true, false, false),
        Gravity::North => (false, false, true, false),
        Gravity::South => (false, false, false, true),
        Gravity::NorthEast => (true, false, true, false),
        Gravity::NorthWest => (false, true, true, false),
        Gravity::SouthEast => (true, false, false, true),
        Gravity::SouthWest => (false, true, false, true),
        _ => (false, false, false, false),
    };
    let along = |near: bool, far: bool, base: u32, layer: u32| -> i64 {
        let (base, layer) = (i64::from(base), i64::from(layer));
        if near {
            0
        } else if far {
            base - layer
        } else {
            (base - layer) / 2
        }
    };
    // Positive x moves away from an east edge, positive y away from a
    // south one; otherwise right and down.
    let dx = offset_px(placement.x, base.0);
    let dy = offset_px(placement.y, base.1);
    let x = along(west, east, base.0, size.0) + if east { -dx } else { dx };
    let y = along(north, south, base.1, size.1) + if south { -dy } else { dy };
    if placement.tiled || placement.no_overflow {
        return Ok(Composite {
            drawing: layer.drawing.clone(),
            source_size,
            plans,
            size,
            layer_at: (x, y),
            image_at: (0, 0),
            canvas: base,
            under: layer.under,
            tiled: placement.tiled,
            blend: placement.blend,
        });
    }
    // The canvas holds both: the image and the layer where it landed.
    let left = x.min(0);
    let top = y.min(0);
    let right = (x + i64::from(size.0)).max(i64::from(base.0));
    let bottom = (y + i64::from(size.1)).max(i64::from(base.1));
    let (width, height) = (right - left, bottom - top);
    if width > i64::from(MAX_SIDE) || height > i64::from(MAX_SIDE) {
        return Err(TransformError::new(
            "l",
            format!(
                "the layer reaches outside the image, whose canvas would grow past {MAX_SIDE} pixels; place it inside or add fl_no_overflow"
            ),
        ));
    }
    let side = |v: i64| u32::try_from(v).unwrap_or(MAX_SIDE);
    Ok(Composite {
        drawing: layer.drawing.clone(),
        source_size,
        plans,
        size,
        layer_at: (x - left, y - top),
        image_at: (side(-left), side(-top)),
        canvas: (side(width), side(height)),
        under: layer.under,
        tiled: false,
        blend: placement.blend,
    })
}

#[cfg(test)]
mod tests {
    use super::super::plan_chain;
    use super::*;
    use crate::process::transformation::Transformation;

    /// Every layer is a 200x100 original.
    struct Logo;

    impl LayerSizes for Logo {
        fn size_of(&self, _: &LayerSource) -> Result<(u32, u32), TransformError> {
            Ok((200, 100))
        }

        fn text_size(&self, _: &Text) -> Result<(u32, u32), TransformError> {
            Ok((200, 100))
        }
    }

    fn laid(url: &str) -> Result<Composite, TransformError> {
        let t = Transformation::parse(url.split('/')).expect(url);
        let plans = plan_chain(1000, 800, &t, &Logo)?;
        Ok(*plans
            .last()
            .and_then(|p| p.composite.clone())
            .expect("a layer"))
    }

    #[test]
    fn offsets_point_inward_from_the_edge_the_gravity_names() {
        // Cloudinary's table: east moves x left, south moves y up.
        let corner = laid("l_a,w_100/fl_layer_apply,g_south_east,x_10,y_20").expect("fits");
        assert_eq!(corner.size, (100, 50));
        assert_eq!(corner.layer_at, (1000 - 100 - 10, 800 - 50 - 20));
        assert_eq!(corner.canvas, (1000, 800));
        let top_left = laid("l_a/fl_layer_apply,g_north_west,x_10,y_20").expect("fits");
        assert_eq!(top_left.layer_at, (10, 20));
        let centre = laid("l_a/fl_layer_apply,x_-10,y_0.1").expect("fits");
        assert_eq!(centre.layer_at, (400 - 10, 350 + 80));
        let south = laid("l_a/fl_layer_apply,g_south,x_5,y_5").expect("fits");
        assert_eq!(south.layer_at, (405, 800 - 100 - 5));
    }

    #[test]
    fn a_layer_past_the_edge_grows_the_canvas_unless_told_not_to() {
        let out = laid("l_a/fl_layer_apply,g_north_west,x_-50,y_-30").expect("fits");
        assert_eq!(out.canvas, (1050, 830));
        assert_eq!(out.layer_at, (0, 0));
        assert_eq!(out.image_at, (50, 30));
        let kept =
            laid("l_a/fl_layer_apply,fl_no_overflow,g_north_west,x_-50,y_-30").expect("fits");
        assert_eq!(
            (kept.canvas, kept.layer_at, kept.image_at),
            ((1000, 800), (-50, -30), (0, 0))
        );
        let refused = laid("l_a,w_4000/fl_layer_apply,g_east,x_500").expect_err("too wide");
        assert_eq!(refused.parameter, "l");
        assert!(refused.reason.contains("fl_no_overflow"), "{refused}");
    }

    #[test]
    fn relative_sizes_are_of_the_image_only_with_fl_relative() {
        assert_eq!(
            laid("l_a,w_0.5/fl_layer_apply").expect("fits").size,
            (100, 50)
        );
        assert_eq!(
            laid("fl_relative,l_a,w_0.5/fl_layer_apply")
                .expect("fits")
                .size,
            (500, 250)
        );
        assert_eq!(
            laid("u_a/c_scale,fl_relative,w_1.0,h_1.0/fl_layer_apply")
                .expect("fits")
                .size,
            (1000, 800)
        );
    }
}
