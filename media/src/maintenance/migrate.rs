//! Moving media between backends (`avenue-media migrate-store --to ...`).
//!
//! For each media not yet served from the target: find or make a copy
//! there, check it against the recorded size and SHA-256, and only then
//! switch the record (conditionally, so a concurrent edit or delete wins).
//! A mirror copy already in the target (mirror mode) is checked and
//! promoted instead of copied again. The old bytes are journalled rather
//! than deleted: readers that looked the record up a moment ago keep
//! working, and the sweeper removes them after the grace period. A crash at
//! any point leaves either the old record (the copy is swept) or the new
//! one: the run can simply be started again.
//!
//! Each run is recorded in `media_migrations` and kept up to date, so the
//! storage status of any instance shows its progress.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use mongodb::bson::DateTime;
use sha2::{Digest, Sha256};

use crate::media::library::variant_backend;
use crate::media::repo::{MediaRecord, MediaRepo, MigrationRun, RunState, VariantDoc};
use crate::media::MediaError;
use crate::media::MediaLibrary;
use crate::store::{BackendKind, ResourceKind, StorageKey, StoredCopy};

const BATCH: i64 = 100;
/// How often a run writes its progress (and so proves it is alive).
const HEARTBEAT: Duration = Duration::from_secs(1);

pub use avenue_shared::progress::Progress;

#[derive(Debug, Clone, Copy)]
pub struct MigrationPlan {
    pub to: BackendKind,
    /// Also move rendered variants kept in a store (small ones live inline
    /// in MongoDB and need no move). Variants can always be rendered again,
    /// so this only matters when the old backend is to be retired.
    pub variants: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub moved: u64,
    pub bytes: u64,
    /// Of `moved`: mirror copies promoted without copying any bytes.
    pub promoted: u64,
    /// Changed or deleted by someone else while being copied.
    pub skipped: u64,
    pub failed: u64,
    pub variants_moved: u64,
}

