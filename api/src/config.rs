//! Configuration, read once from the environment at start-up into typed
//! structs. Nothing else in the api reads environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use lettre::message::Mailbox;
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
    /// The widths media serves unsigned for a `srcset`
    /// (`MEDIA_RESPONSIVE_WIDTHS`, the same list media reads).
    pub media_responsive_widths: Vec<u32>,
    pub jwt_secret: Secret,
    pub auth: AuthSettings,
    pub limits: Limits,
    pub email: EmailSettings,
    pub shop: ShopSettings,
    /// Where people reach the api (`API_PUBLIC_URL`); links in emails
    /// start here. Unset outside production: the bound address.
    pub public_url: Option<Url>,
    /// The page a password-reset email links to, with `?token=` added
    /// (`PASSWORD_RESET_URL`); defaults to the api's own
    /// `{public_url}/reset-password`.
    pub password_reset_url: Option<Url>,
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
    /// Failed logins allowed per (account, client address), and per known
    /// device of the account, within `failure_window`.
    pub failures_per_account: u32,
    /// Failed logins allowed per account from clients it does not know
    /// (no device credential of it) within `failure_window`; past it only
    /// the account's known devices may sign in, so nobody can lock its
    /// owner out.
    pub failures_per_account_unknown: u32,
    /// How long a device credential (issued at each sign-in) is honoured.
    pub device_ttl: Duration,
    /// Failed logins allowed per client address within `failure_window`.
    pub failures_per_ip: u32,
    pub failure_window: Duration,
    /// How long a password-reset link works.
    pub reset_ttl: Duration,
    /// Reset requests allowed per address, and per client address, within
    /// `reset_window`.
    pub resets_per_account: u32,
    pub resets_per_ip: u32,
    pub reset_window: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            failures_per_account: 5,
            failures_per_account_unknown: 20,
            device_ttl: Duration::from_secs(180 * 24 * 3600),
            failures_per_ip: 20,
            failure_window: Duration::from_secs(15 * 60),
            reset_ttl: Duration::from_secs(3600),
            resets_per_account: 3,
            resets_per_ip: 20,
            reset_window: Duration::from_secs(3600),
        }
    }
}

