//! `legacy_urls`: each old link an import brought home, and the media it
//! now is, so the api can redirect the old link (see
//! `avenue_shared::legacy_urls`).

use mongodb::bson::{doc, DateTime};

use avenue_shared::legacy_urls::old_path;
use avenue_shared::MediaId;

use super::{MediaRepo, RepoError};

impl MediaRepo {
    /// Remembers that `old_link` is now `media` (delivered at
    /// `delivery_path`, relative to the public base). Idempotent; a link
    /// imported again points at what it holds now.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn remember_old_link(
        &self,
        old_link: &str,
        media: &MediaId,
        delivery_path: &str,
        source: &str,
    ) -> Result<(), RepoError> {
        let Some(key) = old_path(old_link) else {
            return Ok(());
        };
        self.legacy_urls
            .update_one(
                doc! { "_id": key },
                doc! {
                    "$set": {
                        "media_id": media.as_str(),
                        "delivery_path": delivery_path,
                        "source": source,
                        "updated_at": DateTime::now(),
                    },
                    "$setOnInsert": { "created_at": DateTime::now() },
                },
            )
            .upsert(true)
            .await?;
        Ok(())
    }
}
