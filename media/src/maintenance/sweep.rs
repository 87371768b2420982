//! The sweeper finishes what crashed requests started: every object in the
//! staging journal older than the grace period is either owned by a media
//! record (the crash came after the commit: only the entry is cleared) or
//! garbage (partial or deleted bytes: removed with their GridFS chunks).

use std::time::Duration;

use time::OffsetDateTime;

use crate::media::library::MediaError;
use crate::media::MediaLibrary;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Abandoned objects whose bytes were removed (or would be, in a dry run).
    pub removed: u64,
    /// Entries left by a crash after commit; the media is intact.
    pub cleared: u64,
}

/// Runs one pass. With `dry_run` nothing is changed.
///
/// # Errors
/// Database or store failures; a pass can simply be run again.
pub async fn sweep_once(
    library: &MediaLibrary,
    grace: Duration,
    dry_run: bool,
) -> Result<SweepReport, MediaError> {
    let cutoff = OffsetDateTime::now_utc() - grace;
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
    Ok(report)
}
