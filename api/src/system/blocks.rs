//! What a website-builder page is made of: its blocks, checked on save
//! (links are http(s) or site paths, at most a few hundred blocks) and
//! scanned for the media ids they show.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use avenue_shared::MediaId;

use crate::fields;
use crate::http::error::ApiError;
use crate::media::FieldMedia;

const MAX_BLOCKS: usize = 200;

/// One block of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Block {
    Heading {
        text: String,
        level: Option<u8>,
    },
    Text {
        text: String,
    },
    Image {
        #[schema(value_type = String)]
        media_id: MediaId,
        alt: Option<String>,
        caption: Option<String>,
    },
    Gallery {
        #[schema(value_type = Vec<String>)]
        media_ids: Vec<MediaId>,
        /// Each item's own alt text, in `media_ids` order (`null` or a
        /// missing entry: the library's alt).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        alts: Vec<Option<String>>,
    },
    Hero {
        title: String,
        subtitle: Option<String>,
        #[schema(value_type = Option<String>)]
        media_id: Option<MediaId>,
        /// The image's alt text on this page (else the library's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alt: Option<String>,
        link: Option<String>,
    },
    Button {
        label: String,
        href: String,
    },
}

impl Block {
    /// The media the block shows, each with the block's own alt text.
    pub fn shown_media(&self) -> Vec<(&MediaId, Option<&str>)> {
        match self {
            Self::Image { media_id, alt, .. } => vec![(media_id, alt.as_deref())],
            Self::Gallery { media_ids, alts } => media_ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id, alts.get(i).and_then(|a| a.as_deref())))
                .collect(),
            Self::Hero {
                media_id: Some(id),
                alt,
                ..
            } => vec![(id, alt.as_deref())],
            _ => Vec::new(),
        }
    }
}

fn link(raw: &str, field: &str) -> Result<String, ApiError> {
    let value = raw.trim();
    let ok = value.starts_with('/')
        || url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if ok && value.len() <= 2000 {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid(
            field,
            "a path starting with / or an http(s) URL",
        ))
    }
}

pub(super) fn check_blocks(blocks: Vec<Block>) -> Result<Vec<Block>, ApiError> {
    if blocks.len() > MAX_BLOCKS {
        return Err(ApiError::invalid(
            "blocks",
            format!("at most {MAX_BLOCKS} blocks"),
        ));
    }
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, block)| {
            let f = |name: &str| format!("blocks[{i}].{name}");
            let opt = |v: Option<String>, name: &str, max| {
                v.filter(|t| !t.trim().is_empty())
                    .map(|t| fields::text(&t, &f(name), max))
                    .transpose()
            };
            Ok(match block {
                Block::Heading { text, level } => {
                    if level.is_some_and(|l| !(1..=6).contains(&l)) {
                        return Err(ApiError::invalid(f("level"), "1 to 6"));
                    }
                    Block::Heading {
                        text: fields::text(&text, &f("text"), 300)?,
                        level,
                    }
                }
                Block::Text { text } => Block::Text {
                    text: fields::text(&text, &f("text"), 20_000)?,
                },
                Block::Image {
                    media_id,
                    alt,
                    caption,
                } => Block::Image {
                    media_id,
                    alt: opt(alt, "alt", 300)?,
                    caption: opt(caption, "caption", 500)?,
                },
                Block::Gallery { media_ids, alts } => {
                    if media_ids.is_empty() || media_ids.len() > 50 {
                        return Err(ApiError::invalid(f("media_ids"), "1 to 50 images"));
                    }
                    if alts.len() > media_ids.len() {
                        return Err(ApiError::invalid(
                            f("alts"),
                            "at most one alt text per image",
                        ));
                    }
                    let mut alts = alts
                        .into_iter()
                        .enumerate()
                        .map(|(j, alt)| opt(alt, &format!("alts[{j}]"), 300))
                        .collect::<Result<Vec<_>, _>>()?;
                    while alts.last().is_some_and(Option::is_none) {
                        alts.pop();
                    }
                    Block::Gallery { media_ids, alts }
                }
                Block::Hero {
                    title,
                    subtitle,
                    media_id,
                    alt,
                    link: target,
                } => Block::Hero {
                    title: fields::text(&title, &f("title"), 200)?,
                    subtitle: opt(subtitle, "subtitle", 500)?,
                    alt: opt(alt, "alt", 300)?,
                    media_id,
                    link: target.map(|l| link(&l, &f("link"))).transpose()?,
                },
                Block::Button { label, href } => Block::Button {
                    label: fields::text(&label, &f("label"), 100)?,
                    href: link(&href, &f("href"))?,
                },
            })
        })
        .collect()
}

/// Media shown by `blocks`, each with the field it sits in.
pub(super) fn media_in(blocks: &[Block], prefix: &str) -> Vec<FieldMedia> {
    let mut out = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let field = |name: &str| format!("{prefix}[{i}].{name}");
        match block {
            Block::Image { media_id, .. }
            | Block::Hero {
                media_id: Some(media_id),
                ..
            } => {
                out.push(FieldMedia {
                    field: field("media_id"),
                    id: media_id.clone(),
                });
            }
            Block::Gallery { media_ids, .. } => {
                for (j, id) in media_ids.iter().enumerate() {
                    out.push(FieldMedia {
                        field: field(&format!("media_ids[{j}]")),
                        id: id.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    out
}
