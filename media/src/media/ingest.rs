//! Streaming an upload into the store: the type is decided from the first
//! bytes, the dimensions from the header, and size limits are enforced as
//! bytes arrive, so a refused upload costs at most the head of its body and a
//! huge one is cut off as soon as it passes the limit.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::error::MediaError;
use super::repo::MediaRepo;
use crate::config::Limits;
use crate::process::format::{sniff, FileFormat, ImageFormat, Sniffed};
use crate::process::geometry::extreme_shape;
use crate::process::inspect::{inspect, Inspected};
use crate::store::{BackendKind, ObjectWriter, ResourceKind, StorageKey, StoredCopy, Stores};

/// Most header bytes held in memory to find the dimensions. JPEG puts them
/// after EXIF, ICC and Photoshop segments, which can be large.
const HEAD_MAX: usize = 2 * 1024 * 1024;
/// First attempt to read dimensions once this much head has arrived.
const HEAD_FIRST_PROBE: usize = 4096;
/// How often a long upload refreshes its staging entry.
const TOUCH_EVERY: Duration = Duration::from_secs(10);

/// An upload whose bytes are in the store but that no media record points to
/// yet. Dropping it without [`StagedObject::disarm`] removes the bytes in the
/// background (the request was cancelled, say by a client disconnect); a
/// crashed process leaves its staging entry for the sweeper instead.
pub struct StagedObject {
    pub key: StorageKey,
    pub backend: BackendKind,
    pub format: FileFormat,
    pub bytes: u64,
    /// Displayed size of an image; 0 for videos and documents.
    pub width: u32,
    pub height: u32,
    /// An image's BlurHash, when it could be computed.
    pub placeholder: Option<String>,
    pub sha256: [u8; 32],
    /// The copy in the mirror backend, when one is configured and the
    /// write there succeeded.
    pub mirror: Option<StoredCopy>,
    cleanup: Option<Cleanup>,
}

#[derive(Clone)]
pub(crate) struct Cleanup {
    pub(crate) repo: MediaRepo,
    pub(crate) stores: Stores,
    /// Bounds the decodes that check new originals: each holds a decoded
    /// image in memory.
    pub(crate) decode_permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Cleanup {
    /// Deletes the bytes under `key` and then its staging entry; if either
    /// step fails the entry stays and the sweeper finishes the job.
    pub(crate) async fn discard(&self, key: &StorageKey, backend: BackendKind) {
        let deleted = match self.stores.get(backend) {
            Ok(store) => store.delete(key).await,
            Err(err) => Err(err),
        };
        match deleted {
            Ok(()) => {
                if let Err(err) = self.repo.unstage(key).await {
                    tracing::warn!(%key, error = %err, "could not clear staging entry");
                }
            }
            Err(err) => tracing::warn!(%key, error = %err, "could not discard staged object"),
        }
    }
}

impl StagedObject {
    /// The object is now owned by a media record (or was discarded by hand).
    pub(crate) fn disarm(&mut self) {
        self.cleanup = None;
    }

    /// Removes the bytes (and any mirror copy) now, not in the background.
    async fn discard_now(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.discard(&self.key, self.backend).await;
            if let Some(copy) = self.mirror.take() {
                cleanup.discard(&copy.key, copy.backend).await;
            }
        }
    }
}

impl Drop for StagedObject {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            let key = self.key.clone();
            let backend = self.backend;
            let mirror = self.mirror.take();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    cleanup.discard(&key, backend).await;
                    if let Some(copy) = mirror {
                        cleanup.discard(&copy.key, copy.backend).await;
                    }
                });
            }
        }
    }
}

/// The copy of an upload being written to the mirror backend. The mirror
/// is a convenience for switching backends, not where the media is served
/// from: when it fails, the upload goes on without it (logged, counted in
/// the storage status, and filled in by `migrate-store`).
struct MirrorWrite {
    copy: StoredCopy,
    writer: Box<dyn ObjectWriter>,
}

impl MirrorWrite {
    async fn open(cleanup: &Cleanup, kind: ResourceKind) -> Option<Self> {
        let store = cleanup.stores.mirror()?;
        let copy = StoredCopy {
            backend: store.backend(),
            key: store.new_key(kind),
        };
        if let Err(err) = cleanup.repo.stage(&copy.key, copy.backend).await {
            tracing::warn!(error = %err, "mirror copy skipped: cannot journal it");
            return None;
        }
        match store.open_writer(&copy.key).await {
            Ok(writer) => Some(Self { copy, writer }),
            Err(err) => {
                tracing::warn!(error = %err, backend = copy.backend.as_str(), "mirror copy skipped");
                cleanup.discard(&copy.key, copy.backend).await;
                None
            }
        }
    }

