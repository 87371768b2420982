//! Moving media between backends (`migrate-store`), its progress in
//! `media_migrations`, and the sweeper's last report kept beside it.

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document};
use serde::{Deserialize, Serialize};

use avenue_shared::MediaId;

use super::{MediaRepo, RepoError};
use crate::media::repo::MediaRecord;
use crate::store::{BackendKind, StorageKey, StoredCopy};

/// One run of `migrate-store`, kept up to date while it runs so that
/// `GET /v1/storage/status` can show it from any instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationRun {
    #[serde(rename = "_id")]
    pub id: mongodb::bson::oid::ObjectId,
    pub to: String,
    pub state: RunState,
    pub started_at: DateTime,
    /// Written at least every few seconds while running: a run whose
    /// heartbeat stopped was killed.
    pub updated_at: DateTime,
    pub total_media: i64,
    pub total_bytes: i64,
    pub moved: i64,
    pub moved_bytes: i64,
    pub skipped: i64,
    pub failed: i64,
    pub variants_moved: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Finished,
}

impl MediaRepo {
    /// Media not in `backend`, by id, after `after`: the migration's work list.
    ///
    /// # Errors
    /// When the database fails or a stored document is unreadable.
    pub async fn not_in_backend(
        &self,
        backend: BackendKind,
        after: Option<&MediaId>,
        limit: i64,
    ) -> Result<Vec<MediaRecord>, RepoError> {
        self.matching(
            doc! { "backend": { "$ne": backend.as_str() } },
            after,
            limit,
        )
        .await
    }

    /// Media count and bytes per backend.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn totals_by_backend(&self) -> Result<Vec<(String, u64, u64)>, RepoError> {
        self.grouped_totals(vec![doc! { "$group": {
            "_id": "$backend",
            "count": { "$sum": 1 },
            "bytes": { "$sum": "$bytes" },
        } }])
        .await
    }

    /// Runs a pipeline ending in a `$group` with `count` and `bytes`.
    async fn grouped_totals(
        &self,
        pipeline: Vec<Document>,
    ) -> Result<Vec<(String, u64, u64)>, RepoError> {
        let rows: Vec<Document> = self.media.aggregate(pipeline).await?.try_collect().await?;
        let number = |d: &Document, k: &str| match d.get(k) {
            Some(Bson::Int32(v)) => u64::try_from(*v).unwrap_or(0),
            Some(Bson::Int64(v)) => u64::try_from(*v).unwrap_or(0),
            Some(Bson::Double(v)) => *v as u64,
            _ => 0,
        };
        let mut out: Vec<(String, u64, u64)> = rows
            .iter()
            .map(|d| {
                (
                    d.get_str("_id").unwrap_or("unknown").to_owned(),
                    number(d, "count"),
                    number(d, "bytes"),
                )
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Points a media at its copy in another backend, if it still is where
    /// the copy was made from. `false` when it moved or vanished meanwhile.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn switch_backend(
        &self,
        id: &MediaId,
        from: (BackendKind, &StorageKey),
        to: (BackendKind, &StorageKey),
    ) -> Result<bool, RepoError> {
        let result = self
            .media
            .update_one(
                doc! { "_id": id.as_str(), "backend": from.0.as_str(), "storage_key": from.1.as_str() },
                doc! {
                    "$set": {
                        "backend": to.0.as_str(),
                        "storage_key": to.1.as_str(),
                        "updated_at": DateTime::now(),
                    },
                    // A mirror there is either the copy being promoted or
                    // one the caller journalled: one copy per backend.
                    "$pull": { "mirrors": { "backend": to.0.as_str() } },
                },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    /// Records a mirror copy of a media that has none in that backend yet
    /// (the same bytes uploaded again after mirroring was turned on).
    /// `false` when the media has a copy there already, or is gone.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn add_mirror(&self, id: &MediaId, copy: &StoredCopy) -> Result<bool, RepoError> {
        let backend = copy.backend.as_str();
        let result = self
            .media
            .update_one(
                doc! {
                    "_id": id.as_str(),
                    "backend": { "$ne": backend },
                    "mirrors.backend": { "$ne": backend },
                },
                doc! { "$push": { "mirrors": {
                    "backend": backend,
                    "storage_key": copy.key.as_str(),
                } } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    /// Mirror copies per backend: count and bytes.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn mirror_totals(&self) -> Result<Vec<(String, u64, u64)>, RepoError> {
        self.grouped_totals(vec![
            doc! { "$unwind": "$mirrors" },
            doc! { "$group": {
                "_id": "$mirrors.backend",
                "count": { "$sum": 1 },
                "bytes": { "$sum": "$bytes" },
            } },
        ])
        .await
    }

    /// Media with no copy at all in `backend`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn count_without_copy_in(&self, backend: BackendKind) -> Result<u64, RepoError> {
        Ok(self
            .media
            .count_documents(doc! {
                "backend": { "$ne": backend.as_str() },
                "mirrors.backend": { "$ne": backend.as_str() },
            })
            .await?)
    }

    /// # Errors
    /// When the database fails.
    pub async fn save_migration(&self, run: &MigrationRun) -> Result<(), RepoError> {
        self.migrations
            .replace_one(doc! { "_id": run.id }, run)
            .upsert(true)
            .await?;
        Ok(())
    }

    /// The newest migration run, finished or not.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn latest_migration(&self) -> Result<Option<MigrationRun>, RepoError> {
        Ok(self
            .migrations
            .find_one(doc! { "to": { "$exists": true } })
            .sort(doc! { "started_at": -1 })
            .await?)
    }

    /// Remembers a sweep's outcome for the status report.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn record_sweep(&self, report: Document) -> Result<(), RepoError> {
        self.migrations
            .clone_with_type::<Document>()
            .replace_one(doc! { "_id": "last-sweep" }, report)
            .upsert(true)
            .await?;
        Ok(())
    }

    /// # Errors
    /// When the database fails.
    pub async fn last_sweep(&self) -> Result<Option<Document>, RepoError> {
        Ok(self
            .migrations
            .clone_with_type::<Document>()
            .find_one(doc! { "_id": "last-sweep" })
            .await?)
    }
}
