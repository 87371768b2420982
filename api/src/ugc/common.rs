//! What the UGC modules share: link and image parsing, creator levels,
//! whose records a listing shows.

use mongodb::bson::{doc, Document};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use avenue_shared::MediaId;

use crate::http::error::ApiError;
use crate::users::model::CurrentUser;

/// An external http(s) link, checked for shape only: the server never
/// fetches it (no SSRF, no tracking pixels in our logs).
///
/// # Errors
/// 422 naming `field`.
pub fn http_url(raw: &str, field: &str) -> Result<String, ApiError> {
    let value = raw.trim();
    let parsed = url::Url::parse(value).map_err(|_| {
        ApiError::invalid(field, "an http(s) URL such as https://instagram.com/p/...")
    })?;
    let ok = matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some_and(|h| !h.is_empty())
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && value.len() <= 2000;
    if ok {
        Ok(parsed.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            "an http(s) URL without credentials, at most 2000 characters",
        ))
    }
}

/// A picture given either as a media id (uploaded here, claimed) or as an
/// external http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picture {
    Media(MediaId),
    Link(String),
}

impl Picture {
    /// # Errors
    /// 422 naming `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, ApiError> {
        match MediaId::parse(raw.trim()) {
            Ok(id) => Ok(Self::Media(id)),
            Err(_) => http_url(raw, field).map(Self::Link),
        }
    }

    pub fn stored(&self) -> String {
        match self {
            Self::Media(id) => id.to_string(),
            Self::Link(url) => url.clone(),
        }
    }

    /// The media id, when the stored text is one.
    pub fn media_of(stored: Option<&str>) -> Option<MediaId> {
        stored.and_then(|s| MediaId::parse(s).ok())
    }

    /// Where a browser fetches it.
    pub fn display_url(stored: &str, media_base: &url::Url) -> String {
        match MediaId::parse(stored) {
            Ok(id) => format!(
                "{}/image/upload/t_thumb/{id}.jpg",
                media_base.as_str().trim_end_matches('/')
            ),
            Err(_) => stored.to_owned(),
        }
    }
}

/// A creator's reach, smallest first; campaigns may require a minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Nano,
    Micro,
    Mid,
    Macro,
}

/// Niches: 1 to 10 short lower-case labels.
///
/// # Errors
/// 422 naming `field[i]`.
pub fn niches(raw: &[String], field: &str) -> Result<Vec<String>, ApiError> {
    if raw.len() > 10 {
        return Err(ApiError::invalid(field, "at most 10 niches"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, niche) in raw.iter().enumerate() {
        let value = crate::fields::text(&niche.to_lowercase(), &format!("{field}[{i}]"), 40)?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

/// Whose records a listing shows: an admin's all, a brand's its own
/// (`brand_user_id`), anyone else's `others`.
pub fn listing_for(user: &CurrentUser, others: Document) -> Document {
    match user.role {
        avenue_shared::Role::Admin => Document::new(),
        avenue_shared::Role::Brand => doc! { "brand_user_id": user.id },
        _ => others,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_http_and_pictures_are_links_or_media() {
        assert!(http_url("https://www.instagram.com/p/abc/", "post_url").is_ok());
        assert!(http_url("javascript:alert(1)", "post_url").is_err());
        assert!(http_url("ftp://example.com/x", "post_url").is_err());
        assert!(http_url("https://user:pw@example.com/", "post_url").is_err());
        assert!(http_url("not a url", "post_url").is_err());
        assert_eq!(
            Picture::parse("0123456789abcdef0123456789abcdef", "logo_url").expect("media"),
            Picture::Media(MediaId::parse("0123456789abcdef0123456789abcdef").expect("id"))
        );
        assert!(matches!(
            Picture::parse("https://cdn.example.com/logo.png", "logo_url"),
            Ok(Picture::Link(_))
        ));
        assert!(Level::Macro > Level::Micro);
    }
}
