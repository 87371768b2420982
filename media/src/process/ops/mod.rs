//! Pixel operations, one module per family. Each takes an image and what
//! the plan decided, and never looks at the URL.

pub mod adjust;
pub mod canvas;
pub mod composite;
pub mod effects;
pub mod energy;
pub mod faces;
pub mod metadata;
pub mod resize;
pub mod rotate;
pub mod shape;
