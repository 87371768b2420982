//! `media_variants`: rendered variants kept in the store, so no instance
//! renders one twice.

use futures::TryStreamExt;
use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use avenue_shared::MediaId;

use super::{is_duplicate_key, MediaRepo, RepoError};
use crate::store::{BackendKind, StorageKey};

/// A rendered variant kept in the store, so no instance renders it twice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantDoc {
    /// Hash of (media id, canonical transformation, format, quality).
    #[serde(rename = "_id")]
    pub id: String,
    pub media_id: String,
    pub transformation: String,
    pub format: String,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    /// Where larger variants live in the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_key: Option<String>,
    /// The backend holding `storage_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Small variants (most of them) live inline: one document to write and
    /// read, and nothing that can be orphaned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<mongodb::bson::Binary>,
    pub created_at: DateTime,
}

impl MediaRepo {
    /// # Errors
    /// When the database fails.
    pub async fn variant(&self, id: &str) -> Result<Option<VariantDoc>, RepoError> {
        Ok(self.variants.find_one(doc! { "_id": id }).await?)
    }

    /// # Errors
    /// [`RepoError::Duplicate`] when another instance stored it first.
    pub async fn insert_variant(&self, variant: &VariantDoc) -> Result<(), RepoError> {
        match self.variants.insert_one(variant).await {
            Ok(_) => Ok(()),
            Err(err) if is_duplicate_key(&err) => Err(RepoError::Duplicate),
            Err(err) => Err(err.into()),
        }
    }

    /// # Errors
    /// When the database fails.
    pub async fn variants_of(&self, media: &MediaId) -> Result<Vec<VariantDoc>, RepoError> {
        Ok(self
            .variants
            .find(doc! { "media_id": media.as_str() })
            .await?
            .try_collect()
            .await?)
    }

    /// # Errors
    /// When the database fails.
    pub async fn delete_variant(&self, id: &str) -> Result<(), RepoError> {
        self.variants.delete_one(doc! { "_id": id }).await?;
        Ok(())
    }

    /// Variants whose bytes are in a store (not inline) other than
    /// `backend`, by id after `after`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn stored_variants_not_in(
        &self,
        backend: BackendKind,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<VariantDoc>, RepoError> {
        // Documents without `backend` predate the field and are in GridFS.
        let mut filter = if backend == BackendKind::GridFs {
            doc! { "backend": { "$exists": true, "$ne": backend.as_str() } }
        } else {
            doc! { "backend": { "$ne": backend.as_str() } }
        };
        filter.insert("storage_key", doc! { "$exists": true });
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after });
        }
        Ok(self
            .variants
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// Points a variant at its copy in another backend if it still is where
    /// the copy was made from.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn switch_variant(
        &self,
        id: &str,
        from: &StorageKey,
        to: (BackendKind, &StorageKey),
    ) -> Result<bool, RepoError> {
        let result = self
            .variants
            .update_one(
                doc! { "_id": id, "storage_key": from.as_str() },
                doc! { "$set": { "backend": to.0.as_str(), "storage_key": to.1.as_str() } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    /// Counts of variant documents; for status.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn variant_count(&self) -> Result<u64, RepoError> {
        Ok(self.variants.count_documents(doc! {}).await?)
    }
}
