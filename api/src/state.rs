//! What every handler may reach: the database, settings, keys and the
//! services built once at start-up. The HTTP kit reaches its parts through
//! `FromRef`, so it never names this type.

use std::sync::Arc;

use axum::extract::FromRef;
use mongodb::Database;

use avenue_shared::JwtKeys;

use crate::config::Settings;
use crate::indexes::IndexReport;
use crate::media::MediaGateway;
use crate::system::audit::AuditLog;
use crate::system::email::Outbox;
use crate::users::limiter::LoginLimiter;
use crate::users::password::Hasher;
use crate::users::repo::UserRepo;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub config: Arc<Settings>,
    pub keys: JwtKeys,
    pub media: MediaGateway,
    pub users: UserRepo,
    pub hasher: Hasher,
    pub limiter: LoginLimiter,
    /// Password-reset requests per address and per client.
    pub reset_limiter: LoginLimiter,
    pub audit: AuditLog,
    pub outbox: Outbox,
    /// Our delivery URLs' bases, to read them back as media ids.
    pub media_urls: crate::media::urls::MediaUrls,
    /// Indexes start-up could not create over the data it found.
    pub indexes: Arc<IndexReport>,
}

impl FromRef<AppState> for avenue_shared::net::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.config.trusted_proxies.clone()
    }
}

impl AppState {
    /// Base of delivery URLs written into answers.
    pub fn media_public_url(&self) -> &url::Url {
        &self.config.media_public_url
    }

    /// Looks up `ids` in one call to media, to embed them in an answer
    /// (URLs under the public base, `srcset`s of the responsive widths).
    pub async fn embeds<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a avenue_shared::MediaId>,
    ) -> crate::media::embed::Embeds {
        self.media
            .embeds(
                ids,
                self.media_public_url(),
                &self.config.media_responsive_widths,
            )
            .await
    }
}

impl FromRef<AppState> for crate::media::urls::MediaUrls {
    fn from_ref(state: &AppState) -> Self {
        state.media_urls.clone()
    }
}

impl FromRef<AppState> for crate::config::JsonBodyLimit {
    fn from_ref(state: &AppState) -> Self {
        Self(state.config.limits.max_body_bytes)
    }
}

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl FromRef<AppState> for UserRepo {
    fn from_ref(state: &AppState) -> Self {
        state.users.clone()
    }
}
