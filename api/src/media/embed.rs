//! Media ready to embed: wherever an answer names a media id (page blocks,
//! products, profiles, settings), it also carries what a front end needs to
//! draw it: the URL, the size to reserve, the alt text, the type, a
//! `srcset` of widths media serves unsigned, and a BlurHash to paint while
//! it loads. An answer costs one batched lookup to media, and when media
//! is away it still answers, with ids only and `media_unavailable` set.

use std::collections::HashMap;

use serde::Serialize;
use url::Url;
use utoipa::ToSchema;

use avenue_shared::{MediaDescriptor, MediaId};

use super::MediaGateway;

/// One media as an `<img>` (or `<video>`, or a link) needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EmbeddedMedia {
    pub id: String,
    /// The original, under the public media base.
    pub url: String,
    /// As displayed (EXIF orientation applied); 0 for videos and documents.
    pub width: u32,
    pub height: u32,
    /// The record's own alt text if it has one, else the library's.
    pub alt: Option<String>,
    pub content_type: String,
    /// `image`, `video` or `raw` (documents).
    pub resource_type: String,
    /// `URL 320w, URL 640w, ...`: the allowed responsive widths below the
    /// original's (`c_limit,f_auto,q_auto`, so browsers get AVIF or WebP),
    /// then the original at its own width. Empty for videos and documents.
    pub srcset: String,
    /// A BlurHash of the image, to paint until it loads.
    pub placeholder: Option<String>,
}

/// What one lookup found, and how to write URLs for it.
#[derive(Debug)]
pub struct Embeds {
    found: HashMap<MediaId, MediaDescriptor>,
    base: String,
    /// Ascending.
    widths: Vec<u32>,
    /// Media could not be asked: answers carry ids only.
    pub unavailable: bool,
}

impl MediaGateway {
    /// Looks `ids` up in one call (200 at a time). A failure is logged and
    /// marked, never an error: a page must render without its images'
    /// details rather than not at all. URLs are written under `base`, with
    /// `widths` in each `srcset`.
    pub async fn embeds<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a MediaId>,
        base: &Url,
        widths: &[u32],
    ) -> Embeds {
        let mut embeds = Embeds {
            found: HashMap::new(),
            base: base.as_str().trim_end_matches('/').to_owned(),
            widths: {
                let mut sorted = widths.to_vec();
                sorted.sort_unstable();
                sorted
            },
            unavailable: false,
        };
        let mut unique: Vec<MediaId> = Vec::new();
        for id in ids {
            if !unique.contains(id) {
                unique.push(id.clone());
            }
        }
        for chunk in unique.chunks(200) {
            let looked_up = match self.client() {
                Ok(client) => client.lookup(chunk).await.map_err(|e| e.to_string()),
                Err(err) => Err(err.to_string()),
            };
            match looked_up {
                Ok(found) => {
                    for media in found.items {
                        embeds.found.insert(media.id.clone(), media);
                    }
                }
                Err(reason) => {
                    tracing::warn!(%reason, "media lookup failed; answering ids only");
                    embeds.unavailable = true;
                    return embeds;
                }
            }
        }
        embeds
    }
}

impl Embeds {
    /// `id` ready to embed with `alt` (else the library's), or `None` when
    /// media does not know it (or was away).
    pub fn get(&self, id: &MediaId, alt: Option<&str>) -> Option<EmbeddedMedia> {
        let media = self.found.get(id)?;
        let base = &self.base;
        let ext = media.url.rsplit('.').next().unwrap_or("jpg");
        let resource = media.resource_type.as_str();
        let responsive =
            |w: u32| format!("{base}/image/upload/c_limit,f_auto,q_auto,w_{w}/{id}.{ext}");
        // Browsers other than Safari cannot show a HEIC original: it is
        // embedded through the smallest allowed width that covers it (or
        // the largest there is), which media serves unsigned as AVIF,
        // WebP or JPEG.
        let (original, original_width) =
            match (media.content_type.as_str(), self.cover(media.width)) {
                ("image/heic", Some(w)) => (responsive(w), w.min(media.width)),
                _ => (format!("{base}/{resource}/upload/{id}.{ext}"), media.width),
            };
        let srcset = if resource == "image" {
            let mut srcset: Vec<String> = self
                .widths
                .iter()
                .filter(|w| **w < original_width)
                .map(|w| format!("{} {w}w", responsive(*w)))
                .collect();
            srcset.push(format!("{original} {original_width}w"));
            srcset.join(", ")
        } else {
            String::new()
        };
        Some(EmbeddedMedia {
            id: id.to_string(),
            url: original,
            width: media.width,
            height: media.height,
            alt: alt
                .filter(|a| !a.trim().is_empty())
                .map(str::to_owned)
                .or_else(|| media.alt.clone()),
            content_type: media.content_type.clone(),
            resource_type: media.resource_type.clone(),
            srcset,
            placeholder: media.placeholder.clone(),
        })
    }

