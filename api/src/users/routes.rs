//! `/api/auth/*`: accounts and their sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use avenue_shared::{Claims, Role};

use super::accounts;
use super::limiter::{Client, Reservation};
use super::model::{Email, NewPassword, RefreshDoc, UserDoc, UserView};
use super::password::Check;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ClientAddress};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    password: String,
    name: String,
    /// `customer` (default), `brand` or `creator`.
    role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// The `device_token` an earlier sign-in to this account answered.
    /// Keep it and send it: failures by others past the account's limit
    /// lock out unknown clients, never the devices that signed in before.
    device_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    refresh_token: String,
    /// End every session of the account, not only this one.
    #[serde(default)]
    all: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    user: UserView,
    access_token: String,
    /// Seconds until `access_token` expires.
    expires_in: u64,
    /// Single use: each refresh answers a new one.
    refresh_token: String,
    /// This client's credential as a known device of the account (a new
    /// one at every sign-in): send it with the next sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

/// Roles anyone may register with; admins are made by admins or the CLI.
fn self_service_role(raw: Option<&str>) -> Result<Role, ApiError> {
    match raw.unwrap_or("customer") {
        "customer" => Ok(Role::Customer),
        "brand" => Ok(Role::Brand),
        "creator" => Ok(Role::Creator),
        other => Err(ApiError::invalid(
            "role",
            format!("'{other}' cannot be chosen; use customer, brand or creator"),
        )),
    }
}

pub(super) fn parse_role(raw: &str) -> Result<Role, ApiError> {
    match raw {
        "admin" => Ok(Role::Admin),
        "customer" => Ok(Role::Customer),
        "brand" => Ok(Role::Brand),
        "creator" => Ok(Role::Creator),
        other => Err(ApiError::invalid(
            "role",
            format!("unknown role '{other}'; use admin, customer, brand or creator"),
        )),
    }
}

/// Mints an access token and stores a new refresh token for `user`.
async fn open_session(state: &AppState, user: &UserDoc) -> Result<Session, ApiError> {
    let ttl = state.config.auth.access_ttl.as_secs();
    let access_token = state
        .keys
        .sign(&Claims::new(user.id.to_hex(), user.role.clone(), ttl).in_epoch(user.token_epoch))?;
    let refresh_token = format!("{}.{}", user.id.to_hex(), super::link_token::mint());
    let expires_at = DateTime::from_millis(
        DateTime::now().timestamp_millis()
            + i64::try_from(state.config.auth.refresh_ttl.as_millis()).unwrap_or(i64::MAX / 2),
    );
    state
        .users
        .add_session(
            user.id,
            RefreshDoc {
                hash: super::link_token::hash(&refresh_token),
                expires_at,
            },
        )
        .await?;
    Ok(Session {
        user: UserView::from(user),
        access_token,
        expires_in: ttl,
        refresh_token,
        device_token: None,
    })
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses((status = 201, body = Session), (status = 409, description = "email taken"),
        (status = 422, description = "invalid field")))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let role = self_service_role(request.role.as_deref())?;
    let user = accounts::create(
        &state.users,
        &state.hasher,
        &request.email,
        &request.name,
        request.password,
        role,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(open_session(&state, &user).await?),
    ))
}

/// Signs in. Unknown accounts and wrong passwords get the same answer
/// after the same work; repeated failures get 429: per address, per
/// (account, address), per known device, and per account from clients
/// that show no `device_token` of it.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, description = "wrong email or password; `password-reset-required` when the stored hash is in a format that cannot be checked"),
        (status = 429, description = "too many failures; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<Session>, ApiError> {
    let account = request.email.trim().to_lowercase();
    let address = client.to_string();
    let device = request
        .device_token
        .as_deref()
        .and_then(|credential| state.keys.verify_device(credential, &account));
    let client = match &device {
        Some(device) => Client::Known {
            address: &address,
            device,
        },
        None => Client::Unknown { address: &address },
    };
    // Reserved before any hashing, atomically and for every instance.
    let attempt = match state.limiter.reserve(&account, client).await? {
        Reservation::Granted(attempt) => attempt,
        Reservation::Blocked { retry_after_secs } => {
            return Err(ApiError::RateLimited { retry_after_secs })
        }
    };
    let user = match Email::parse(&request.email, "email") {
        Ok(email) => match state.users.by_email(&email).await {
            Ok(user) => user,
            // An account `adopt-data` lists as not convertible: answered
            // like a wrong password, after the same work.
            Err(crate::db::DbError::Legacy(problem)) => {
                tracing::warn!(%problem, "sign-in to an account that cannot be read");
                None
            }
            Err(err) => return Err(err.into()),
        },
        Err(_) => None,
    };
    let stored_hash = user.as_ref().map(|u| u.password_hash.as_str());
    match state.hasher.check(&request.password, stored_hash).await? {
        Check::Matched { rehash } => {
            let Some(user) = user else {
                return Err(ApiError::Unauthenticated("wrong email or password".into()));
            };
            state.limiter.succeeded(attempt).await;
            if !user.is_active {
                return Err(ApiError::forbidden_code(
                    "account-deactivated",
                    "this account is deactivated; ask the shop to restore it",
                ));
            }
            if rehash {
                upgrade_hash(&state, &user, &request.password).await;
            }
            let mut session = open_session(&state, &user).await?;
            let nonce = super::link_token::mint();
            session.device_token = Some(state.keys.sign_device(
                &account,
                &nonce,
                state.config.auth.device_ttl.as_secs(),
            )?);
            Ok(Json(session))
        }
        Check::UnknownFormat => Err(ApiError::PasswordResetRequired),
        Check::Mismatch => Err(ApiError::Unauthenticated("wrong email or password".into())),
    }
}

