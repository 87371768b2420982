//! The Cloudinary store: signed uploads and destroys through the upload
//! API, delivery reads with ranges, a ping for health. Rate limits (420,
//! 429), 5xx and timeouts are retried with exponential backoff and jitter
//! within a deadline; 401 and 403 are configuration errors.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use rand::Rng;
use reqwest::{multipart, StatusCode};
use url::Url;

use super::account::CloudinaryAccount;
use super::signing::sign_params;
use crate::store::{
    BackendKind, ByteRange, ByteStream, ObjectWriter, Rendered, ResourceKind, StorageKey, Store,
    StoreError,
};

/// Where keys live inside the Cloudinary account.
const KEY_PREFIX: &str = "avenue";

/// Cloudinary files each object under a resource type, and every call and
/// delivery URL must name it. Image keys are the bare public id (as they
/// always were); videos and documents carry their type in front:
/// `video:avenue/{oid}`, `raw:avenue/{oid}`.
fn split_key(key: &StorageKey) -> (ResourceKind, &str) {
    let raw = key.as_str();
    if let Some(id) = raw.strip_prefix("video:") {
        (ResourceKind::Video, id)
    } else if let Some(id) = raw.strip_prefix("raw:") {
        (ResourceKind::Raw, id)
    } else {
        (ResourceKind::Image, raw)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay before the first retry; doubled each time, plus up to 50% jitter.
    pub first_delay: Duration,
    /// No retry starts after this long since the first attempt.
    pub deadline: Duration,
    /// Each attempt's own time limit.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(200),
            deadline: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
pub struct CloudinaryStore {
    account: CloudinaryAccount,
    http: reqwest::Client,
    /// Base of delivery URLs (`https://res.cloudinary.com` in production).
    delivery_base: Url,
    retry: RetryPolicy,
    /// Sign transformed delivery URLs (accounts with strict transformations).
    sign_delivery: bool,
    /// Files larger than this go as a chunked upload, in chunks this size.
    chunk_size: usize,
}

/// Cloudinary's SDKs send 20 MB chunks; chunks must be at least 5 MB.
pub const DEFAULT_CHUNK_SIZE: usize = 20 * 1024 * 1024;
/// The smallest chunk Cloudinary takes (all but the last).
pub const MIN_CHUNK_SIZE: usize = 5 * 1024 * 1024;

impl CloudinaryStore {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        account: CloudinaryAccount,
        delivery_base: Url,
        retry: RetryPolicy,
    ) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // The signed requests go to the account's API base only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(StoreError::backend)?;
        Ok(Self {
            account,
            http,
            delivery_base,
            retry,
            sign_delivery: true,
            chunk_size: DEFAULT_CHUNK_SIZE,
        })
    }

    /// Chunk size of chunked uploads (at least Cloudinary's 5 MB).
    pub fn with_chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(MIN_CHUNK_SIZE);
        self
    }

    /// Whether transformed delivery URLs carry `s--SIG--` (default: yes).
    pub fn with_signed_delivery(mut self, sign: bool) -> Self {
        self.sign_delivery = sign;
        self
    }

    fn delivery_url(&self, key: &StorageKey) -> String {
        let (kind, public_id) = split_key(key);
        format!(
            "{}/{}/{}/upload/{public_id}",
            self.delivery_base.as_str().trim_end_matches('/'),
            self.account.cloud_name,
            kind.as_str(),
        )
    }

    /// One signed call to the upload API, retried as the policy allows.
    async fn signed_post(
        &self,
        kind: ResourceKind,
        action: &str,
        params: &[(&str, &str)],
        file: Option<&Bytes>,
    ) -> Result<serde_json::Value, StoreError> {
        self.signed_post_part(kind, action, params, file, None)
            .await
    }

    /// [`Self::signed_post`], optionally as one chunk of a chunked upload
    /// (`X-Unique-Upload-Id` and `Content-Range`, as Cloudinary documents).
    async fn signed_post_part(
        &self,
        kind: ResourceKind,
        action: &str,
        params: &[(&str, &str)],
        file: Option<&Bytes>,
        chunk: Option<&ChunkHeaders>,
    ) -> Result<serde_json::Value, StoreError> {
        let url = self.account.endpoint(kind.as_str(), action);
        let started = Instant::now();
        let mut delay = self.retry.first_delay;
        loop {
            let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
            let mut signed: Vec<(&str, &str)> = params.to_vec();
            signed.push(("timestamp", &timestamp));
            let signature = sign_params(
                signed.iter().copied(),
                self.account.api_secret(),
                self.account.algorithm,
            );
            let mut form = multipart::Form::new()
                .text("api_key", self.account.api_key.clone())
                .text("signature", signature);
            for (k, v) in &signed {
                form = form.text((*k).to_owned(), (*v).to_owned());
            }
            if let Some(bytes) = file {
                form = form.part(
                    "file",
                    multipart::Part::stream(bytes.clone()).file_name("upload"),
                );
            }
            let mut request = self
                .http
                .post(&url)
                .multipart(form)
                .timeout(self.retry.attempt_timeout);
            if let Some(chunk) = chunk {
                request = request
                    .header("X-Unique-Upload-Id", &chunk.upload_id)
                    .header(reqwest::header::CONTENT_RANGE, &chunk.range);
            }
            let outcome = request.send().await;
            let retryable = match outcome {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        // Lenient: only the fields we need are read later.
                        return response.json().await.map_err(StoreError::backend);
                    }
                    let message = error_message(response).await;
                    match status {
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                            tracing::error!(%status, %message, "Cloudinary refused our credentials: check CLOUDINARY_URL");
                            return Err(StoreError::Misconfigured(format!("{status}: {message}")));
                        }
                        s if s.as_u16() == 420
                            || s == StatusCode::TOO_MANY_REQUESTS
                            || s.is_server_error() =>
                        {
                            format!("{status}: {message}")
                        }
                        _ => return Err(StoreError::Rejected(format!("{status}: {message}"))),
                    }
                }
                Err(err) => format!("transport: {err}"),
            };
            let jitter = delay.mul_f64(rand::rng().random_range(0.0..0.5));
            if started.elapsed() + delay + jitter > self.retry.deadline {
                tracing::warn!(%action, reason = %retryable, "Cloudinary unavailable past the retry deadline");
                return Err(StoreError::Unavailable(retryable));
            }
            tracing::info!(%action, reason = %retryable, ?delay, "retrying Cloudinary");
            tokio::time::sleep(delay + jitter).await;
            delay = delay.saturating_mul(2);
        }
    }
}

