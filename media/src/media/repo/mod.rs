//! Media metadata in MongoDB, one file per job: the media records
//! (`records`), the staging journal of objects being written or deleted whose
//! bytes must not outlive a crash (`staging`), persisted variants
//! (`variants`), and backend migrations with sweep reports (`migrations`).

mod legacy_urls;
mod migrations;
mod records;
mod staging;
mod variants;

use mongodb::bson::{doc, DateTime, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use time::OffsetDateTime;

pub use migrations::{MigrationRun, RunState};
pub use records::{ListQuery, MediaRecord, PageCursor};
pub use variants::VariantDoc;

use records::MediaDoc;

pub const MEDIA: &str = "media";
pub const STAGING: &str = "media_staging";
pub const VARIANTS: &str = "media_variants";
pub const MIGRATIONS: &str = "media_migrations";

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("a media with this id already exists")]
    Duplicate,
    #[error("stored media document {id} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("database failed")]
    Database(#[from] mongodb::error::Error),
}

#[derive(Clone)]
pub struct MediaRepo {
    media: Collection<MediaDoc>,
    staging: Collection<Document>,
    variants: Collection<VariantDoc>,
    migrations: Collection<MigrationRun>,
    legacy_urls: Collection<Document>,
}

impl MediaRepo {
    /// The MongoDB client behind the repository (to shut it down cleanly).
    pub fn client(&self) -> mongodb::Client {
        self.media.client().clone()
    }

    pub fn new(db: &Database) -> Self {
        Self {
            media: db.collection(MEDIA),
            staging: db.collection(STAGING),
            variants: db.collection(VARIANTS),
            migrations: db.collection(MIGRATIONS),
            legacy_urls: db.collection(avenue_shared::legacy_urls::LEGACY_URLS),
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
}

/// No claims: `refs` absent or empty.
pub fn unclaimed() -> Document {
    doc! { "$or": [ { "refs": { "$exists": false } }, { "refs": { "$size": 0 } } ] }
}

pub use avenue_shared::db::is_duplicate_key;

pub(super) fn to_bson_time(at: OffsetDateTime) -> DateTime {
    DateTime::from_millis((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(super) fn from_bson_time(at: DateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.timestamp_millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
