//! Rendered variants: a byte-weighted moka cache in front of variants
//! persisted in the store (`media_variants` + the store), in front of the
//! renderer. Concurrent requests for one variant share one render (moka
//! runs one initialiser per key and hands its result to every waiter).

use super::error::{FailureKind, MediaError, RenderFailure};
use super::lanes::{LaneKind, LaneSettings, RenderLanes};
use super::library::MediaLibrary;
use super::repo::{MediaRecord, RepoError, VariantDoc};
use super::stills::{check_pick, Stills};
use crate::process::cost::{estimate_ms, HEAVY_MS};
use crate::process::format::ImageFormat;
use crate::process::geometry::plan_chain;
use crate::process::pipeline::{render, ProcessError, RenderJob, Rendered};
use crate::process::text::Fonts;
use crate::process::transformation::{AutoQuality, Quality, Transformation};
use crate::store::StorageKey;
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use mongodb::bson::DateTime;
use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};
use std::sync::Arc;

mod layers;

pub use layers::LayerRecord;
use layers::RecordSizes;

/// Variants up to one GridFS chunk are stored inside their document.
const INLINE_MAX: usize = 255 * 1024;

/// The originals cache gets this fraction of `MEDIA_CACHE_BYTES` on top.
const ORIGINALS_SHARE: u64 = 4;

/// Bumped whenever the renderer's output for the same request changes, so
/// old persisted variants and ETags are not served for new pixels.
/// p3: the key holds the rendering key, format and quality apart.
const PIPELINE_VERSION: &str = "p3";

/// A rendered variant, ready to send.
#[derive(Debug, Clone)]
pub struct Variant {
    pub bytes: Bytes,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// What the caller asks for.
pub struct VariantRequest<'a> {
    pub record: &'a MediaRecord,
    /// What is rendered from: the original's format, or PNG, drawn from
    /// a PDF's page or a video's frame.
    pub source_format: ImageFormat,
    pub transformation: &'a Transformation,
    pub format: ImageFormat,
    pub quality: u8,
}

impl VariantRequest<'_> {
    /// Stable identifier of the variant; also its ETag, so a revalidation
    /// is answered without rendering.
    pub fn id(&self) -> String {
        let key = format!(
            "{PIPELINE_VERSION}|{}|{}|{}|{}",
            self.record.id,
            self.transformation.rendering_key(),
            self.format.extension(),
            self.quality
        );
        hex::encode(&Sha256::digest(key.as_bytes())[..16])
    }
}

/// Counters the metrics endpoint reports.
#[derive(Clone, Default)]
pub struct VariantCounters {
    pub renders: Counter,
    /// Renders refused because their lane was full (answered 503).
    pub refused: Counter,
    pub memory_hits: Counter,
    pub store_hits: Counter,
}

#[derive(Clone)]
pub struct Variants {
    library: MediaLibrary,
    cache: moka::future::Cache<String, Variant>,
    /// Originals being rendered from: a popular image gets many variants,
    /// and reading it from the store each time costs more than the render.
    /// Keys never change content, so nothing needs invalidating.
    originals: moka::future::Cache<StorageKey, Bytes>,
    lanes: RenderLanes,
    counters: VariantCounters,
    fonts: Arc<Fonts>,
    stills: Stills,
}

impl Variants {
    pub fn new(
        library: MediaLibrary,
        cache_bytes: u64,
        lanes: LaneSettings,
        counters: VariantCounters,
        fonts: Arc<Fonts>,
    ) -> Self {
        let cache = moka::future::Cache::builder()
            .weigher(|key: &String, value: &Variant| {
                u32::try_from(key.len() + value.bytes.len()).unwrap_or(u32::MAX)
            })
            .max_capacity(cache_bytes)
            .build();
        let originals = moka::future::Cache::builder()
            .weigher(|_: &StorageKey, value: &Bytes| u32::try_from(value.len()).unwrap_or(u32::MAX))
            .max_capacity(cache_bytes / ORIGINALS_SHARE)
            .build();
        Self {
            library,
            cache,
            originals,
            lanes: RenderLanes::new(lanes),
            counters,
            fonts,
            stills: Stills::default(),
        }
    }

    /// Variants held in memory right now.
    pub fn memory_entries(&self) -> u64 {
        self.cache.entry_count()
    }

    pub fn counters(&self) -> &VariantCounters {
        &self.counters
    }