    /// The smallest allowed responsive width at least `width`, else the
    /// largest allowed.
    fn cover(&self, width: u32) -> Option<u32> {
        self.widths
            .iter()
            .copied()
            .find(|w| *w >= width)
            .or_else(|| self.widths.last().copied())
    }

    /// Each of `ids` media knows, in order, with the library's alt text.
    pub fn all<'a>(&self, ids: impl IntoIterator<Item = &'a MediaId>) -> Vec<EmbeddedMedia> {
        ids.into_iter()
            .filter_map(|id| self.get(id, None))
            .collect()
    }
}

/// A record's one picture (a profile's photo or logo), ready to embed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EmbeddedPicture {
    /// Absent when the picture is an external URL, unknown to media, or
    /// media was away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<EmbeddedMedia>,
    /// Media could not be asked: `picture` lacks what it would hold.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub media_unavailable: bool,
}

impl Embeds {
    pub fn picture(&self, id: Option<&MediaId>) -> EmbeddedPicture {
        EmbeddedPicture {
            picture: id.and_then(|id| self.get(id, None)),
            media_unavailable: self.unavailable && id.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(
        id: &MediaId,
        content_type: &str,
        resource: &str,
        ext: &str,
        width: u32,
    ) -> MediaDescriptor {
        serde_json::from_value(serde_json::json!({
            "id": id, "content_type": content_type, "resource_type": resource,
            "bytes": 10, "width": width, "height": width / 2, "sha256": "00",
            "backend": "gridfs", "refs": [], "folder": null, "tags": [], "alt": "library alt",
            "created_at": "2026-12-03T00:00:00Z",
            "url": format!("https://media.test/{resource}/upload/{id}.{ext}"),
        }))
        .expect("a descriptor")
    }

    fn embeds(media: MediaDescriptor) -> Embeds {
        Embeds {
            found: HashMap::from([(media.id.clone(), media)]),
            base: "https://cdn.test".into(),
            widths: vec![320, 640, 960],
            unavailable: false,
        }
    }

    #[test]
    fn a_heic_embeds_through_a_responsive_width_and_a_video_without_srcset() {
        let id = MediaId::parse("0123456789abcdef0123456789abcdef").expect("id");
        let heic = embeds(descriptor(&id, "image/heic", "image", "heic", 800))
            .get(&id, None)
            .expect("found");
        assert_eq!(
            heic.url,
            format!("https://cdn.test/image/upload/c_limit,f_auto,q_auto,w_960/{id}.heic")
        );
        assert!(
            heic.srcset.ends_with(&format!("w_960/{id}.heic 800w")),
            "{}",
            heic.srcset
        );
        assert_eq!(heic.srcset.split(", ").count(), 3, "{}", heic.srcset);
        assert_eq!(heic.alt.as_deref(), Some("library alt"));
        let wide = embeds(descriptor(&id, "image/heic", "image", "heic", 4000))
            .get(&id, Some("mine"))
            .expect("found");
        assert!(
            wide.url.contains("w_960/"),
            "the largest allowed: {}",
            wide.url
        );
        assert_eq!(wide.alt.as_deref(), Some("mine"));
        let jpeg = embeds(descriptor(&id, "image/jpeg", "image", "jpg", 800))
            .get(&id, None)
            .expect("found");
        assert_eq!(jpeg.url, format!("https://cdn.test/image/upload/{id}.jpg"));
        let video = embeds(descriptor(&id, "video/mp4", "video", "mp4", 0))
            .get(&id, None)
            .expect("found");
        assert_eq!(video.url, format!("https://cdn.test/video/upload/{id}.mp4"));
        assert_eq!(video.srcset, "");
    }
}
