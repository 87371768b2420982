//! The `media` collection: one document per media, `_id` = media id.

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use avenue_shared::{MediaId, MediaRef};

use super::{from_bson_time, is_duplicate_key, to_bson_time, unclaimed, MediaRepo, RepoError};
use crate::media::fields::{Alt, Folder, MediaPatch, Tags, LIBRARY_FOLDER};
use crate::process::format::FileFormat;
use crate::store::{BackendKind, StorageKey, StoredCopy};
use base64::Engine;

/// One media as the service knows it.
#[derive(Debug, Clone)]
pub struct MediaRecord {
    pub id: MediaId,
    pub format: FileFormat,
    /// A BlurHash of the image, computed at upload (none for videos,
    /// documents and media stored before placeholders existed).
    pub placeholder: Option<String>,
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
    /// Uploaded for a form that may never be saved: expires unclaimed.
    /// Everything else (library assets, and media from before the flag
    /// existed) stays until someone deletes it.
    pub pending: bool,
    /// The file name it was uploaded under, as given.
    pub original_name: Option<String>,
}

/// The stored shape; kept apart so the domain type can hold parsed values.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct MediaDoc {
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
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pending: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    placeholder: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CopyDoc {
    backend: String,
    storage_key: String,
}

impl MediaDoc {
    pub(super) fn from_record(record: &MediaRecord) -> Self {
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
            pending: record.pending,
            original_name: record.original_name.clone(),
            placeholder: record.placeholder.clone(),
        }
    }

    pub(super) fn into_record(self) -> Result<MediaRecord, RepoError> {
        let corrupt = |reason: String| RepoError::Corrupt {
            id: self.id.clone(),
            reason,
        };
        let id = MediaId::parse(&self.id).map_err(|e| corrupt(e.to_string()))?;
        let format = FileFormat::from_mime(&self.content_type)
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
            pending: self.pending,
            original_name: self.original_name,
            placeholder: self.placeholder,
            id,
        })
    }
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
    pub tag: Option<crate::media::fields::Tag>,
    /// Only media no record uses.
    pub unused: bool,
    /// Words the original file name contains, any case.
    pub name: Option<String>,
    pub limit: u32,
    pub after: Option<PageCursor>,
}

impl MediaRepo {
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

    /// The media among `ids` that exist, in no particular order.
    ///
    /// # Errors
    /// When the database fails or a stored document is unreadable.
    pub async fn get_many(&self, ids: &[MediaId]) -> Result<Vec<MediaRecord>, RepoError> {
        let wanted: Vec<&str> = ids.iter().map(MediaId::as_str).collect();
        let docs: Vec<MediaDoc> = self
            .media
            .find(doc! { "_id": { "$in": wanted } })
            .await?
            .try_collect()
            .await?;
        docs.into_iter().map(MediaDoc::into_record).collect()
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
        if query.unused {
            filter.insert("refs.0", doc! { "$exists": false });
        }
        if let Some(name) = query
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let pattern = avenue_shared::db::regex_escape(name);
            filter.insert("original_name", doc! { "$regex": pattern, "$options": "i" });
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

    /// Marks a media a library asset (`to_library`) and names it, where
    /// asked.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn keep_as_library(
        &self,
        id: &MediaId,
        to_library: bool,
        original_name: Option<&str>,
    ) -> Result<(), RepoError> {
        let mut set = doc! { "updated_at": DateTime::now() };
        if let Some(name) = original_name {
            set.insert("original_name", name);
        }
        let mut update = doc! { "$set": set };
        if to_library {
            update.insert("$unset", doc! { "pending": "" });
        }
        self.media
            .update_one(doc! { "_id": id.as_str() }, update)
            .await?;
        Ok(())
    }

    /// Pending uploads nobody claims: uploaded before `pending_cutoff` and
    /// never claimed, or whose last claim went before `release_cutoff`.
    /// Library assets never expire; only a delete removes them.
    pub fn expired_filter(
        pending_cutoff: OffsetDateTime,
        release_cutoff: OffsetDateTime,
    ) -> Document {
        doc! { "$and": [
            { "pending": true },
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
}

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
