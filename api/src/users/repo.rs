//! `users` in MongoDB.

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};

use avenue_shared::Role;

use super::model::{Email, RefreshDoc, UserDoc};
use crate::db::{DbError, OnDuplicate};

pub const USERS: &str = "users";
/// Sessions kept per user; the oldest go first.
const MAX_SESSIONS: usize = 10;

#[derive(Clone)]
pub struct UserRepo {
    users: Collection<UserDoc>,
}

impl UserRepo {
    pub fn new(db: &Database) -> Self {
        Self {
            users: db.collection(USERS),
        }
    }

    /// # Errors
    /// When the database refuses.
    pub async fn ensure_indexes(&self) -> Result<(), mongodb::error::Error> {
        self.users
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "email": 1 })
                    .options(IndexOptions::builder().unique(true).build())
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// # Errors
    /// 409 `email-taken` when the address is registered (in any case).
    pub async fn insert(&self, user: &UserDoc) -> Result<(), DbError> {
        self.users
            .insert_one(user)
            .await
            .on_duplicate("email-taken", "an account with this email exists")?;
        Ok(())
    }

    /// # Errors
    /// When the database fails.
    pub async fn by_email(&self, email: &Email) -> Result<Option<UserDoc>, DbError> {
        Ok(self
            .users
            .find_one(doc! { "email": email.as_str() })
            .await?)
    }

    /// # Errors
    /// When the database fails.
    pub async fn by_id(&self, id: ObjectId) -> Result<Option<UserDoc>, DbError> {
        Ok(self.users.find_one(doc! { "_id": id }).await?)
    }

    /// # Errors
    /// When the database fails.
    pub async fn list(&self, role: Option<&Role>, limit: i64) -> Result<Vec<UserDoc>, DbError> {
        let mut filter = doc! {};
        if let Some(role) = role {
            filter.insert("role", mongodb::bson::to_bson(role)?);
        }
        Ok(self
            .users
            .find(filter)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// Adds a session, dropping expired ones and the oldest beyond the cap.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn add_session(&self, id: ObjectId, session: RefreshDoc) -> Result<(), DbError> {
        self.users
            .update_one(
                doc! { "_id": id },
                doc! { "$pull": { "refresh_tokens": { "expires_at": { "$lt": DateTime::now() } } } },
            )
            .await?;
        self.users
            .update_one(
                doc! { "_id": id },
                doc! { "$push": { "refresh_tokens": {
                    "$each": [ mongodb::bson::to_bson(&session)? ],
                    "$slice": -(MAX_SESSIONS as i64),
                } } },
            )
            .await?;
        Ok(())
    }

    /// Consumes a session: `true` when it existed and had not expired.
    /// Atomic, so a refresh token works exactly once.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn take_session(&self, id: ObjectId, hash: &str) -> Result<bool, DbError> {
        let taken = self
            .users
            .update_one(
                doc! { "_id": id, "refresh_tokens": { "$elemMatch": {
                "hash": hash, "expires_at": { "$gt": DateTime::now() } } } },
                doc! { "$pull": { "refresh_tokens": { "hash": hash } } },
            )
            .await?;
        Ok(taken.modified_count == 1)
    }

    /// Sets a new password hash and ends every session.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn set_password(&self, id: ObjectId, hash: &str) -> Result<(), DbError> {
        self.users
            .update_one(
                doc! { "_id": id },
                doc! { "$set": {
                    "password_hash": hash,
                    "refresh_tokens": [],
                    "updated_at": DateTime::now(),
                } },
            )
            .await?;
        Ok(())
    }

    /// # Errors
    /// When the database fails.
    pub async fn set_role(&self, id: ObjectId, role: &Role) -> Result<Option<UserDoc>, DbError> {
        Ok(self
            .users
            .find_one_and_update(
                doc! { "_id": id },
                doc! { "$set": {
                    "role": mongodb::bson::to_bson(role)?,
                    "updated_at": DateTime::now(),
                } },
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await?)
    }
}
