//! The photo studio.

pub mod reservations;
