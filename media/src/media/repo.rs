//! Media metadata in MongoDB: collection `media` (one document per media,
//! `_id` = media id) and `media_staging`, a journal of objects being written
//! or deleted whose bytes must not outlive a crash.

use base64::Engine;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use avenue_shared::{MediaId, MediaRef};

use super::fields::{Alt, Folder, MediaPatch, Tags, LIBRARY_FOLDER};
use super::format::ImageFormat;
use crate::store::{BackendKind, StorageKey, StoredCopy};

pub const MEDIA: &str = "media";
pub const STAGING: &str = "media_staging";
pub const VARIANTS: &str = "media_variants";
pub const MIGRATIONS: &str = "media_migrations";

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

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("a media with this id already exists")]
    Duplicate,
    #[error("stored media document {id} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("database failed")]
    Database(#[from] mongodb::error::Error),
}

/// One media as the service knows it.
#[derive(Debug, Clone)]
pub struct MediaRecord {
    pub id: MediaId,
    pub format: ImageFormat,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Lower-case hex SHA-256 of the original.
    pub sha256: String,
    /// Where the copy that is served lives.
    pub backend: BackendKind,
    pub storage_key: StorageKey,
    /// Further copies in other backends (mirror mode), at most one each.
    pub mirrors: Vec<StoredCopy>,
    /// Records that use this media (`collection:id`); it is not deleted
    /// while any remain.
    pub refs: Vec<MediaRef>,
    /// When the last claim was released (none: never claimed, or claimed now).
    pub released_at: Option<OffsetDateTime>,
    pub folder: Option<Folder>,
    pub tags: Tags,
    pub alt: Option<Alt>,
    /// `sub` of the token that first uploaded it.
    pub owner: String,
    pub created_at: OffsetDateTime,
}

/// The stored shape; kept apart so the domain type can hold parsed values.
#[derive(Debug, Serialize, Deserialize)]
struct MediaDoc {
    #[serde(rename = "_id")]
    id: String,
    content_type: String,
    bytes: i64,
    width: i64,
    height: i64,
    sha256: String,
    backend: String,
    storage_key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mirrors: Vec<CopyDoc>,
    #[serde(default)]
    refs: Vec<String>,
    /// When the last claim was released; the lifecycle sweeper's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    released_at: Option<DateTime>,
    folder: Option<String>,
    tags: Vec<String>,
    alt: Option<String>,
    owner: String,
    created_at: DateTime,
    updated_at: DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct CopyDoc {
    backend: String,
    storage_key: String,
}

impl MediaDoc {
    fn from_record(record: &MediaRecord) -> Self {
        let created = to_bson_time(record.created_at);
        Self {
            id: record.id.to_string(),
            content_type: record.format.mime().to_owned(),
            bytes: record.bytes as i64,
            width: i64::from(record.width),
            height: i64::from(record.height),
            sha256: record.sha256.clone(),
            backend: record.backend.as_str().to_owned(),
            storage_key: record.storage_key.as_str().to_owned(),
            mirrors: record
                .mirrors
                .iter()
                .map(|copy| CopyDoc {
                    backend: copy.backend.as_str().to_owned(),
                    storage_key: copy.key.as_str().to_owned(),
                })
                .collect(),
            refs: record.refs.iter().map(|r| r.as_str().to_owned()).collect(),
            released_at: record.released_at.map(to_bson_time),
            folder: record.folder.as_ref().map(|f| f.as_str().to_owned()),
            tags: record.tags.to_strings(),
            alt: record.alt.as_ref().map(|a| a.as_str().to_owned()),
            owner: record.owner.clone(),
            created_at: created,
            updated_at: created,
        }
    }