    /// Writes a chunk; on failure the mirror copy is dropped and `None` left.
    async fn write(slot: &mut Option<Self>, chunk: &[u8], staged: &mut StagedObject) {
        let Some(mirror) = slot.as_mut() else { return };
        if let Err(err) = mirror.writer.write(chunk).await {
            if let Some(Self { copy, writer }) = slot.take() {
                if let Err(err) = writer.abort().await {
                    tracing::warn!(error = %err, "aborting a mirror write failed");
                }
                give_up_mirror(copy, &err, staged).await;
            }
        }
    }

    async fn finish(self, staged: &mut StagedObject) {
        if let Err(err) = self.writer.finish().await {
            give_up_mirror(self.copy, &err, staged).await;
        }
    }
}

async fn give_up_mirror(
    copy: StoredCopy,
    err: &crate::store::StoreError,
    staged: &mut StagedObject,
) {
    tracing::warn!(
        error = %err,
        backend = copy.backend.as_str(),
        "mirror copy failed; the upload goes on without it"
    );
    staged.mirror = None;
    if let Some(cleanup) = &staged.cleanup {
        cleanup.discard(&copy.key, copy.backend).await;
    }
}

/// Header facts learnt before any byte is stored.
struct Head {
    bytes: BytesMut,
    format: FileFormat,
    /// The limit for this format.
    limit: u64,
    width: u32,
    height: u32,
    ended: bool,
}

/// Reads the body into the store.
///
/// # Errors
/// Every refusal of [`MediaError`] an upload can earn, and store or database
/// failures. Nothing stays visible after an error.
pub(crate) async fn ingest<S, E>(
    mut body: S,
    limits: Limits,
    cleanup: Cleanup,
) -> Result<StagedObject, MediaError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let mut received: u64 = 0;
    let head = read_head(&mut body, &limits, &mut received).await?;
    let store = cleanup.stores.primary();
    let kind = head.format.resource();
    let key = store.new_key(kind);
    cleanup.repo.stage(&key, store.backend()).await?;
    // From here on the guard owns the bytes until a record claims them.
    let mut staged = StagedObject {
        key: key.clone(),
        backend: store.backend(),
        format: head.format,
        bytes: 0,
        width: head.width,
        height: head.height,
        placeholder: None,
        sha256: [0; 32],
        mirror: None,
        cleanup: Some(cleanup.clone()),
    };

    let mut writer = store.open_writer(&key).await?;
    let mut mirror = MirrorWrite::open(&cleanup, kind).await;
    staged.mirror = mirror.as_ref().map(|m| m.copy.clone());
    let mut hasher = Sha256::new();
    hasher.update(&head.bytes);
    // An image's whole original, to decode once it has arrived (at most
    // `max_upload_bytes`). Videos and documents are never decoded, so a
    // 200 MiB video is never held in memory here.
    let image = head.format.image();
    let mut whole = BytesMut::new();
    if image.is_some() {
        whole.extend_from_slice(&head.bytes);
    }
    writer.write(&head.bytes).await?;
    MirrorWrite::write(&mut mirror, &head.bytes, &mut staged).await;
    let mut last_touch = Instant::now();

    if !head.ended {
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(err) => {
                    tracing::info!(error = %err, "upload body broke off");
                    abort(writer, mirror, &mut staged).await;
                    return Err(MediaError::Interrupted);
                }
            };
            received += chunk.len() as u64;
            if received > head.limit {
                abort(writer, mirror, &mut staged).await;
                return Err(MediaError::TooLarge { limit: head.limit });
            }
            hasher.update(&chunk);
            if image.is_some() {
                whole.extend_from_slice(&chunk);
            }
            writer.write(&chunk).await?;
            MirrorWrite::write(&mut mirror, &chunk, &mut staged).await;
            if last_touch.elapsed() >= TOUCH_EVERY {
                cleanup.repo.touch(&key).await?;
                if let Some(copy) = &staged.mirror {
                    cleanup.repo.touch(&copy.key).await?;
                }
                last_touch = Instant::now();
            }
        }
    }
    writer.finish().await?;
    if let Some(mirror) = mirror {
        mirror.finish(&mut staged).await;
    }
    staged.bytes = received;
    staged.sha256 = hasher.finalize().into();
    let Some(format) = image else {
        return Ok(staged);
    };
    match check_decodes(whole.freeze(), format, limits.max_render_pixels, &cleanup).await {
        Ok(inspected) => {
            staged.width = inspected.width;
            staged.height = inspected.height;
            staged.placeholder = inspected.placeholder;
            Ok(staged)
        }
        Err(err) => {
            staged.discard_now().await;
            Err(err)
        }
    }
}

