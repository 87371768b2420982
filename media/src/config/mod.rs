//! Configuration, read once from the environment at start-up into typed
//! structs. Nothing else in the service reads environment variables.

mod unsigned;
mod values;

pub use unsigned::{UnsignedMode, UnsignedPolicy};

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use values::{duration, number};

use anyhow::{bail, Context};
use url::Url;

use crate::process::presets::Presets;
use crate::store::cloudinary::CloudinaryAccount;
use crate::store::BackendKind;

/// Used when `AVENUE_JWT_SECRET` is unset outside production. Loud on purpose.
pub const DEV_JWT_SECRET: &str = "avenue-dev-secret-DO-NOT-USE-IN-PRODUCTION";
/// Used when `MEDIA_SIGNING_SECRET` is unset outside production.
pub const DEV_SIGNING_SECRET: &str = "avenue-dev-signing-secret-DO-NOT-USE-IN-PRODUCTION";

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
    /// Base of the absolute URLs written into descriptors (`url`). Behind a
    /// CDN this is the CDN's address, not the bind address.
    pub public_url: Url,
    pub mongodb: MongoSettings,
    pub backend: BackendKind,
    /// A second backend every new upload is also written to, so a switch
    /// of `backend` finds the newest media already there.
    pub mirror: Option<BackendKind>,
    /// Required when `backend` or `mirror` is Cloudinary.
    pub cloudinary: Option<CloudinarySettings>,
    pub jwt_secret: Secret,
    pub limits: Limits,
    pub lifecycle: Lifecycle,
    pub delivery: Delivery,
    /// The api: where the admin page's sign-in is checked, and where users'
    /// tokens are checked to still hold.
    pub api_url: Url,
    /// How long the api's word on a user's token is remembered: the most a
    /// demoted, deactivated or signed-out account keeps working here.
    pub session_recheck: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): the
    /// ingress in front of media, so the admin page's sign-in counts
    /// failures against the browser, not the ingress.
    pub trusted_proxies: avenue_shared::net::TrustedProxies,
    /// Timeouts and caps every connection is held to.
    pub server: avenue_shared::serve::ServerLimits,
    /// Where removals are purged from the CDN (`MEDIA_PURGE`).
    pub purge: crate::purge::PurgeSettings,
}

/// The Cloudinary account and how media there are delivered.
#[derive(Debug, Clone)]
pub struct CloudinarySettings {
    pub account: CloudinaryAccount,
    /// `https://res.cloudinary.com` in production.
    pub delivery_base: Url,
    /// Sign transformed delivery URLs (accounts with strict transformations).
    pub sign_delivery: bool,
}

/// What `f_auto` answers a browser that takes AVIF before the AVIF exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoAvif {
    /// WebP at once (briefly cacheable), the AVIF rendered in the background.
    Deferred,
    /// The AVIF, rendered while the client waits.
    Inline,
}

