//! Typed client for the media service's HTTP API, used by `avenue-api` (and
//! by the end-to-end tests, which makes them the client's first user).

use std::time::Duration;

use bytes::Bytes;
use reqwest::{multipart, StatusCode};
use url::Url;

use crate::error::ErrorBody;
use crate::media::{MediaDescriptor, MediaId, MediaLookup, MediaRef};

#[derive(Debug, thiserror::Error)]
pub enum MediaClientError {
    /// The media service answered with an error status and envelope.
    #[error("media service answered {status}: {} ({})", body.message, body.code)]
    Status { status: u16, body: ErrorBody },
    /// The media service could not be reached or the exchange broke off.
    #[error("media service unreachable")]
    Transport(#[source] reqwest::Error),
    /// The media service answered something that is not what it documents.
    #[error("media service answered an unexpected body")]
    Decode(#[source] reqwest::Error),
    #[error("invalid media service URL")]
    Url(#[from] url::ParseError),
}

impl MediaClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the failure says nothing about the request itself, so a caller
    /// should answer 503 rather than blame its own client.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Optional metadata sent with an upload.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub folder: Option<String>,
    pub tags: Vec<String>,
    pub alt: Option<String>,
    /// File name shown to the service; informational only, the type is
    /// decided from the bytes.
    pub file_name: Option<String>,
    /// For a form that may never be saved: the media expires unless a
    /// record claims it (a library asset otherwise).
    pub pending: bool,
}

/// What `DELETE /v1/media?owner=` erased.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct OwnerErasure {
    pub erased: u64,
    /// Claims records held on the erased media, now gone with it.
    pub claims_dropped: u64,
}

/// A cheap-to-clone handle on the media service.
#[derive(Debug, Clone)]
pub struct MediaClient {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl MediaClient {
    /// A client for the service at `base` (for example `http://127.0.0.1:8081`).
    ///
    /// # Errors
    /// If `base` is not an absolute URL.
    pub fn new(base: &str) -> Result<Self, MediaClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // A hung media service must not hang its callers for ever.
            .timeout(Duration::from_secs(60))
            // The bearer token goes to media and nowhere media points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(MediaClientError::Transport)?;
        Ok(Self {
            http,
            base: Url::parse(base)?,
            token: None,
        })
    }

    /// The same client, sending `token` as its bearer credential.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, MediaClientError> {
        Ok(self.base.join(path)?)
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Uploads `bytes` as a multipart form.
    ///
    /// # Errors
    /// [`MediaClientError::Status`] with the service's reason when it refuses
    /// the file, [`MediaClientError::Transport`] when it cannot be reached.
    pub fn upload(
        &self,
        bytes: impl Into<Bytes>,
        options: &UploadOptions,
    ) -> impl std::future::Future<Output = Result<MediaDescriptor, MediaClientError>> + Send + '_
    {
        let bytes: Bytes = bytes.into();
        let options = options.clone();
        async move {
            let part = multipart::Part::stream(bytes)
                .file_name(options.file_name.unwrap_or_else(|| "upload".to_owned()));
            let mut form = multipart::Form::new().part("file", part);
            if let Some(folder) = options.folder {
                form = form.text("folder", folder);
            }
            if !options.tags.is_empty() {
                form = form.text("tags", options.tags.join(","));
            }
            if let Some(alt) = options.alt {
                form = form.text("alt", alt);
            }
            if options.pending {
                form = form.text("pending", "true");
            }
            let request = self.http.post(self.url("v1/media")?).multipart(form);
            decode(self.authorised(request).send().await).await
        }
    }

    /// Fetches the descriptors of up to 200 `ids` in one call.
    ///
    /// # Errors
    /// Transport failures, or the service's refusal.
    pub async fn lookup(&self, ids: &[MediaId]) -> Result<MediaLookup, MediaClientError> {
        let ids: Vec<&str> = ids.iter().map(MediaId::as_str).collect();
        let request = self
            .http
            .post(self.url("v1/media/lookup")?)
            .json(&serde_json::json!({ "ids": ids }));
        decode(self.authorised(request).send().await).await
    }

