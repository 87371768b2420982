//! The JSON error envelope every Avenue endpoint answers with on failure.

use serde::{Deserialize, Serialize};

/// Body of every error response: a stable machine-readable `code` in kebab
/// case (clients branch on it) and a human `message` (clients show it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable identifier such as `unsupported-media-type`; never reworded.
    pub code: String,
    /// Explanation meant for a person; may change between releases.
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}