async fn error_message(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect())
}

/// Headers that make one upload call a chunk of a larger upload.
struct ChunkHeaders {
    upload_id: String,
    /// `bytes START-END/TOTAL`, TOTAL being `-1` until the last chunk.
    range: String,
}

/// Bytes are gathered up to one chunk. A file that fits in one chunk is sent
/// whole at `finish` (and re-sent whole on retry); a larger one (videos) goes
/// as a chunked upload, a chunk at a time as the bytes arrive, so memory
/// holds one chunk, not the file, and Cloudinary's per-request size limit
/// (100 MB) never applies.
struct CloudinaryWriter {
    store: CloudinaryStore,
    key: StorageKey,
    buffer: Vec<u8>,
    /// Bytes already sent in chunks.
    sent: u64,
    upload_id: String,
}

impl CloudinaryWriter {
    async fn send_chunk(&mut self, bytes: Vec<u8>, last: bool) -> Result<(), StoreError> {
        let start = self.sent;
        let end = start + bytes.len() as u64 - 1;
        let total = if last {
            (end + 1).to_string()
        } else {
            "-1".to_owned()
        };
        let headers = ChunkHeaders {
            upload_id: self.upload_id.clone(),
            range: format!("bytes {start}-{end}/{total}"),
        };
        let (kind, public_id) = split_key(&self.key);
        self.store
            .signed_post_part(
                kind,
                "upload",
                &[("public_id", public_id), ("overwrite", "true")],
                Some(&Bytes::from(bytes)),
                Some(&headers),
            )
            .await?;
        self.sent = end + 1;
        Ok(())
    }
}

#[async_trait]
impl ObjectWriter for CloudinaryWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.buffer.extend_from_slice(chunk);
        // A full chunk is sent once more bytes follow it: the last chunk
        // must be the one that names the total.
        let size = self.store.chunk_size;
        while self.buffer.len() > size {
            let rest = self.buffer.split_off(size);
            let full = std::mem::replace(&mut self.buffer, rest);
            self.send_chunk(full, false).await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        let rest = std::mem::take(&mut self.buffer);
        if self.sent > 0 {
            return self.send_chunk(rest, true).await;
        }
        let bytes = Bytes::from(rest);
        let (kind, public_id) = split_key(&self.key);
        self.store
            .signed_post(
                kind,
                "upload",
                &[("public_id", public_id), ("overwrite", "true")],
                Some(&bytes),
            )
            .await
            .map(|_| ())
    }

    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        // Nothing was stored: Cloudinary drops a chunked upload that never
        // got its last chunk.
        Ok(())
    }
}

#[async_trait]
impl Store for CloudinaryStore {
    fn backend(&self) -> BackendKind {
        BackendKind::Cloudinary
    }

