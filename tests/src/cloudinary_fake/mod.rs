//! A Cloudinary-compatible server for tests, on a random loopback port.
//!
//! It implements what the media service uses (upload, destroy, resource
//! lookup) and is strict where Cloudinary is: every signature is checked as
//! Cloudinary documents it (its own implementation, not the service's, so a
//! shared mistake cannot hide), stale timestamps are refused, unknown API
//! keys are refused. It accepts what the official SDKs send: chunked
//! multipart bodies, text fields without a Content-Type, `file` as bytes, a
//! base64 data URI or text. Tests can queue failures (a status, or a delay)
//! to exercise retry paths.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

mod delivery;
mod upload;

use delivery::deliver;
use upload::{read_form, upload};

/// How far a request's timestamp may be from now, as Cloudinary allows.
const MAX_CLOCK_SKEW_SECS: i64 = 3600;

#[derive(Debug, Clone)]
pub struct StoredResource {
    /// `image`, `video` or `raw`: Cloudinary keeps a namespace of public
    /// ids per resource type, and every call must name the right one.
    pub resource_type: String,
    pub bytes: Vec<u8>,
    pub format: String,
    pub version: i64,
    pub width: u32,
    pub height: u32,
    pub tags: Vec<String>,
}

/// What the next request(s) should suffer.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// Answer this status with Cloudinary's error body.
    Status(u16),
    /// Wait this long before answering normally.
    Slow(Duration),
    /// Answer 200 with an HTML page, as a misconfigured CDN or a captive
    /// portal in front of the real service would.
    Html,
}

#[derive(Default)]
struct Inner {
    /// By `(resource_type, public_id)`.
    resources: HashMap<(String, String), StoredResource>,
    failures: VecDeque<Failure>,
    /// Fails every n-th call (all endpoints counted together) when no
    /// queued failure is due: steady unreliability under load.
    every: Option<(u64, Failure)>,
    total_calls: u64,
    /// Requests by endpoint name (`upload`, `destroy`, `resource`), failures included.
    calls: HashMap<&'static str, u64>,
    /// Chunked uploads under way: the bytes so far, by `X-Unique-Upload-Id`.
    partial: HashMap<String, Vec<u8>>,
    /// Chunks accepted, last chunks included.
    chunks: u64,
}

#[derive(Clone)]
struct FakeState {
    cloud: String,
    api_key: String,
    api_secret: String,
    sha256: bool,
    inner: Arc<Mutex<Inner>>,
}

pub struct CloudinaryFake {
    pub base_url: String,
    pub cloud: String,
    pub api_key: String,
    pub api_secret: String,
    state: FakeState,
    task: tokio::task::JoinHandle<()>,
}

