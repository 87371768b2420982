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
    /// The account's token epoch when this was issued: a user token holds
    /// only while the account is still in it (the api raises the epoch to
    /// end every token at once). Absent in service tokens and older ones.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: i64,
}

fn is_zero(epoch: &i64) -> bool {
    *epoch == 0
}

impl Claims {
    /// Claims for `sub` with `role`, valid for `ttl_secs` from now.
    pub fn new(sub: impl Into<String>, role: Role, ttl_secs: u64) -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        Self {
            sub: sub.into(),
            role,
            exp: now.saturating_add(ttl_secs),
            epoch: 0,
        }
    }

    /// The same claims, issued in the account's token `epoch`.
    pub fn in_epoch(mut self, epoch: i64) -> Self {
        self.epoch = epoch;
        self
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

/// Signed statements that are not bearer credentials. Each names its
/// audience and carries neither `sub` nor `role`, so [`JwtKeys::verify`]
/// refuses it as a token, and a token is refused as one of these.
#[derive(Debug, Serialize, Deserialize)]
struct Statement {
    aud: String,
    exp: u64,
    /// What is stated: a client address, or an account and a device nonce.
    says: Vec<String>,
}

/// The audience of a device credential (see [`JwtKeys::sign_device`]).
const DEVICE: &str = "avenue:device";
/// The audience of a forwarded client address.
const CLIENT_ADDRESS: &str = "avenue:client-address";
/// How long a forwarded client address is believed: one hop's time.
const CLIENT_ADDRESS_TTL_SECS: u64 = 60;

/// The header media's sign-in page sends the api the browser's address in,
/// signed (see [`JwtKeys::sign_client_address`]): unlike `X-Forwarded-For`,
/// nobody without the secret can set it.
pub const SIGNED_CLIENT_ADDRESS: &str = "x-avenue-client-address";

fn now_secs() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

impl JwtKeys {
    fn sign_statement(
        &self,
        audience: &str,
        ttl_secs: u64,
        says: Vec<String>,
    ) -> Result<String, AuthError> {
        let statement = Statement {
            aud: audience.to_owned(),
            exp: now_secs().saturating_add(ttl_secs),
            says,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &statement, &self.encoding)
            .map_err(|_| AuthError::Signing)
    }

    fn verify_statement(&self, audience: &str, token: &str) -> Option<Vec<String>> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<Statement>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims.says)
    }

    /// A device credential: proof that the client holding it signed in to
    /// `account` (its normalised e-mail) before, as device `nonce`.
    ///
    /// # Errors
    /// [`AuthError::Signing`], which valid input never causes.
    pub fn sign_device(
        &self,
        account: &str,
        nonce: &str,
        ttl_secs: u64,
    ) -> Result<String, AuthError> {
        self.sign_statement(DEVICE, ttl_secs, vec![account.to_owned(), nonce.to_owned()])
    }

    /// The device nonce of `credential` if it is ours, unexpired, and for
    /// `account`; `None` for anything else (it then counts as unknown).
    pub fn verify_device(&self, credential: &str, account: &str) -> Option<String> {
        match self.verify_statement(DEVICE, credential.trim())?.as_slice() {
            [for_account, nonce] if for_account == account && !nonce.is_empty() => {
                Some(nonce.clone())
            }
            _ => None,
        }
    }

    /// `client`, signed for a minute: what a proxy of ours (media's page)
    /// tells the api about whose request it forwards.
    ///
    /// # Errors
    /// [`AuthError::Signing`], which valid input never causes.
    pub fn sign_client_address(&self, client: std::net::IpAddr) -> Result<String, AuthError> {
        self.sign_statement(
            CLIENT_ADDRESS,
            CLIENT_ADDRESS_TTL_SECS,
            vec![client.to_string()],
        )
    }

    /// The address in a [`Self::sign_client_address`] statement, if it is
    /// ours and fresh.
    pub fn verify_client_address(&self, statement: &str) -> Option<std::net::IpAddr> {
        match self
            .verify_statement(CLIENT_ADDRESS, statement.trim())?
            .as_slice()
        {
            [address] => address.parse().ok(),
            _ => None,
        }
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
            epoch: 0,
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

    #[test]
    fn statements_are_not_tokens_and_tokens_are_not_statements() {
        let keys = JwtKeys::from_secret(b"one");
        let device = keys.sign_device("ana@example.com", "n1", 60).expect("sign");
        assert_eq!(
            keys.verify_device(&device, "ana@example.com").as_deref(),
            Some("n1")
        );
        assert_eq!(keys.verify_device(&device, "eve@example.com"), None);
        assert_eq!(keys.verify(&device), Err(AuthError::Invalid));
        assert_eq!(
            keys.verify_client_address(&device),
            None,
            "another audience"
        );
        assert_eq!(
            JwtKeys::from_secret(b"two").verify_device(&device, "ana@example.com"),
            None
        );

        let address = keys
            .sign_client_address("203.0.113.7".parse().expect("ip"))
            .expect("sign");
        assert_eq!(
            keys.verify_client_address(&address),
            Some("203.0.113.7".parse().expect("ip"))
        );
        assert_eq!(keys.verify(&address), Err(AuthError::Invalid));
        assert_eq!(keys.verify_device(&address, "203.0.113.7"), None);

        let token = keys
            .sign(&Claims::new("u1", Role::Admin, 60))
            .expect("sign");
        assert_eq!(keys.verify_client_address(&token), None);
        assert_eq!(keys.verify_device(&token, "u1"), None);
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Statement {
                aud: DEVICE.into(),
                exp: 1_000,
                says: vec!["ana@example.com".into(), "n1".into()],
            },
            &keys.encoding,
        )
        .expect("sign");
        assert_eq!(keys.verify_device(&expired, "ana@example.com"), None);
    }
}
