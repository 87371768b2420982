//! Background and command-line upkeep of the store.

pub mod migrate;
pub mod progress;
pub mod sweep;