    fn into_record(self) -> Result<MediaRecord, RepoError> {
        let corrupt = |reason: String| RepoError::Corrupt {
            id: self.id.clone(),
            reason,
        };
        let id = MediaId::parse(&self.id).map_err(|e| corrupt(e.to_string()))?;
        let format = ImageFormat::from_mime(&self.content_type)
            .ok_or_else(|| corrupt(format!("content type {}", self.content_type)))?;
        let backend = BackendKind::parse(&self.backend)
            .ok_or_else(|| corrupt(format!("backend {}", self.backend)))?;
        let folder = self
            .folder
            .as_deref()
            .map(Folder::parse)
            .transpose()
            .map_err(|e| corrupt(e.to_string()))?;
        let tags = Tags::parse_list(self.tags.iter().map(String::as_str))
            .map_err(|e| corrupt(e.to_string()))?;
        let alt = self
            .alt
            .as_deref()
            .map(Alt::parse)
            .transpose()
            .map_err(|e| corrupt(e.to_string()))?;
        let mirrors = self
            .mirrors
            .iter()
            .map(|copy| {
                BackendKind::parse(&copy.backend)
                    .map(|backend| StoredCopy {
                        backend,
                        key: StorageKey::new(copy.storage_key.clone()),
                    })
                    .ok_or_else(|| corrupt(format!("mirror backend {}", copy.backend)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let refs = self
            .refs
            .iter()
            .map(|r| MediaRef::parse(r).map_err(|e| corrupt(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let dimension = |v: i64| u32::try_from(v).map_err(|_| corrupt(format!("dimension {v}")));
        Ok(MediaRecord {
            format,
            bytes: u64::try_from(self.bytes).map_err(|_| corrupt("negative size".into()))?,
            width: dimension(self.width)?,
            height: dimension(self.height)?,
            sha256: self.sha256,
            backend,
            storage_key: StorageKey::new(self.storage_key),
            mirrors,
            refs,
            released_at: self.released_at.map(from_bson_time),
            folder,
            tags,
            alt,
            owner: self.owner,
            created_at: from_bson_time(self.created_at),
            id,
        })
    }
}

fn to_bson_time(at: OffsetDateTime) -> DateTime {
    DateTime::from_millis((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn from_bson_time(at: DateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.timestamp_millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Position after the last item of a page: listings sort newest first, ties
/// broken by id, so (created_at, id) is a total order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    created_at_ms: i64,
    id: MediaId,
}

impl PageCursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{}:{}", self.created_at_ms, self.id))
    }

    /// `None` when the text is not a cursor this service handed out.
    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (ms, id) = text.split_once(':')?;
        Some(Self {
            created_at_ms: ms.parse().ok()?,
            id: MediaId::parse(id).ok()?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub folder: Option<Folder>,
    pub tag: Option<super::fields::Tag>,
    pub limit: u32,
    pub after: Option<PageCursor>,
}

#[derive(Clone)]
pub struct MediaRepo {
    media: Collection<MediaDoc>,
    staging: Collection<Document>,
    variants: Collection<VariantDoc>,
    migrations: Collection<MigrationRun>,
}

impl MediaRepo {
    pub fn new(db: &Database) -> Self {
        Self {
            media: db.collection(MEDIA),
            staging: db.collection(STAGING),
            variants: db.collection(VARIANTS),
            migrations: db.collection(MIGRATIONS),
        }
    }

    /// # Errors
    /// When the database refuses.
    pub async fn ensure_indexes(&self) -> Result<(), RepoError> {
        let indexes = [
            doc! { "created_at": -1, "_id": -1 },
            doc! { "folder": 1, "created_at": -1, "_id": -1 },
            doc! { "tags": 1, "created_at": -1, "_id": -1 },
            doc! { "storage_key": 1 },
            doc! { "mirrors.storage_key": 1 },
        ];
        for keys in indexes {
            self.media
                .create_index(IndexModel::builder().keys(keys).build())
                .await?;
        }
        self.variants
            .create_index(IndexModel::builder().keys(doc! { "media_id": 1 }).build())
            .await?;
        self.variants
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "storage_key": 1 })
                    .build(),
            )
            .await?;
        self.staging
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "touched_at": 1 })
                    .options(IndexOptions::builder().build())
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// # Errors
    /// [`RepoError::Duplicate`] when a media with the same id exists.
    pub async fn insert(&self, record: &MediaRecord) -> Result<(), RepoError> {
        match self.media.insert_one(MediaDoc::from_record(record)).await {
            Ok(_) => Ok(()),
            Err(err) if is_duplicate_key(&err) => Err(RepoError::Duplicate),
            Err(err) => Err(err.into()),
        }
    }

    /// # Errors
    /// When the database fails or the stored document is unreadable.
    pub async fn get(&self, id: &MediaId) -> Result<Option<MediaRecord>, RepoError> {
        self.media
            .find_one(doc! { "_id": id.as_str() })
            .await?
            .map(MediaDoc::into_record)
            .transpose()
    }

    /// # Errors
    /// When the database fails.
    pub async fn references_key(&self, key: &StorageKey) -> Result<bool, RepoError> {
        let filter = doc! { "storage_key": key.as_str() };
        let in_mirrors = doc! { "mirrors.storage_key": key.as_str() };
        Ok(self.media.find_one(filter.clone()).await?.is_some()
            || self.media.find_one(in_mirrors).await?.is_some()
            || self.variants.find_one(filter).await?.is_some())
    }

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

    /// One page, newest first, and the cursor of the next page if any.
    ///
    /// # Errors
    /// When the database fails or a stored document is unreadable.
    pub async fn list(
        &self,
        query: &ListQuery,
    ) -> Result<(Vec<MediaRecord>, Option<PageCursor>), RepoError> {
        let mut filter = Document::new();
        if let Some(folder) = &query.folder {
            filter.insert("folder", folder.as_str());
        }
        if let Some(tag) = &query.tag {
            filter.insert("tags", tag.as_str());
        }
        if let Some(after) = &query.after {
            let at = DateTime::from_millis(after.created_at_ms);
            filter.insert(
                "$or",
                vec![
                    Bson::Document(doc! { "created_at": { "$lt": at } }),
                    Bson::Document(doc! { "created_at": at, "_id": { "$lt": after.id.as_str() } }),
                ],
            );
        }
        let limit = i64::from(query.limit);
        let docs: Vec<MediaDoc> = self
            .media
            .find(filter)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(limit + 1)
            .await?
            .try_collect()
            .await?;
        let mut records = docs
            .into_iter()
            .map(MediaDoc::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if records.len() as i64 > limit {
            records.truncate(query.limit as usize);
            records.last().map(|last| PageCursor {
                created_at_ms: to_bson_time(last.created_at).timestamp_millis(),
                id: last.id.clone(),
            })
        } else {
            None
        };
        Ok((records, next))
    }

    /// Applies `patch` and answers the updated record, `None` if unknown.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn update(
        &self,
        id: &MediaId,
        patch: &MediaPatch,
    ) -> Result<Option<MediaRecord>, RepoError> {
        let mut set = doc! { "updated_at": DateTime::now() };
        let mut unset = Document::new();
        match &patch.folder {
            Some(Some(folder)) => {
                set.insert("folder", folder.as_str());
            }
            Some(None) => {
                unset.insert("folder", "");
            }
            None => {}
        }
        match &patch.alt {
            Some(Some(alt)) => {
                set.insert("alt", alt.as_str());
            }
            Some(None) => {
                unset.insert("alt", "");
            }
            None => {}
        }
        if let Some(tags) = &patch.tags {
            set.insert("tags", tags.to_strings());
        }
        let mut update = doc! { "$set": set };
        if !unset.is_empty() {
            update.insert("$unset", unset);
        }
        self.media
            .find_one_and_update(doc! { "_id": id.as_str() }, update)
            .return_document(mongodb::options::ReturnDocument::After)
            .await?
            .map(MediaDoc::into_record)
            .transpose()
    }

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
        let mut filter = doc! { "backend": { "$ne": backend.as_str() } };
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after.as_str() });
        }
        let docs: Vec<MediaDoc> = self
            .media
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        docs.into_iter().map(MediaDoc::into_record).collect()
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

    /// Deletes the media if it also matches `condition` (for example "no
    /// claims"). `false` when it is unknown or does not match (the caller
    /// tells which apart). The condition is part of the delete itself, so a
    /// claim landing meanwhile always wins.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn delete_where(&self, id: &MediaId, condition: Document) -> Result<bool, RepoError> {
        let mut filter = doc! { "_id": id.as_str() };
        filter.extend(condition);
        Ok(self.media.delete_one(filter).await?.deleted_count == 1)
    }

    /// Media nobody claims: uploaded before `pending_cutoff` and never
    /// claimed, or whose last claim went before `release_cutoff`.
    pub fn expired_filter(
        pending_cutoff: OffsetDateTime,
        release_cutoff: OffsetDateTime,
    ) -> Document {
        doc! { "$and": [
            unclaimed(),
            { "$or": [
                { "released_at": { "$exists": false }, "created_at": { "$lt": to_bson_time(pending_cutoff) } },
                { "released_at": { "$lt": to_bson_time(release_cutoff) } },
            ] },
        ] }
    }

    /// Media matching `filter`, by id after `after`.
    ///
    /// # Errors
    /// When the database fails or a stored document is unreadable.
    pub async fn matching(
        &self,
        filter: Document,
        after: Option<&MediaId>,
        limit: i64,
    ) -> Result<Vec<MediaRecord>, RepoError> {
        let mut filter = filter;
        if let Some(after) = after {
            filter = doc! { "$and": [ filter, { "_id": { "$gt": after.as_str() } } ] };
        }
        let docs: Vec<MediaDoc> = self
            .media
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        docs.into_iter().map(MediaDoc::into_record).collect()
    }

    /// # Errors
    /// When the database fails.
    pub async fn count(&self, filter: Document) -> Result<u64, RepoError> {
        Ok(self.media.count_documents(filter).await?)
    }

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

    /// Adds `reference` to the media's claims. `None` when it is unknown.
    ///
    /// # Errors
    /// When the database fails or the stored document is unreadable.
    pub async fn claim(
        &self,
        id: &MediaId,
        reference: &MediaRef,
        on_behalf_of: Option<&str>,
    ) -> Result<Option<MediaRecord>, RepoError> {
        let mut filter = doc! { "_id": id.as_str() };
        if let Some(owner) = on_behalf_of {
            // Part of the update's filter, so the rule and the claim are
            // one atomic step.
            filter.insert(
                "$or",
                vec![
                    doc! { "owner": owner },
                    doc! { "folder": LIBRARY_FOLDER },
                    doc! { "folder": { "$regex": format!("^{LIBRARY_FOLDER}/") } },
                ],
            );
        }
        self.media
            .find_one_and_update(
                filter,
                doc! {
                    "$addToSet": { "refs": reference.as_str() },
                    "$unset": { "released_at": "" },
                },
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await?
            .map(MediaDoc::into_record)
            .transpose()
    }

    /// Removes `reference` from the media's claims; notes when the last one
    /// went. Releasing what is not claimed changes nothing.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn release(&self, id: &MediaId, reference: &MediaRef) -> Result<(), RepoError> {
        let pulled = self
            .media
            .update_one(
                doc! { "_id": id.as_str(), "refs": reference.as_str() },
                doc! { "$pull": { "refs": reference.as_str() } },
            )
            .await?;
        if pulled.modified_count == 1 {
            self.media
                .update_one(
                    doc! { "_id": id.as_str(), "refs": { "$size": 0 } },
                    doc! { "$set": { "released_at": DateTime::now() } },
                )
                .await?;
        }
        Ok(())
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

/// No claims: `refs` absent or empty.
pub fn unclaimed() -> Document {
    doc! { "$or": [ { "refs": { "$exists": false } }, { "refs": { "$size": 0 } } ] }
}

pub use avenue_shared::db::is_duplicate_key;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = PageCursor {
            created_at_ms: 1_700_000_000_123,
            id: MediaId::parse("0123456789abcdef0123456789abcdef").expect("valid id"),
        };
        assert_eq!(PageCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(PageCursor::decode("not a cursor"), None);
        assert_eq!(PageCursor::decode("MTIzOmZvbw"), None); // "123:foo"
    }
}
