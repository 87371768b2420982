//! Editable metadata of a media object, parsed at the HTTP edge so that
//! nothing past it handles unchecked strings.

use std::fmt;

/// Why a field was refused; `field` names it for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Media in this folder (or below it) are library assets: anyone may use
/// them in their records, not only whoever uploaded them.
pub const LIBRARY_FOLDER: &str = "library";

/// A folder path such as `products/2026/spring`: segments of letters, digits,
/// `-`, `_` and `.`, separated by single `/`, no `.`/`..` segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder(String);

impl Folder {
    pub const MAX_LEN: usize = 200;

    /// # Errors
    /// [`FieldError`] for `folder` when the path is empty, too long or unsafe.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let err = |reason: &str| FieldError::new("folder", reason);
        if raw.is_empty() {
            return Err(err("must not be empty"));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(err(&format!("at most {} characters", Self::MAX_LEN)));
        }
        for segment in raw.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(err("segments must be non-empty and not '.' or '..'"));
            }
            if !segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(err(
                    "only letters, digits, '-', '_', '.' and '/' between segments",
                ));
            }
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: 1 to 64 characters, no commas (the multipart form and Cloudinary
/// both send tags comma-separated) and no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    pub const MAX_LEN: usize = 64;

    /// # Errors
    /// [`FieldError`] for `tags`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(
                "tags",
                format!("each tag has 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if raw.chars().any(|c| c == ',' || c.is_control()) {
            return Err(FieldError::new(
                "tags",
                "a tag may not contain commas or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of tags in the order first given, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub const MAX: usize = 32;

    /// Parses `a,b,c` as the multipart form and query string send it.
    ///
    /// # Errors
    /// [`FieldError`] for `tags`.
    pub fn parse_csv(raw: &str) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Ok(Self::default());
        }
        Self::parse_list(raw.split(','))
    }

    /// # Errors
    /// [`FieldError`] for `tags`.
    pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, FieldError> {
        let mut tags: Vec<Tag> = Vec::new();
        for item in items {
            let tag = Tag::parse(item)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
            if tags.len() > Self::MAX {
                return Err(FieldError::new(
                    "tags",
                    format!("at most {} tags", Self::MAX),
                ));
            }
        }
        Ok(Self(tags))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|tag| tag.0.clone()).collect()
    }
}

/// Alternative text for accessibility: at most 1000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alt(String);

impl Alt {
    pub const MAX_LEN: usize = 1000;

    /// # Errors
    /// [`FieldError`] for `alt`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(
                "alt",
                format!("at most {} characters", Self::MAX_LEN),
            ));
        }
        if raw.chars().any(|c| c.is_control() && c != '\n') {
            return Err(FieldError::new("alt", "no control characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Metadata given with an upload.
#[derive(Debug, Clone, Default)]
pub struct UploadFields {
    pub folder: Option<Folder>,
    pub tags: Tags,
    pub alt: Option<Alt>,
    /// For a form that may never be saved: expires unless claimed.
    pub pending: bool,
    pub original_name: Option<String>,
}

/// The name a file was uploaded under, for people to recognise it: the
/// last path segment, control characters dropped, at most 200 characters.
pub fn original_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_owned())
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct MediaPatch {
    pub folder: Option<Option<Folder>>,
    pub tags: Option<Tags>,
    pub alt: Option<Option<Alt>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_refuse_traversal_and_odd_characters() {
        assert!(Folder::parse("products/2026/spring").is_ok());
        assert!(Folder::parse("../etc").is_err());
        assert!(Folder::parse("a//b").is_err());
        assert!(Folder::parse("/abs").is_err());
        assert!(Folder::parse("a b").is_err());
        assert!(Folder::parse("").is_err());
        assert!(Folder::parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn tags_dedup_and_limit() {
        let tags = Tags::parse_csv("red, blue,red").expect("valid");
        assert_eq!(tags.to_strings(), vec!["red", "blue"]);
        assert!(Tags::parse_csv("")
            .expect("empty is fine")
            .to_strings()
            .is_empty());
        let many = (0..33).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert_eq!(Tags::parse_csv(&many).expect_err("too many").field, "tags");
        assert!(Tag::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn alt_has_a_length_limit() {
        assert!(Alt::parse("A red dress").is_ok());
        assert!(Alt::parse(&"x".repeat(1001)).is_err());
        assert!(Alt::parse("bell\u{7}").is_err());
    }
}
