//! `ugc_creators` and `ugc_brands`: one profile per user of that role,
//! edited by its owner or an admin. Pictures are external URLs or media ids
//! (claimed); ratings keep a sum and a count, so the average is exact.
//!
//! Both kinds go through one flow here ([`Profile`]); `creators` and
//! `brands` say only what their fields are.

pub mod brands;
pub mod creators;

use crate::indexes::IndexSpec;
use axum::http::StatusCode;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{Collection, Database};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;

use avenue_shared::{MediaId, MediaRef, Role};

use super::common::Picture;
use crate::db::OnDuplicate;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::media::embed::Embeds;
use crate::media::FieldMedia;
use crate::state::AppState;

pub use brands::{
    brands, BrandDoc, BrandView, Subscription, SubscriptionStatus, SubscriptionView, BRANDS,
};
pub use creators::{creators, CreatorDoc, CreatorView, CREATORS};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(creators::router())
        .merge(brands::router())
}

/// What a kind of profile says about itself; the flow below does the rest.
pub trait Profile: Clone + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    const COLLECTION: &'static str;
    /// `creator` or `brand`: in messages, 404s and audit actions.
    const KIND: &'static str;
    /// The one role that owns this kind of profile.
    const ROLE: Role;
    /// The field holding the picture (an http(s) URL or a media id).
    const PICTURE_FIELD: &'static str;
    type View: Serialize;

    fn id(&self) -> ObjectId;
    fn user_id(&self) -> ObjectId;
    fn picture(&self) -> Option<&str>;
    /// The fields its owner sets (ratings move concurrently and are never
    /// among them).
    fn owner_fields(&self) -> Result<Document, ApiError>;
    /// Fields only an admin edits; a first save writes their defaults.
    fn admin_fields(&self) -> Result<Document, ApiError> {
        Ok(Document::new())
    }
    /// Written once, when the profile is first saved.
    fn first_save_fields(&self) -> Document {
        Document::new()
    }
    fn view(&self, media_base: &url::Url) -> Self::View;
    /// The view with its picture ready to embed.
    fn embedded_view(&self, media_base: &url::Url, embeds: &Embeds) -> Self::View;
}

/// `profile` as a read answers it: its picture ready to embed, from one
/// lookup (none when the picture is an external URL).
pub async fn embedded<P: Profile>(state: &AppState, profile: &P) -> P::View {
    let id = Picture::media_of(profile.picture());
    let embeds = state.embeds(id.iter()).await;
    profile.embedded_view(state.media_public_url(), &embeds)
}

pub fn collection<P: Profile>(db: &Database) -> Collection<P> {
    db.collection(P::COLLECTION)
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::unique_where(CREATORS, doc! { "user_id": 1 }, "objectId"),
        IndexSpec::unique_where(BRANDS, doc! { "user_id": 1 }, "objectId"),
        IndexSpec::plain(CREATORS, doc! { "niches": 1, "level": 1 }),
        IndexSpec::legacy_id(CREATORS),
        IndexSpec::legacy_id(BRANDS),
    ]
}

pub(super) fn average(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| (sum as f64 / count as f64 * 100.0).round() / 100.0)
}

/// A picture as stored: trimmed away when blank.
///
/// # Errors
/// 422 naming `field`.
pub(super) fn picture(raw: Option<&str>, field: &str) -> Result<Option<String>, ApiError> {
    raw.filter(|p| !p.trim().is_empty())
        .map(|p| Picture::parse(p, field).map(|p| p.stored()))
        .transpose()
}

fn picture_media<P: Profile>(profile: &P) -> Vec<FieldMedia> {
    Picture::media_of(profile.picture())
        .map(|id| FieldMedia {
            field: P::PICTURE_FIELD.to_owned(),
            id,
        })
        .into_iter()
        .collect()
}

fn held(stored: Option<&str>) -> Vec<MediaId> {
    Picture::media_of(stored).into_iter().collect()
}

fn reference(collection: &str, id: ObjectId) -> Result<MediaRef, ApiError> {
    MediaRef::of(collection, &id.to_hex()).map_err(|e| ApiError::Internal(e.into()))
}