impl CloudinaryFake {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// With `sha256`, the account expects SHA-256 signatures.
    pub async fn start_with(sha256: bool) -> Self {
        let state = FakeState {
            cloud: "avenue-test".into(),
            api_key: "614335564976464".into(),
            api_secret: "fake-secret-&-more".into(),
            sha256,
            inner: Arc::default(),
        };
        let router = Router::new()
            .route("/v1_1/{cloud}/{resource_type}/upload", post(upload))
            .route("/v1_1/{cloud}/{resource_type}/destroy", post(destroy))
            .route(
                "/v1_1/{cloud}/resources/{resource_type}/upload/{*public_id}",
                get(resource),
            )
            .route("/v1_1/{cloud}/ping", get(ping))
            .route("/{cloud}/{resource_type}/upload/{*path}", get(deliver))
            // Cloudinary's limit for one upload request; larger files must
            // come as a chunked upload.
            .layer(axum::extract::DefaultBodyLimit::max(100 * 1024 * 1024))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake");
        let port = listener.local_addr().expect("fake address").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            cloud: state.cloud.clone(),
            api_key: state.api_key.clone(),
            api_secret: state.api_secret.clone(),
            state,
            task,
        }
    }

    /// `CLOUDINARY_URL` for this fake, as the SDKs read it.
    pub fn cloudinary_url(&self) -> String {
        let secret: String =
            url::form_urlencoded::byte_serialize(self.api_secret.as_bytes()).collect();
        format!(
            "cloudinary://{}:{}@{}?upload_prefix={}",
            self.api_key, secret, self.cloud, self.base_url
        )
    }

    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        self.lock().failures.extend(failures);
    }

    /// Fails every `n`-th call from now on (`None`: stop failing).
    pub fn fail_every(&self, every: Option<(u64, Failure)>) {
        let mut inner = self.lock();
        inner.every = every.filter(|(n, _)| *n > 0);
        inner.total_calls = 0;
    }

    /// The image under `public_id`.
    pub fn resource(&self, public_id: &str) -> Option<StoredResource> {
        self.resource_of("image", public_id)
    }

    pub fn resource_of(&self, resource_type: &str, public_id: &str) -> Option<StoredResource> {
        self.lock()
            .resources
            .get(&(resource_type.to_owned(), public_id.to_owned()))
            .cloned()
    }

    /// Chunks of chunked uploads accepted so far.
    pub fn chunks_received(&self) -> u64 {
        self.lock().chunks
    }

    pub fn resource_count(&self) -> usize {
        self.lock().resources.len()
    }

    /// Base of delivery URLs (what `res.cloudinary.com` is in production).
    pub fn delivery_base(&self) -> String {
        self.base_url.clone()
    }

    /// The media service's settings for this fake's account.
    pub fn settings(&self) -> avenue_media::config::CloudinarySettings {
        avenue_media::config::CloudinarySettings {
            account: avenue_media::store::cloudinary::CloudinaryAccount::parse(
                &self.cloudinary_url(),
                None,
            )
            .expect("the fake's CLOUDINARY_URL parses"),
            delivery_base: url::Url::parse(&self.delivery_base()).expect("the fake's address"),
            sign_delivery: true,
        }
    }

    pub fn calls(&self, endpoint: &str) -> u64 {
        self.lock().calls.get(endpoint).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for CloudinaryFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": { "message": message } }))).into_response()
}

/// A refusal in Cloudinary's error shape, kept small until it is sent.
struct Refusal(StatusCode, String);

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal(status, message.to_owned())
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

impl FakeState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the call and applies a queued failure, if any.
    async fn before(&self, endpoint: &'static str) -> Option<Response> {
        let failure = {
            let mut inner = self.lock();
            *inner.calls.entry(endpoint).or_default() += 1;
            inner.total_calls += 1;
            let total = inner.total_calls;
            let steady = inner
                .every
                .as_ref()
                .filter(|(n, _)| total.is_multiple_of(*n))
                .map(|(_, f)| *f);
            inner.failures.pop_front().or(steady)
        };
        match failure {
            Some(Failure::Status(code)) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Some(error(status, "injected failure"))
            }
            Some(Failure::Slow(delay)) => {
                tokio::time::sleep(delay).await;
                None
            }
            Some(Failure::Html) => Some(
                (
                    StatusCode::OK,
                    [(axum::http::header::CONTENT_TYPE, "text/html")],
                    "<html><script>alert(1)</script></html>",
                )
                    .into_response(),
            ),
            None => None,
        }
    }

    /// Cloudinary's check, written from its documentation.
    fn check_signature(&self, params: &HashMap<String, String>) -> Result<(), Refusal> {
        if params.get("api_key") != Some(&self.api_key) {
            return Err(refuse(StatusCode::UNAUTHORIZED, "Unknown API key"));
        }
        let timestamp: i64 = params
            .get("timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "Missing required parameter - timestamp",
                )
            })?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if (now - timestamp).abs() > MAX_CLOCK_SKEW_SECS {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Stale request - reported time is {timestamp} which is more than 1 hour ago"
                ),
            ));
        }
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (text, expected) = fake_signature(&pairs, &self.api_secret, self.sha256);
        match params.get("signature") {
            Some(given) if *given == expected => Ok(()),
            _ => Err(refuse(
                StatusCode::UNAUTHORIZED,
                &format!(
                    "Invalid Signature {}. String to sign - '{text}'.",
                    params.get("signature").map_or("", String::as_str)
                ),
            )),
        }
    }
}

