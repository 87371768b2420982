//! Helpers for the end-to-end tests: start the real services on port 0 with a
//! fresh database each, mint tokens, make image fixtures, and reach under the
//! services into MongoDB to check that nothing was left half-written.
//!
//! The MongoDB-compatible server is started once per test run by
//! `scripts/test.sh`, which passes its address in `AVENUE_TEST_MONGODB_URI`.
//! Set `TEST_LOG=1` to see the services' logs.

pub mod api;
pub mod browser;
pub mod cdn_fake;
pub mod chaos;
pub mod cloudinary_fake;
pub mod contract;
pub mod fixtures;
pub mod mail;
pub mod old_backend;
pub mod proxy;
pub mod raw;
pub mod reference;
pub mod schema_gen;
pub mod scratch;
pub mod sdk;
pub mod shop;
pub mod studio;
pub mod ugc;

use std::sync::Once;

use mongodb::bson::{doc, Document};
use reqwest::header::AUTHORIZATION;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use avenue_shared::{Claims, JwtKeys, MediaClient, Role};

pub const DEV_SECRET: &str = avenue_media::config::DEV_JWT_SECRET;
pub const DEV_SIGNING_SECRET: &str = avenue_media::config::DEV_SIGNING_SECRET;

/// A signed delivery path for `transformation` (components joined by `/`)
/// applied to `file` (`{id}.{ext}`), signed with the dev signing secret.
pub fn signed_path(transformation: &str, file: &str) -> String {
    let to_sign = format!("{transformation}/{file}");
    let sig = avenue_media::process::signature::component(&to_sign, DEV_SIGNING_SECRET);
    format!("/image/upload/{sig}/{transformation}/{file}")
}

/// Address of the MongoDB stand-in for this test run.
///
/// # Panics
/// When the tests are run without `scripts/test.sh` (`make test`).
pub fn mongo_uri() -> String {
    std::env::var("AVENUE_TEST_MONGODB_URI").expect(
        "AVENUE_TEST_MONGODB_URI is unset: run the tests with `make test`, \
         which starts the MongoDB stand-in",
    )
}

/// A database name no other test uses.
pub fn unique_db() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

pub fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            avenue_media::telemetry::init("debug");
        }
    });
}

/// A token signed with the development secret the test services use.
pub fn token(role: Role) -> String {
    token_for("tester", role, 600)
}

pub fn token_for(sub: &str, role: Role, ttl: u64) -> String {
    JwtKeys::from_secret(DEV_SECRET.as_bytes())
        .sign(&Claims::new(sub, role, ttl))
        .expect("signing test claims cannot fail")
}

/// A running `avenue-media` inside the test process.
pub struct MediaApp {
    pub address: String,
    pub port: u16,
    pub db_name: String,
    pub http: reqwest::Client,
    pub admin_token: String,
    db: mongodb::Database,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_media() -> MediaApp {
    spawn_media_with(|_| {}).await
}

/// Starts media with settings adjusted by `tweak`, on a fresh database.
pub async fn spawn_media_with(tweak: impl FnOnce(&mut avenue_media::Settings)) -> MediaApp {
    spawn_media_on(&unique_db(), tweak).await
}

/// Starts media on database `db_name` (another instance may share it).
pub async fn spawn_media_on(
    db_name: &str,
    tweak: impl FnOnce(&mut avenue_media::Settings),
) -> MediaApp {
    init_logging();
    let db_name = db_name.to_owned();
    let mut settings = avenue_media::Settings::local(&mongo_uri(), &db_name);
    tweak(&mut settings);
    let app = avenue_media::Application::build(settings)
        .await
        .expect("media service builds against the test database");
    let port = app.port();
    let address = format!("http://127.0.0.1:{port}");
    let (stop, stopped) = oneshot::channel();
    let handle = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = mongodb::Client::with_uri_str(mongo_uri())
        .await
        .expect("test MongoDB URI parses");
    MediaApp {
        address,
        port,
        db: client.database(&db_name),
        db_name,
        http: reqwest::Client::new(),
        admin_token: token(Role::Admin),
        stop: Some(stop),
        handle: Some(handle),
    }
}

impl MediaApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn client(&self) -> MediaClient {
        MediaClient::new(&self.address)
            .expect("test address is a URL")
            .with_token(self.admin_token.clone())
    }

    pub fn db(&self) -> &mongodb::Database {
        &self.db
    }

