//! Building and running the api; shared by `main` and the tests.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use mongodb::options::ClientOptions;
use mongodb::Client;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::http::{self, AppState};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// # Errors
    /// When the MongoDB URI is malformed or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(&settings.mongodb_uri)
            .await
            .context("MONGODB_URI is not a valid MongoDB connection string")?;
        options.app_name = Some("avenue-api".to_owned());
        options.server_selection_timeout = Some(Duration::from_secs(5));
        let client = Client::with_options(options).context("MongoDB client options")?;
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("binding {}", settings.bind))?;
        Ok(Self {
            listener,
            state: AppState {
                db: client.database(&settings.mongodb_db),
            },
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, http::router(self.state))
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTP server failed")
    }
}
