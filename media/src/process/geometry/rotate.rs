//! `a_`: flips, then a clockwise turn. Quarter turns swap the sides; any
//! other angle grows the canvas to the turned image's bounding box, the
//! corners filled with the background (transparent unless `b_` says).

use super::{side, TransformError, MAX_SIDE};
use crate::process::transformation::{Background, Rgba, Rotation};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Turn {
    pub hflip: bool,
    pub vflip: bool,
    /// 0 to 359, clockwise.
    pub degrees: i32,
    /// What fills the corners an angle opens.
    pub fill: Background,
    pub output: (u32, u32),
}

const TRANSPARENT: Background = Background::Colour(Rgba([0, 0, 0, 0]));

/// The turn `rotation` asks of an image of `size`, or `None` when it
/// changes nothing.
///
/// # Errors
/// When the turned canvas would pass [`MAX_SIDE`] (quarter turns of any
/// image are allowed: they only swap the sides).
pub fn turn(
    size: (u32, u32),
    rotation: Rotation,
    background: Option<Background>,
) -> Result<Option<Turn>, TransformError> {
    if !rotation.hflip && !rotation.vflip && rotation.degrees == 0 {
        return Ok(None);
    }
    let (w, h) = (f64::from(size.0), f64::from(size.1));
    let output = match rotation.degrees {
        0 | 180 => size,
        90 | 270 => (size.1, size.0),
        degrees => {
            let radians = f64::from(degrees).to_radians();
            let (sin, cos) = (radians.sin().abs(), radians.cos().abs());
            let out = (
                side((w * cos + h * sin).ceil(), "a")?,
                side((w * sin + h * cos).ceil(), "a")?,
            );
            if u64::from(out.0) * u64::from(out.1) > u64::from(MAX_SIDE).pow(2) {
                return Err(TransformError::new(
                    "a",
                    format!("the turned image would pass {MAX_SIDE}x{MAX_SIDE} pixels"),
                ));
            }
            out
        }
    };
    Ok(Some(Turn {
        hflip: rotation.hflip,
        vflip: rotation.vflip,
        degrees: rotation.degrees,
        fill: background.unwrap_or(TRANSPARENT),
        output,
    }))
}
