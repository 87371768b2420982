//! Operations on the media library: upload (ingest then commit), read,
//! list, edit and delete, keeping metadata and bytes consistent.

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use mongodb::bson::Document;
use time::OffsetDateTime;
use url::Url;

use avenue_shared::{MediaDescriptor, MediaId, MediaRef};

use super::error::MediaError;
use super::fields::{MediaPatch, UploadFields};
use super::ingest::{ingest, Cleanup, StagedObject};
use super::repo::{ListQuery, MediaRecord, MediaRepo, PageCursor, RepoError};
use crate::config::Limits;
use crate::store::{
    BackendKind, ByteRange, ByteStream, ResourceKind, StorageKey, Store, StoredCopy, Stores,
};

/// What an upload did: stored new bytes, or found the same bytes already there.
pub struct UploadOutcome {
    pub record: MediaRecord,
    pub created: bool,
}

#[derive(Clone)]
pub struct MediaLibrary {
    repo: MediaRepo,
    stores: Stores,
    limits: Limits,
    public_url: Url,
    /// Delivery's view of records: every CDN miss would otherwise cost a
    /// database round trip. Entries live briefly and are dropped here on
    /// edit and delete; another instance may serve a deleted media for up
    /// to [`DELIVERY_RECORD_TTL`], far less than any CDN keeps it.
    delivery_records: moka::future::Cache<MediaId, MediaRecord>,
    /// Decodes of new originals running at once (see `ingest`).
    decode_permits: Arc<tokio::sync::Semaphore>,
    /// Where removals are journalled for the CDN to forget them (none
    /// without `MEDIA_PURGE`).
    purges: Option<crate::purge::PurgeJournal>,
}

