//! Building and running the service: connect, create indexes, bind, serve.
//! Shared by `main` and the tests, so both exercise the same path.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::media::background::Background;
use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
use mongodb::Client;
use tokio::net::TcpListener;
use tower::Layer;

use avenue_shared::JwtKeys;

use crate::config::Settings;
use crate::http::metrics::Metrics;
use crate::http::{self, AppState};
use crate::maintenance::sweep::{sweep_once, SweepPolicy, SweepReport};
use crate::media::repo::MediaRepo;
use crate::media::variants::Variants;
use crate::media::MediaLibrary;
use crate::purge::{PurgeJournal, PurgeSettings, Purger};
use crate::store::cloudinary::{CloudinaryStore, RetryPolicy};
use crate::store::{BackendKind, GridFsStore, Store, Stores};

pub struct Application {
    listener: TcpListener,
    state: AppState,
    settings: Settings,
}

/// Connects to MongoDB. Selection gives up after a few seconds so that a
/// missing database fails start-up and probes quickly instead of hanging.
///
/// # Errors
/// When the URI is malformed.
pub async fn connect(settings: &Settings) -> anyhow::Result<mongodb::Database> {
    let mut options = ClientOptions::parse(settings.mongodb.uri.expose())
        .await
        .context("MONGODB_URI is not a valid MongoDB connection string")?;
    options.app_name = Some("avenue-media".to_owned());
    options.server_selection_timeout = Some(Duration::from_secs(5));
    // An upload is acknowledged only when its bytes and record are in the
    // journal of a majority: chunks and files as well as the record.
    options.write_concern = Some(
        WriteConcern::builder()
            .w(Acknowledgment::Majority)
            .journal(true)
            .build(),
    );
    let client = Client::with_options(options).context("MongoDB client options")?;
    Ok(client.database(&settings.mongodb.database))
}

/// Builds the library over the configured backend, creating indexes.
///
/// # Errors
/// When MongoDB is unreachable or refuses to create indexes.
pub async fn open_library(settings: &Settings) -> anyhow::Result<MediaLibrary> {
    let db = connect(settings).await?;
    // GridFS is always there (metadata lives in MongoDB anyway), so media
    // that are still in GridFS keep being served whatever the primary is.
    let gridfs = GridFsStore::new(db.clone());
    gridfs
        .ensure_indexes()
        .await
        .context("creating the GridFS indexes (is MongoDB running?)")?;
    let gridfs: Arc<dyn Store> = Arc::new(gridfs);
    let cloudinary: Option<Arc<dyn Store>> = match &settings.cloudinary {
        Some(c) => Some(Arc::new(
            CloudinaryStore::new(
                c.account.clone(),
                c.delivery_base.clone(),
                RetryPolicy::default(),
            )?
            .with_signed_delivery(c.sign_delivery),
        )),
        None => None,
    };
    // The one place the primary and mirror backends are chosen.
    let pick = |kind: BackendKind| match kind {
        BackendKind::GridFs => Ok(gridfs.clone()),
        BackendKind::Cloudinary => cloudinary
            .clone()
            .context("the Cloudinary backend needs CLOUDINARY_URL"),
    };
    let primary = pick(settings.backend)?;
    let mirror = settings.mirror.map(pick).transpose()?;
    let stores = Stores::new(
        primary,
        mirror,
        [Some(gridfs.clone()), cloudinary.clone()]
            .into_iter()
            .flatten()
            .collect(),
    );
    let repo = MediaRepo::new(&db);
    repo.ensure_indexes()
        .await
        .context("creating the media indexes")?;
    let library = MediaLibrary::new(repo, stores, settings.limits, settings.public_url.clone());
    if settings.purge.target.is_none() {
        return Ok(library);
    }
    let journal = PurgeJournal::new(&db);
    journal
        .ensure_indexes()
        .await
        .context("creating the purge journal's index")?;
    Ok(library.with_purges(journal))
}