    /// The variant, from memory, the store, or a fresh render.
    ///
    /// # Errors
    /// [`MediaError::Render`] when it cannot be made.
    pub async fn get(&self, request: &VariantRequest<'_>) -> Result<Variant, MediaError> {
        let id = request.id();
        let mut loaded = false;
        let result = self
            .cache
            .try_get_with(id.clone(), async {
                loaded = true;
                self.load_or_render(&id, request).await
            })
            .await;
        if !loaded {
            self.counters.memory_hits.inc();
        }
        result.map_err(|shared| MediaError::Render((*shared).clone()))
    }

    async fn load_or_render(
        &self,
        id: &str,
        request: &VariantRequest<'_>,
    ) -> Result<Variant, RenderFailure> {
        let repo = self.library.repo();
        match repo.variant(id).await {
            Ok(Some(stored)) => match self.read_stored(&stored).await {
                Ok(variant) => {
                    self.counters.store_hits.inc();
                    return Ok(variant);
                }
                Err(err) => {
                    tracing::warn!(variant = id, error = %err, "stored variant unreadable; rendering again")
                }
            },
            Ok(None) => {}
            Err(err) => return Err(RenderFailure::internal("looking up a variant", err)),
        }
        let variant = self.render(request).await?;
        // Stored in the background: the client need not wait for the write,
        // and a failure only costs a render later.
        let this = self.clone();
        let job = Persist {
            id: id.to_owned(),
            media_id: request.record.id.to_string(),
            transformation: request.transformation.canonical(),
            variant: variant.clone(),
        };
        tokio::spawn(async move { this.persist(job).await });
        Ok(variant)
    }

    async fn read_stored(&self, stored: &VariantDoc) -> Result<Variant, MediaError> {
        let format = ImageFormat::from_extension(&stored.format).ok_or_else(|| {
            MediaError::Repo(RepoError::Corrupt {
                id: stored.id.clone(),
                reason: format!("format {}", stored.format),
            })
        })?;
        let bytes = match (&stored.data, &stored.storage_key) {
            (Some(inline), _) => Bytes::copy_from_slice(&inline.bytes),
            (None, Some(key)) => {
                let key = StorageKey::new(key.clone());
                let store = self
                    .library
                    .stores()
                    .get(super::library::variant_backend(stored))?;
                collect(store.read(&key, None).await?).await?
            }
            (None, None) => {
                return Err(MediaError::Repo(RepoError::Corrupt {
                    id: stored.id.clone(),
                    reason: "no bytes".into(),
                }))
            }
        };
        Ok(Variant {
            bytes,
            format,
            width: u32::try_from(stored.width).unwrap_or(0),
            height: u32::try_from(stored.height).unwrap_or(0),
        })
    }

    /// The lane a render takes, from its estimated cost. A transformation
    /// that does not fit the record's size is refused here, before the
    /// original is read.
    fn lane_for(
        &self,
        (width, height): (u32, u32),
        request: &VariantRequest<'_>,
        layers: &[LayerRecord],
    ) -> Result<LaneKind, RenderFailure> {
        let plans = plan_chain(
            width,
            height,
            request.transformation,
            &RecordSizes(layers, &self.fonts),
        )
        .map_err(|err| RenderFailure {
            kind: FailureKind::BadTransformation,
            message: err.to_string(),
        })?;
        let cost = estimate_ms(
            (width, height),
            request.source_format,
            &plans,
            request.format,
        );
        Ok(if cost > HEAVY_MS {
            LaneKind::Heavy
        } else {
            LaneKind::Light
        })
    }

    /// Renders waiting for a place: light, heavy.
    pub fn waiting(&self) -> (usize, usize) {
        self.lanes.waiting()
    }