    /// Multipart upload of `bytes` with optional text fields, as admin.
    pub async fn upload(&self, bytes: Vec<u8>, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("upload.bin"),
        );
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        self.http
            .post(self.url("/v1/media"))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_token))
            .multipart(form)
            .send()
            .await
            .expect("media service answers")
    }

    /// Raw-body upload with the given `Content-Type`, as admin.
    pub async fn upload_raw(&self, bytes: Vec<u8>, content_type: &str) -> reqwest::Response {
        self.http
            .post(self.url("/v1/media"))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_token))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await
            .expect("media service answers")
    }

    /// An authorised request builder for the management API.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_token))
    }

    pub fn storage(&self) -> StorageProbe {
        StorageProbe {
            db: self.db.clone(),
        }
    }

    pub async fn count(&self, collection: &str, filter: Document) -> u64 {
        self.storage().count(collection, filter).await
    }

    pub async fn storage_counts(&self) -> (u64, u64, u64, u64) {
        self.storage().counts().await
    }

    /// Every document of `collection` matching `filter`.
    pub async fn documents(&self, collection: &str, filter: Document) -> Vec<Document> {
        use futures::TryStreamExt;
        self.db
            .collection::<Document>(collection)
            .find(filter)
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("read documents")
    }

    /// `GET /v1/storage/status` as an admin.
    pub async fn storage_status(&self) -> serde_json::Value {
        let response = self
            .admin(reqwest::Method::GET, "/v1/storage/status")
            .send()
            .await
            .expect("media service answers");
        assert_eq!(response.status(), 200, "storage status");
        response.json().await.expect("status is JSON")
    }

    /// Waits (up to 15 s) until `collection` holds `expected` documents;
    /// returns the last count. For writes that finish after the response.
    pub async fn await_count(&self, collection: &str, expected: u64) -> u64 {
        self.await_matching(collection, doc! {}, expected).await
    }

    /// Like [`MediaApp::await_count`], counting only what matches `filter`.
    pub async fn await_matching(&self, collection: &str, filter: Document, expected: u64) -> u64 {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let count = self.count(collection, filter.clone()).await;
            if count == expected || tokio::time::Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn await_storage_counts(
        &self,
        expected: (u64, u64, u64, u64),
    ) -> (u64, u64, u64, u64) {
        self.storage().await_counts(expected).await
    }

    /// GETs a delivery path with extra headers.
    pub async fn fetch(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("media service answers")
    }

    /// The value of one Prometheus series, 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .fetch("/metrics", &[])
            .await
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Stops the server and drops its database.
    pub async fn stop(mut self) {
        self.shutdown().await;
        let _ = self.db.drop().await;
    }

    /// Stops the server and keeps its database for another instance.
    pub async fn stop_keeping_data(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for MediaApp {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

/// Looks under the media service into MongoDB.
#[derive(Clone)]
pub struct StorageProbe {
    pub db: mongodb::Database,
}

impl StorageProbe {
    pub async fn open(db_name: &str) -> Self {
        let client = mongodb::Client::with_uri_str(mongo_uri())
            .await
            .expect("test MongoDB URI parses");
        Self {
            db: client.database(db_name),
        }
    }

    pub async fn count(&self, collection: &str, filter: Document) -> u64 {
        self.db
            .collection::<Document>(collection)
            .count_documents(filter)
            .await
            .expect("count documents")
    }

    /// Documents in every collection that holds media state, as
    /// `(media, files, chunks, staging)`.
    pub async fn counts(&self) -> (u64, u64, u64, u64) {
        (
            self.count("media", doc! {}).await,
            self.count("media.files", doc! {}).await,
            self.count("media.chunks", doc! {}).await,
            self.count("media_staging", doc! {}).await,
        )
    }

    /// Waits (up to 15 s) until `check` holds for the counts; returns the
    /// last counts seen. For work that finishes after a response or a kill.
    pub async fn await_until(
        &self,
        check: impl Fn((u64, u64, u64, u64)) -> bool,
    ) -> (u64, u64, u64, u64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let counts = self.counts().await;
            if check(counts) || tokio::time::Instant::now() > deadline {
                return counts;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn await_counts(&self, expected: (u64, u64, u64, u64)) -> (u64, u64, u64, u64) {
        self.await_until(|counts| counts == expected).await
    }
}

/// A running `avenue-api` inside the test process.
pub struct ApiApp {
    pub address: String,
    pub http: reqwest::Client,
    pub db: mongodb::Database,
    /// The instance's password hasher, to count the work requests cost.
    pub hasher: avenue_api::users::password::Hasher,
    handle: JoinHandle<anyhow::Result<()>>,
}

pub async fn spawn_api(mongodb_uri: &str, media_url: &str) -> ApiApp {
    spawn_api_with(mongodb_uri, &unique_db(), media_url, |_| {}).await
}

/// Starts the api on `db_name`, with settings adjusted by `tweak`.
pub async fn spawn_api_with(
    mongodb_uri: &str,
    db_name: &str,
    media_url: &str,
    tweak: impl FnOnce(&mut avenue_api::Settings),
) -> ApiApp {
    init_logging();
    let mut settings = avenue_api::Settings::local(mongodb_uri, db_name, media_url)
        .expect("test settings are valid");
    tweak(&mut settings);
    let app = avenue_api::Application::build(settings)
        .await
        .expect("api builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let hasher = app.hasher();
    let handle = tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = mongodb::Client::with_uri_str(mongodb_uri)
        .await
        .expect("test MongoDB URI parses");
    ApiApp {
        address,
        http: reqwest::Client::new(),
        db: client.database(db_name),
        hasher,
        handle,
    }
}

impl Drop for ApiApp {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// `avenue-media ARGS` on database `db`, with the fake's account when given.
pub fn media_command(
    db: &str,
    fake: Option<&cloudinary_fake::CloudinaryFake>,
    args: &[&str],
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary("avenue-media"));
    command
        .args(args)
        .env("MONGODB_URI", mongo_uri())
        .env("MONGODB_DB", db)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    if let Some(fake) = fake {
        command
            .env("CLOUDINARY_URL", fake.cloudinary_url())
            .env("CLOUDINARY_DELIVERY_BASE", fake.delivery_base());
    }
    command
}

/// Path of a workspace binary built by `cargo build --bins` (the test
/// script does that first), for tests that need a real process to kill.
pub fn binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}