/// How media held by a backend that delivers by itself (Cloudinary) reach
/// clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteDelivery {
    /// A 302 to the backend's URL: no bytes pass through this service.
    Redirect,
    /// This service fetches and streams the answer: one public origin, and
    /// the CDN caches our URLs rather than following redirects.
    Proxy,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    /// Signs and checks `s--SIG--` URL components.
    pub signing_secret: Secret,
    /// Only presets (and originals) are served unsigned.
    pub strict: bool,
    pub presets: Presets,
    /// Bytes of rendered variants kept in memory.
    pub cache_bytes: u64,
    /// Renders running at once; each holds a decoded image in memory.
    pub render_concurrency: usize,
    /// Renders waiting per lane before new ones are refused with 503.
    pub render_queue: usize,
    /// Longest a render waits for a place before it is refused with 503.
    pub render_wait: Duration,
    /// Where the fonts text layers use are (`MEDIA_FONT_DIR`): the
    /// folder Debian's fonts-liberation and fonts-dejavu-core install
    /// into.
    pub font_dir: std::path::PathBuf,
    pub remote: RemoteDelivery,
    /// `Access-Control-Allow-Origin` and `Timing-Allow-Origin` of every
    /// delivery answer (`MEDIA_CORS_ORIGIN`), so pages on other origins can
    /// draw images into a canvas and time them.
    pub cors_origin: String,
    /// Widths a `srcset` may ask for unsigned in strict mode
    /// (`MEDIA_RESPONSIVE_WIDTHS`): `c_limit,f_auto,q_auto,w_{W}`.
    pub responsive_widths: Vec<u32>,
    /// `MEDIA_AUTO_AVIF`: `deferred` (default) or `inline`.
    pub auto_avif: AutoAvif,
    /// `MEDIA_EAGER`: presets rendered after each upload, in the
    /// background, in every format a request may get for them.
    pub eager: Vec<String>,
    /// `MEDIA_BACKGROUND_QUEUE`: background renders waiting at most.
    pub background_queue: usize,
    /// `MEDIA_UNSIGNED…`: unsigned URLs for front ends that cannot sign.
    pub unsigned: UnsignedPolicy,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            signing_secret: Secret::new(DEV_SIGNING_SECRET),
            strict: true,
            presets: Presets::defaults(),
            cache_bytes: 256 * 1024 * 1024,
            render_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            render_queue: 32,
            render_wait: Duration::from_secs(10),
            font_dir: "/usr/share/fonts/truetype".into(),
            remote: RemoteDelivery::Redirect,
            cors_origin: "*".to_owned(),
            responsive_widths: avenue_shared::media::DEFAULT_RESPONSIVE_WIDTHS.to_vec(),
            auto_avif: AutoAvif::Deferred,
            eager: Vec::new(),
            background_queue: 256,
            unsigned: UnsignedPolicy::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: Secret,
    pub database: String,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Larger images are refused with 413 as soon as the count passes it.
    pub max_upload_bytes: u64,
    /// The same for videos (MP4, WebM, QuickTime).
    pub max_video_bytes: u64,
    /// The same for documents (PDF).
    pub max_raw_bytes: u64,
    /// Larger images (width x height) are refused with 422 from their header.
    pub max_pixels: u64,
    /// Larger originals are never decoded for a transformation, whatever
    /// was accepted when they were stored (older limits, imports).
    pub max_render_pixels: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    /// How long an upload may stay unfinished before its partial bytes count
    /// as abandoned (a crashed instance cannot clean up after itself).
    pub staging_grace: Duration,
    /// How often the background sweeper looks for abandoned uploads.
    pub sweep_interval: Duration,
    /// An upload nobody claims within this long is deleted.
    pub pending_ttl: Duration,
    /// A media whose last claim was released this long ago is deleted.
    pub release_grace: Duration,
}

impl Limits {
    /// The limit for an upload of `format`.
    pub fn max_bytes(&self, format: crate::process::format::FileFormat) -> u64 {
        match format.resource() {
            crate::store::ResourceKind::Image => self.max_upload_bytes,
            crate::store::ResourceKind::Video => self.max_video_bytes,
            crate::store::ResourceKind::Raw => self.max_raw_bytes,
        }
    }

