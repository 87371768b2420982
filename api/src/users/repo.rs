//! `users` in MongoDB.

use crate::indexes::IndexSpec;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{Collection, Database};

use avenue_shared::Role;

use super::model::{Email, RefreshDoc, UserDoc};
use crate::adopt;
use crate::db::{regex_escape, DbError, OnDuplicate};

pub use super::model::USERS;
/// Sessions kept per user; the oldest go first.
const MAX_SESSIONS: usize = 10;

#[derive(Clone)]
pub struct UserRepo {
    users: Collection<UserDoc>,
    /// The same collection untyped: every read goes through the converter,
    /// so accounts the old back end wrote sign in before `adopt-data`.
    stored: Collection<Document>,
}

/// The account `id` unless it was erased: no write brings a tombstone
/// back to life (a sign-in or reset that raced the erasure).
fn live(id: ObjectId) -> Document {
    doc! { "_id": id, "erased_at": { "$exists": false } }
}

/// Reads a stored user, ours or the old back end's.
fn read(stored: Document) -> Result<UserDoc, DbError> {
    adopt::read_as(USERS, stored, adopt::users::convert).map_err(DbError::Legacy)
}

impl UserRepo {
    pub fn new(db: &Database) -> Self {
        Self {
            users: db.collection(USERS),
            stored: db.collection(USERS),
        }
    }

    async fn find_one(&self, filter: Document) -> Result<Option<UserDoc>, DbError> {
        self.stored.find_one(filter).await?.map(read).transpose()
    }

    /// Emails unique among accounts that have one.
    pub fn indexes() -> Vec<IndexSpec> {
        vec![
            IndexSpec::unique_where(USERS, doc! { "email": 1 }, "string"),
            IndexSpec::legacy_id(USERS),
        ]
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
        if let Some(user) = self.find_one(doc! { "email": email.as_str() }).await? {
            return Ok(Some(user));
        }
        // The old back end stored addresses as typed (`Ana@Example.com`);
        // until `adopt-data` lower-cases them, look them up ignoring case.
        let exact = format!("^{}$", regex_escape(email.as_str()));
        self.find_one(doc! { "email": { "$regex": exact, "$options": "i" } })
            .await
    }

    /// # Errors
    /// When the database fails.
    pub async fn by_id(&self, id: ObjectId) -> Result<Option<UserDoc>, DbError> {
        self.find_one(doc! { "_id": id }).await
    }

