//! JWT claims both services accept, and the HS256 keys that sign and check
//! them. The api mints tokens at login; media only checks them.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a caller may do. Unknown role names are kept as [`Role::Other`]
/// rather than refused, so a token minted by a newer api still authenticates
/// and is simply denied what it is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    /// Another Avenue service (the api) acting on its own behalf.
    Service,
    Brand,
    Creator,
    Customer,
    #[serde(other)]
    Other,
}

impl Role {
    /// Whether this role may create, change or delete media.
    pub fn may_write_media(&self) -> bool {
        matches!(self, Role::Admin | Role::Service)
    }
}

/// The claims inside every Avenue token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token speaks for: a user id, or a service name.
    pub sub: String,
    pub role: Role,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

impl Claims {
    /// Claims for `sub` with `role`, valid for `ttl_secs` from now.
    pub fn new(sub: impl Into<String>, role: Role, ttl_secs: u64) -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        Self {
            sub: sub.into(),
            role,
            exp: now.saturating_add(ttl_secs),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is malformed or its signature does not match")]
    Invalid,
    #[error("the token could not be signed")]
    Signing,
}

/// HS256 keys derived from the shared secret. Cheap to clone; never printed.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Signs `claims` as an HS256 JWT.
    ///
    /// # Errors
    /// [`AuthError::Signing`] if serialisation fails, which valid claims never do.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| AuthError::Signing)
    }

    /// Checks the signature, the algorithm (HS256 only) and the expiry.
    ///
    /// # Errors
    /// [`AuthError::Expired`] or [`AuthError::Invalid`].
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_secrets() {
        let keys = JwtKeys::from_secret(b"one");
        let token = keys
            .sign(&Claims::new("u1", Role::Admin, 60))
            .expect("sign");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.role, Role::Admin);
        assert_eq!(
            JwtKeys::from_secret(b"two").verify(&token),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = JwtKeys::from_secret(b"one");
        let claims = Claims {
            sub: "u1".into(),
            role: Role::Admin,
            exp: 1_000,
        };
        let token = keys.sign(&claims).expect("sign");
        assert_eq!(keys.verify(&token), Err(AuthError::Expired));
    }

    #[test]
    fn unknown_roles_parse_but_cannot_write() {
        let role: Role = serde_json::from_str("\"superhero\"").expect("parse");
        assert_eq!(role, Role::Other);
        assert!(!role.may_write_media());
        assert!(Role::Service.may_write_media());
    }
}
