//! Moving media between backends (`avenue-media migrate-store --to ...`).
//!
//! For each media not yet in the target: read the original, check it
//! against its recorded size and SHA-256, write a copy under a journalled
//! key, read the copy back and check it the same way, and only then switch
//! the record (conditionally, so a concurrent edit or delete wins). The old
//! bytes are journalled rather than deleted: readers that looked the record
//! up a moment ago keep working, and the sweeper removes them after the
//! grace period. A crash at any point leaves either the old record (the
//! copy is swept) or the new one: the run can simply be started again.

use bytes::Bytes;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

use crate::media::library::MediaError;
use crate::media::repo::MediaRecord;
use crate::media::MediaLibrary;
use crate::store::{BackendKind, StorageKey};

const BATCH: i64 = 100;

/// Where a migration reports what it does (a progress bar, or log lines).
pub trait Progress {
    fn start(&self, media: u64, bytes: u64);
    fn moved(&self, record: &MediaRecord);
    fn failed(&self, record: &MediaRecord, reason: &str);
    fn finish(&self);
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub moved: u64,
    pub bytes: u64,
    /// Changed or deleted by someone else while being copied.
    pub skipped: u64,
    pub failed: u64,
}

/// Moves every media to `to`.
///
/// # Errors
/// When the database fails or the target backend is not configured; a
/// single media that cannot be moved is reported and skipped instead.
pub async fn migrate(
    library: &MediaLibrary,
    to: BackendKind,
    progress: &dyn Progress,
) -> Result<MigrationReport, MediaError> {
    let repo = library.repo();
    library.stores().get(to)?;
    let (media, bytes) = repo
        .totals_by_backend()
        .await?
        .into_iter()
        .filter(|(backend, _, _)| backend != to.as_str())
        .fold((0, 0), |(m, b), (_, count, size)| (m + count, b + size));
    progress.start(media, bytes);
    let mut report = MigrationReport::default();
    let mut after = None;
    loop {
        let batch = repo.not_in_backend(to, after.as_ref(), BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        for record in batch {
            match move_one(library, &record, to).await {
                Ok(true) => {
                    report.moved += 1;
                    report.bytes += record.bytes;
                    progress.moved(&record);
                }
                Ok(false) => report.skipped += 1,
                Err(reason) => {
                    report.failed += 1;
                    progress.failed(&record, &reason);
                }
            }
        }
    }
    progress.finish();
    Ok(report)
}

fn verify(bytes: &[u8], record: &MediaRecord) -> Result<(), String> {
    if bytes.len() as u64 != record.bytes {
        return Err(format!("{} bytes, expected {}", bytes.len(), record.bytes));
    }
    let digest = hex::encode(Sha256::digest(bytes));
    if digest != record.sha256 {
        return Err(format!("SHA-256 {digest}, expected {}", record.sha256));
    }
    Ok(())
}

async fn read_all(
    library: &MediaLibrary,
    backend: BackendKind,
    key: &StorageKey,
) -> Result<Bytes, String> {
    let store = library.stores().get(backend).map_err(|e| e.to_string())?;
    let chunks: Vec<Bytes> = store
        .read(key, None)
        .await
        .map_err(|e| e.to_string())?
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Bytes::from(chunks.concat()))
}

/// `Ok(false)` when the record changed under us.
async fn move_one(
    library: &MediaLibrary,
    record: &MediaRecord,
    to: BackendKind,
) -> Result<bool, String> {
    let repo = library.repo();
    let source = read_all(library, record.backend, &record.storage_key).await?;
    verify(&source, record).map_err(|e| format!("the original is damaged: {e}"))?;

    let target = library.stores().get(to).map_err(|e| e.to_string())?;
    let key = target.new_key();
    repo.stage(&key, to).await.map_err(|e| e.to_string())?;
    let copied = async {
        let mut writer = target.open_writer(&key).await.map_err(|e| e.to_string())?;
        writer.write(&source).await.map_err(|e| e.to_string())?;
        writer.finish().await.map_err(|e| e.to_string())?;
        let copy = read_all(library, to, &key).await?;
        verify(&copy, record).map_err(|e| format!("the copy does not match: {e}"))
    }
    .await;
    let discard_copy = || async {
        if target.delete(&key).await.is_ok() {
            let _ = repo.unstage(&key).await;
        }
    };
    if let Err(reason) = copied {
        discard_copy().await;
        return Err(reason);
    }
    // The old bytes go to the journal before the switch, so a crash right
    // after it cannot orphan them. While the record still points at them the
    // sweeper only clears the entry; after the switch it removes them once
    // the grace period has passed and no reader can still hold the old record.
    repo.stage(&record.storage_key, record.backend)
        .await
        .map_err(|e| e.to_string())?;
    let mut switched = repo
        .switch_backend(
            &record.id,
            (record.backend, &record.storage_key),
            (to, &key),
        )
        .await
        .map_err(|e| e.to_string())?;
    if !switched {
        // "Nothing modified" can also mean the driver retried an update that
        // had been applied: the record then already points at our copy.
        switched = repo
            .get(&record.id)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|now| now.backend == to && now.storage_key == key);
    }
    if !switched {
        let _ = repo.unstage(&record.storage_key).await;
        discard_copy().await;
        return Ok(false);
    }
    let _ = repo.unstage(&key).await;
    Ok(true)
}
