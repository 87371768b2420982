//! The JSON error envelope every Avenue endpoint answers with on failure.

use serde::{Deserialize, Serialize};

/// Body of every error response: a stable machine-readable `code` in kebab
/// case (clients branch on it) and a human `message` (clients show it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable identifier such as `unsupported-media-type`; never reworded.
    pub code: String,
    /// Explanation meant for a person; may change between releases.
    pub message: String,
    /// The request field at fault, for validation errors (`image_ids[2]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    /// The same error, naming the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}
