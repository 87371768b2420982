//! Background and command-line upkeep of the store.

pub mod sweep;
