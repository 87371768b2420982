//! Where `e_shadow` falls: it grows the canvas by its offset, so the
//! plan and the pipeline must read the offset the same way.

use crate::process::transformation::{Effect, Offset};

/// How far `e_shadow` falls from an image of `size`: its `x_`, `y_`
/// (pixels, or fractions of the size), 8 pixels right and down without.
pub fn shadow_offset(effect: Option<Effect>, (width, height): (u32, u32)) -> Option<(i32, i32)> {
    let Some(Effect::Shadow(_, region)) = effect else {
        return None;
    };
    let pixels = |offset: Option<Offset>, side: u32| match offset {
        None => SHADOW_OFFSET,
        Some(Offset::Pixels(px)) => px,
        Some(Offset::Relative(r)) => (r * f64::from(side)).round() as i32,
    };
    Some((pixels(region.x, width), pixels(region.y, height)))
}

/// `e_shadow`'s offset without `x_`, `y_`.
const SHADOW_OFFSET: i32 = 8;