/// Decodes the new original off the async workers, within the decode
/// permits, and answers its displayed size and placeholder.
async fn check_decodes(
    whole: Bytes,
    format: ImageFormat,
    max_pixels: u64,
    cleanup: &Cleanup,
) -> Result<Inspected, MediaError> {
    let _permit = cleanup
        .decode_permits
        .acquire()
        .await
        .map_err(|_| MediaError::UnreadableImage("the service is shutting down".into()))?;
    let inspected = tokio::task::spawn_blocking(move || inspect(&whole, format, max_pixels))
        .await
        .map_err(|err| MediaError::UnreadableImage(format!("decoder failed: {err}")))?
        .map_err(|err| MediaError::UnreadableImage(err.to_string()))?;
    Ok(inspected)
}

async fn abort(
    writer: Box<dyn ObjectWriter>,
    mirror: Option<MirrorWrite>,
    staged: &mut StagedObject,
) {
    if let Err(err) = writer.abort().await {
        tracing::warn!(key = %staged.key, error = %err, "aborting an upload failed");
    }
    if let Some(mirror) = mirror {
        if let Err(err) = mirror.writer.abort().await {
            tracing::warn!(key = %mirror.copy.key, error = %err, "aborting a mirror write failed");
        }
    }
    if let Some(cleanup) = staged.cleanup.take() {
        cleanup.discard(&staged.key, staged.backend).await;
        if let Some(copy) = staged.mirror.take() {
            cleanup.discard(&copy.key, copy.backend).await;
        }
    }
}

async fn read_head<S, E>(
    body: &mut S,
    limits: &Limits,
    received: &mut u64,
) -> Result<Head, MediaError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let mut head = BytesMut::new();
    let mut format = None;
    let mut next_probe = HEAD_FIRST_PROBE;
    loop {
        let ended = match body.next().await {
            Some(Ok(chunk)) => {
                *received += chunk.len() as u64;
                let limit = format.map_or(limits.max_any(), |f| limits.max_bytes(f));
                if *received > limit {
                    return Err(MediaError::TooLarge { limit });
                }
                head.extend_from_slice(&chunk);
                false
            }
            Some(Err(err)) => {
                tracing::info!(error = %err, "upload body broke off");
                return Err(MediaError::Interrupted);
            }
            None => true,
        };
        if ended && head.is_empty() {
            return Err(MediaError::EmptyUpload);
        }
        let known = match format {
            Some(known) => known,
            None => match sniff(&head) {
                Sniffed::Accepted(found) => {
                    format = Some(found);
                    found
                }
                Sniffed::NeedMore if !ended => continue,
                Sniffed::Refused(what) => {
                    return Err(MediaError::UnsupportedType(format!(
                        "{what} is not accepted"
                    )))
                }
                Sniffed::NeedMore | Sniffed::Unknown => {
                    return Err(MediaError::UnsupportedType(
                        "the bytes are not a JPEG, PNG, WebP, GIF or AVIF image, \
                         an MP4, WebM or QuickTime video, or a PDF"
                            .into(),
                    ))
                }
            },
        };
        let limit = limits.max_bytes(known);
        if *received > limit {
            return Err(MediaError::TooLarge { limit });
        }
        let Some(image) = known.image() else {
            return Ok(Head {
                bytes: head,
                format: known,
                limit,
                width: 0,
                height: 0,
                ended,
            });
        };
        if !ended && head.len() < next_probe {
            continue;
        }
        match header_size(&head) {
            Some((width, height)) => {
                let pixels = u64::from(width) * u64::from(height);
                if width == 0 || height == 0 {
                    return Err(MediaError::UnreadableImage(
                        "the header declares an empty image".into(),
                    ));
                }
                if pixels > limits.max_pixels {
                    return Err(MediaError::TooManyPixels {
                        width,
                        height,
                        max: limits.max_pixels,
                    });
                }
                if let Some(reason) = extreme_shape(width, height) {
                    return Err(MediaError::ExtremeShape(reason));
                }
                return Ok(Head {
                    bytes: head,
                    format: known,
                    limit,
                    width,
                    height,
                    ended,
                });
            }
            None if ended || head.len() >= HEAD_MAX => {
                return Err(MediaError::UnreadableImage(format!(
                    "no readable {} header with the image size",
                    image.extension().to_uppercase()
                )));
            }
            None => next_probe = (head.len() * 2).min(HEAD_MAX),
        }
    }
}

/// Width and height from the header alone. The parser is shielded from
/// panics because it reads attacker-controlled bytes.
fn header_size(head: &[u8]) -> Option<(u32, u32)> {
    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| imagesize::blob_size(head)));
    match parsed {
        Ok(Ok(size)) => Some((
            u32::try_from(size.width).ok()?,
            u32::try_from(size.height).ok()?,
        )),
        _ => None,
    }
}