/// The caller's own profile of this kind.
///
/// # Errors
/// 403 for other roles, 409 `profile-missing` when there is none yet.
pub async fn mine<P: Profile>(db: &Database, user: &CurrentUser) -> Result<P, ApiError> {
    if user.role != P::ROLE {
        return Err(ApiError::forbidden(format!("this is for {}s", P::KIND)));
    }
    collection::<P>(db)
        .find_one(doc! { "user_id": user.id })
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "profile-missing",
                format!("create your {} profile first", P::KIND),
            )
        })
}

/// One profile by the id in a path.
///
/// # Errors
/// 404 when there is no such profile.
pub async fn by_id<P: Profile>(db: &Database, raw_id: &str) -> Result<P, ApiError> {
    let id = crate::db::resolve_id(db, P::COLLECTION, raw_id, P::KIND).await?;
    collection::<P>(db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound(P::KIND))
}

/// Creates or replaces the caller's profile: `build` makes it from the one
/// already there (if any); ratings and admin fields of an existing profile
/// are kept. 201 for a new profile, 200 for a replaced one.
///
/// # Errors
/// 403 for other roles, 422 for a bad field or picture, 409 when a
/// concurrent first save won.
pub async fn put_mine<P, F>(
    state: &AppState,
    user: &CurrentUser,
    build: F,
) -> Result<(StatusCode, P), ApiError>
where
    P: Profile,
    F: FnOnce(Option<&P>, DateTime) -> Result<P, ApiError>,
{
    if user.role != P::ROLE {
        return Err(ApiError::forbidden(format!(
            "only {kind}s have {kind} profiles",
            kind = P::KIND
        )));
    }
    let existing = collection::<P>(&state.db)
        .find_one(doc! { "user_id": user.id })
        .await?;
    let now = DateTime::now();
    let profile = build(existing.as_ref(), now)?;
    let mut set = profile.owner_fields()?;
    set.insert("updated_at", now);
    let mut on_insert = profile.admin_fields()?;
    on_insert.extend(profile.first_save_fields());
    on_insert.extend(doc! { "rating_sum": 0_i64, "rating_count": 0_i64, "created_at": now });
    state
        .media
        .acting_for(user)
        .save_with(
            &reference(P::COLLECTION, profile.id())?,
            &held(existing.as_ref().and_then(Profile::picture)),
            &picture_media(&profile),
            async {
                collection::<P>(&state.db)
                    .update_one(
                        doc! { "_id": profile.id(), "user_id": user.id },
                        doc! { "$set": set, "$setOnInsert": on_insert },
                    )
                    .upsert(true)
                    .await
                    .on_duplicate(
                        "profile-exists",
                        &format!("this user already has a {} profile", P::KIND),
                    )?;
                Ok::<_, ApiError>(())
            },
        )
        .await?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, profile))
}

/// Edits a profile: its owner or an admin. `apply` changes the copy it is
/// given; an admin's edit of someone else's profile is audited.
///
/// # Errors
/// 404 unknown profile, 403 not yours, 422 a bad field, and `apply`'s own.
pub async fn patch<P, F>(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
    apply: F,
) -> Result<P, ApiError>
where
    P: Profile,
    F: FnOnce(&mut P) -> Result<(), ApiError>,
{
    let before: P = by_id(&state.db, raw_id).await?;
    if !(user.is_admin() || before.user_id() == user.id) {
        return Err(ApiError::forbidden(
            "only its owner or an admin edits a profile",
        ));
    }
    let mut after = before.clone();
    apply(&mut after)?;
    let mut set = after.owner_fields()?;
    set.extend(after.admin_fields()?);
    set.insert("updated_at", DateTime::now());
    let id = before.id();
    state
        .media
        .acting_for(user)
        .save_with(
            &reference(P::COLLECTION, id)?,
            &held(before.picture()),
            &picture_media(&after),
            async {
                collection::<P>(&state.db)
                    .update_one(doc! { "_id": id }, doc! { "$set": set })
                    .await?;
                Ok::<_, ApiError>(())
            },
        )
        .await?;
    if user.is_admin() && before.user_id() != user.id {
        let media_base = state.media_public_url();
        state
            .audit
            .record(
                user,
                &format!("{}.update", P::KIND),
                P::COLLECTION,
                &id.to_hex(),
                Some(&before.view(media_base)),
                Some(&after.view(media_base)),
            )
            .await;
    }
    Ok(after)
}
