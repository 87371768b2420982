//! Configuration, read once from the environment at start-up into typed
//! structs. Nothing else in the api reads environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use url::Url;

use avenue_shared::net::TrustedProxies;
use avenue_shared::serve::ServerLimits;

/// Used when `AVENUE_JWT_SECRET` is unset outside production; the media
/// service uses the same one, so local tokens work across both.
pub const DEV_JWT_SECRET: &str = "avenue-dev-secret-DO-NOT-USE-IN-PRODUCTION";

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub mongodb_uri: Secret,
    pub mongodb_db: String,
    /// Where the api reaches the media service.
    pub media_url: Url,
    /// Base of the delivery URLs the api writes into answers (the CDN in
    /// production); defaults to `media_url`.
    pub media_public_url: Url,
    pub jwt_secret: Secret,
    pub auth: AuthSettings,
    pub limits: Limits,
    pub email: EmailSettings,
    pub shop: ShopSettings,
    /// Peers whose `X-Forwarded-For` is believed (load balancers, the
    /// media service's sign-in page).
    pub trusted_proxies: TrustedProxies,
    /// Timeouts and caps every connection is held to.
    pub server: ServerLimits,
}

#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    /// Lifetime of access tokens (JWT); short, because they cannot be revoked.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens (opaque, stored hashed, rotated on use).
    pub refresh_ttl: Duration,
    /// Failed logins allowed per account within `failure_window`.
    pub failures_per_account: u32,
    /// Failed logins allowed per client address within `failure_window`.
    pub failures_per_ip: u32,
    pub failure_window: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            failures_per_account: 5,
            failures_per_ip: 20,
            failure_window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Largest upload forwarded by `POST /api/uploads`.
    pub max_upload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 25 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct EmailSettings {
    /// How often the outbox is drained.
    pub dispatch_interval: Duration,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            dispatch_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ShopSettings {
    /// How often pending orders past their `expires_at` are looked for.
    pub expiry_interval: Duration,
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self {
            expiry_interval: Duration::from_secs(60),
        }
    }
}

impl Settings {
    /// Settings for tests and tools: everything on loopback, dev secret.
    ///
    /// # Errors
    /// When `media_url` is not an absolute URL.
    pub fn local(mongodb_uri: &str, database: &str, media_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            bind: ([127, 0, 0, 1], 0).into(),
            mongodb_uri: Secret::new(mongodb_uri),
            mongodb_db: database.to_owned(),
            media_url: Url::parse(media_url).context("media URL")?,
            media_public_url: Url::parse(media_url).context("media URL")?,
            jwt_secret: Secret::new(DEV_JWT_SECRET),
            auth: AuthSettings::default(),
            limits: Limits::default(),
            email: EmailSettings {
                dispatch_interval: Duration::from_millis(200),
            },
            shop: ShopSettings {
                expiry_interval: Duration::from_millis(200),
            },
            trusted_proxies: TrustedProxies::default(),
            server: ServerLimits::default(),
        })
    }

    /// # Errors
    /// When a variable is present but malformed, or a secret is missing
    /// with `AVENUE_ENV=production`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// # Errors
    /// As for [`Settings::from_env`].
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let production = get("AVENUE_ENV").as_deref() == Some("production");
        let jwt_secret = match get("AVENUE_JWT_SECRET") {
            Some(secret) if !secret.is_empty() => Secret::new(secret),
            _ if production => bail!("AVENUE_JWT_SECRET is required when AVENUE_ENV=production"),
            _ => {
                tracing::warn!(
                    "AVENUE_JWT_SECRET is not set: using the PUBLIC development secret. \
                     Anyone can mint admin tokens. Never run like this in production."
                );
                Secret::new(DEV_JWT_SECRET)
            }
        };
        let seconds = |key: &str, default: Duration| -> anyhow::Result<Duration> {
            Ok(number(&get, key)?.map_or(default, Duration::from_secs))
        };
        let media_url =
            Url::parse(&get("MEDIA_URL").unwrap_or_else(|| "http://127.0.0.1:8081".to_owned()))
                .context("MEDIA_URL must be an absolute URL")?;
        let media_public_url = match get("MEDIA_PUBLIC_URL") {
            Some(raw) => Url::parse(&raw).context("MEDIA_PUBLIC_URL must be an absolute URL")?,
            None => media_url.clone(),
        };
        let auth_defaults = AuthSettings::default();
        let limit_defaults = Limits::default();
        Ok(Self {
            bind: get("API_BIND")
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
                .parse()
                .context("API_BIND must be host:port")?,
            mongodb_uri: Secret::new(
                get("MONGODB_URI").unwrap_or_else(|| "mongodb://127.0.0.1:27017".to_owned()),
            ),
            mongodb_db: get("MONGODB_DB").unwrap_or_else(|| "avenue".to_owned()),
            media_url,
            media_public_url,
            jwt_secret,
            auth: AuthSettings {
                access_ttl: seconds("API_ACCESS_TTL_SECS", auth_defaults.access_ttl)?,
                refresh_ttl: seconds("API_REFRESH_TTL_SECS", auth_defaults.refresh_ttl)?,
                failures_per_account: number(&get, "API_LOGIN_FAILURES_PER_ACCOUNT")?
                    .map_or(auth_defaults.failures_per_account, |n| n.min(1000) as u32),
                failures_per_ip: number(&get, "API_LOGIN_FAILURES_PER_IP")?
                    .map_or(auth_defaults.failures_per_ip, |n| n.min(100_000) as u32),
                failure_window: seconds("API_LOGIN_WINDOW_SECS", auth_defaults.failure_window)?,
            },
            limits: Limits {
                max_body_bytes: number(&get, "API_MAX_BODY_BYTES")?
                    .map_or(limit_defaults.max_body_bytes, |n| n as usize),
                max_upload_bytes: number(&get, "MEDIA_MAX_UPLOAD_BYTES")?
                    .map_or(limit_defaults.max_upload_bytes, |n| n as usize),
            },
            email: EmailSettings {
                dispatch_interval: seconds(
                    "API_EMAIL_DISPATCH_SECS",
                    EmailSettings::default().dispatch_interval,
                )?,
            },
            shop: ShopSettings {
                expiry_interval: seconds(
                    "API_ORDER_EXPIRY_SECS",
                    ShopSettings::default().expiry_interval,
                )?,
            },
            trusted_proxies: get("TRUSTED_PROXIES")
                .unwrap_or_default()
                .parse()
                .map_err(|err: String| anyhow::anyhow!(err))?,
            server: ServerLimits::from_env(&get).map_err(|err| anyhow::anyhow!(err))?,
        })
    }
}

fn number(get: &impl Fn(&str) -> Option<String>, key: &str) -> anyhow::Result<Option<u64>> {
    get(key)
        .map(|raw| {
            raw.trim()
                .parse::<u64>()
                .with_context(|| format!("{key} must be a non-negative integer, got {raw:?}"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_and_production_rules() {
        let settings = Settings::from_lookup(lookup(&[])).expect("defaults");
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.jwt_secret.expose(), DEV_JWT_SECRET);
        assert!(Settings::from_lookup(lookup(&[("AVENUE_ENV", "production")])).is_err());
        let err = Settings::from_lookup(lookup(&[("API_LOGIN_WINDOW_SECS", "soon")]))
            .expect_err("refused");
        assert!(err.to_string().contains("API_LOGIN_WINDOW_SECS"));
        assert!(!format!("{settings:?}").contains(DEV_JWT_SECRET));
    }
}
