//! Media ready to embed: wherever a page names a media id, its answer also
//! carries what a front end needs to draw the `<img>` (the URL, the size to
//! reserve, the alt text, the type and a `srcset` of widths media serves
//! unsigned). A page costs one batched lookup to media, and when media is
//! away the page still answers, with ids only and `media_unavailable` set.

use std::collections::HashMap;

use serde::Serialize;
use url::Url;
use utoipa::ToSchema;

use avenue_shared::{MediaDescriptor, MediaId};

use super::MediaGateway;

/// One media as an `<img>` needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EmbeddedMedia {
    pub id: String,
    /// The original, under the public media base.
    pub url: String,
    pub width: u32,
    pub height: u32,
    /// The block's own alt text if it has one, else the library's.
    pub alt: Option<String>,
    pub content_type: String,
    /// `URL 320w, URL 640w, ...`: the allowed responsive widths below the
    /// original's, then the original at its own width.
    pub srcset: String,
}

/// What one lookup found.
#[derive(Debug, Default)]
pub struct Embeds {
    found: HashMap<MediaId, MediaDescriptor>,
    /// Media could not be asked: answers carry ids only.
    pub unavailable: bool,
}

impl MediaGateway {
    /// Looks `ids` up in one call (200 at a time). A failure is logged and
    /// marked, never an error: a page must render without its images'
    /// details rather than not at all.
    pub async fn embeds(&self, ids: &[MediaId]) -> Embeds {
        let mut embeds = Embeds::default();
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
    /// `id` ready to embed, or `None` when media does not know it (or was
    /// away).
    pub fn get(
        &self,
        id: &MediaId,
        alt: Option<&str>,
        base: &Url,
        widths: &[u32],
    ) -> Option<EmbeddedMedia> {
        let media = self.found.get(id)?;
        let base = base.as_str().trim_end_matches('/');
        let ext = media.url.rsplit('.').next().unwrap_or("jpg");
        let original = format!("{base}/image/upload/{id}.{ext}");
        let mut srcset: Vec<String> = widths
            .iter()
            .filter(|w| **w < media.width)
            .map(|w| format!("{base}/image/upload/c_limit,f_auto,q_auto,w_{w}/{id}.{ext} {w}w"))
            .collect();
        srcset.push(format!("{original} {}w", media.width));
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
            srcset: srcset.join(", "),
        })
    }
}