    /// The limit before the type is known: the largest of them.
    pub fn max_any(&self) -> u64 {
        self.max_upload_bytes
            .max(self.max_video_bytes)
            .max(self.max_raw_bytes)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 25 * 1024 * 1024,
            max_video_bytes: 200 * 1024 * 1024,
            max_raw_bytes: 25 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_render_pixels: 50_000_000,
        }
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            staging_grace: Duration::from_secs(3600),
            sweep_interval: Duration::from_secs(600),
            pending_ttl: Duration::from_secs(24 * 3600),
            release_grace: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Settings {
    /// Settings for tests and tools: everything local, dev secrets.
    pub fn local(mongodb_uri: &str, database: &str) -> Self {
        let bind: SocketAddr = ([127, 0, 0, 1], 0).into();
        Self {
            bind,
            public_url: Url::parse("http://127.0.0.1:8081").expect("a literal URL parses"),
            mongodb: MongoSettings {
                uri: Secret::new(mongodb_uri),
                database: database.to_owned(),
            },
            backend: BackendKind::GridFs,
            mirror: None,
            cloudinary: None,
            jwt_secret: Secret::new(DEV_JWT_SECRET),
            limits: Limits::default(),
            lifecycle: Lifecycle::default(),
            delivery: Delivery::default(),
            api_url: Url::parse("http://127.0.0.1:8080").expect("a literal URL parses"),
            session_recheck: DEFAULT_SESSION_RECHECK,
            trusted_proxies: avenue_shared::net::TrustedProxies::default(),
            server: avenue_shared::serve::ServerLimits::default(),
            purge: crate::purge::PurgeSettings::default(),
        }
    }

    /// Reads every variable the service knows.
    ///
    /// # Errors
    /// When a variable is present but malformed, or when a secret is missing
    /// with `AVENUE_ENV=production`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let production = get("AVENUE_ENV").as_deref() == Some("production");
        let bind: SocketAddr = get("MEDIA_BIND")
            .unwrap_or_else(|| "127.0.0.1:8081".to_owned())
            .parse()
            .context("MEDIA_BIND must be host:port")?;
        let public_url = match get("MEDIA_PUBLIC_URL") {
            Some(raw) => Url::parse(&raw).context("MEDIA_PUBLIC_URL must be an absolute URL")?,
            None => Url::parse(&format!("http://{bind}")).context("MEDIA_BIND as a URL")?,
        };
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
        let backend = match get("MEDIA_BACKEND").as_deref().unwrap_or("gridfs") {
            "gridfs" => BackendKind::GridFs,
            "cloudinary" => BackendKind::Cloudinary,
            other => bail!("MEDIA_BACKEND must be gridfs or cloudinary, got {other:?}"),
        };
        let mirror = match get("MEDIA_MIRROR").as_deref() {
            None | Some("") => None,
            Some(raw) => match BackendKind::parse(raw) {
                Some(kind) if kind == backend => {
                    bail!("MEDIA_MIRROR must name another backend than MEDIA_BACKEND ({raw})")
                }
                Some(kind) => Some(kind),
                None => bail!("MEDIA_MIRROR must be gridfs or cloudinary, got {raw:?}"),
            },
        };
        let needs_cloudinary =
            backend == BackendKind::Cloudinary || mirror == Some(BackendKind::Cloudinary);
        let cloudinary = match get("CLOUDINARY_URL") {
            Some(raw) => Some(CloudinarySettings {
                account: CloudinaryAccount::parse(&raw, get("CLOUDINARY_API_BASE").as_deref())?,
                delivery_base: Url::parse(
                    &get("CLOUDINARY_DELIVERY_BASE")
                        .unwrap_or_else(|| "https://res.cloudinary.com".to_owned()),
                )
                .context("CLOUDINARY_DELIVERY_BASE must be an absolute URL")?,
                sign_delivery: !matches!(
                    get("CLOUDINARY_SIGN_DELIVERY").as_deref(),
                    Some("false" | "0")
                ),
            }),
            None if needs_cloudinary => {
                bail!("MEDIA_BACKEND=cloudinary or MEDIA_MIRROR=cloudinary needs CLOUDINARY_URL=cloudinary://KEY:SECRET@CLOUD")
            }
            None => None,
        };
        let signing_secret = match get("MEDIA_SIGNING_SECRET") {
            Some(secret) if !secret.is_empty() => Secret::new(secret),
            _ if production => bail!("MEDIA_SIGNING_SECRET is required when AVENUE_ENV=production"),
            _ => {
                tracing::warn!(
                    "MEDIA_SIGNING_SECRET is not set: using the PUBLIC development secret. \
                     Anyone can sign transformation URLs."
                );
                Secret::new(DEV_SIGNING_SECRET)
            }
        };
        let mut presets = Presets::defaults();
        if let Some(spec) = get("MEDIA_PRESETS") {
            presets
                .extend_from(&spec)
                .map_err(|err| anyhow::anyhow!("MEDIA_PRESETS: {err}"))?;
        }
        let delivery_defaults = Delivery::default();
        let eager = presets
            .names(get("MEDIA_EAGER").as_deref().unwrap_or_default())
            .map_err(|unknown| {
                anyhow::anyhow!(
                    "MEDIA_EAGER names preset {unknown:?}, which MEDIA_PRESETS does not define"
                )
            })?;
        let delivery = Delivery {
            signing_secret,
            strict: match get("MEDIA_STRICT").as_deref() {
                None | Some("true" | "1") => true,
                Some("false" | "0") => false,
                Some(other) => bail!("MEDIA_STRICT must be true or false, got {other:?}"),
            },
            presets,
            cache_bytes: number(&get, "MEDIA_CACHE_BYTES")?
                .unwrap_or(delivery_defaults.cache_bytes),
            render_concurrency: number(&get, "MEDIA_RENDER_CONCURRENCY")?
                .map(|n| n.max(1) as usize)
                .unwrap_or(delivery_defaults.render_concurrency),
            render_queue: number(&get, "MEDIA_RENDER_QUEUE")?
                .map(|n| n as usize)
                .unwrap_or(delivery_defaults.render_queue),
            render_wait: duration(&get, "MEDIA_RENDER_WAIT")?
                .unwrap_or(delivery_defaults.render_wait),
            font_dir: get("MEDIA_FONT_DIR").map_or(delivery_defaults.font_dir, Into::into),
            remote: match get("CLOUDINARY_DELIVERY").as_deref() {
                None | Some("redirect") => RemoteDelivery::Redirect,
                Some("proxy") => RemoteDelivery::Proxy,
                Some(other) => {
                    bail!("CLOUDINARY_DELIVERY must be redirect or proxy, got {other:?}")
                }
            },
            responsive_widths: avenue_shared::media::responsive_widths(
                get("MEDIA_RESPONSIVE_WIDTHS").as_deref(),
            )
            .map_err(anyhow::Error::msg)?,
            auto_avif: match get("MEDIA_AUTO_AVIF").as_deref() {
                None | Some("deferred") => AutoAvif::Deferred,
                Some("inline") => AutoAvif::Inline,
                Some(other) => bail!("MEDIA_AUTO_AVIF must be deferred or inline, got {other:?}"),
            },
            eager,
            unsigned: UnsignedPolicy::from_lookup(&get)?,
            background_queue: number(&get, "MEDIA_BACKGROUND_QUEUE")?
                .map_or(delivery_defaults.background_queue, |n| n.clamp(1, 100_000) as usize),
            cors_origin: match get("MEDIA_CORS_ORIGIN") {
                None => delivery_defaults.cors_origin.clone(),
                Some(origin)
                    if origin == "*"
                        || url::Url::parse(&origin).is_ok_and(|u| {
                            matches!(u.scheme(), "http" | "https")
                                && u.path() == "/"
                                && !origin.ends_with('/')
                        }) =>
                {
                    origin
                }
                Some(other) => bail!(
                    "MEDIA_CORS_ORIGIN must be * or one origin such as https://avenue.com.py, got {other:?}"
                ),
            },
        };
        let defaults = Limits::default();
        let lifecycle_defaults = Lifecycle::default();
        let purge_defaults = crate::purge::PurgeSettings::default();
        let purge = crate::purge::PurgeSettings {
            target: crate::purge::PurgeTarget::from_lookup(&get)?,
            interval: number(&get, "MEDIA_PURGE_INTERVAL_SECS")?
                .map_or(purge_defaults.interval, Duration::from_secs),
            first_backoff: number(&get, "MEDIA_PURGE_RETRY_SECS")?
                .map_or(purge_defaults.first_backoff, Duration::from_secs),
            max_attempts: number(&get, "MEDIA_PURGE_MAX_ATTEMPTS")?
                .map_or(purge_defaults.max_attempts, |n| n.clamp(1, 100) as u32),
        };
        Ok(Self {
            bind,
            public_url,
            mongodb: MongoSettings {
                uri: Secret::new(
                    get("MONGODB_URI").unwrap_or_else(|| "mongodb://127.0.0.1:27017".to_owned()),
                ),
                database: get("MONGODB_DB").unwrap_or_else(|| "avenue".to_owned()),
            },
            backend,
            mirror,
            cloudinary,
            jwt_secret,
            limits: Limits {
                max_upload_bytes: number(&get, "MEDIA_MAX_UPLOAD_BYTES")?
                    .unwrap_or(defaults.max_upload_bytes),
                max_video_bytes: number(&get, "MEDIA_MAX_VIDEO_BYTES")?
                    .unwrap_or(defaults.max_video_bytes),
                max_raw_bytes: number(&get, "MEDIA_MAX_RAW_BYTES")?
                    .unwrap_or(defaults.max_raw_bytes),
                max_pixels: number(&get, "MEDIA_MAX_PIXELS")?.unwrap_or(defaults.max_pixels),
                max_render_pixels: number(&get, "MEDIA_MAX_RENDER_PIXELS")?
                    .unwrap_or(defaults.max_render_pixels),
            },
            lifecycle: Lifecycle {
                staging_grace: number(&get, "MEDIA_STAGING_GRACE_SECS")?
                    .map(Duration::from_secs)
                    .unwrap_or(lifecycle_defaults.staging_grace),
                sweep_interval: number(&get, "MEDIA_SWEEP_INTERVAL_SECS")?
                    .map(Duration::from_secs)
                    .unwrap_or(lifecycle_defaults.sweep_interval),
                pending_ttl: duration(&get, "MEDIA_PENDING_TTL")?
                    .unwrap_or(lifecycle_defaults.pending_ttl),
                release_grace: duration(&get, "MEDIA_GRACE_TTL")?
                    .unwrap_or(lifecycle_defaults.release_grace),
            },
            delivery,
            purge,
            server: avenue_shared::serve::ServerLimits::from_env(&get)
                .map_err(|err| anyhow::anyhow!(err))?,
            api_url: Url::parse(
                &get("MEDIA_API_URL").unwrap_or_else(|| "http://127.0.0.1:8080".to_owned()),
            )
            .context("MEDIA_API_URL must be an absolute URL")?,
            session_recheck: duration(&get, "MEDIA_SESSION_RECHECK")?
                .unwrap_or(DEFAULT_SESSION_RECHECK),
            trusted_proxies: get("TRUSTED_PROXIES")
                .unwrap_or_default()
                .parse()
                .map_err(anyhow::Error::msg)?,
        })
    }
}

