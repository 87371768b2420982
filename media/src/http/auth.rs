//! Bearer-token authentication for the `/v1/media` management endpoints.
//! Delivery (`/image/...`) is public and never asks for a token.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

use avenue_shared::Claims;

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
        Ok(Self(claims))
    }
}
