//! Erasing a person on request: `POST /api/users/{id}/erase` (admins).
//!
//! Everything personal goes, in every collection, in one transaction (so
//! a failure leaves the account whole, never half-erased); then media
//! erases every file they uploaded. What accounting and the other party
//! need stays, without the person: orders keep their lines and totals,
//! accepted applications and approved deliverables keep their status, a
//! rating they gave keeps its stars. The account itself becomes a
//! tombstone (no e-mail, name, password or session), so the ids that
//! those records hold still resolve and nothing can sign in as it.
//!
//! The request is repeatable: a second run finds nothing more in the
//! database and asks media again, which is how a run that media could not
//! finish (503) is completed.

mod scrub;
mod ugc;

use axum::extract::{Path, State};
use axum::Json;
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::fields::FieldError;
use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::plain::rfc3339;
use crate::media::GatewayError;
use crate::state::AppState;
use crate::users::repo::USERS;

pub use scrub::Change;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(erase))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The account's current e-mail address, typed again: erasing cannot be
    /// undone, so a wrong id in a script must not erase someone else.
    /// Not asked again once the account is erased (it has no address).
    confirm_email: Option<String>,
}

/// What one erasure did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureReport {
    pub id: String,
    /// When the account was first erased (RFC 3339).
    pub erased_at: String,
    /// Per collection, what was removed or anonymised by this run.
    pub changes: Vec<Change>,
    /// Fields the old back end left on kept records (orders,
    /// reservations) that are not known to be personal, so they were kept:
    /// `orders.items_legacy`. Review them if in doubt.
    pub unknown_fields_kept: Vec<String>,
    /// Files media erased by this run (everything they uploaded).
    pub media_erased: u64,
    /// Claims records held on those files, dropped with them.
    pub media_claims_dropped: u64,
}

/// Erases a person (admin): personal data removed or anonymised across
/// the collections, their uploads erased in media, orders kept with the
/// person anonymised. Audited without personal data. Repeatable: after a
/// 503 (media unreachable, the database part done) run it again.
#[utoipa::path(post, path = "/api/users/{id}/erase", tag = "auth",
    request_body = EraseRequest,
    responses((status = 200, body = ErasureReport),
        (status = 404, description = "no such user"),
        (status = 409, description = "the admin's own account, or an admin account (change its role first)"),
        (status = 422, description = "confirm_email is not the account's address"),
        (status = 503, description = "media unreachable: the database part is done; run it again")),
    security(("bearer" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<EraseRequest>,
) -> Result<Json<ErasureReport>, ApiError> {
    let id = crate::db::resolve_id(&state.db, USERS, &id, "user").await?;
    if id == admin.id {
        return Err(ApiError::conflict(
            "own-account",
            "an admin cannot erase their own account",
        ));
    }
    let person = Person::read(&state, id).await?;
    if !person.erased {
        if person.admin {
            // An admin's uploads are the shop's pictures and pages: erasing
            // them must be a decision, not a side effect.
            return Err(ApiError::conflict(
                "admin-account",
                "change this account's role first: erasing it also erases every file it uploaded",
            ));
        }
        let typed = request.confirm_email.as_deref().unwrap_or("").trim();
        if person.email.is_empty() || !typed.eq_ignore_ascii_case(&person.email) {
            return Err(FieldError::new(
                "confirm_email",
                "type the account's current e-mail address to confirm",
            )
            .into());
        }
    }
    let outcome = scrub::anonymise(&state.db, id, &person.email).await?;
    // The profile pictures someone else uploaded for them are not erased
    // below; the deleted profiles' claims on them go.
    for (reference, ids) in &outcome.released {
        state.media.release_all(reference, ids).await;
    }
    let audited = serde_json::json!({ "changes": &outcome.changes });
    state
        .audit
        .record(
            &admin,
            scrub::ERASE_ACTION,
            USERS,
            &id.to_hex(),
            None::<&()>,
            Some(&audited),
        )
        .await;
    let media = match state.media.erase_owner(&admin, &id.to_hex()).await {
        Ok(media) => media,
        Err(GatewayError::Unavailable(cause)) => {
            tracing::warn!(user = %id, error = %cause, "erased in the database; media unreachable");
            return Err(ApiError::Unfinished {
                code: "erasure-unfinished",
                message: "the account is erased from the database, but media could not be reached \
                          to erase its files: repeat the request"
                    .to_owned(),
            });
        }
        Err(other) => return Err(other.into()),
    };
    tracing::info!(user = %id, erased_files = media.erased, "account erased");
    Ok(Json(ErasureReport {
        id: id.to_hex(),
        erased_at: rfc3339(outcome.erased_at.unwrap_or_else(DateTime::now)),
        changes: outcome.changes,
        unknown_fields_kept: outcome.unknown_fields_kept,
        media_erased: media.erased,
        media_claims_dropped: media.claims_dropped,
    }))
}

/// Who is to be erased, read from the stored document as it is: an
/// account the old back end wrote and nobody could convert (a role word
/// nobody mapped) is erased all the same.
struct Person {
    email: String,
    admin: bool,
    erased: bool,
}

impl Person {
    async fn read(state: &AppState, id: mongodb::bson::oid::ObjectId) -> Result<Self, ApiError> {
        let stored = state
            .db
            .collection::<mongodb::bson::Document>(USERS)
            .find_one(mongodb::bson::doc! { "_id": id })
            .await?
            .ok_or(ApiError::NotFound("user"))?;
        let role = stored
            .get_str("role")
            .ok()
            .and_then(crate::adopt::users::role_word);
        let flagged = matches!(
            stored.get("is_admin"),
            Some(mongodb::bson::Bson::Boolean(true))
        );
        Ok(Self {
            email: stored.get_str("email").unwrap_or("").trim().to_owned(),
            admin: role == Some("admin") || (role.is_none() && flagged),
            erased: stored.get_datetime("erased_at").is_ok(),
        })
    }
}
