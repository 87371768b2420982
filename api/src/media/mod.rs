//! The api's side of media references. Records keep media ids only; when a
//! record is saved with ids, each new id is claimed in the media service
//! (which proves it exists and stops it being deleted), and ids a record
//! drops are released. Claims are taken before the record is written and
//! released after, so a failure in between leaves a claim too many (which
//! only keeps a file alive), never a record pointing at nothing.

pub mod embed;
pub mod urls;

use std::collections::BTreeSet;

use avenue_shared::{Claims, JwtKeys, MediaClient, MediaClientError, MediaId, MediaRef, Role};

use crate::fields::FieldError;
use crate::users::model::CurrentUser;

/// Why media refused or could not be asked; the HTTP layer maps each to a
/// status in one place.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// An id in a request field is unknown or not the caller's to use.
    #[error(transparent)]
    Refused(#[from] FieldError),
    #[error("the media service is unavailable")]
    Unavailable(#[source] MediaClientError),
    #[error("media call failed")]
    Failed(#[source] anyhow::Error),
}

/// The media service, reached with a service token minted per call.
#[derive(Clone)]
pub struct MediaGateway {
    client: MediaClient,
    keys: JwtKeys,
    /// Set when acting for a non-admin user: claims then hold only for
    /// that user's uploads and library assets, and uploads are theirs.
    on_behalf_of: Option<String>,
}

/// Lifetime of the service tokens the api sends to media.
const SERVICE_TOKEN_TTL_SECS: u64 = 300;

/// One media id as it appeared in a request, with the field it came from,
/// so a refusal can name it (`image_ids[2]`, `blocks[1].media_id`).
#[derive(Debug, Clone)]
pub struct FieldMedia {
    pub field: String,
    pub id: MediaId,
}

impl MediaGateway {
    pub fn new(client: MediaClient, keys: JwtKeys) -> Self {
        Self {
            client,
            keys,
            on_behalf_of: None,
        }
    }

    /// This gateway acting for `user`: an admin may use any media, anyone
    /// else only what they uploaded and library assets (so a creator cannot
    /// pin an admin's upload and block its deletion).
    pub fn acting_for(&self, user: &CurrentUser) -> Self {
        Self {
            on_behalf_of: (!user.is_admin()).then(|| user.id.to_hex()),
            ..self.clone()
        }
    }

    /// A client carrying a fresh service token.
    ///
    /// # Errors
    /// When the token cannot be signed (never with valid keys).
    pub fn client(&self) -> Result<MediaClient, GatewayError> {
        self.client_as("avenue-api")
    }

    /// A client whose uploads are owned by `subject` (a user id), so that
    /// user may claim them later and an erasure of that user finds them.
    ///
    /// # Errors
    /// When the token cannot be signed (never with valid keys).
    pub fn client_as(&self, subject: &str) -> Result<MediaClient, GatewayError> {
        let token = self
            .keys
            .sign(&Claims::new(subject, Role::Service, SERVICE_TOKEN_TTL_SECS))
            .map_err(|err| GatewayError::Failed(err.into()))?;
        Ok(self.client.clone().with_token(token))
    }

    /// Erases everything `owner` uploaded, as `admin` asked (media lets
    /// only admins erase, so the call carries the admin's own authority).
    ///
    /// # Errors
    /// [`GatewayError::Unavailable`] when media cannot be reached.
    pub async fn erase_owner(
        &self,
        admin: &CurrentUser,
        owner: &str,
    ) -> Result<avenue_shared::OwnerErasure, GatewayError> {
        let token = self
            .keys
            .sign(
                &Claims::new(admin.id.to_hex(), Role::Admin, SERVICE_TOKEN_TTL_SECS)
                    .in_epoch(admin.epoch),
            )
            .map_err(|err| GatewayError::Failed(err.into()))?;
        self.client
            .clone()
            .with_token(token)
            .erase_owner(owner)
            .await
            .map_err(|err| {
                if err.is_unavailable() {
                    GatewayError::Unavailable(err)
                } else {
                    GatewayError::Failed(
                        anyhow::Error::new(err).context("media refused an erasure"),
                    )
                }
            })
    }

    /// Claims every id of `wanted` not in `held` for `reference`. All or
    /// nothing: on the first refusal the claims taken here are released.
    ///
    /// # Errors
    /// [`GatewayError::Refused`] naming the field of an unknown id,
    /// [`GatewayError::Unavailable`] when media cannot be reached.
    pub async fn claim_new(
        &self,
        reference: &MediaRef,
        held: &BTreeSet<MediaId>,
        wanted: &[FieldMedia],
    ) -> Result<Vec<MediaId>, GatewayError> {
        let client = self.client()?;
        let mut taken: Vec<MediaId> = Vec::new();
        for item in wanted {
            if held.contains(&item.id) || taken.contains(&item.id) {
                continue;
            }
            match client
                .claim(&item.id, reference, self.on_behalf_of.as_deref())
                .await
            {
                // Every field that names media shows it as an image (product
                // photos, pictures, logos, page blocks): a video or a PDF
                // there would be a broken `<img>`.
                Ok(media) if media.resource_type != "image" => {
                    taken.push(item.id.clone());
                    self.release_all(reference, &taken).await;
                    return Err(FieldError::new(
                        item.field.clone(),
                        format!(
                            "media {} is {}, not an image; link videos and documents by their URL",
                            item.id, media.content_type
                        ),
                    )
                    .into());
                }
                Ok(_) => taken.push(item.id.clone()),
                Err(err) => {
                    self.release_all(reference, &taken).await;
                    return Err(refusal(err, item));
                }
            }
        }
        Ok(taken)
    }

    /// Releases `ids` for `reference`. Failures are logged, not returned:
    /// the record is already saved, and a leftover claim is harmless.
    pub async fn release_all(&self, reference: &MediaRef, ids: &[MediaId]) {
        let client = match self.client() {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "cannot mint a service token");
                return;
            }
        };
        for id in ids {
            if let Err(err) = client.release(id, reference).await {
                tracing::warn!(%id, %reference, error = %err, "media claim not released; it keeps the file alive");
            }
        }
    }

    /// Claims what `wanted` adds to `held`; after `write` succeeds,
    /// releases what it dropped; if `write` fails, releases what was just
    /// claimed. The one way records with media are saved.
    ///
    /// # Errors
    /// The claim's refusal (422, 503) with nothing written, or `write`'s.
    pub async fn save_with<T, E, F>(
        &self,
        reference: &MediaRef,
        held: &[MediaId],
        wanted: &[FieldMedia],
        write: F,
    ) -> Result<T, E>
    where
        E: From<GatewayError>,
        F: std::future::Future<Output = Result<T, E>>,
    {
        let held_set: BTreeSet<MediaId> = held.iter().cloned().collect();
        let claimed = self.claim_new(reference, &held_set, wanted).await?;
        match write.await {
            Ok(value) => {
                let kept: BTreeSet<&MediaId> = wanted.iter().map(|w| &w.id).collect();
                let dropped: Vec<MediaId> = held
                    .iter()
                    .filter(|id| !kept.contains(id))
                    .cloned()
                    .collect();
                self.release_all(reference, &dropped).await;
                Ok(value)
            }
            Err(err) => {
                self.release_all(reference, &claimed).await;
                Err(err)
            }
        }
    }
}

fn refusal(err: MediaClientError, item: &FieldMedia) -> GatewayError {
    if err.is_not_found() {
        FieldError::new(
            item.field.clone(),
            format!("no media with id {} (upload it first)", item.id),
        )
        .into()
    } else if matches!(&err, MediaClientError::Status { status: 403, .. }) {
        FieldError::new(
            item.field.clone(),
            format!(
                "media {} is neither your upload nor a library asset; upload your own image",
                item.id
            ),
        )
        .into()
    } else if err.is_unavailable() {
        GatewayError::Unavailable(err)
    } else {
        GatewayError::Failed(anyhow::Error::new(err).context("media refused a claim"))
    }
}

/// `(field[i], id)` pairs for a list field.
pub fn indexed(field: &str, ids: &[MediaId]) -> Vec<FieldMedia> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| FieldMedia {
            field: format!("{field}[{i}]"),
            id: id.clone(),
        })
        .collect()
}
