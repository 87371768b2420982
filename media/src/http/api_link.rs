//! How media reaches the api: the admin page's sign-in, and whether a
//! user's token still holds. The api owns accounts; a token names one, and
//! only the api knows if that account was demoted, deactivated, erased or
//! signed out everywhere since the token was minted. Media asks it, and
//! remembers the answer for `recheck` (a few seconds), so a token stops
//! working here at most that long after it stopped at the api.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::StatusCode;
use moka::future::Cache;

use avenue_shared::auth::SIGNED_CLIENT_ADDRESS;
use avenue_shared::net::TrustedProxies;
use avenue_shared::{JwtKeys, Role};

use super::error::AppError;

/// Tokens whose standing is remembered at once; beyond it the oldest go.
const REMEMBERED_TOKENS: u64 = 10_000;

/// What the api said of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The account holds this role now.
    Holds(Role),
    /// The api refused it: the account changed, or is gone.
    Revoked,
}

#[derive(Clone)]
pub struct ApiLink {
    login: url::Url,
    me: url::Url,
    http: reqwest::Client,
    keys: JwtKeys,
    /// Whose `X-Forwarded-For` media believes when it forwards a sign-in.
    trusted_proxies: TrustedProxies,
    standings: Cache<String, Standing>,
}

impl ApiLink {
    /// # Errors
    /// When the URL cannot be joined or the client built.
    pub fn new(
        api: &url::Url,
        keys: JwtKeys,
        trusted_proxies: TrustedProxies,
        recheck: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            login: api.join("/api/auth/login")?,
            me: api.join("/api/auth/me")?,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .connect_timeout(Duration::from_secs(5))
                // Passwords and tokens go to the api and nowhere it points.
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            keys,
            trusted_proxies,
            standings: Cache::builder()
                .max_capacity(REMEMBERED_TOKENS)
                .time_to_live(recheck)
                .build(),
        })
    }

    /// The browser's address, as far as media can tell: the peer, or the
    /// nearest untrusted hop when the peer is a trusted proxy.
    pub fn client_address(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        self.trusted_proxies.client_address(peer, forwarded_for)
    }

    /// Forwards a sign-in to the api on behalf of `client`, whose address
    /// goes signed so the api counts failures against it (and believes it
    /// from nobody else).
    ///
    /// # Errors
    /// When the api cannot be reached.
    pub async fn login(
        &self,
        client: IpAddr,
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self.http.post(self.login.clone()).json(body);
        match self.keys.sign_client_address(client) {
            Ok(statement) => request = request.header(SIGNED_CLIENT_ADDRESS, statement),
            Err(err) => tracing::error!(error = %err, "could not sign the client's address"),
        }
        request.send().await
    }

    /// Whether `token` (already verified, naming user `sub`) still holds
    /// at the api, and with which role.
    ///
    /// # Errors
    /// 503 when the api cannot answer: without it a token's standing is
    /// unknown, and media does not guess.
    pub async fn standing(&self, token: &str) -> Result<Standing, AppError> {
        if let Some(known) = self.standings.get(token).await {
            return Ok(known);
        }
        let unavailable = |detail: String| {
            tracing::warn!(%detail, "could not check a session with the api");
            AppError::Rejected {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "api-unavailable",
                message: "the session cannot be checked now; try again".into(),
            }
        };
        let answer = self
            .http
            .get(self.me.clone())
            .bearer_auth(token)
            .send()
            .await
            .map_err(|err| unavailable(err.to_string()))?;
        let standing = match answer.status().as_u16() {
            200 => {
                let body: serde_json::Value = answer
                    .json()
                    .await
                    .map_err(|err| unavailable(err.to_string()))?;
                let role: Role = serde_json::from_value(body["role"].clone())
                    .map_err(|err| unavailable(format!("the api's account has no role: {err}")))?;
                Standing::Holds(role)
            }
            401 | 403 | 404 => Standing::Revoked,
            other => return Err(unavailable(format!("the api answered {other}"))),
        };
        self.standings
            .insert(token.to_owned(), standing.clone())
            .await;
        Ok(standing)
    }
}