/// How long media trusts the api's word that a user's token holds.
const DEFAULT_SESSION_RECHECK: Duration = Duration::from_secs(5);

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
    fn defaults_follow_the_design_brief() {
        let settings = Settings::from_lookup(lookup(&[])).expect("defaults parse");
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8081");
        assert_eq!(settings.limits.max_upload_bytes, 26_214_400);
        assert_eq!(settings.limits.max_pixels, 50_000_000);
        assert_eq!(settings.mongodb.database, "avenue");
        assert_eq!(settings.jwt_secret.expose(), DEV_JWT_SECRET);
    }

    #[test]
    fn production_refuses_the_dev_secret() {
        assert!(Settings::from_lookup(lookup(&[("AVENUE_ENV", "production")])).is_err());
        let no_signing = Settings::from_lookup(lookup(&[
            ("AVENUE_ENV", "production"),
            ("AVENUE_JWT_SECRET", "s3cret"),
        ]));
        assert!(no_signing.is_err());
        let ok = Settings::from_lookup(lookup(&[
            ("AVENUE_ENV", "production"),
            ("AVENUE_JWT_SECRET", "s3cret"),
            ("MEDIA_SIGNING_SECRET", "s1gn"),
        ]));
        assert!(ok.is_ok());
    }

    #[test]
    fn malformed_numbers_are_refused_with_the_variable_name() {
        let err = Settings::from_lookup(lookup(&[("MEDIA_MAX_PIXELS", "lots")]))
            .expect_err("must refuse");
        assert!(err.to_string().contains("MEDIA_MAX_PIXELS"));
    }

    #[test]
    fn lifecycle_durations_take_units() {
        let settings = Settings::from_lookup(lookup(&[
            ("MEDIA_PENDING_TTL", "24h"),
            ("MEDIA_GRACE_TTL", "90"),
        ]))
        .expect("valid");
        assert_eq!(settings.lifecycle.pending_ttl, Duration::from_secs(86_400));
        assert_eq!(settings.lifecycle.release_grace, Duration::from_secs(90));
        let days = Settings::from_lookup(lookup(&[("MEDIA_GRACE_TTL", "7d")])).expect("valid");
        assert_eq!(
            days.lifecycle.release_grace,
            Duration::from_secs(7 * 86_400)
        );
        assert!(Settings::from_lookup(lookup(&[("MEDIA_GRACE_TTL", "3w")])).is_err());
        assert!(Settings::from_lookup(lookup(&[("MEDIA_PENDING_TTL", "soon")])).is_err());
    }

    #[test]
    fn unknown_backends_are_refused() {
        let err = Settings::from_lookup(lookup(&[("MEDIA_BACKEND", "s3")])).expect_err("refused");
        assert!(err.to_string().contains("MEDIA_BACKEND"));
        let err = Settings::from_lookup(lookup(&[("MEDIA_BACKEND", "cloudinary")]))
            .expect_err("needs an account");
        assert!(err.to_string().contains("CLOUDINARY_URL"));
        let ok = Settings::from_lookup(lookup(&[
            ("MEDIA_BACKEND", "cloudinary"),
            ("CLOUDINARY_URL", "cloudinary://1:s@demo"),
        ]))
        .expect("cloudinary");
        assert_eq!(ok.backend, BackendKind::Cloudinary);
        let ok = Settings::from_lookup(lookup(&[("MEDIA_BACKEND", "gridfs")])).expect("gridfs");
        assert_eq!(ok.backend, BackendKind::GridFs);
    }

    #[test]
    fn a_mirror_is_another_configured_backend() {
        let same = Settings::from_lookup(lookup(&[("MEDIA_MIRROR", "gridfs")]));
        assert!(same
            .expect_err("refused")
            .to_string()
            .contains("MEDIA_MIRROR"));
        let no_account = Settings::from_lookup(lookup(&[("MEDIA_MIRROR", "cloudinary")]));
        assert!(no_account
            .expect_err("refused")
            .to_string()
            .contains("CLOUDINARY_URL"));
        let unknown = Settings::from_lookup(lookup(&[("MEDIA_MIRROR", "s3")]));
        assert!(unknown.is_err());
        let ok = Settings::from_lookup(lookup(&[
            ("MEDIA_MIRROR", "cloudinary"),
            ("CLOUDINARY_URL", "cloudinary://1:s@demo"),
            ("CLOUDINARY_DELIVERY", "proxy"),
        ]))
        .expect("mirror");
        assert_eq!(ok.mirror, Some(BackendKind::Cloudinary));
        assert_eq!(ok.delivery.remote, RemoteDelivery::Proxy);
        let bad = Settings::from_lookup(lookup(&[("CLOUDINARY_DELIVERY", "teleport")]));
        assert!(bad.is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let settings =
            Settings::from_lookup(lookup(&[("AVENUE_JWT_SECRET", "hunter2")])).expect("parse");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
