//! Logging set-up, shared with the api so both services log alike.

pub use avenue_shared::telemetry::init;