/// How long delivery trusts a record it has read.
pub const DELIVERY_RECORD_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl MediaLibrary {
    pub fn new(repo: MediaRepo, stores: Stores, limits: Limits, public_url: Url) -> Self {
        Self {
            repo,
            stores,
            limits,
            public_url,
            delivery_records: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(DELIVERY_RECORD_TTL)
                .build(),
            decode_permits: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            purges: None,
        }
    }

    pub fn purge_journal(&self) -> Option<&crate::purge::PurgeJournal> {
        self.purges.as_ref()
    }

    /// Journals a CDN purge for every media removed from now on.
    #[must_use]
    pub fn with_purges(mut self, journal: crate::purge::PurgeJournal) -> Self {
        self.purges = Some(journal);
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn repo(&self) -> &MediaRepo {
        &self.repo
    }

    /// Where new bytes go.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.stores.primary()
    }

    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    fn cleanup(&self) -> Cleanup {
        Cleanup {
            repo: self.repo.clone(),
            stores: self.stores.clone(),
            decode_permits: self.decode_permits.clone(),
        }
    }

    /// Streams an upload body into the store. The result is invisible until
    /// [`MediaLibrary::commit`].
    ///
    /// # Errors
    /// See [`MediaError`]; nothing is left behind on error.
    pub async fn ingest<S, E>(&self, body: S) -> Result<StagedObject, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        ingest(body, self.limits, self.cleanup()).await
    }

    /// Writes bytes the service made itself (a rendered variant) to the
    /// store under a journalled key. The key stays staged until
    /// [`MediaLibrary::adopt_variant`].
    ///
    /// # Errors
    /// Store or database failures; nothing is left visible.
    pub async fn ingest_trusted(&self, bytes: Bytes) -> Result<StorageKey, MediaError> {
        let store = self.stores.primary();
        let key = store.new_key(ResourceKind::Image);
        self.repo.stage(&key, store.backend()).await?;
        let written = async {
            let mut writer = store.open_writer(&key).await?;
            writer.write(&bytes).await?;
            writer.finish().await
        }
        .await;
        if let Err(err) = written {
            self.cleanup().discard(&key, store.backend()).await;
            return Err(err.into());
        }
        Ok(key)
    }

    /// Records a variant (its bytes inline, or staged under `key`), or drops
    /// the copy when another instance recorded the same variant first.
    pub async fn adopt_variant(&self, key: Option<StorageKey>, doc: &super::repo::VariantDoc) {
        match self.repo.insert_variant(doc).await {
            Ok(()) => {
                // The media may have been deleted while this variant was
                // rendered: its delete listed variants before this insert, so
                // clean up here (the check comes after the insert, so one of
                // the two always sees the other).
                let media_gone = match MediaId::parse(&doc.media_id) {
                    Ok(id) => matches!(self.repo.get(&id).await, Ok(None)),
                    Err(_) => true,
                };
                if media_gone {
                    if let Err(err) = self.repo.delete_variant(&doc.id).await {
                        tracing::warn!(variant = %doc.id, error = %err, "could not drop a variant of a deleted media");
                        return;
                    }
                    if let Some(key) = &key {
                        self.cleanup().discard(key, variant_backend(doc)).await;
                    }
                    return;
                }
                if let Some(key) = &key {
                    if let Err(err) = self.repo.unstage(key).await {
                        tracing::warn!(%key, error = %err, "could not clear staging entry");
                    }
                }
            }
            Err(RepoError::Duplicate) if key.is_some() => {
                // Another instance recorded it first, or our own insert
                // committed and only its reply was lost: look before
                // deleting bytes a record may name.
                let ours = match self.repo.variant(&doc.id).await {
                    Ok(Some(stored)) => stored.storage_key == doc.storage_key,
                    Ok(None) => false,
                    Err(err) => {
                        tracing::warn!(variant = %doc.id, error = %err, "could not check a variant; keeping its bytes for the sweeper");
                        return;
                    }
                };
                if let Some(key) = &key {
                    if ours {
                        if let Err(err) = self.repo.unstage(key).await {
                            tracing::warn!(%key, error = %err, "could not clear staging entry");
                        }
                    } else {
                        self.cleanup().discard(key, variant_backend(doc)).await;
                    }
                }
            }
            // An inline variant has no bytes elsewhere to lose.
            Err(RepoError::Duplicate) => {}
            Err(err) => {
                // Perhaps written after all (a lost reply): the journalled
                // bytes wait for the sweeper, which keeps what a record names.
                tracing::warn!(variant = %doc.id, error = %err, "could not record a variant");
            }
        }
    }

    /// Removes a staged upload now instead of in the background.
    pub async fn discard(&self, mut staged: StagedObject) {
        staged.disarm();
        self.cleanup().discard(&staged.key, staged.backend).await;
    }

    /// Makes a staged upload a media, or, when the same bytes are already a
    /// media, drops the new copy and answers the existing one.
    ///
    /// # Errors
    /// Database failures; the staged bytes are discarded.
    pub async fn commit(
        &self,
        mut staged: StagedObject,
        fields: UploadFields,
        owner: &str,
    ) -> Result<UploadOutcome, MediaError> {
        let id = MediaId::from_sha256(&staged.sha256);
        if let Some(existing) = self.repo.get(&id).await? {
            let existing = self.promote(existing, &fields).await?;
            return Ok(self.keep_existing(staged, existing).await);
        }
        let record = MediaRecord {
            id: id.clone(),
            format: staged.format,
            placeholder: staged.placeholder.clone(),
            bytes: staged.bytes,
            width: staged.width,
            height: staged.height,
            sha256: hex::encode(staged.sha256),
            backend: staged.backend,
            storage_key: staged.key.clone(),
            mirrors: staged.mirror.iter().cloned().collect(),
            refs: Vec::new(),
            released_at: None,
            folder: fields.folder.clone(),
            tags: fields.tags.clone(),
            alt: fields.alt.clone(),
            owner: owner.to_owned(),
            // Stored with millisecond precision: answer what a later read will.
            created_at: truncate_to_millis(OffsetDateTime::now_utc()),
            pending: fields.pending,
            original_name: fields.original_name.clone(),
        };
        match self.repo.insert(&record).await {
            Ok(()) => Ok(self.adopted(staged, record).await),
            Err(RepoError::Duplicate) => {
                let existing = self.repo.get(&id).await?.ok_or(MediaError::NotFound)?;
                if existing.storage_key == staged.key && existing.backend == staged.backend {
                    // Our own insert: it committed, its reply was lost (the
                    // database went away) and the driver's retry met it.
                    // Treating it as someone else's would delete the bytes
                    // this very record names.
                    return Ok(self.adopted(staged, existing).await);
                }
                // Lost a race with a concurrent upload of the same bytes.
                let existing = self.promote(existing, &fields).await?;
                Ok(self.keep_existing(staged, existing).await)
            }
            Err(err) => {
                // The insert may have committed with only its reply lost:
                // the bytes stay journalled, and the sweeper removes them
                // later unless a record names them after all.
                staged.disarm();
                Err(err.into())
            }
        }
    }

    /// The same bytes uploaded again: into the library, a pending upload
    /// becomes a library asset (never the other way), and a media without
    /// a file name takes this one's.
    async fn promote(
        &self,
        mut existing: MediaRecord,
        fields: &UploadFields,
    ) -> Result<MediaRecord, MediaError> {
        let to_library = existing.pending && !fields.pending;
        let name = existing
            .original_name
            .is_none()
            .then(|| fields.original_name.clone())
            .flatten();
        if to_library || name.is_some() {
            self.repo
                .keep_as_library(&existing.id, to_library, name.as_deref())
                .await?;
            existing.pending &= !to_library;
            if name.is_some() {
                existing.original_name = name;
            }
        }
        Ok(existing)
    }

    /// The record naming `staged` is written: its bytes are the media's now.
    async fn adopted(&self, mut staged: StagedObject, record: MediaRecord) -> UploadOutcome {
        staged.disarm();
        for key in std::iter::once(&staged.key).chain(staged.mirror.as_ref().map(|c| &c.key)) {
            if let Err(err) = self.repo.unstage(key).await {
                // Harmless: the sweeper sees the record and only clears the entry.
                tracing::warn!(%key, error = %err, "could not clear staging entry");
            }
        }
        UploadOutcome {
            record,
            created: true,
        }
    }

    /// The same bytes are a media already: the new copy goes, except a
    /// mirror copy the media lacks (it was stored before mirroring began).
    async fn keep_existing(
        &self,
        mut staged: StagedObject,
        mut existing: MediaRecord,
    ) -> UploadOutcome {
        staged.disarm();
        let cleanup = self.cleanup();
        cleanup.discard(&staged.key, staged.backend).await;
        if let Some(copy) = staged.mirror.take() {
            match self.repo.add_mirror(&existing.id, &copy).await {
                Ok(true) => {
                    if let Err(err) = self.repo.unstage(&copy.key).await {
                        tracing::warn!(key = %copy.key, error = %err, "could not clear staging entry");
                    }
                    existing.mirrors.push(copy);
                }
                Ok(false) => cleanup.discard(&copy.key, copy.backend).await,
                Err(err) => {
                    tracing::warn!(error = %err, "could not record a mirror copy");
                    cleanup.discard(&copy.key, copy.backend).await;
                }
            }
        }
        UploadOutcome {
            record: existing,
            created: false,
        }
    }

    /// A record for delivery, from a short-lived cache.
    ///
    /// # Errors
    /// [`MediaError::NotFound`] for unknown ids.
    pub async fn get_for_delivery(&self, id: &MediaId) -> Result<MediaRecord, MediaError> {
        if let Some(record) = self.delivery_records.get(id).await {
            return Ok(record);
        }
        let record = self.get(id).await?;
        self.delivery_records
            .insert(id.clone(), record.clone())
            .await;
        Ok(record)
    }

    /// # Errors
    /// [`MediaError::NotFound`] for unknown ids.
    pub async fn get(&self, id: &MediaId) -> Result<MediaRecord, MediaError> {
        self.repo.get(id).await?.ok_or(MediaError::NotFound)
    }

    /// # Errors
    /// Database failures.
    pub async fn list(
        &self,
        query: &ListQuery,
    ) -> Result<(Vec<MediaRecord>, Option<PageCursor>), MediaError> {
        Ok(self.repo.list(query).await?)
    }

    /// # Errors
    /// [`MediaError::NotFound`] for unknown ids.
    pub async fn update(
        &self,
        id: &MediaId,
        patch: &MediaPatch,
    ) -> Result<MediaRecord, MediaError> {
        self.repo
            .update(id, patch)
            .await?
            .ok_or(MediaError::NotFound)
    }

    /// Deletes the record, then the bytes, unless something claims it. The
    /// bytes are journalled first, so a crash in between leaves work for
    /// the sweeper, not an orphan.
    ///
    /// # Errors
    /// [`MediaError::NotFound`] for unknown ids, [`MediaError::InUse`] for
    /// claimed ones.
    pub async fn delete(&self, id: &MediaId) -> Result<(), MediaError> {
        let record = self.get(id).await?;
        if self.remove(&record, super::repo::unclaimed()).await? {
            return Ok(());
        }
        match self.repo.get(id).await? {
            Some(claimed) if !claimed.refs.is_empty() => Err(MediaError::InUse(claimed.refs)),
            _ => Err(MediaError::NotFound),
        }
    }

    /// Deletes the media whatever claims it (a privacy request).
    ///
    /// # Errors
    /// Database or store failures.
    pub async fn erase(&self, record: &MediaRecord) -> Result<bool, MediaError> {
        self.remove(record, Document::new()).await
    }

    /// Deletes the media if it still matches `condition` when the delete
    /// runs; `false` when it did not (claimed meanwhile, or gone).
    ///
    /// # Errors
    /// Database or store failures.
    pub async fn remove(
        &self,
        record: &MediaRecord,
        condition: Document,
    ) -> Result<bool, MediaError> {
        let id = &record.id;
        self.delivery_records.invalidate(id).await;
        let copies: Vec<StoredCopy> = std::iter::once(StoredCopy {
            backend: record.backend,
            key: record.storage_key.clone(),
        })
        .chain(record.mirrors.iter().cloned())
        .collect();
        for copy in &copies {
            self.repo.stage(&copy.key, copy.backend).await?;
        }
        // Journalled before the record goes, so no crash can lose it.
        let purge = match &self.purges {
            Some(journal) => Some(
                journal
                    .enqueue(id, &self.delivery_url(record))
                    .await
                    .map_err(super::repo::RepoError::from)?,
            ),
            None => None,
        };
        if !self.repo.delete_where(id, condition).await? {
            for copy in &copies {
                self.repo.unstage(&copy.key).await?;
            }
            if let (Some(journal), Some(entry)) = (&self.purges, purge) {
                journal.withdraw(entry).await;
            }
            return Ok(false);
        }
        for copy in &copies {
            self.cleanup().discard(&copy.key, copy.backend).await;
        }
        // Variants go with their media; each is journalled like the original.
        for variant in self.repo.variants_of(id).await? {
            match &variant.storage_key {
                Some(key) => {
                    let key = StorageKey::new(key.clone());
                    let backend = variant_backend(&variant);
                    self.repo.stage(&key, backend).await?;
                    self.repo.delete_variant(&variant.id).await?;
                    self.cleanup().discard(&key, backend).await;
                }
                None => self.repo.delete_variant(&variant.id).await?,
            }
        }
        Ok(true)
    }

    /// Claims the media for `reference` (idempotent).
    ///
    /// # Errors
    /// [`MediaError::NotFound`] for unknown ids.
    pub async fn claim(
        &self,
        id: &MediaId,
        reference: &MediaRef,
        on_behalf_of: Option<&str>,
    ) -> Result<MediaRecord, MediaError> {
        match self.repo.claim(id, reference, on_behalf_of).await? {
            Some(record) => Ok(record),
            None if on_behalf_of.is_some() && self.repo.get(id).await?.is_some() => {
                Err(MediaError::NotYours)
            }
            None => Err(MediaError::NotFound),
        }
    }

    /// Releases a claim (idempotent, also for unknown ids).
    ///
    /// # Errors
    /// Database failures.
    pub async fn release(&self, id: &MediaId, reference: &MediaRef) -> Result<(), MediaError> {
        Ok(self.repo.release(id, reference).await?)
    }

    /// Streams the original, or part of it.
    ///
    /// # Errors
    /// Store failures.
    pub async fn read_original(
        &self,
        record: &MediaRecord,
        range: Option<ByteRange>,
    ) -> Result<ByteStream, MediaError> {
        let store = self.stores.get(record.backend)?;
        Ok(store.read(&record.storage_key, range).await?)
    }

    /// The absolute delivery URL of the original.
    pub fn delivery_url(&self, record: &MediaRecord) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!(
            "{base}/{}/upload/{}.{}",
            record.format.resource().as_str(),
            record.id,
            record.format.extension()
        )
    }

    pub fn describe(&self, record: &MediaRecord) -> MediaDescriptor {
        MediaDescriptor {
            id: record.id.clone(),
            content_type: record.format.mime().to_owned(),
            resource_type: record.format.resource().as_str().to_owned(),
            placeholder: record.placeholder.clone(),
            bytes: record.bytes,
            width: record.width,
            height: record.height,
            sha256: record.sha256.clone(),
            backend: record.backend.as_str().to_owned(),
            mirrors: record
                .mirrors
                .iter()
                .map(|copy| copy.backend.as_str().to_owned())
                .collect(),
            refs: record.refs.clone(),
            folder: record.folder.as_ref().map(|f| f.as_str().to_owned()),
            tags: record.tags.to_strings(),
            alt: record.alt.as_ref().map(|a| a.as_str().to_owned()),
            original_name: record.original_name.clone(),
            pending: record.pending,
            created_at: record.created_at,
            url: self.delivery_url(record),
        }
    }
}

fn truncate_to_millis(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(at)
}

/// The backend a stored variant's bytes are in (GridFS for documents
/// written before the field existed).
pub fn variant_backend(doc: &super::repo::VariantDoc) -> BackendKind {
    doc.backend
        .as_deref()
        .and_then(BackendKind::parse)
        .unwrap_or(BackendKind::GridFs)
}