    async fn render(&self, request: &VariantRequest<'_>) -> Result<Variant, RenderFailure> {
        let layers = self.layer_records(request.transformation).await?;
        let record = request.record;
        check_pick(record, request.transformation.pick())?;
        // A PDF's page or a video's frame is drawn first, heavy work whose
        // size is only known once drawn; the chain is checked on it then.
        let drawn = record.format.image().is_none();
        // The permit bounds memory as well as CPU: the original is read and
        // decoded only while holding it.
        let lane = if drawn {
            LaneKind::Heavy
        } else {
            self.lane_for((record.width, record.height), request, &layers)?
        };
        let _permit = self.lanes.enter(lane).await.map_err(|busy| {
            self.counters.refused.inc();
            RenderFailure {
                kind: FailureKind::Busy {
                    retry_after_secs: busy.retry_after.as_secs().max(1),
                },
                message: "too many images are being rendered; retry shortly".into(),
            }
        })?;
        let (source, size) = self.starting_picture(request).await?;
        if drawn {
            self.lane_for(size, request, &layers)?;
        }
        let max_pixels = self.library.limits().max_render_pixels;
        let layers = self.layer_images(&layers).await?;
        let job_format = request.source_format;
        let transformation = request.transformation.clone();
        let output = request.format;
        let quality = request.quality;
        let fonts = Arc::clone(&self.fonts);
        // Decoding and encoding take tens of milliseconds of CPU: off the
        // async workers, or every other request on this worker waits.
        let rendered = tokio::task::spawn_blocking(move || {
            render(&RenderJob {
                source: &source,
                source_format: job_format,
                transformation: &transformation,
                output,
                quality,
                max_pixels,
                layers: &layers,
                fonts: &fonts,
            })
        })
        .await
        .map_err(|err| RenderFailure::internal("render task failed", err))??;
        self.counters.renders.inc();
        Ok(Variant {
            bytes: Bytes::from(rendered.bytes),
            format: rendered.format,
            width: rendered.width,
            height: rendered.height,
        })
    }

    /// What a render starts from, and its size: the original, or the page
    /// or frame of a PDF or a video that the transformation picks.
    async fn starting_picture(
        &self,
        request: &VariantRequest<'_>,
    ) -> Result<(Bytes, (u32, u32)), RenderFailure> {
        let record = request.record;
        let pick = request.transformation.pick();
        check_pick(record, pick)?;
        let original = self.source(record).await?;
        if record.format.image().is_some() {
            return Ok((original, (record.width, record.height)));
        }
        let max_pixels = self.library.limits().max_render_pixels;
        let still = self.stills.get(record, original, pick, max_pixels).await?;
        Ok((still.bytes, (still.width, still.height)))
    }

    /// The original's bytes, through the originals cache.
    async fn source(&self, record: &MediaRecord) -> Result<Bytes, RenderFailure> {
        self.originals
            .try_get_with(record.storage_key.clone(), async {
                collect(self.library.read_original(record, None).await?).await
            })
            .await
            .map_err(|err| {
                if err.is_unavailable() {
                    RenderFailure {
                        kind: FailureKind::Unavailable,
                        message: "the database is unavailable; try again shortly".into(),
                    }
                } else {
                    RenderFailure::internal("reading an original", anyhow::anyhow!("{err}"))
                }
            })
    }

    /// Whether the variant `id` ([`VariantRequest::id`]) exists, in memory
    /// or in the store, without a render.
    pub async fn ready(&self, id: &str) -> bool {
        self.cache.contains_key(id) || matches!(self.library.repo().variant(id).await, Ok(Some(_)))
    }

    /// Renders `request` through `run` (the background thread) unless it
    /// exists, then keeps it in memory and in the store. Nobody waits for
    /// it, so it takes no lane.
    ///
    /// # Errors
    /// Why it could not be made.
    pub async fn render_detached<F, Fut>(
        &self,
        request: &VariantRequest<'_>,
        run: F,
    ) -> Result<(), RenderFailure>
    where
        F: FnOnce(Box<dyn FnOnce() -> Result<Rendered, ProcessError> + Send>) -> Fut,
        Fut: std::future::Future<Output = Option<Result<Rendered, ProcessError>>>,
    {
        let id = request.id();
        if self.ready(&id).await {
            return Ok(());
        }
        let (source, _) = self.starting_picture(request).await?;
        let layers = self.layer_records(request.transformation).await?;
        let layers = self.layer_images(&layers).await?;
        let (source_format, output, quality) =
            (request.source_format, request.format, request.quality);
        let transformation = request.transformation.clone();
        let max_pixels = self.library.limits().max_render_pixels;
        let fonts = Arc::clone(&self.fonts);
        let rendered = run(Box::new(move || {
            render(&RenderJob {
                source: &source,
                source_format,
                transformation: &transformation,
                output,
                quality,
                max_pixels,
                layers: &layers,
                fonts: &fonts,
            })
        }))
        .await
        .ok_or_else(|| {
            RenderFailure::internal(
                "background render",
                anyhow::anyhow!("the render thread is gone"),
            )
        })??;
        self.counters.renders.inc();
        let variant = Variant {
            bytes: Bytes::from(rendered.bytes),
            format: rendered.format,
            width: rendered.width,
            height: rendered.height,
        };
        self.cache.insert(id.clone(), variant.clone()).await;
        self.persist(Persist {
            id,
            media_id: request.record.id.to_string(),
            transformation: request.transformation.canonical(),
            variant,
        })
        .await;
        Ok(())
    }

