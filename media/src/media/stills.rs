//! The picture a PDF or a video is rendered from: its page or frame,
//! drawn once (see [`crate::process::frames`]) and kept in a small
//! byte-weighted cache, since one page is usually asked for in several
//! sizes at once (a srcset).

use bytes::Bytes;

use super::error::{FailureKind, RenderFailure};
use super::repo::MediaRecord;
use crate::process::format::FileFormat;
use crate::process::frames::{self, Still};
use crate::process::transformation::Pick;

/// Bytes of drawn pages and frames kept in memory.
const STILLS_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct Stills {
    cache: moka::future::Cache<String, Still>,
}

impl Default for Stills {
    fn default() -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .weigher(|_: &String, still: &Still| {
                    u32::try_from(still.bytes.len()).unwrap_or(u32::MAX)
                })
                .max_capacity(STILLS_BYTES)
                .build(),
        }
    }
}

fn refused(parameter: &str, reason: String) -> RenderFailure {
    RenderFailure {
        kind: FailureKind::BadTransformation,
        message: format!("{parameter}: {reason}"),
    }
}

/// Whether `pick` makes sense for what `record` is: pages for a PDF,
/// frames for a video, and for an image only its one page.
///
/// # Errors
/// The parameter that does not apply, and why.
pub fn check_pick(record: &MediaRecord, pick: Pick) -> Result<(), RenderFailure> {
    let time = if pick.start.is_some() {
        Some("so")
    } else if pick.end.is_some() {
        Some("eo")
    } else {
        None
    };
    match record.format {
        FileFormat::Image(_) => {
            if let Some(page) = pick.page.filter(|p| *p > 1) {
                return Err(refused(
                    "pg",
                    format!("media {} is an image with one page, not {page}", record.id),
                ));
            }
            if let Some(key) = time {
                return Err(refused(
                    key,
                    format!("picks a video's frame; media {} is an image", record.id),
                ));
            }
        }
        FileFormat::Pdf => {
            if let Some(key) = time {
                return Err(refused(
                    key,
                    format!(
                        "picks a video's frame; media {} is a PDF (pg_ picks its page)",
                        record.id
                    ),
                ));
            }
        }
        FileFormat::Video(_) => {
            if pick.page.is_some() || pick.density.is_some() {
                return Err(refused(
                    if pick.page.is_some() { "pg" } else { "dn" },
                    format!(
                        "picks a document's page; media {} is a video (so_ picks its frame)",
                        record.id
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Stills {
    /// The page or frame of `record` that `pick` names, from `original`.
    ///
    /// # Errors
    /// What [`frames`] refuses, as a render failure.
    pub async fn get(
        &self,
        record: &MediaRecord,
        original: Bytes,
        pick: Pick,
        max_pixels: u64,
    ) -> Result<Still, RenderFailure> {
        let key = format!("{}|{pick:?}", record.id);
        let format = record.format;
        self.cache
            .try_get_with(key, async move {
                match format {
                    FileFormat::Pdf => frames::pdf_page(original, pick, max_pixels).await,
                    _ => frames::video_frame(original, pick, max_pixels).await,
                }
                .map_err(RenderFailure::from)
            })
            .await
            .map_err(|shared| (*shared).clone())
    }
}
