//! Media identifiers and the descriptor the media service returns for each
//! stored object.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Identifier of one stored media object.
///
/// Media are content-addressed: the id is the first 128 bits of the SHA-256
/// of the bytes, in lower-case hex. The same bytes therefore always get the
/// same id, and a delivery URL built from an id can be cached forever.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaId(String);

/// Length of a [`MediaId`] in characters.
pub const MEDIA_ID_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a media id is {MEDIA_ID_LEN} lower-case hex characters")]
pub struct MediaIdError;

impl MediaId {
    /// Parses an id as it appears in URLs and JSON.
    ///
    /// # Errors
    /// [`MediaIdError`] unless the input is exactly 32 lower-case hex digits.
    pub fn parse(raw: &str) -> Result<Self, MediaIdError> {
        let well_formed = raw.len() == MEDIA_ID_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(MediaIdError)
        }
    }

    /// Derives the id from the SHA-256 digest of the content.
    pub fn from_sha256(digest: &[u8; 32]) -> Self {
        Self(hex::encode(&digest[..MEDIA_ID_LEN / 2]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for MediaId {
    type Err = MediaIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MediaId {
    type Error = MediaIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MediaId> for String {
    fn from(id: MediaId) -> Self {
        id.0
    }
}

/// Who holds a claim on a media: `{collection}:{record id}` (for example
/// `shop_products:65f1c0ffee...`). A media with claims is not deleted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaRef(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a media reference is `collection:id`, at most 200 characters of letters, digits and _ . : -"
)]
pub struct MediaRefError;

impl MediaRef {
    /// # Errors
    /// [`MediaRefError`] unless the input is `collection:id` in the allowed
    /// characters (they need no escaping in a URL path segment).
    pub fn parse(raw: &str) -> Result<Self, MediaRefError> {
        let allowed = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        let shaped = raw
            .split_once(':')
            .is_some_and(|(collection, id)| !collection.is_empty() && !id.is_empty());
        if allowed && shaped && raw.len() <= 200 {
            Ok(Self(raw.to_owned()))
        } else {
            Err(MediaRefError)
        }
    }

    /// The reference of record `id` in `collection`.
    ///
    /// # Errors
    /// As for [`MediaRef::parse`].
    pub fn of(collection: &str, id: &str) -> Result<Self, MediaRefError> {
        Self::parse(&format!("{collection}:{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MediaRef {
    type Error = MediaRefError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MediaRef> for String {
    fn from(r: MediaRef) -> Self {
        r.0
    }
}

/// What the media service says about one stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaDescriptor {
    #[schema(value_type = String, example = "0123456789abcdef0123456789abcdef")]
    pub id: MediaId,
    /// MIME type decided from the bytes, e.g. `image/jpeg`, `video/mp4`,
    /// `application/pdf`.
    pub content_type: String,
    /// `image`, `video` or `raw` (documents): the first segment of its
    /// delivery path, as on Cloudinary. Only images transform.
    #[serde(default = "image_resource")]
    pub resource_type: String,
    /// A BlurHash (<https://blurha.sh>) of the image, computed once at
    /// upload: paint it while the image loads. None for videos, documents
    /// and media stored before placeholders existed.
    #[serde(default)]
    pub placeholder: Option<String>,
    /// Size of the original in bytes.
    pub bytes: u64,
    /// Displayed size (after EXIF orientation); 0 for videos and documents.
    pub width: u32,
    pub height: u32,
    /// Lower-case hex SHA-256 of the original; also its strong ETag.
    pub sha256: String,
    /// Where the bytes live: `gridfs` or `cloudinary`.
    pub backend: String,
    /// Backends holding a further copy (mirror mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<String>,
    /// Records that use this media; while any do, it cannot be deleted.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub refs: Vec<MediaRef>,
    pub folder: Option<String>,
    pub tags: Vec<String>,
    pub alt: Option<String>,
    /// The file name it was uploaded under.
    #[serde(default)]
    pub original_name: Option<String>,
    /// Uploaded for a form that may never be saved: it expires unless a
    /// record claims it. Library assets (`false`) stay until deleted.
    #[serde(default)]
    pub pending: bool,
    /// RFC 3339 instant of the first upload.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    /// Absolute delivery URL of the original.
    pub url: String,
}

fn image_resource() -> String {
    "image".to_owned()
}

/// One page of a media listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaPage {
    pub items: Vec<MediaDescriptor>,
    /// Opaque cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The widths media serves unsigned for a `srcset` unless told otherwise.
pub const DEFAULT_RESPONSIVE_WIDTHS: [u32; 5] = [320, 640, 960, 1280, 1920];

/// `MEDIA_RESPONSIVE_WIDTHS` as both services read it: up to 20 widths of 1
/// to 8192 pixels, comma-separated; the defaults when unset.
///
/// # Errors
/// A message naming the variable and what it got.
pub fn responsive_widths(raw: Option<&str>) -> Result<Vec<u32>, String> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_RESPONSIVE_WIDTHS.to_vec());
    };
    raw.split(',')
        .filter(|w| !w.trim().is_empty())
        .map(|w| {
            w.trim()
                .parse::<u32>()
                .ok()
                .filter(|w| (1..=8192).contains(w))
        })
        .collect::<Option<Vec<u32>>>()
        .filter(|w| w.len() <= 20)
        .ok_or_else(|| {
            format!(
                "MEDIA_RESPONSIVE_WIDTHS must be up to 20 widths of 1 to 8192 pixels, \
                 comma-separated, got {raw:?}"
            )
        })
}

/// Many descriptors at once (`POST /v1/media/lookup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaLookup {
    /// The media found, in the order asked.
    pub items: Vec<MediaDescriptor>,
    /// Ids no media has.
    pub missing: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responsive_widths_parse_or_name_the_variable() {
        assert_eq!(
            responsive_widths(None),
            Ok(DEFAULT_RESPONSIVE_WIDTHS.to_vec())
        );
        assert_eq!(responsive_widths(Some(" 300, 600 ,")), Ok(vec![300, 600]));
        for bad in [
            "0",
            "9000",
            "wide",
            "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21",
        ] {
            let err = responsive_widths(Some(bad)).expect_err(bad);
            assert!(err.contains("MEDIA_RESPONSIVE_WIDTHS"), "{err}");
        }
    }

    #[test]
    fn parses_only_lower_hex_of_the_right_length() {
        assert!(MediaId::parse("0123456789abcdef0123456789abcdef").is_ok());
        assert!(MediaId::parse("0123456789ABCDEF0123456789abcdef").is_err());
        assert!(MediaId::parse("0123456789abcdef0123456789abcde").is_err());
        assert!(MediaId::parse("0123456789abcdef0123456789abcdeg").is_err());
        assert!(MediaId::parse("../../etc/passwd").is_err());
        assert!(MediaId::parse("").is_err());
    }

    #[test]
    fn derives_from_the_digest_prefix() {
        let mut digest = [0u8; 32];
        digest[0] = 0xab;
        digest[15] = 0x01;
        digest[16] = 0xff; // beyond the prefix: must not show up
        let id = MediaId::from_sha256(&digest);
        assert_eq!(id.as_str(), "ab000000000000000000000000000001");
        assert!(MediaId::parse(id.as_str()).is_ok());
    }
}
