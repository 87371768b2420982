//! Opening an account: one path for self-service registration and the
//! command-line `create-admin`, so both parse and hash alike.

use mongodb::bson::{oid::ObjectId, DateTime};

use avenue_shared::Role;

use super::model::{parse_name, Email, NewPassword, UserDoc};
use super::{Hasher, UserRepo};
use crate::db::DbError;
use crate::fields::FieldError;

/// Why an account was not opened.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The email is taken (a conflict) or the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("password hashing failed")]
    Hash(#[source] anyhow::Error),
}

/// Parses the request's fields, hashes the password and stores the user.
///
/// # Errors
/// [`AccountError::Field`] for a bad email, name or password;
/// [`DbError::Conflict`] `email-taken` when the address is registered.
pub async fn create(
    users: &UserRepo,
    hasher: &Hasher,
    email: &str,
    name: &str,
    password: String,
    role: Role,
) -> Result<UserDoc, AccountError> {
    let email = Email::parse_deliverable(email, "email")?;
    let password = NewPassword::parse(password, "password")?;
    let name = parse_name(name, "name")?;
    let now = DateTime::now();
    let user = UserDoc {
        id: ObjectId::new(),
        email: email.as_str().to_owned(),
        name,
        role,
        password_hash: hasher
            .hash(password.expose())
            .await
            .map_err(AccountError::Hash)?,
        refresh_tokens: Vec::new(),
        is_active: true,
        erased_at: None,
        token_epoch: 0,
        legacy_id: None,
        created_at: now,
        updated_at: now,
    };
    users.insert(&user).await?;
    Ok(user)
}