    /// Keeps the variant in the store. Failure only costs a future render.
    async fn persist(&self, job: Persist) {
        let Persist {
            id,
            media_id,
            transformation,
            variant,
        } = job;
        let inline = variant.bytes.len() <= INLINE_MAX;
        let staged = if inline {
            None
        } else {
            match self.library.ingest_trusted(variant.bytes.clone()).await {
                Ok(key) => Some(key),
                Err(err) => {
                    tracing::warn!(variant = %id, error = ?anyhow::Error::from(err), "could not store a variant");
                    return;
                }
            }
        };
        let doc = VariantDoc {
            id,
            media_id,
            transformation,
            format: variant.format.extension().to_owned(),
            bytes: variant.bytes.len() as i64,
            width: i64::from(variant.width),
            height: i64::from(variant.height),
            storage_key: staged.as_ref().map(|key| key.as_str().to_owned()),
            backend: staged
                .as_ref()
                .map(|_| self.library.store().backend().as_str().to_owned()),
            data: inline.then(|| mongodb::bson::Binary {
                subtype: mongodb::bson::spec::BinarySubtype::Generic,
                bytes: variant.bytes.to_vec(),
            }),
            created_at: DateTime::now(),
        };
        self.library.adopt_variant(staged, &doc).await;
    }
}

/// How many points below the level `q_auto` encodes AVIF. At the same
/// number AV1 keeps more than WebP: `make bench` (2026-12-03) measured a
/// 400x300 photo at `q_auto` as WebP 4,528 bytes (SSIM 0.8564) and AVIF at
/// 80 as 3,886 (SSIM 0.8603); at 74 the AVIF is 2,391 bytes (SSIM 0.8562),
/// the same fidelity as the WebP for 53% of its bytes.
const AVIF_AUTO_OFFSET: u8 = 6;

/// The encoder quality of `format` for `transformation` (0 for lossless
/// formats). An explicit `q_N` is taken as given; `q_auto` picks per format.
pub fn quality_for(format: ImageFormat, transformation: &Transformation) -> u8 {
    match format {
        ImageFormat::Png | ImageFormat::Gif | ImageFormat::Heic => 0,
        ImageFormat::Jpeg | ImageFormat::Webp | ImageFormat::Avif => {
            // No `q_` is `q_auto`: a preset and the same preset with the
            // `q_auto` every front end adds are one rendering.
            match transformation
                .quality()
                .unwrap_or(Quality::Auto(AutoQuality::Default))
            {
                Quality::Value(q) => q,
                Quality::Auto(level) if format == ImageFormat::Avif => {
                    level.value().saturating_sub(AVIF_AUTO_OFFSET).max(1)
                }
                Quality::Auto(level) => level.value(),
            }
        }
    }
}

/// A rendered variant on its way to the store.
struct Persist {
    id: String,
    media_id: String,
    transformation: String,
    variant: Variant,
}

async fn collect(stream: crate::store::ByteStream) -> Result<Bytes, MediaError> {
    let mut buffer = BytesMut::new();
    let chunks: Vec<Bytes> = stream.try_collect().await?;
    for chunk in chunks {
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Transformation {
        Transformation::parse(text.split('/')).expect("a transformation")
    }

    #[test]
    fn q_auto_picks_per_format_and_q_n_is_taken_as_given() {
        let auto = parsed("c_fill,w_40,h_30,q_auto");
        assert_eq!(quality_for(ImageFormat::Webp, &auto), 80);
        assert_eq!(quality_for(ImageFormat::Jpeg, &auto), 80);
        assert_eq!(quality_for(ImageFormat::Avif, &auto), 80 - AVIF_AUTO_OFFSET);
        assert_eq!(quality_for(ImageFormat::Png, &auto), 0);
        let fixed = parsed("c_fill,w_40,h_30,q_55");
        assert_eq!(quality_for(ImageFormat::Avif, &fixed), 55);
        for format in [ImageFormat::Webp, ImageFormat::Jpeg, ImageFormat::Avif] {
            assert_eq!(
                quality_for(format, &parsed("w_40")),
                quality_for(format, &parsed("w_40,q_auto"))
            );
        }
    }
}
