//! The media a transformation's layers name: found by id, checked
//! against the folder the URL writes, sized from their records before
//! any original is read, and read through the originals cache.

use super::Variants;
use crate::media::error::{FailureKind, MediaError, RenderFailure};
use crate::media::repo::MediaRecord;
use crate::process::format::ImageFormat;
use crate::process::geometry::LayerSizes;
use crate::process::pipeline::{text_size, LayerImage};
use crate::process::text::Fonts;
use crate::process::transformation::{LayerSource, Text, TransformError, Transformation};
use avenue_shared::MediaId;

/// A layer's media, by the public id the URL names it with.
pub struct LayerRecord {
    pub public_id: String,
    pub record: MediaRecord,
    format: ImageFormat,
}

/// Layer sizes from their records, to plan before any original is read.
pub(super) struct RecordSizes<'a>(pub(super) &'a [LayerRecord], pub(super) &'a Fonts);

impl LayerSizes for RecordSizes<'_> {
    fn size_of(&self, source: &LayerSource) -> Result<(u32, u32), TransformError> {
        self.0
            .iter()
            .find(|layer| layer.public_id == source.public_id)
            .map(|layer| (layer.record.width, layer.record.height))
            .ok_or_else(|| TransformError::new("l", format!("no media {}", source.public_id)))
    }

    fn text_size(&self, text: &Text) -> Result<(u32, u32), TransformError> {
        text_size(self.1, text)
    }
}

fn bad_layer(message: String) -> RenderFailure {
    RenderFailure {
        kind: FailureKind::BadTransformation,
        message: format!("l: {message}"),
    }
}

impl Variants {
    /// The media the transformation's layers name, each found by its id
    /// (its folders, when written, must be the media's), and an image.
    ///
    /// # Errors
    /// A layer that is not a media id, not found, in another folder or
    /// not an image: [`FailureKind::BadTransformation`].
    pub async fn layer_records(
        &self,
        transformation: &Transformation,
    ) -> Result<Vec<LayerRecord>, RenderFailure> {
        let mut found: Vec<LayerRecord> = Vec::new();
        for source in transformation.layer_sources() {
            if found.iter().any(|l| l.public_id == source.public_id) {
                continue;
            }
            let (folders, id) = source.parts();
            let id = MediaId::parse(id).map_err(|_| {
                bad_layer(format!(
                    "a layer names a media by its id (32 hex digits), not {id:?}"
                ))
            })?;
            let record = match self.library.get_for_delivery(&id).await {
                Ok(record) => record,
                Err(MediaError::NotFound) => {
                    return Err(bad_layer(format!("no media {id} to draw as a layer")))
                }
                Err(other) => {
                    return Err(RenderFailure::internal(
                        "finding a layer",
                        anyhow::anyhow!("{other}"),
                    ))
                }
            };
            let folder = folders.join("/");
            let in_folder = record.folder.as_ref().map_or("", |f| f.as_str());
            if !folders.is_empty() && folder != in_folder {
                return Err(bad_layer(format!("media {id} is not in folder {folder}")));
            }
            let format = record
                .format
                .image()
                .ok_or_else(|| bad_layer(format!("media {id} is not an image")))?;
            found.push(LayerRecord {
                public_id: source.public_id.clone(),
                record,
                format,
            });
        }
        Ok(found)
    }

    /// The layers' originals, through the originals cache.
    pub(super) async fn layer_images(
        &self,
        layers: &[LayerRecord],
    ) -> Result<Vec<LayerImage>, RenderFailure> {
        let mut images = Vec::with_capacity(layers.len());
        for layer in layers {
            images.push(LayerImage {
                public_id: layer.public_id.clone(),
                bytes: self.source(&layer.record).await?,
                format: layer.format,
            });
        }
        Ok(images)
    }
}
