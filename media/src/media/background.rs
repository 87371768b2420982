//! Renders nobody waits for: the AVIF that `f_auto` will answer once it
//! exists (WebP is answered meanwhile), and the presets `MEDIA_EAGER` names,
//! rendered after each upload so the first CDN pull is a hit. One dedicated
//! thread at the lowest CPU priority does them, so requests being answered
//! always come first; the queue is bounded (a job that does not fit is
//! dropped: the next request for it asks again) and each variant is queued
//! once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use super::repo::MediaRecord;
use super::variants::{quality_for, VariantRequest, Variants};
use crate::process::format::ImageFormat;
use crate::process::presets::Presets;
use crate::process::transformation::{FormatRequest, Transformation};

/// A variant to render later, owning what [`VariantRequest`] borrows.
#[derive(Debug, Clone)]
pub struct BackgroundRender {
    pub record: MediaRecord,
    pub transformation: Transformation,
    pub source_format: ImageFormat,
    pub format: ImageFormat,
    pub quality: u8,
}

impl BackgroundRender {
    /// An owned copy of `request`, to render once nobody waits.
    pub fn of(request: &VariantRequest<'_>) -> Self {
        Self {
            record: request.record.clone(),
            transformation: request.transformation.clone(),
            source_format: request.source_format,
            format: request.format,
            quality: request.quality,
        }
    }

    pub fn request(&self) -> VariantRequest<'_> {
        VariantRequest {
            record: &self.record,
            source_format: self.source_format,
            transformation: &self.transformation,
            format: self.format,
            quality: self.quality,
        }
    }
}

/// The thread background renders run on, at nice 19.
struct RenderThread {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl RenderThread {
    fn start() -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::Builder::new()
            .name("background-render".into())
            .spawn(move || {
                lowest_priority();
                // Ends when the last sender (the worker task) is dropped.
                for job in queue {
                    // A panicking codec must not take the thread with it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the thread; `None` if it is gone or `work` panicked.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = oneshot::channel();
        let job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).ok()?;
        result.await.ok()
    }
}

/// Linux keeps a nice value per thread: only this one is lowered.
fn lowest_priority() {
    // SAFETY: gettid and setpriority take plain integers, touch no memory
    // of ours, and only lower this thread's priority.
    let failed = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19)
    };
    if failed != 0 {
        tracing::warn!("background renders could not lower their priority");
    }
}

#[derive(Clone)]
pub struct Background {
    jobs: mpsc::Sender<BackgroundRender>,
    /// Ids of the variants queued or rendering.
    pending: Arc<Mutex<HashSet<String>>>,
}

impl Background {
    /// Starts the worker and its thread.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(variants: Variants, queue: usize) -> std::io::Result<Self> {
        let thread = RenderThread::start()?;
        let (jobs, mut incoming) = mpsc::channel::<BackgroundRender>(queue.max(1));
        let pending: Arc<Mutex<HashSet<String>>> = Arc::default();
        let done = pending.clone();
        tokio::spawn(async move {
            while let Some(job) = incoming.recv().await {
                let request = job.request();
                let id = request.id();
                let rendered = variants
                    .render_detached(&request, |work| thread.run(work))
                    .await;
                if let Err(err) = rendered {
                    tracing::warn!(variant = %id, media = %job.record.id, reason = %err.message, "background render failed");
                }
                done.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
            }
        });
        Ok(Self { jobs, pending })
    }

    /// Queues `job` unless it is queued already or the queue is full.
    pub fn enqueue(&self, job: BackgroundRender) -> bool {
        let id = job.request().id();
        if !self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone())
        {
            return false;
        }
        if self.jobs.try_send(job).is_err() {
            self.pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            return false;
        }
        true
    }

    /// Variants queued or rendering now.
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Queues every variant `presets` (the names in `MEDIA_EAGER`) may be
    /// asked for, for a new image: each in the format a request may get for
    /// it (its own `f_`; without one or with `f_auto`: the original's
    /// format, HEIC as JPEG, its family, WebP and AVIF).
    pub fn eager(&self, record: &MediaRecord, names: &[String], presets: &Presets) {
        let Some(source_format) = record.format.image() else {
            return;
        };
        for name in names {
            let Some(value) = presets.get(name) else {
                continue;
            };
            let Ok(transformation) = Transformation::parse_with(value.split('/'), presets) else {
                continue;
            };
            let own = match source_format {
                ImageFormat::Heic => ImageFormat::Jpeg,
                other => other,
            };
            // Front ends add `f_auto` (CldImage, Nuxt Image) or an
            // extension to a preset: its own format, WebP and AVIF are what
            // they end up asking for. The rendering key makes `t_card`,
            // `t_card/f_auto` and `f_auto,t_card` one stored variant each.
            let formats: Vec<ImageFormat> = match transformation.format() {
                Some(FormatRequest::Auto) | None => {
                    let mut formats = vec![
                        own,
                        family(source_format),
                        ImageFormat::Webp,
                        ImageFormat::Avif,
                    ];
                    formats.dedup();
                    formats.sort_by_key(|f| f.extension());
                    formats.dedup();
                    formats
                }
                Some(FormatRequest::Jpeg) => vec![ImageFormat::Jpeg],
                Some(FormatRequest::Png) => vec![ImageFormat::Png],
                Some(FormatRequest::Webp) => vec![ImageFormat::Webp],
                Some(FormatRequest::Avif) => vec![ImageFormat::Avif],
            };
            for format in formats {
                self.enqueue(BackgroundRender {
                    record: record.clone(),
                    quality: quality_for(format, &transformation),
                    transformation: transformation.clone(),
                    source_format,
                    format,
                });
            }
        }
    }
}

/// The family a media falls back to when `f_auto` finds nothing better.
pub fn family(original: ImageFormat) -> ImageFormat {
    match original {
        ImageFormat::Jpeg | ImageFormat::Avif | ImageFormat::Heic => ImageFormat::Jpeg,
        ImageFormat::Png | ImageFormat::Webp | ImageFormat::Gif => ImageFormat::Png,
    }
}
