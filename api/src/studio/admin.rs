//! The studio's desk: an admin moves a booking to another time, and after
//! its start marks it completed or a no-show. (Booking for a customer is
//! `POST /api/studio/reservations` with `user_id`.) Every change is
//! conditional on the booking still being confirmed, and a move holds its
//! new slots through the same unique index as a booking, so it can never
//! land on someone else's time.

use axum::extract::{Path, State};
use axum::Json;
use mongodb::bson::{doc, DateTime};
use serde::Deserialize;
use utoipa::ToSchema;

use super::reservations::{
    collection, to_bson, ReservationDoc, ReservationStatus, ReservationView, Studio, RESERVATIONS,
};
use crate::db::OnDuplicate;
use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::users::model::CurrentUser;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reschedule))
        .routes(routes!(complete))
        .routes(routes!(no_show))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reschedule {
    /// RFC 3339, on a slot boundary.
    start: String,
    /// A whole number of slots; the booking's length unless given.
    minutes: Option<i64>,
}

/// A confirmed booking of the caller's choosing, or why not.
async fn confirmed(state: &AppState, id: &str) -> Result<ReservationDoc, ApiError> {
    let id = crate::db::resolve_id(&state.db, RESERVATIONS, id, "reservation").await?;
    let booking = collection(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("reservation"))?;
    if booking.status != ReservationStatus::Confirmed {
        return Err(not_confirmed());
    }
    Ok(booking)
}

fn not_confirmed() -> ApiError {
    ApiError::conflict("not-confirmed", "only a confirmed booking is changed")
}

/// Moves a confirmed booking (admin), with every rule of a new booking;
/// audited. New slots another booking holds: `409 slot-taken`.
#[utoipa::path(post, path = "/api/studio/reservations/{id}/reschedule", tag = "studio",
    request_body = Reschedule,
    responses((status = 200, body = ReservationView), (status = 404, description = "no such booking"),
        (status = 409, description = "`slot-taken`, or the booking is not confirmed"),
        (status = 422, description = "outside opening hours, off a slot boundary, or in the past")),
    security(("bearer" = [])))]
pub async fn reschedule(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<Reschedule>,
) -> Result<Json<ReservationView>, ApiError> {
    let studio = Studio::load(&state.db).await?;
    let before = confirmed(&state, &id).await?;
    let planned = studio.plan(&request.start, request.minutes.unwrap_or(before.minutes))?;
    let moved = collection(&state.db)
        .find_one_and_update(
            doc! { "_id": before.id, "status": "confirmed" },
            doc! { "$set": {
                "start": to_bson(planned.start), "end": to_bson(planned.end),
                "minutes": planned.minutes, "slots": &planned.slots,
            } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await
        .on_duplicate("slot-taken", "part of this time is already booked")?
        .ok_or_else(not_confirmed)?;
    Ok(Json(
        audited(
            &state,
            &admin,
            "reservation.reschedule",
            &before,
            &moved,
            &studio,
        )
        .await,
    ))
}

/// Marks a confirmed booking whose start has passed `completed` (admin).
#[utoipa::path(post, path = "/api/studio/reservations/{id}/complete", tag = "studio",
    responses((status = 200, body = ReservationView), (status = 404, description = "no such booking"),
        (status = 409, description = "not confirmed, or not started yet")),
    security(("bearer" = [])))]
pub async fn complete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    close(&state, &admin, &id, ReservationStatus::Completed).await
}

/// Marks a confirmed booking whose start has passed a no-show (admin).
#[utoipa::path(post, path = "/api/studio/reservations/{id}/no-show", tag = "studio",
    responses((status = 200, body = ReservationView), (status = 404, description = "no such booking"),
        (status = 409, description = "not confirmed, or not started yet")),
    security(("bearer" = [])))]
pub async fn no_show(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    close(&state, &admin, &id, ReservationStatus::NoShow).await
}

async fn close(
    state: &AppState,
    admin: &CurrentUser,
    id: &str,
    outcome: ReservationStatus,
) -> Result<Json<ReservationView>, ApiError> {
    let studio = Studio::load(&state.db).await?;
    let before = confirmed(state, id).await?;
    let now = DateTime::now();
    if before.start > now {
        return Err(ApiError::conflict(
            "not-started",
            "a booking is marked once its time has come",
        ));
    }
    let status = mongodb::bson::to_bson(&outcome).map_err(anyhow::Error::from)?;
    let closed = collection(&state.db)
        .find_one_and_update(
            doc! { "_id": before.id, "status": "confirmed" },
            doc! { "$set": { "status": status, "closed_at": now } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(not_confirmed)?;
    let action = match outcome {
        ReservationStatus::NoShow => "reservation.no_show",
        _ => "reservation.complete",
    };
    Ok(Json(
        audited(state, admin, action, &before, &closed, &studio).await,
    ))
}

async fn audited(
    state: &AppState,
    admin: &CurrentUser,
    action: &str,
    before: &ReservationDoc,
    after: &ReservationDoc,
    studio: &Studio,
) -> ReservationView {
    let (before, after) = (
        ReservationView::of(before, studio.offset()),
        ReservationView::of(after, studio.offset()),
    );
    state
        .audit
        .record(
            admin,
            action,
            RESERVATIONS,
            &after.id(),
            Some(&before),
            Some(&after),
        )
        .await;
    after
}