/// The signature Cloudinary expects for `params`, and the string it signs:
/// all parameters but `file`, `cloud_name`, `resource_type`, `api_key` and
/// `signature`, empty ones dropped, sorted, `k=v` joined by `&` with `&` in
/// values written `%26`, the secret appended, hex SHA-1 or SHA-256.
pub fn fake_signature(params: &[(&str, &str)], secret: &str, sha256: bool) -> (String, String) {
    let mut signed: Vec<&(&str, &str)> = params
        .iter()
        .filter(|(k, v)| {
            !v.is_empty()
                && !matches!(
                    *k,
                    "file" | "cloud_name" | "resource_type" | "api_key" | "signature"
                )
        })
        .collect();
    signed.sort();
    let text = signed
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('&', "%26")))
        .collect::<Vec<_>>()
        .join("&");
    let digest = if sha256 {
        hex::encode(Sha256::digest(format!("{text}{secret}")))
    } else {
        hex::encode(Sha1::digest(format!("{text}{secret}")))
    };
    (text, digest)
}

fn describe(state: &FakeState, public_id: &str, r: &StoredResource, bytes: usize) -> Value {
    let file = if r.format.is_empty() {
        public_id.to_owned()
    } else {
        format!("{public_id}.{}", r.format)
    };
    let path = format!(
        "/{}/{}/upload/v{}/{file}",
        state.cloud, r.resource_type, r.version
    );
    json!({
        "public_id": public_id,
        "version": r.version,
        "width": r.width,
        "height": r.height,
        "format": r.format,
        "resource_type": r.resource_type,
        "type": "upload",
        "bytes": bytes,
        "tags": r.tags,
        "created_at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "url": format!("http://res.cloudinary.com{path}"),
        "secure_url": format!("https://res.cloudinary.com{path}"),
    })
}

async fn destroy(
    State(state): State<FakeState>,
    Path((cloud, resource_type)): Path<(String, String)>,
    form: Multipart,
) -> Response {
    if let Some(failed) = state.before("destroy").await {
        return failed;
    }
    if cloud != state.cloud {
        return error(StatusCode::NOT_FOUND, "Unknown cloud");
    }
    let (params, _) = match read_form(form).await {
        Ok(read) => read,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(refusal) = state.check_signature(&params) {
        return refusal.into_response();
    }
    let Some(public_id) = params.get("public_id") else {
        return error(
            StatusCode::BAD_REQUEST,
            "Missing required parameter - public_id",
        );
    };
    let removed = state
        .lock()
        .resources
        .remove(&(resource_type, public_id.clone()))
        .is_some();
    Json(json!({ "result": if removed { "ok" } else { "not found" } })).into_response()
}

/// The Admin API's resource lookup, with HTTP basic auth key:secret.
async fn resource(
    State(state): State<FakeState>,
    Path((cloud, resource_type, public_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(failed) = state.before("resource").await {
        return failed;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", state.api_key, state.api_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Invalid credentials");
    }
    if cloud != state.cloud {
        return error(StatusCode::NOT_FOUND, "Unknown cloud");
    }
    let found = state
        .lock()
        .resources
        .get(&(resource_type, public_id.clone()))
        .cloned();
    match found {
        Some(r) => Json(describe(&state, &public_id, &r, r.bytes.len())).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Resource not found - {public_id}"),
        ),
    }
}

fn basic_auth_ok(state: &FakeState, headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", state.api_key, state.api_secret))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

/// The Admin API's ping.
async fn ping(
    State(state): State<FakeState>,
    Path(cloud): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(failed) = state.before("ping").await {
        return failed;
    }
    if !basic_auth_ok(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Invalid credentials");
    }
    if cloud != state.cloud {
        return error(StatusCode::NOT_FOUND, "Unknown cloud");
    }
    Json(json!({ "status": "ok" })).into_response()
}
