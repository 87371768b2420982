//! Background and command-line upkeep of the store.

pub mod import;
pub mod migrate;
pub mod sweep;
