//! Where a window sits: by gravity, moved by `x`/`y`, and kept inside the
//! image as Cloudinary keeps a crop region inside it.

use super::Rect;
use crate::process::transformation::{Gravity, Offset};

/// A `w` x `h` window inside `outer_w` x `outer_h`, placed by `gravity`
/// (`auto` starts centred; the pipeline moves it by content).
pub fn place(outer_w: u32, outer_h: u32, w: u32, h: u32, gravity: Gravity) -> Rect {
    let free_x = outer_w.saturating_sub(w);
    let free_y = outer_h.saturating_sub(h);
    let (x, y) = match gravity {
        Gravity::Center
        | Gravity::Auto
        | Gravity::XyCenter
        | Gravity::Face
        | Gravity::Faces
        | Gravity::AutoFaces => (free_x / 2, free_y / 2),
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

/// An offset in pixels of an input `whole` pixels long.
pub fn offset_px(offset: Option<Offset>, whole: u32) -> f64 {
    match offset {
        None => 0.0,
        Some(Offset::Pixels(px)) => f64::from(px),
        Some(Offset::Relative(r)) => r * f64::from(whole),
    }
}

/// A `w` x `h` window of an `outer` image placed as `c_crop` and the
/// cover modes place it: from the gravity's anchor, `x`/`y` inward from
/// that edge (from the top left with no gravity), or centred on `x`,`y`
/// with `xy_center`; then shifted back inside the image.
pub fn window(
    outer: (u32, u32),
    size: (u32, u32),
    gravity: Gravity,
    x: Option<Offset>,
    y: Option<Offset>,
) -> Rect {
    let (w, h) = (
        size.0.clamp(1, outer.0.max(1)),
        size.1.clamp(1, outer.1.max(1)),
    );
    let (dx, dy) = (offset_px(x, outer.0), offset_px(y, outer.1));
    let anchored = place(outer.0, outer.1, w, h, gravity);
    let (left, top) = match gravity {
        Gravity::XyCenter => (dx - f64::from(w) / 2.0, dy - f64::from(h) / 2.0),
        _ => {
            // Inward: on the east side a positive x moves left, on the
            // south side a positive y moves up.
            let east = matches!(
                gravity,
                Gravity::East | Gravity::NorthEast | Gravity::SouthEast
            );
            let south = matches!(
                gravity,
                Gravity::South | Gravity::SouthEast | Gravity::SouthWest
            );
            (
                f64::from(anchored.x) + if east { -dx } else { dx },
                f64::from(anchored.y) + if south { -dy } else { dy },
            )
        }
    };
    let clamp = |v: f64, free: u32| -> u32 {
        if v.is_finite() {
            v.round().clamp(0.0, f64::from(free)) as u32
        } else {
            0
        }
    };
    Rect {
        x: clamp(left, outer.0.saturating_sub(w)),
        y: clamp(top, outer.1.saturating_sub(h)),
        width: w,
        height: h,
    }
}

/// `window` shrunk `zoom` times around its own centre (a zoom below one
/// widens it, up to the whole image).
pub fn zoomed(outer: (u32, u32), window: Rect, zoom: f64) -> Rect {
    let shrink = |side: u32, whole: u32| -> u32 {
        let v = (f64::from(side) / zoom).round();
        (v.clamp(1.0, f64::from(whole))) as u32
    };
    let (w, h) = (
        shrink(window.width, outer.0),
        shrink(window.height, outer.1),
    );
    let cx = f64::from(window.x) + f64::from(window.width) / 2.0;
    let cy = f64::from(window.y) + f64::from(window.height) / 2.0;
    let left = (cx - f64::from(w) / 2.0)
        .round()
        .clamp(0.0, f64::from(outer.0.saturating_sub(w)));
    let top = (cy - f64::from(h) / 2.0)
        .round()
        .clamp(0.0, f64::from(outer.1.saturating_sub(h)));
    Rect {
        x: left as u32,
        y: top as u32,
        width: w,
        height: h,
    }
}