/// The password just proved right is stored in an old back end's scheme:
/// store it as argon2id instead, in the same request. A failure only
/// leaves the old hash, which still works next time.
async fn upgrade_hash(state: &AppState, user: &UserDoc, password: &str) {
    let upgraded = match state.hasher.hash(password).await {
        Ok(hash) => state
            .users
            .upgrade_hash(user.id, &user.password_hash, &hash)
            .await
            .map_err(anyhow::Error::from),
        Err(err) => Err(err),
    };
    match upgraded {
        Ok(true) => tracing::info!(user = %user.id, "old password hash replaced by argon2id"),
        Ok(false) => {}
        Err(err) => {
            tracing::warn!(user = %user.id, error = %err, "old password hash kept: rehash failed")
        }
    }
}

/// Trades a refresh token for a new session; the old token stops working.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 401, description = "unknown, used or expired token")))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<Session>, ApiError> {
    let refused =
        || ApiError::Unauthenticated("the refresh token is unknown, used or expired".into());
    let user_id = token_owner(&request.refresh_token).ok_or_else(refused)?;
    if !state
        .users
        .take_session(user_id, &super::link_token::hash(&request.refresh_token))
        .await?
    {
        return Err(refused());
    }
    let user = state
        .users
        .by_id(user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(refused)?;
    Ok(Json(open_session(&state, &user).await?))
}

/// The user id a refresh token names, if it is shaped like one.
fn token_owner(token: &str) -> Option<ObjectId> {
    token
        .split_once('.')
        .and_then(|(id, _)| ObjectId::parse_str(id).ok())
}

/// Ends the session of `refresh_token` (it refreshes no more); with `all`,
/// every session of its account. Access tokens already issued stay valid
/// until they expire (`expires_in`), as they are not looked up.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    request_body = LogoutRequest,
    responses((status = 204, description = "signed out (also for a token already ended)"),
        (status = 401, description = "`all` with a token that is unknown, used or expired")))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LogoutRequest>,
) -> Result<StatusCode, ApiError> {
    let owner = token_owner(&request.refresh_token);
    let taken = match owner {
        Some(id) => {
            state
                .users
                .take_session(id, &super::link_token::hash(&request.refresh_token))
                .await?
        }
        None => false,
    };
    if request.all {
        // Only a live session may end the others.
        let Some(id) = owner.filter(|_| taken) else {
            return Err(ApiError::Unauthenticated(
                "the refresh token is unknown, used or expired".into(),
            ));
        };
        state.users.end_sessions(id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, description = "not signed in")),
    security(("bearer" = [])))]
pub async fn me(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<UserView>, ApiError> {
    let doc = state
        .users
        .by_id(user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the account no longer exists".into()))?;
    Ok(Json(UserView::from(&doc)))
}

/// Changes the password and ends every session (refresh tokens).
#[utoipa::path(post, path = "/api/auth/password", tag = "auth",
    request_body = PasswordChange,
    responses((status = 204), (status = 401, description = "wrong current password"),
        (status = 422, description = "the new password breaks the rules")),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let new_password = NewPassword::parse(request.new_password, "new_password")?;
    let doc = state
        .users
        .by_id(user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the account no longer exists".into()))?;
    if !state
        .hasher
        .verify(&request.current_password, Some(&doc.password_hash))
        .await?
    {
        return Err(ApiError::Unauthenticated(
            "the current password is wrong".into(),
        ));
    }
    let hash = state.hasher.hash(new_password.expose()).await?;
    state.users.set_password(user.id, &hash).await?;
    Ok(StatusCode::NO_CONTENT)
}
