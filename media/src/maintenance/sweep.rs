//! The sweeper keeps the store free of garbage, in three passes:
//!
//! 1. Unfinished writes: every object in the staging journal older than
//!    the grace period is either owned by a media record (the crash came
//!    after the commit: only the entry is cleared) or garbage (partial or
//!    deleted bytes: removed).
//! 2. Lifecycle: media nobody claimed within `pending_ttl` of their upload,
//!    and media whose last claim was released more than `release_grace`
//!    ago, are deleted with their variants. The "still unclaimed" condition
//!    is part of each delete, so a claim that lands meanwhile wins.
//! 3. Orphans: stored objects older than the grace period that no media,
//!    mirror, variant or journal entry knows (chunks of an upload whose
//!    process died before it was journalled, say) are removed.

use std::time::Duration;

use mongodb::bson::{doc, DateTime};
use time::OffsetDateTime;

use crate::media::repo::MediaRepo;
use crate::media::MediaError;
use crate::media::MediaLibrary;

const BATCH: i64 = 200;

#[derive(Debug, Clone, Copy)]
pub struct SweepPolicy {
    pub staging_grace: Duration,
    pub pending_ttl: Duration,
    pub release_grace: Duration,
    /// Whether to look for orphaned objects too. That pass lists every
    /// stored object, so the service runs it daily, not at every sweep.
    pub orphans: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Abandoned objects whose bytes were removed (or would be, in a dry run).
    pub removed: u64,
    /// Entries left by a crash after commit; the media is intact.
    pub cleared: u64,
    /// Uploads nobody claimed in time.
    pub expired_pending: u64,
    /// Media whose last claim was released long enough ago.
    pub expired_released: u64,
    /// Stored objects nothing knows.
    pub orphans: u64,
}

/// Runs one pass. With `dry_run` nothing is changed.
///
/// # Errors
/// Database or store failures; a pass can simply be run again.
pub async fn sweep_once(
    library: &MediaLibrary,
    policy: SweepPolicy,
    dry_run: bool,
) -> Result<SweepReport, MediaError> {
    let now = OffsetDateTime::now_utc();
    let cutoff = now - policy.staging_grace;
    let repo = library.repo();
    let mut report = SweepReport::default();
    for (key, backend) in repo.staged_before(cutoff).await? {
        if repo.references_key(&key).await? {
            report.cleared += 1;
            if !dry_run {
                repo.unstage(&key).await?;
            }
        } else {
            report.removed += 1;
            if !dry_run {
                library.stores().get(backend)?.delete(&key).await?;
                repo.unstage(&key).await?;
                tracing::info!(%key, "removed abandoned upload");
            }
        }
    }
    expire(
        library,
        now - policy.pending_ttl,
        now - policy.release_grace,
        dry_run,
        &mut report,
    )
    .await?;
    for store in library.stores().all().iter().filter(|_| policy.orphans) {
        for key in store.keys_before(cutoff).await? {
            if repo.references_key(&key).await? || repo.is_staged(&key).await? {
                continue;
            }
            report.orphans += 1;
            if !dry_run {
                store.delete(&key).await?;
                tracing::info!(%key, "removed an orphaned object");
            }
        }
    }
    if !dry_run {
        record(repo, &report).await;
    }
    Ok(report)
}

async fn expire(
    library: &MediaLibrary,
    pending_cutoff: OffsetDateTime,
    release_cutoff: OffsetDateTime,
    dry_run: bool,
    report: &mut SweepReport,
) -> Result<(), MediaError> {
    let repo = library.repo();
    let filter = MediaRepo::expired_filter(pending_cutoff, release_cutoff);
    let mut after = None;
    loop {
        let batch = repo.matching(filter.clone(), after.as_ref(), BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        for record in batch {
            let released = record.released_at.is_some();
            let gone = dry_run || library.remove(&record, filter.clone()).await?;
            if gone {
                if released {
                    report.expired_released += 1;
                } else {
                    report.expired_pending += 1;
                }
                if !dry_run {
                    tracing::info!(media = %record.id, released, "deleted unclaimed media");
                }
            }
        }
    }
    Ok(())
}

async fn record(repo: &MediaRepo, report: &SweepReport) {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let entry = doc! {
        "_id": "last-sweep",
        "at": DateTime::now(),
        "removed_unfinished": count(report.removed),
        "cleared": count(report.cleared),
        "expired_pending": count(report.expired_pending),
        "expired_released": count(report.expired_released),
        "orphans": count(report.orphans),
    };
    if let Err(err) = repo.record_sweep(entry).await {
        tracing::warn!(error = %err, "could not record the sweep");
    }
}
