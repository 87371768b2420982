//! The image pipeline: the transformation language, output geometry,
//! signatures and rendering. Knows nothing of HTTP or storage.

pub mod cost;
pub mod encode;
pub mod format;
pub mod frames;
pub mod geometry;
pub mod heif;
pub mod inspect;
pub mod ops;
pub mod pipeline;
pub mod presets;
pub mod signature;
pub mod text;
pub mod transformation;