/// Moves every media (and, if asked, every stored variant) to `plan.to`.
///
/// # Errors
/// When the database fails or the target backend is not configured; a
/// single media that cannot be moved is reported and skipped instead.
pub async fn migrate(
    library: &MediaLibrary,
    plan: MigrationPlan,
    progress: &dyn Progress,
) -> Result<MigrationReport, MediaError> {
    let repo = library.repo();
    library.stores().get(plan.to)?;
    let (media, bytes) = repo
        .totals_by_backend()
        .await?
        .into_iter()
        .filter(|(backend, _, _)| backend != plan.to.as_str())
        .fold((0, 0), |(m, b), (_, count, size)| (m + count, b + size));
    progress.start(media, bytes);
    let mut log = RunLog::start(repo, plan.to, media, bytes).await?;
    let mut report = MigrationReport::default();
    let mut after = None;
    loop {
        let batch = repo.not_in_backend(plan.to, after.as_ref(), BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        for record in batch {
            match move_one(library, &record, plan.to).await {
                Ok(outcome) if outcome != Outcome::Skipped => {
                    report.moved += 1;
                    report.bytes += record.bytes;
                    if outcome == Outcome::Promoted {
                        report.promoted += 1;
                    }
                    progress.advance(record.bytes);
                }
                Ok(_) => report.skipped += 1,
                Err(reason) => {
                    report.failed += 1;
                    progress.failed(&format!("media {}", record.id), &reason);
                }
            }
            log.update(&report, false).await;
        }
    }
    if plan.variants {
        move_variants(library, plan.to, progress, &mut report, &mut log).await?;
    }
    log.update(&report, true).await;
    progress.finish();
    Ok(report)
}

async fn move_variants(
    library: &MediaLibrary,
    to: BackendKind,
    progress: &dyn Progress,
    report: &mut MigrationReport,
    log: &mut RunLog<'_>,
) -> Result<(), MediaError> {
    let mut after: Option<String> = None;
    loop {
        let batch = library
            .repo()
            .stored_variants_not_in(to, after.as_deref(), BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        for variant in batch {
            match move_variant(library, &variant, to).await {
                Ok(Outcome::Skipped) => report.skipped += 1,
                Ok(_) => report.variants_moved += 1,
                Err(reason) => {
                    report.failed += 1;
                    progress.failed(&format!("variant {}", variant.id), &reason);
                }
            }
            log.update(report, false).await;
        }
    }
    Ok(())
}

/// The migration's row in `media_migrations`. Failing to write it is
/// logged, never fatal: reporting must not stop the move itself.
struct RunLog<'a> {
    repo: &'a MediaRepo,
    run: MigrationRun,
    saved_at: Instant,
}

impl<'a> RunLog<'a> {
    async fn start(
        repo: &'a MediaRepo,
        to: BackendKind,
        media: u64,
        bytes: u64,
    ) -> Result<Self, MediaError> {
        let now = DateTime::now();
        let run = MigrationRun {
            id: mongodb::bson::oid::ObjectId::new(),
            to: to.as_str().to_owned(),
            state: RunState::Running,
            started_at: now,
            updated_at: now,
            total_media: i64::try_from(media).unwrap_or(i64::MAX),
            total_bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            moved: 0,
            moved_bytes: 0,
            skipped: 0,
            failed: 0,
            variants_moved: 0,
        };
        repo.save_migration(&run).await?;
        Ok(Self {
            repo,
            run,
            saved_at: Instant::now(),
        })
    }

    async fn update(&mut self, report: &MigrationReport, finished: bool) {
        if !finished && self.saved_at.elapsed() < HEARTBEAT {
            return;
        }
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.run.moved = count(report.moved);
        self.run.moved_bytes = count(report.bytes);
        self.run.skipped = count(report.skipped);
        self.run.failed = count(report.failed);
        self.run.variants_moved = count(report.variants_moved);
        self.run.updated_at = DateTime::now();
        if finished {
            self.run.state = RunState::Finished;
        }
        if let Err(err) = self.repo.save_migration(&self.run).await {
            tracing::warn!(error = %err, "could not record migration progress");
        }
        self.saved_at = Instant::now();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Copied,
    Promoted,
    /// The record changed under us; nothing was moved.
    Skipped,
}

/// What a copy must be: its length, and its SHA-256 when recorded.
struct Expected<'a> {
    bytes: u64,
    sha256: Option<&'a str>,
}

fn verify(bytes: &[u8], expected: &Expected<'_>) -> Result<(), String> {
    if bytes.len() as u64 != expected.bytes {
        return Err(format!(
            "{} bytes, expected {}",
            bytes.len(),
            expected.bytes
        ));
    }
    if let Some(sha256) = expected.sha256 {
        let digest = hex::encode(Sha256::digest(bytes));
        if digest != sha256 {
            return Err(format!("SHA-256 {digest}, expected {sha256}"));
        }
    }
    Ok(())
}

async fn read_all(library: &MediaLibrary, copy: &StoredCopy) -> Result<Bytes, String> {
    let store = library
        .stores()
        .get(copy.backend)
        .map_err(|e| e.to_string())?;
    let chunks: Vec<Bytes> = store
        .read(&copy.key, None)
        .await
        .map_err(|e| e.to_string())?
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Bytes::from(chunks.concat()))
}

/// Reads `source`, checks it, writes it to `to` under a journalled key and
/// checks a read-back of the copy against the source's SHA-256. The key
/// stays journalled until the caller switches a record to it.
async fn copy_verified(
    library: &MediaLibrary,
    source: &StoredCopy,
    expected: &Expected<'_>,
    to: BackendKind,
    kind: ResourceKind,
) -> Result<StorageKey, String> {
    let original = read_all(library, source).await?;
    verify(&original, expected).map_err(|e| format!("the original is damaged: {e}"))?;
    let sha256 = hex::encode(Sha256::digest(&original));
    let target = library.stores().get(to).map_err(|e| e.to_string())?;
    let key = target.new_key(kind);
    library
        .repo()
        .stage(&key, to)
        .await
        .map_err(|e| e.to_string())?;
    let copied = async {
        let mut writer = target.open_writer(&key).await.map_err(|e| e.to_string())?;
        writer.write(&original).await.map_err(|e| e.to_string())?;
        writer.finish().await.map_err(|e| e.to_string())?;
        let copy = read_all(
            library,
            &StoredCopy {
                backend: to,
                key: key.clone(),
            },
        )
        .await?;
        verify(
            &copy,
            &Expected {
                bytes: expected.bytes,
                sha256: Some(&sha256),
            },
        )
        .map_err(|e| format!("the copy does not match: {e}"))
    }
    .await;
    if let Err(reason) = copied {
        discard(library, to, &key).await;
        return Err(reason);
    }
    Ok(key)
}