    /// Replaces an old-scheme hash by `hash` (argon2id) after a sign-in
    /// proved the password, and drops the old hash fields with it. Only if
    /// the stored hash is still `old`, so a concurrent reset wins.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn upgrade_hash(&self, id: ObjectId, old: &str, hash: &str) -> Result<bool, DbError> {
        let mut matches_old = Vec::new();
        for field in ["password_hash", "hashed_password", "password"] {
            matches_old.push(doc! { field: old });
        }
        let updated = self
            .stored
            .update_one(
                doc! { "_id": id, "$or": matches_old },
                doc! {
                    "$set": { "password_hash": hash, "updated_at": DateTime::now() },
                    "$unset": { "hashed_password": "", "password": "" },
                },
            )
            .await?;
        Ok(updated.modified_count == 1)
    }

    /// Newest first among those `within` selects (a time window, a
    /// cursor), at most `limit`; `search` matches part of the e-mail or the
    /// name, any case.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn list(
        &self,
        role: Option<&Role>,
        search: Option<&str>,
        within: Document,
        limit: i64,
    ) -> Result<Vec<UserDoc>, DbError> {
        let mut filter = within;
        if let Some(role) = role {
            filter.insert("role", mongodb::bson::to_bson(role)?);
        }
        if let Some(search) = search {
            let pattern = regex_escape(search);
            filter.insert(
                "$or",
                vec![
                    doc! { "email": { "$regex": &pattern, "$options": "i" } },
                    doc! { "name": { "$regex": &pattern, "$options": "i" } },
                ],
            );
        }
        let stored: Vec<Document> = self
            .stored
            .find(filter)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        Ok(crate::db::readable(USERS, stored, read))
    }

    /// Adds a session, dropping expired ones and the oldest beyond the cap.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn add_session(&self, id: ObjectId, session: RefreshDoc) -> Result<(), DbError> {
        self.users
            .update_one(
                live(id),
                doc! { "$pull": { "refresh_tokens": { "expires_at": { "$lt": DateTime::now() } } } },
            )
            .await?;
        self.users
            .update_one(
                live(id),
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

    /// Sets a new password hash and ends every session, access tokens
    /// included.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn set_password(&self, id: ObjectId, hash: &str) -> Result<(), DbError> {
        self.users
            .update_one(
                live(id),
                doc! {
                    "$set": {
                        "password_hash": hash,
                        "refresh_tokens": [],
                        "updated_at": DateTime::now(),
                    },
                    // The old back end's hash, if any, must not outlive a reset.
                    "$unset": { "hashed_password": "", "password": "" },
                    "$inc": { "token_epoch": 1_i64 },
                },
            )
            .await?;
        Ok(())
    }

    /// Ends every session of `id`: its refresh tokens, and the access
    /// tokens already issued (their epoch is passed).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn end_sessions(&self, id: ObjectId) -> Result<(), DbError> {
        self.users
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "refresh_tokens": [] }, "$inc": { "token_epoch": 1_i64 } },
            )
            .await?;
        Ok(())
    }

    /// Turns an account on or off; off ends its sessions too, in the same
    /// write, so no refresh slips between.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn set_active(&self, id: ObjectId, active: bool) -> Result<Option<UserDoc>, DbError> {
        let mut set = doc! { "is_active": active, "updated_at": DateTime::now() };
        if !active {
            set.insert("refresh_tokens", mongodb::bson::Bson::Array(Vec::new()));
        }
        // Either way, tokens issued before stop: off ends them, and on must
        // not bring back those issued before the account went off.
        self.change(id, doc! { "is_active": { "$ne": active } }, set)
            .await
    }

    /// Applies `set` to live account `id`, raising its token epoch only if
    /// `changes` matched (the write really changes something), so an admin
    /// repeating a role or reactivating an active account signs nobody out.
    async fn change(
        &self,
        id: ObjectId,
        changes: Document,
        set: Document,
    ) -> Result<Option<UserDoc>, DbError> {
        let mut changing = live(id);
        changing.extend(changes);
        let changed = self
            .stored
            .find_one_and_update(
                changing,
                doc! { "$set": set.clone(), "$inc": { "token_epoch": 1_i64 } },
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await?;
        let stored = match changed {
            Some(stored) => Some(stored),
            None => {
                self.stored
                    .find_one_and_update(live(id), doc! { "$set": set })
                    .return_document(mongodb::options::ReturnDocument::After)
                    .await?
            }
        };
        stored.map(read).transpose()
    }

    /// Sets a confirmed new address and ends every session, in one write.
    ///
    /// # Errors
    /// 409 `email-taken` when another account has it; database failures.
    pub async fn set_email(&self, id: ObjectId, email: &str) -> Result<UserDoc, DbError> {
        self.stored
            .find_one_and_update(
                live(id),
                doc! { "$set": {
                    "email": email,
                    "refresh_tokens": mongodb::bson::Bson::Array(Vec::new()),
                    "updated_at": DateTime::now(),
                }, "$inc": { "token_epoch": 1_i64 } },
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .on_duplicate("email-taken", "an account with this email exists")?
            .map(read)
            .transpose()?
            .ok_or_else(|| DbError::Mongo(mongodb::error::Error::custom("the account is gone")))
    }

    /// # Errors
    /// When the database fails.
    pub async fn set_role(&self, id: ObjectId, role: &Role) -> Result<Option<UserDoc>, DbError> {
        let role = mongodb::bson::to_bson(role)?;
        self.change(
            id,
            doc! { "role": { "$ne": role.clone() } },
            doc! { "role": role, "updated_at": DateTime::now() },
        )
        .await
    }
}