impl Application {
    /// Connects, prepares the database and binds the listener (port 0 picks
    /// a free port).
    ///
    /// # Errors
    /// When MongoDB is unreachable or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let library = open_library(&settings).await?;
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("binding {}", settings.bind))?;
        let metrics = Arc::new(Metrics::new());
        let variants = Variants::new(
            library.clone(),
            settings.delivery.cache_bytes,
            crate::media::lanes::LaneSettings {
                concurrency: settings.delivery.render_concurrency,
                queue: settings.delivery.render_queue,
                max_wait: settings.delivery.render_wait,
            },
            metrics.variants.clone(),
            Arc::new(fonts(&settings.delivery.font_dir)),
        );
        let background = Background::start(variants.clone(), settings.delivery.background_queue)
            .context("starting the background renderer")?;
        let keys = JwtKeys::from_secret(settings.jwt_secret.expose().as_bytes());
        let state = AppState {
            library,
            variants,
            background,
            delivery: Arc::new(settings.delivery.clone()),
            unsigned_budget: Arc::new(crate::http::delivery::UnsignedBudget::new(
                settings.delivery.unsigned.renders_per_minute,
            )),
            api: crate::http::api_link::ApiLink::new(
                &settings.api_url,
                keys.clone(),
                settings.trusted_proxies.clone(),
                settings.session_recheck,
            )?,
            keys,
            metrics,
        };
        Ok(Self {
            listener,
            state,
            settings,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn library(&self) -> &MediaLibrary {
        &self.state.library
    }

    /// Serves until `shutdown` completes, then lets in-flight requests end.
    /// The sweeper runs alongside and stops with the server.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let lifecycle = self.settings.lifecycle;
        let sweeper = tokio::spawn(sweep_forever(
            self.state.library.clone(),
            SweepPolicy {
                staging_grace: lifecycle.staging_grace,
                pending_ttl: lifecycle.pending_ttl,
                release_grace: lifecycle.release_grace,
                orphans: false,
            },
            lifecycle.sweep_interval,
        ));
        let purger = match (
            &self.settings.purge.target,
            self.state.library.purge_journal(),
        ) {
            (Some(target), Some(journal)) => Some(tokio::spawn(purge_forever(
                journal.clone(),
                Purger::new(target.clone())?,
                self.settings.purge.clone(),
            ))),
            _ => None,
        };
        let router = http::router(self.state);
        let mut limits = self.settings.server;
        // A refused upload's rest is read up to what an upload may be, so
        // the refusal reaches the client whole.
        limits.drain_bytes =
            self.settings.limits.max_any() + crate::http::upload_body::MULTIPART_SLACK;
        let served = avenue_shared::serve::serve(
            self.listener,
            limits,
            move |peer| axum::Extension(axum::extract::ConnectInfo(peer)).layer(router.clone()),
            shutdown,
        )
        .await;
        sweeper.abort();
        if let Some(purger) = purger {
            purger.abort();
        }
        served.context("HTTP server failed")
    }
}

/// Sends due CDN purges; failures wait in the journal for the next tick.
async fn purge_forever(journal: PurgeJournal, purger: Purger, settings: PurgeSettings) {
    let mut ticker = tokio::time::interval(settings.interval.max(Duration::from_millis(50)));
    loop {
        ticker.tick().await;
        if let Err(err) = journal.dispatch_due(&purger, &settings).await {
            tracing::warn!(error = %err, "purge dispatch failed; retrying later");
        }
    }
}

/// How often the periodic sweep also looks for orphaned objects.
const ORPHAN_SWEEP_EVERY: Duration = Duration::from_secs(24 * 3600);

async fn sweep_forever(library: MediaLibrary, policy: SweepPolicy, every: Duration) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
    let mut last_orphan_pass: Option<tokio::time::Instant> = None;
    loop {
        ticker.tick().await;
        let orphans = last_orphan_pass.is_none_or(|at| at.elapsed() >= ORPHAN_SWEEP_EVERY);
        if orphans {
            last_orphan_pass = Some(tokio::time::Instant::now());
        }
        match sweep_once(&library, SweepPolicy { orphans, ..policy }, false).await {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(?report, "sweep done");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?anyhow::Error::from(err), "sweep failed"),
        }
    }
}

/// The fonts text layers are set in, read once. Missing ones are named
/// in the log here and refused (400) when a URL asks for them.
fn fonts(dir: &std::path::Path) -> crate::process::text::Fonts {
    let fonts = crate::process::text::Fonts::load(dir);
    if fonts.count() == 0 {
        tracing::warn!(dir = %dir.display(), "no fonts found: text layers will be refused (install fonts-liberation and fonts-dejavu-core, or set MEDIA_FONT_DIR)");
    } else {
        tracing::info!(faces = fonts.count(), dir = %dir.display(), "fonts for text layers");
    }
    fonts
}