async fn discard(library: &MediaLibrary, backend: BackendKind, key: &StorageKey) {
    if let Ok(store) = library.stores().get(backend) {
        if store.delete(key).await.is_ok() {
            let _ = library.repo().unstage(key).await;
        }
    }
}

/// A mirror copy in `to` that checks out, ready to be promoted. A damaged
/// one is journalled: the switch drops it from the record, then the
/// sweeper removes its bytes.
async fn usable_mirror(
    library: &MediaLibrary,
    record: &MediaRecord,
    to: BackendKind,
) -> Result<Option<StorageKey>, String> {
    let Some(mirror) = record.mirrors.iter().find(|c| c.backend == to) else {
        return Ok(None);
    };
    let expected = Expected {
        bytes: record.bytes,
        sha256: Some(&record.sha256),
    };
    let checked = match read_all(library, mirror).await {
        Ok(bytes) => verify(&bytes, &expected),
        Err(reason) => Err(reason),
    };
    match checked {
        Ok(()) => Ok(Some(mirror.key.clone())),
        Err(reason) => {
            tracing::warn!(media = %record.id, %reason, "mirror copy unusable; copying afresh");
            library
                .repo()
                .stage(&mirror.key, to)
                .await
                .map_err(|e| e.to_string())?;
            Ok(None)
        }
    }
}

async fn move_one(
    library: &MediaLibrary,
    record: &MediaRecord,
    to: BackendKind,
) -> Result<Outcome, String> {
    let repo = library.repo();
    let (key, outcome) = match usable_mirror(library, record, to).await? {
        Some(key) => (key, Outcome::Promoted),
        None => {
            let source = StoredCopy {
                backend: record.backend,
                key: record.storage_key.clone(),
            };
            let expected = Expected {
                bytes: record.bytes,
                sha256: Some(&record.sha256),
            };
            let kind = record.format.resource();
            let key = copy_verified(library, &source, &expected, to, kind).await?;
            (key, Outcome::Copied)
        }
    };
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
        if outcome == Outcome::Copied {
            discard(library, to, &key).await;
        }
        return Ok(Outcome::Skipped);
    }
    if outcome == Outcome::Copied {
        let _ = repo.unstage(&key).await;
    }
    Ok(outcome)
}

async fn move_variant(
    library: &MediaLibrary,
    variant: &VariantDoc,
    to: BackendKind,
) -> Result<Outcome, String> {
    let repo = library.repo();
    let Some(old_key) = variant.storage_key.as_deref().map(StorageKey::new) else {
        return Ok(Outcome::Skipped);
    };
    let source = StoredCopy {
        backend: variant_backend(variant),
        key: old_key.clone(),
    };
    let expected = Expected {
        bytes: u64::try_from(variant.bytes).unwrap_or(0),
        sha256: None,
    };
    // Variants are always rendered images.
    let key = copy_verified(library, &source, &expected, to, ResourceKind::Image).await?;
    repo.stage(&old_key, source.backend)
        .await
        .map_err(|e| e.to_string())?;
    let switched = repo
        .switch_variant(&variant.id, &old_key, (to, &key))
        .await
        .map_err(|e| e.to_string())?
        || repo
            .variant(&variant.id)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|now| now.storage_key.as_deref() == Some(key.as_str()));
    if !switched {
        let _ = repo.unstage(&old_key).await;
        discard(library, to, &key).await;
        return Ok(Outcome::Skipped);
    }
    let _ = repo.unstage(&key).await;
    Ok(Outcome::Copied)
}
