//! `media_staging`: a journal of objects being written or deleted, so their
//! bytes never outlive a crash.

use futures::TryStreamExt;
use mongodb::bson::{doc, DateTime, Document};
use time::OffsetDateTime;

use super::{to_bson_time, MediaRepo, RepoError};
use crate::store::{BackendKind, StorageKey};

impl MediaRepo {
    /// Whether `key` has a staging entry (being written or deleted).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn is_staged(&self, key: &StorageKey) -> Result<bool, RepoError> {
        Ok(self
            .staging
            .find_one(doc! { "_id": key.as_str() })
            .await?
            .is_some())
    }

    /// Records that `key` is being written or deleted. Until
    /// [`MediaRepo::unstage`], a sweeper may delete its bytes once the entry
    /// is older than the grace period and no media references it.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn stage(&self, key: &StorageKey, backend: BackendKind) -> Result<(), RepoError> {
        let now = DateTime::now();
        self.staging
            .update_one(
                doc! { "_id": key.as_str() },
                doc! { "$set": { "backend": backend.as_str(), "touched_at": now },
                "$setOnInsert": { "started_at": now } },
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    /// Keeps a long upload's entry fresh so the sweeper does not take it for
    /// an abandoned one.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn touch(&self, key: &StorageKey) -> Result<(), RepoError> {
        self.staging
            .update_one(
                doc! { "_id": key.as_str() },
                doc! { "$set": { "touched_at": DateTime::now() } },
            )
            .await?;
        Ok(())
    }

    /// # Errors
    /// When the database fails.
    pub async fn unstage(&self, key: &StorageKey) -> Result<(), RepoError> {
        self.staging
            .delete_one(doc! { "_id": key.as_str() })
            .await?;
        Ok(())
    }

    /// Staged keys not touched since `cutoff`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn staged_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<(StorageKey, BackendKind)>, RepoError> {
        let docs: Vec<Document> = self
            .staging
            .find(doc! { "touched_at": { "$lte": to_bson_time(cutoff) } })
            .await?
            .try_collect()
            .await?;
        Ok(docs
            .iter()
            .filter_map(|d| {
                let key = d.get_str("_id").ok()?;
                let backend = d
                    .get_str("backend")
                    .ok()
                    .and_then(BackendKind::parse)
                    .unwrap_or(BackendKind::GridFs);
                Some((StorageKey::new(key), backend))
            })
            .collect())
    }

    /// Counts the staged entries; for status reports and tests.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn staged_count(&self) -> Result<u64, RepoError> {
        Ok(self.staging.count_documents(doc! {}).await?)
    }
}
