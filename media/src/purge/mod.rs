//! Telling the CDN to forget. Every removal of a media (delete, erase by
//! owner, the sweeper) writes a purge into `purges` before the record goes,
//! so a crash cannot lose it; a background dispatcher sends due purges in
//! batches to the configured target and retries failures with backoff
//! (the journal survives restarts). A purge of something that then was not
//! removed only makes the CDN fetch it again.

pub mod targets;

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{Collection, Database};

use avenue_shared::retry::{after, doubling};
use avenue_shared::MediaId;

pub use targets::{PurgeTarget, Purger};

pub const PURGES: &str = "purges";

/// The tag every delivery answer of a media carries (`Surrogate-Key`,
/// `Cache-Tag`), and its purges name.
pub fn tag(id: &MediaId) -> String {
    format!("media-{id}")
}
/// Purges sent in one request (Cloudflare takes 30 tags a call).
const BATCH: i64 = 30;
/// A leased purge whose dispatcher died is taken again after this.
const LEASE: Duration = Duration::from_secs(120);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// `MEDIA_PURGE` and how patiently it is retried.
#[derive(Debug, Clone)]
pub struct PurgeSettings {
    pub target: Option<PurgeTarget>,
    /// How often due purges are looked for.
    pub interval: Duration,
    /// Wait after the first failure, doubled after each further one.
    pub first_backoff: Duration,
    /// Attempts before a purge is marked `failed` (listed in the storage
    /// status; the CDN then keeps the image until its cache expires).
    pub max_attempts: u32,
}

impl Default for PurgeSettings {
    fn default() -> Self {
        Self {
            target: None,
            interval: Duration::from_secs(2),
            first_backoff: Duration::from_secs(10),
            max_attempts: 10,
        }
    }
}

/// What one batch asks the CDN to forget.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeBatch {
    pub ids: Vec<String>,
    /// `media-{id}`: every cached answer for the media carries it.
    pub tags: Vec<String>,
    /// The originals' delivery URLs, for targets that purge by URL.
    pub urls: Vec<String>,
}

/// The `purges` collection.
#[derive(Clone)]
pub struct PurgeJournal {
    purges: Collection<Document>,
}

impl PurgeJournal {
    pub fn new(db: &Database) -> Self {
        Self {
            purges: db.collection(PURGES),
        }
    }

    /// # Errors
    /// When the database refuses.
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        self.purges
            .create_index(
                mongodb::IndexModel::builder()
                    .keys(doc! { "status": 1, "next_attempt_at": 1 })
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// Journals a purge of `media`, whose original is at `url`; answers its
    /// entry, to withdraw if the removal does not happen after all.
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn enqueue(&self, media: &MediaId, url: &str) -> mongodb::error::Result<ObjectId> {
        let id = ObjectId::new();
        self.purges
            .insert_one(doc! {
                "_id": id,
                "media_id": media.as_str(),
                "tag": tag(media),
                "url": url,
                "status": "pending",
                "attempts": 0,
                "created_at": DateTime::now(),
                "next_attempt_at": DateTime::now(),
            })
            .await?;
        Ok(id)
    }

    /// Withdraws a purge whose removal did not happen.
    pub async fn withdraw(&self, entry: ObjectId) {
        if let Err(err) = self.purges.delete_one(doc! { "_id": entry }).await {
            tracing::warn!(error = %err, "an unneeded purge stays journalled; it only costs a refetch");
        }
    }

    /// Counts by status, for the storage status.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn counts(&self) -> mongodb::error::Result<Document> {
        let mut out = Document::new();
        for status in ["pending", "sending", "done", "failed"] {
            out.insert(
                status,
                self.purges
                    .count_documents(doc! { "status": status })
                    .await? as i64,
            );
        }
        Ok(out)
    }

    /// Sends every due purge, a batch at a time; answers how many were sent.
    ///
    /// # Errors
    /// When the database fails (a target's failure is recorded instead).
    pub async fn dispatch_due(
        &self,
        purger: &Purger,
        settings: &PurgeSettings,
    ) -> mongodb::error::Result<u64> {
        let mut sent = 0;
        loop {
            let lease = DateTime::now();
            let stale = DateTime::from_millis(
                lease.timestamp_millis() - i64::try_from(LEASE.as_millis()).unwrap_or(0),
            );
            let due = doc! { "$or": [
                { "status": "pending", "next_attempt_at": { "$lte": lease } },
                { "status": "sending", "leased_at": { "$lt": stale } },
            ] };
            let candidates: Vec<Document> = self
                .purges
                .find(due.clone())
                .sort(doc! { "next_attempt_at": 1 })
                .limit(BATCH)
                .await?
                .try_collect()
                .await?;
            // Each one leased on its own, so two dispatchers never send the
            // same purge at once.
            let mut batch_entries = Vec::new();
            for candidate in candidates {
                let Ok(id) = candidate.get_object_id("_id") else {
                    continue;
                };
                let mut leased = due.clone();
                leased.insert("_id", id);
                let taken = self
                    .purges
                    .find_one_and_update(
                        leased,
                        doc! { "$set": { "status": "sending", "leased_at": lease }, "$inc": { "attempts": 1 } },
                    )
                    .return_document(mongodb::options::ReturnDocument::After)
                    .await?;
                if let Some(entry) = taken {
                    batch_entries.push(entry);
                }
            }
            if batch_entries.is_empty() {
                return Ok(sent);
            }
            let mut batch = PurgeBatch::default();
            for entry in &batch_entries {
                for (field, list) in [
                    ("media_id", &mut batch.ids),
                    ("tag", &mut batch.tags),
                    ("url", &mut batch.urls),
                ] {
                    if let Ok(value) = entry.get_str(field) {
                        if !list.iter().any(|v| v == value) {
                            list.push(value.to_owned());
                        }
                    }
                }
            }
            let ids: Vec<ObjectId> = batch_entries
                .iter()
                .filter_map(|e| e.get_object_id("_id").ok())
                .collect();
            let attempts = batch_entries
                .iter()
                .filter_map(|e| e.get_i32("attempts").ok())
                .max()
                .unwrap_or(1);
            match purger.send(&batch).await {
                Ok(()) => {
                    sent += ids.len() as u64;
                    self.purges
                        .update_many(
                            doc! { "_id": { "$in": &ids } },
                            doc! { "$set": { "status": "done", "done_at": DateTime::now(), "target": purger.name() } },
                        )
                        .await?;
                    tracing::info!(purged = ids.len(), target = purger.name(), "CDN purge sent");
                }
                Err(reason) => {
                    let attempts = u32::try_from(attempts).unwrap_or(1);
                    let give_up = attempts >= settings.max_attempts;
                    let wait = doubling(settings.first_backoff, attempts, MAX_BACKOFF);
                    tracing::warn!(%reason, attempts, give_up, target = purger.name(), "CDN purge failed");
                    self.purges
                        .update_many(
                            doc! { "_id": { "$in": &ids } },
                            doc! { "$set": {
                                "status": if give_up { "failed" } else { "pending" },
                                "next_attempt_at": after(wait),
                                "last_error": reason,
                            } },
                        )
                        .await?;
                    // The rest waits for the next tick: the target is down.
                    return Ok(sent);
                }
            }
        }
    }
}
