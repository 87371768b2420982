//! Bearer-token authentication for the `/v1/media` management endpoints.
//! Delivery (`/image/...`) is public and never asks for a token. A user's
//! token is also checked with the api (see `api_link`), so it stops
//! working here within seconds of its account losing the right.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

use avenue_shared::{Claims, Role};

use super::api_link::Standing;
use super::error::AppError;
use super::AppState;

/// The verified claims of a caller allowed to manage media (`admin` or
/// `service`). Extracting it answers 401 or 403 otherwise.
#[derive(Debug, Clone)]
pub struct MediaManager(pub Claims);

impl FromRequestParts<AppState> for MediaManager {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| AppError::Unauthenticated("missing Authorization header".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| AppError::Unauthenticated("expected 'Bearer <token>'".into()))?;
        let claims = state.keys.verify(token)?;
        if !claims.role.may_write_media() {
            return Err(AppError::Forbidden);
        }
        // A user's token holds only while the api says the account still
        // has the right: it may have been demoted, deactivated, erased or
        // signed out since. Service tokens, and operators' tokens minted
        // with `avenue-media token` for a name that is no account, speak
        // for no account and are not asked about.
        if names_an_account(&claims) {
            match state.api.standing(token).await? {
                Standing::Holds(role) if role == claims.role => {}
                Standing::Holds(_) => return Err(AppError::Forbidden),
                Standing::Revoked => {
                    return Err(AppError::Unauthenticated(
                        "this session no longer holds (the account changed): sign in again".into(),
                    ))
                }
            }
        }
        Ok(Self(claims))
    }
}

/// Whether the token is a user's, minted by the api's sign-in: the api's
/// user ids are 24 hex digits.
fn names_an_account(claims: &Claims) -> bool {
    claims.role != Role::Service
        && claims.sub.len() == 24
        && claims.sub.bytes().all(|b| b.is_ascii_hexdigit())
}
