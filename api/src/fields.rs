//! Small parsers shared by every domain: bounded text, slugs, ids, lists.
//! Each names the field it refuses, so clients can point at it.

use serde::{Deserialize, Deserializer};

/// A request field that broke a rule (`price` negative, `sizes[1]` empty):
/// the HTTP layer answers 422 naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A path named a record that cannot exist (or does not): answered 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no such {0}")]
pub struct NoSuch(pub &'static str);

/// Trimmed text of 1 to `max` characters.
///
/// # Errors
/// 422 naming `field`.
pub fn text(raw: &str, field: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, format!("at most {max} characters")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(field, "control characters are not allowed"));
    }
    Ok(value.to_owned())
}

/// Like [`text`], but empty is allowed (and means empty).
///
/// # Errors
/// 422 naming `field`.
pub fn optional_text(raw: &str, field: &str, max: usize) -> Result<String, FieldError> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        text(raw, field, max)
    }
}

/// A URL slug: lower-case letters, digits and single dashes, 1 to 100.
///
/// # Errors
/// 422 naming `field`.
pub fn slug(raw: &str, field: &str) -> Result<String, FieldError> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !raw.starts_with('-')
        && !raw.ends_with('-')
        && !raw.contains("--");
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "a slug is 1 to 100 lower-case letters, digits and single dashes",
        ))
    }
}

/// A slug made from a name: `Vestido Azul Ñandutí` gives `vestido-azul-nanduti`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    trimmed
        .chars()
        .take(100)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// A list of short labels (sizes, colours): each 1 to 40 characters, at
/// most 30, duplicates dropped, order kept.
///
/// # Errors
/// 422 naming `field[i]`.
pub fn labels(raw: &[String], field: &str) -> Result<Vec<String>, FieldError> {
    if raw.len() > 30 {
        return Err(FieldError::new(field, "at most 30 entries"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        let label = text(item, &format!("{field}[{i}]"), 40)?;
        if !out.contains(&label) {
            out.push(label);
        }
    }
    Ok(out)
}

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
///
/// # Errors
/// When the value does not deserialize.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_labels() {
        assert_eq!(
            slugify("Vestido Azul Ñandutí  2024!"),
            "vestido-azul-nanduti-2024"
        );
        assert!(slug("ok-slug-1", "slug").is_ok());
        assert!(slug("Bad Slug", "slug").is_err());
        assert!(slug("a--b", "slug").is_err());
        let sizes = labels(&["S".into(), "M".into(), "S".into()], "sizes").expect("valid");
        assert_eq!(sizes, vec!["S", "M"]);
        let err = labels(&["S".into(), " ".into()], "sizes").expect_err("empty");
        assert_eq!(err.field, "sizes[1]");
    }
}
