//! Who is calling: the bearer token's claims, checked once per request.
//! Handlers ask for [`CurrentUser`] (any signed-in user) or [`Admin`].

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use mongodb::bson::oid::ObjectId;

use avenue_shared::{JwtKeys, Role};

use super::error::ApiError;
use crate::db::DbError;
pub use crate::users::model::CurrentUser;
use crate::users::repo::UserRepo;

impl CurrentUser {
    /// # Errors
    /// 403 unless the user has one of `roles` (admins always pass).
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if self.is_admin() || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{what} is not allowed for this role"
            )))
        }
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    JwtKeys: FromRef<S>,
    UserRepo: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthenticated("sign in: no bearer token".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthenticated("expected `Authorization: Bearer <token>`".into())
            })?;
        let claims = JwtKeys::from_ref(state).verify(token.trim())?;
        // Service tokens speak for a service, not a user: nothing here is theirs.
        let id = ObjectId::parse_str(&claims.sub)
            .map_err(|_| ApiError::Unauthenticated("the token does not name a user".into()))?;
        // A token outlives changes to its account by up to its 15 minutes;
        // one indexed read makes a deactivation, an erasure, a new role, or
        // anything that raised the token epoch (a new password or address,
        // signing out everywhere, reactivation) count from the next request.
        let standing = UserRepo::from_ref(state).by_id(id).await;
        match standing {
            Ok(Some(account))
                if account.is_active
                    && account.erased_at.is_none()
                    && account.role == claims.role
                    && account.token_epoch == claims.epoch =>
            {
                Ok(Self {
                    id,
                    role: claims.role,
                    epoch: claims.epoch,
                })
            }
            Ok(_) | Err(DbError::Legacy(_)) => Err(ApiError::Unauthenticated(
                "this session no longer holds (the account changed): sign in again".into(),
            )),
            Err(other) => Err(other.into()),
        }
    }
}

/// A signed-in admin; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl<S> FromRequestParts<S> for Admin
where
    JwtKeys: FromRef<S>,
    UserRepo: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(Self(user))
        } else {
            Err(ApiError::forbidden("this needs the admin role"))
        }
    }
}

/// The caller if signed in; `None` for anonymous requests. A token that is
/// present but bad is still refused (401), never silently ignored.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl<S> FromRequestParts<S> for MaybeUser
where
    JwtKeys: FromRef<S>,
    UserRepo: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.headers.contains_key(AUTHORIZATION) {
            CurrentUser::from_request_parts(parts, state)
                .await
                .map(|user| Self(Some(user)))
        } else {
            Ok(Self(None))
        }
    }
}
