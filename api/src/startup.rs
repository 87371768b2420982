//! Building and running the api; shared by `main` and the tests, so both
//! exercise the same path.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use tokio::net::TcpListener;
use tower::Layer;

use avenue_shared::{JwtKeys, MediaClient};

use crate::config::Settings;
use crate::indexes::{self, IndexSpec};
use crate::media::MediaGateway;
use crate::routes;
use crate::state::AppState;
use crate::system::audit::AuditLog;
use crate::system::email::smtp::SmtpSender;
use crate::system::email::{EmailSender, LogOnlySender, Outbox};
use crate::users::{Hasher, LoginLimiter, UserRepo};
use crate::{shop, studio, system, ugc};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// # Errors
/// When the URI is malformed.
pub async fn connect(settings: &Settings) -> anyhow::Result<Database> {
    let mut options = ClientOptions::parse(settings.mongodb_uri.expose())
        .await
        .context("MONGODB_URI is not a valid MongoDB connection string")?;
    options.app_name = Some("avenue-api".to_owned());
    options.server_selection_timeout = Some(Duration::from_secs(5));
    let client = Client::with_options(options).context("MongoDB client options")?;
    Ok(client.database(&settings.mongodb_db))
}

/// Everything the handlers share, with indexes created.
///
/// # Errors
/// When MongoDB is unreachable or refuses an index.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let db = connect(&settings).await?;
    let keys = JwtKeys::from_secret(settings.jwt_secret.expose().as_bytes());
    let users = UserRepo::new(&db);
    let audit = AuditLog::new(&db);
    let outbox = Outbox::new(&db, email_sender(&settings)?, &settings.email);
    let media = MediaGateway::new(
        MediaClient::new(settings.media_url.as_str()).context("MEDIA_URL")?,
        keys.clone(),
    );
    let limiter = LoginLimiter::new(&db, &settings.auth);
    let indexes = indexes::ensure(&db, &all_indexes()).await?;
    Ok(AppState {
        media_urls: crate::media::urls::MediaUrls::new([
            &settings.media_public_url,
            &settings.media_url,
        ]),
        indexes,
        limiter,
        reset_limiter: LoginLimiter::for_resets(&db, &settings.auth),
        hasher: Hasher::new().await?,
        config: Arc::new(settings),
        db,
        keys,
        media,
        users,
        audit,
        outbox,
    })
}

/// SMTP when `SMTP_URL` is set, otherwise the log-only sender.
fn email_sender(settings: &Settings) -> anyhow::Result<Arc<dyn EmailSender>> {
    Ok(match &settings.email.smtp_url {
        Some(url) => Arc::new(SmtpSender::new(url.expose(), settings.email.from.clone())?),
        None => Arc::new(LogOnlySender),
    })
}

/// Every index the domains ask for. Over the database the old back end
/// left, some may be refused: start-up reports them and goes on.
fn all_indexes() -> Vec<IndexSpec> {
    [
        UserRepo::indexes(),
        LoginLimiter::indexes(),
        crate::users::reset::indexes(),
        crate::users::profile::indexes(),
        AuditLog::indexes(),
        Outbox::indexes(),
        shop::catalog::indexes(),
        shop::coupons::indexes(),
        shop::order_docs::indexes(),
        studio::reservations::indexes(),
        system::pages::indexes(),
        ugc::profiles::indexes(),
        ugc::packages::indexes(),
        ugc::subscriptions::indexes(),
        ugc::campaign_docs::indexes(),
        ugc::applications::indexes(),
        ugc::deliverables::indexes(),
        ugc::notifications::indexes(),
    ]
    .concat()
}

impl Application {
    /// # Errors
    /// When MongoDB is unreachable or the address cannot be bound.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let bind = settings.bind;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        if settings.public_url.is_none() {
            // Outside production only (there it is required): links in
            // emails point at the address just bound.
            let bound = listener.local_addr().context("the bound address")?;
            settings.public_url = url::Url::parse(&format!("http://{bound}")).ok();
        }
        let state = build_state(settings).await?;
        Ok(Self { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The password hasher this instance will use, so a test can count
    /// the work a request cost.
    pub fn hasher(&self) -> crate::users::password::Hasher {
        self.state.hasher.clone()
    }

    /// Serves until `shutdown` completes; the email dispatcher runs
    /// alongside and stops with the server.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let dispatcher = tokio::spawn(dispatch_forever(
            self.state.outbox.clone(),
            self.state.config.email.dispatch_interval,
        ));
        let expirer = tokio::spawn(expire_forever(
            self.state.db.clone(),
            self.state.config.shop.expiry_interval,
        ));
        let mut limits = self.state.config.server;
        // `POST /api/uploads` takes uploads as large as media does: its
        // refusals must reach the client whole too.
        limits.drain_bytes = limits
            .drain_bytes
            .max(self.state.config.limits.max_upload_bytes as u64);
        let router = routes::router(self.state);
        let served = avenue_shared::serve::serve(
            self.listener,
            limits,
            move |peer| axum::Extension(axum::extract::ConnectInfo(peer)).layer(router.clone()),
            shutdown,
        )
        .await;
        dispatcher.abort();
        expirer.abort();
        served.context("HTTP server failed")
    }
}

async fn dispatch_forever(outbox: Outbox, every: Duration) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(50)));
    loop {
        ticker.tick().await;
        if let Err(err) = outbox.dispatch_pending().await {
            tracing::warn!(error = %err, "email dispatch failed; retrying later");
        }
    }
}

/// Unpaid orders give their stock back once their time is up.
async fn expire_forever(db: Database, every: Duration) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(50)));
    loop {
        ticker.tick().await;
        if let Err(err) = shop::transitions::expire_unpaid(&db).await {
            tracing::warn!(error = %err, "unpaid-order expiry failed; retrying later");
        }
    }
}