    /// Fetches one descriptor.
    ///
    /// # Errors
    /// A 404 [`MediaClientError::Status`] when the id is unknown.
    pub async fn get(&self, id: &MediaId) -> Result<MediaDescriptor, MediaClientError> {
        let request = self.http.get(self.url(&format!("v1/media/{id}"))?);
        decode(self.authorised(request).send().await).await
    }

    /// Deletes one media object.
    ///
    /// # Errors
    /// As for [`MediaClient::get`].
    pub async fn delete(&self, id: &MediaId) -> Result<(), MediaClientError> {
        let request = self.http.delete(self.url(&format!("v1/media/{id}"))?);
        let response = self
            .authorised(request)
            .send()
            .await
            .map_err(MediaClientError::Transport)?;
        check(response).await.map(|_| ())
    }
}

impl MediaClient {
    /// Claims `id` for `reference` (idempotent). With `on_behalf_of` (a
    /// user id) the claim holds only for that user's own uploads and
    /// library assets.
    ///
    /// # Errors
    /// A 404 [`MediaClientError::Status`] when the id is unknown, 403 when
    /// it is someone else's.
    pub async fn claim(
        &self,
        id: &MediaId,
        reference: &MediaRef,
        on_behalf_of: Option<&str>,
    ) -> Result<MediaDescriptor, MediaClientError> {
        let mut body = serde_json::json!({ "ref": reference });
        if let Some(owner) = on_behalf_of {
            body["on_behalf_of"] = serde_json::Value::from(owner);
        }
        let request = self
            .http
            .post(self.url(&format!("v1/media/{id}/refs"))?)
            .json(&body);
        decode(self.authorised(request).send().await).await
    }

    /// Releases the claim of `reference` on `id` (idempotent; releasing
    /// from an unknown media succeeds).
    ///
    /// # Errors
    /// When the service cannot be reached or refuses.
    pub async fn release(
        &self,
        id: &MediaId,
        reference: &MediaRef,
    ) -> Result<(), MediaClientError> {
        let request = self
            .http
            .delete(self.url(&format!("v1/media/{id}/refs/{reference}"))?);
        let response = self
            .authorised(request)
            .send()
            .await
            .map_err(MediaClientError::Transport)?;
        check(response).await.map(|_| ())
    }

    /// Erases every media uploaded by `owner` (a token `sub`), claimed or
    /// not; needs an admin token. Idempotent: a second call erases none.
    ///
    /// # Errors
    /// When the service cannot be reached or refuses.
    pub async fn erase_owner(&self, owner: &str) -> Result<OwnerErasure, MediaClientError> {
        let mut url = self.url("v1/media")?;
        url.query_pairs_mut().append_pair("owner", owner);
        decode(self.authorised(self.http.delete(url)).send().await).await
    }

    /// `GET /v1/storage/status`, as the media service reports it.
    ///
    /// # Errors
    /// When the service cannot be reached or refuses.
    pub async fn storage_status(&self) -> Result<serde_json::Value, MediaClientError> {
        let request = self.http.get(self.url("v1/storage/status")?);
        decode(self.authorised(request).send().await).await
    }
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, MediaClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response
        .json::<ErrorBody>()
        .await
        .unwrap_or_else(|_| ErrorBody::new("unexpected-response", status.to_string()));
    Err(MediaClientError::Status {
        status: status.as_u16(),
        body,
    })
}

async fn decode<T: serde::de::DeserializeOwned>(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, MediaClientError> {
    let response = check(sent.map_err(MediaClientError::Transport)?).await?;
    if response.status() == StatusCode::NO_CONTENT {
        // No caller asks for a body from a 204, so this is the service breaking its contract.
        return Err(MediaClientError::Status {
            status: 204,
            body: ErrorBody::new("unexpected-response", "expected a body"),
        });
    }
    response.json::<T>().await.map_err(MediaClientError::Decode)
}
