//! Users as stored in `users`, and the parsed types a request must pass
//! through before it reaches them.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use avenue_shared::Role;

use crate::fields::FieldError;

pub const USERS: &str = "users";

/// An email address, trimmed and lower-cased: uniqueness is
/// case-insensitive because the stored form is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// 422 naming `field` unless the text looks like `local@domain.tld`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let bad = |why: &str| FieldError::new(field, why.to_owned());
        if email.len() > 254 {
            return Err(bad("an email address is at most 254 characters"));
        }
        let (local, domain) = email
            .split_once('@')
            .ok_or_else(|| bad("an email address has an @"))?;
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local.bytes().all(|b| b.is_ascii_graphic());
        if !(domain_ok && local_ok) {
            return Err(bad("not an email address"));
        }
        Ok(Self(email))
    }

    /// An address someone gives for their own account: also refused under
    /// `.invalid` (RFC 2606), which no mail reaches and where erased
    /// accounts keep their placeholder addresses.
    ///
    /// # Errors
    /// 422 naming `field`.
    pub fn parse_deliverable(raw: &str, field: &str) -> Result<Self, FieldError> {
        let email = Self::parse(raw, field)?;
        let domain = email.0.rsplit('@').next().unwrap_or("");
        if domain == "invalid" || domain.ends_with(".invalid") {
            return Err(FieldError::new(
                field,
                "an address under .invalid receives no mail",
            ));
        }
        Ok(email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 128 characters, not only spaces.
pub struct NewPassword(String);

impl NewPassword {
    /// # Errors
    /// 422 naming `field`.
    pub fn parse(raw: String, field: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if !(8..=128).contains(&chars) || raw.trim().is_empty() {
            return Err(FieldError::new(field, "a password has 8 to 128 characters"));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A display name: 1 to 100 characters after trimming.
pub fn parse_name(raw: &str, field: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(FieldError::new(field, "a name has 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshDoc {
    /// Hex SHA-256 of the token: a stolen database does not hold sessions.
    pub hash: String,
    pub expires_at: DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Empty when the old back end had none: only a reset signs them in.
    pub password_hash: String,
    /// The old back end's string id, kept by `adopt-data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<String>,
    #[serde(default)]
    pub refresh_tokens: Vec<RefreshDoc>,
    /// `false` once an admin deactivated the account (or the old back end
    /// had, under the same name): sign-in and refresh are refused.
    #[serde(default = "active_by_default")]
    pub is_active: bool,
    /// Set when an admin erased the account: what is left is a tombstone
    /// that holds nothing personal, so the records that name its id (orders
    /// kept for accounting) still resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime>,
    /// Access tokens carry the epoch they were issued in; every write that
    /// must end them (a new password, address, role, sign-out of all
    /// sessions, deactivation or reactivation) raises it, so a token of an
    /// earlier epoch is refused from the next request on.
    #[serde(default)]
    pub token_epoch: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

fn active_by_default() -> bool {
    true
}

/// A user as answered; never the hash or sessions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(value_type = String, example = "customer")]
    pub role: Role,
    /// `false` for a deactivated account.
    pub is_active: bool,
    /// When the account was erased (RFC 3339); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<String>,
    pub created_at: String,
}

impl From<&UserDoc> for UserView {
    fn from(user: &UserDoc) -> Self {
        Self {
            id: user.id.to_hex(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.clone(),
            is_active: user.is_active,
            erased_at: user
                .erased_at
                .and_then(|at| at.try_to_rfc3339_string().ok()),
            created_at: user.created_at.try_to_rfc3339_string().unwrap_or_default(),
        }
    }
}

/// A signed-in user, from a valid access token (the HTTP kit's extractors
/// make it; services take it to know who acts).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: ObjectId,
    pub role: Role,
    /// The account's token epoch (see [`UserDoc::token_epoch`]): a token
    /// minted on this user's behalf must carry it to hold.
    pub epoch: i64,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_address_is_never_under_invalid() {
        for address in [
            "erased-6b11@erased.invalid",
            "a@Mail.INVALID",
            "x@mail.invalid",
        ] {
            assert!(Email::parse(address, "email").is_ok(), "{address} parses");
            let refused = Email::parse_deliverable(address, "email").expect_err(address);
            assert_eq!(refused.field, "email");
        }
        assert!(Email::parse_deliverable("Ana@Example.com", "email").is_ok());
    }
}