    fn new_key(&self, kind: ResourceKind) -> StorageKey {
        let id = mongodb::bson::oid::ObjectId::new().to_hex();
        StorageKey::new(match kind {
            ResourceKind::Image => format!("{KEY_PREFIX}/{id}"),
            other => format!("{}:{KEY_PREFIX}/{id}", other.as_str()),
        })
    }

    async fn open_writer(&self, key: &StorageKey) -> Result<Box<dyn ObjectWriter>, StoreError> {
        Ok(Box::new(CloudinaryWriter {
            store: self.clone(),
            key: key.clone(),
            buffer: Vec::new(),
            sent: 0,
            upload_id: mongodb::bson::oid::ObjectId::new().to_hex(),
        }))
    }

    async fn read(
        &self,
        key: &StorageKey,
        range: Option<ByteRange>,
    ) -> Result<ByteStream, StoreError> {
        let mut request = self.http.get(self.delivery_url(key));
        if let Some(r) = range {
            request = request.header(
                reqwest::header::RANGE,
                format!("bytes={}-{}", r.start, r.end),
            );
        }
        let response = request
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        match response.status() {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => Ok(Box::pin(
                response
                    .bytes_stream()
                    .map_err(|e| StoreError::Unavailable(e.to_string())),
            )),
            StatusCode::NOT_FOUND => Err(StoreError::NotFound(key.clone())),
            status => Err(StoreError::Unavailable(format!(
                "delivery answered {status}"
            ))),
        }
    }

    async fn delete(&self, key: &StorageKey) -> Result<(), StoreError> {
        let (kind, public_id) = split_key(key);
        let answer = self
            .signed_post(
                kind,
                "destroy",
                &[("public_id", public_id), ("invalidate", "true")],
                None,
            )
            .await?;
        match answer["result"].as_str() {
            Some("ok" | "not found") => Ok(()),
            other => Err(StoreError::Rejected(format!("destroy answered {other:?}"))),
        }
    }

    async fn health_check(&self) -> Result<(), StoreError> {
        let url = format!(
            "{}/v1_1/{}/ping",
            self.account.api_base.as_str().trim_end_matches('/'),
            self.account.cloud_name
        );
        let response = self
            .http
            .get(url)
            .basic_auth(&self.account.api_key, Some(self.account.api_secret()))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        match response.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(StoreError::Misconfigured(
                "ping refused the credentials".into(),
            )),
            s => Err(StoreError::Unavailable(format!("ping answered {s}"))),
        }
    }

    fn renders_itself(&self) -> bool {
        true
    }

    fn public_url(&self, key: &StorageKey, transformation: &str, ext: &str) -> Option<Url> {
        let (kind, public_id) = split_key(key);
        // A raw file's public id is its whole name: no extension is added.
        let file = match kind {
            ResourceKind::Raw => public_id.to_owned(),
            _ => format!("{public_id}.{ext}"),
        };
        let path = if transformation.is_empty() {
            file
        } else {
            format!("{transformation}/{file}")
        };
        // Accounts with strict transformations only render signed URLs; the
        // signature covers the same string ours does, with the API secret.
        let signed = if self.sign_delivery && !transformation.is_empty() {
            format!(
                "{}/{path}",
                crate::process::signature::component(&path, self.account.api_secret())
            )
        } else {
            path
        };
        Url::parse(&format!(
            "{}/{}/{}/upload/{signed}",
            self.delivery_base.as_str().trim_end_matches('/'),
            self.account.cloud_name,
            kind.as_str(),
        ))
        .ok()
    }

    /// One attempt, no retries: a client is waiting, and its CDN retries.
    async fn fetch_public(&self, url: &Url, accept: Option<&str>) -> Result<Rendered, StoreError> {
        let mut request = self
            .http
            .get(url.clone())
            .timeout(self.retry.attempt_timeout);
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        let response = request
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status == StatusCode::OK {
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            return Ok(Rendered {
                content_type: header(reqwest::header::CONTENT_TYPE),
                length: response.content_length(),
                body: Box::pin(
                    response
                        .bytes_stream()
                        .map_err(|e| StoreError::Unavailable(e.to_string())),
                ),
            });
        }
        // Cloudinary explains refusals in `x-cld-error`.
        let reason = response
            .headers()
            .get("x-cld-error")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        match status {
            StatusCode::NOT_FOUND => Err(StoreError::NotFound(StorageKey::new(url.path()))),
            s if s.as_u16() == 420 || s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                Err(StoreError::Unavailable(format!(
                    "delivery answered {s} {reason}"
                )))
            }
            s => {
                tracing::error!(status = %s, %reason, "Cloudinary refused a delivery URL we made");
                Err(StoreError::Rejected(format!(
                    "delivery answered {s} {reason}"
                )))
            }
        }
    }
}
