//! Configuration, read once from the environment at start-up.

use std::net::SocketAddr;

use anyhow::Context;
use url::Url;

#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub mongodb_uri: String,
    pub mongodb_db: String,
    /// Where the api reaches the media service.
    pub media_url: Url,
}

impl Settings {
    /// Settings for tests and tools: everything on loopback.
    pub fn local(mongodb_uri: &str, database: &str, media_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            bind: ([127, 0, 0, 1], 0).into(),
            mongodb_uri: mongodb_uri.to_owned(),
            mongodb_db: database.to_owned(),
            media_url: Url::parse(media_url).context("media URL")?,
        })
    }

    /// # Errors
    /// When a variable is present but malformed.
    pub fn from_env() -> anyhow::Result<Self> {
        let get = |key: &str| std::env::var(key).ok();
        Ok(Self {
            bind: get("API_BIND")
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
                .parse()
                .context("API_BIND must be host:port")?,
            mongodb_uri: get("MONGODB_URI")
                .unwrap_or_else(|| "mongodb://127.0.0.1:27017".to_owned()),
            mongodb_db: get("MONGODB_DB").unwrap_or_else(|| "avenue".to_owned()),
            media_url: Url::parse(
                &get("MEDIA_URL").unwrap_or_else(|| "http://127.0.0.1:8081".to_owned()),
            )
            .context("MEDIA_URL must be an absolute URL")?,
        })
    }
}