/// The largest JSON body taken (`API_MAX_BODY_BYTES`), as the JSON
/// extractor reads it from the state.
#[derive(Debug, Clone, Copy)]
pub struct JsonBodyLimit(pub usize);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Largest upload forwarded by `POST /api/uploads`: the largest media
    /// takes of any kind (images, videos, documents); media then holds each
    /// kind to its own limit.
    pub max_upload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 200 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// How often the outbox is drained.
    pub dispatch_interval: Duration,
    /// `SMTP_URL`, normalized for lettre; `None` logs emails instead of
    /// sending them.
    pub smtp_url: Option<Secret>,
    /// `EMAIL_FROM`, e.g. `Avenue <no-reply@avenue.com.py>`.
    pub from: Mailbox,
    /// Attempts before an email is marked failed (`EMAIL_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Wait after the first failure, doubled after each further one
    /// (`EMAIL_RETRY_SECS`).
    pub first_backoff: Duration,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            dispatch_interval: Duration::from_secs(5),
            smtp_url: None,
            from: Mailbox::new(
                Some("Avenue".to_owned()),
                lettre::Address::new("no-reply", "avenue.com.py")
                    .expect("the default sender is a valid address"),
            ),
            max_attempts: 5,
            first_backoff: Duration::from_secs(30),
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
            media_responsive_widths: avenue_shared::media::DEFAULT_RESPONSIVE_WIDTHS.to_vec(),
            jwt_secret: Secret::new(DEV_JWT_SECRET),
            auth: AuthSettings::default(),
            limits: Limits::default(),
            email: EmailSettings {
                dispatch_interval: Duration::from_millis(200),
                first_backoff: Duration::from_millis(200),
                ..EmailSettings::default()
            },
            shop: ShopSettings {
                expiry_interval: Duration::from_millis(200),
            },
            public_url: None,
            password_reset_url: None,
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
        let email_defaults = EmailSettings::default();
        let optional_url = |key: &str| -> anyhow::Result<Option<Url>> {
            get(key)
                .filter(|raw| !raw.trim().is_empty())
                .map(|raw| {
                    Url::parse(raw.trim()).with_context(|| format!("{key} must be an absolute URL"))
                })
                .transpose()
        };
        let public_url = optional_url("API_PUBLIC_URL")?;
        let password_reset_url = optional_url("PASSWORD_RESET_URL")?;
        if production && public_url.is_none() && password_reset_url.is_none() {
            bail!(
                "API_PUBLIC_URL (or PASSWORD_RESET_URL) is required when AVENUE_ENV=production: \
                 password-reset emails link there"
            );
        }
        let smtp_url = match get("SMTP_URL").filter(|raw| !raw.trim().is_empty()) {
            Some(raw) => Some(Secret::new(crate::system::email::smtp::normalize_url(
                raw.trim(),
            )?)),
            None => {
                tracing::warn!("SMTP_URL is not set: emails are recorded in email_logs, not sent");
                None
            }
        };
        let from = match get("EMAIL_FROM") {
            Some(raw) => raw
                .trim()
                .parse::<Mailbox>()
                .with_context(|| format!("EMAIL_FROM must be an address such as 'Avenue <no-reply@example.com>', got {raw:?}"))?,
            None => email_defaults.from.clone(),
        };
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
            media_responsive_widths: avenue_shared::media::responsive_widths(
                get("MEDIA_RESPONSIVE_WIDTHS").as_deref(),
            )
            .map_err(anyhow::Error::msg)?,
            jwt_secret,
            auth: AuthSettings {
                access_ttl: seconds("API_ACCESS_TTL_SECS", auth_defaults.access_ttl)?,
                refresh_ttl: seconds("API_REFRESH_TTL_SECS", auth_defaults.refresh_ttl)?,
                failures_per_account: number(&get, "API_LOGIN_FAILURES_PER_ACCOUNT")?
                    .map_or(auth_defaults.failures_per_account, |n| n.min(1000) as u32),
                failures_per_account_unknown: number(
                    &get,
                    "API_LOGIN_FAILURES_PER_ACCOUNT_UNKNOWN",
                )?
                .map_or(auth_defaults.failures_per_account_unknown, |n| {
                    n.min(100_000) as u32
                }),
                device_ttl: seconds("API_DEVICE_TTL_SECS", auth_defaults.device_ttl)?,
                failures_per_ip: number(&get, "API_LOGIN_FAILURES_PER_IP")?
                    .map_or(auth_defaults.failures_per_ip, |n| n.min(100_000) as u32),
                failure_window: seconds("API_LOGIN_WINDOW_SECS", auth_defaults.failure_window)?,
                reset_ttl: seconds("API_RESET_TTL_SECS", auth_defaults.reset_ttl)?,
                resets_per_account: number(&get, "API_RESETS_PER_ACCOUNT")?
                    .map_or(auth_defaults.resets_per_account, |n| n.min(1000) as u32),
                resets_per_ip: number(&get, "API_RESETS_PER_IP")?
                    .map_or(auth_defaults.resets_per_ip, |n| n.min(100_000) as u32),
                reset_window: seconds("API_RESET_WINDOW_SECS", auth_defaults.reset_window)?,
            },
            limits: Limits {
                max_body_bytes: number(&get, "API_MAX_BODY_BYTES")?
                    .map_or(limit_defaults.max_body_bytes, |n| n as usize),
                max_upload_bytes: {
                    let image = number(&get, "MEDIA_MAX_UPLOAD_BYTES")?.unwrap_or(25 << 20);
                    let video = number(&get, "MEDIA_MAX_VIDEO_BYTES")?.unwrap_or(200 << 20);
                    let raw = number(&get, "MEDIA_MAX_RAW_BYTES")?.unwrap_or(25 << 20);
                    image.max(video).max(raw) as usize
                },
            },
            email: EmailSettings {
                dispatch_interval: seconds(
                    "API_EMAIL_DISPATCH_SECS",
                    email_defaults.dispatch_interval,
                )?,
                smtp_url,
                from,
                max_attempts: number(&get, "EMAIL_MAX_ATTEMPTS")?
                    .map_or(email_defaults.max_attempts, |n| n.clamp(1, 100) as u32),
                first_backoff: seconds("EMAIL_RETRY_SECS", email_defaults.first_backoff)?,
            },
            public_url,
            password_reset_url,
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

impl Settings {
    /// The link a password-reset email carries for `token`.
    /// `path` under `API_PUBLIC_URL` with `?token=`, for links in e-mails.
    pub fn public_link(&self, path: &str, token: &str) -> Option<Url> {
        let mut link = self.public_url.as_ref()?.join(path).ok()?;
        link.query_pairs_mut().append_pair("token", token);
        Some(link)
    }

    pub fn password_reset_link(&self, token: &str) -> Option<Url> {
        let mut link = match (&self.password_reset_url, &self.public_url) {
            (Some(page), _) => page.clone(),
            (None, Some(api)) => api.join("/reset-password").ok()?,
            (None, None) => return None,
        };
        link.query_pairs_mut().append_pair("token", token);
        Some(link)
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
        let no_public_url = Settings::from_lookup(lookup(&[
            ("AVENUE_ENV", "production"),
            ("AVENUE_JWT_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret"),
        ]))
        .expect_err("refused");
        assert!(no_public_url.to_string().contains("API_PUBLIC_URL"));
        let smtp = Settings::from_lookup(lookup(&[
            ("SMTP_URL", "smtp://u:p@mail.test:587?tls=starttls"),
            ("EMAIL_FROM", "Shop <shop@avenue.test>"),
        ]))
        .expect("smtp settings");
        assert_eq!(
            smtp.email.smtp_url.as_ref().map(Secret::expose),
            Some("smtp://u:p@mail.test:587?tls=required")
        );
        assert_eq!(smtp.email.from.to_string(), "Shop <shop@avenue.test>");
        assert!(Settings::from_lookup(lookup(&[("EMAIL_FROM", "not an address")])).is_err());
        assert!(Settings::from_lookup(lookup(&[("SMTP_URL", "http://mail.test")])).is_err());
        let err = Settings::from_lookup(lookup(&[("API_LOGIN_WINDOW_SECS", "soon")]))
            .expect_err("refused");
        assert!(err.to_string().contains("API_LOGIN_WINDOW_SECS"));
        assert!(!format!("{settings:?}").contains(DEV_JWT_SECRET));
    }
}
