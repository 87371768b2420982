//! `reservations`: the photo studio's calendar. A booking covers whole
//! slots inside opening hours (both from `admin_settings`); each confirmed
//! booking lists the slots it holds, and a unique index over the slots of
//! confirmed bookings makes double booking impossible: of two concurrent
//! requests for one slot, exactly one insert succeeds. Bookings reach at
//! most `studio.horizon_days` ahead, and a customer holds at most
//! `studio.max_future_bookings` upcoming ones: the count and the insert
//! share a transaction that also writes the customer's guard document, so
//! concurrent requests of one customer are serialised by write conflicts
//! and cannot all pass the count.

use crate::indexes::IndexSpec;
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::{FutureExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use utoipa::{IntoParams, ToSchema};

use crate::db::OnDuplicate;
use crate::db::{duplicate_or_retry, transaction};
use crate::fields;
use crate::http::auth::{Admin, CurrentUser};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::system::email::{NewEmail, Template};
use crate::system::settings::Values;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, book))
        .routes(routes!(cancel))
        .routes(routes!(availability))
        .routes(routes!(calendar))
}

pub const RESERVATIONS: &str = "reservations";
/// One document per customer, written by each of their bookings so that
/// two bookings of one customer always conflict.
const GUARDS: &str = "reservation_guards";
/// The longest booking, in slots.
const MAX_SLOTS: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Confirmed,
    Cancelled,
    /// The session took place (marked by an admin after its start).
    Completed,
    /// The customer did not come (marked by an admin after the start).
    NoShow,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReservationDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub start: DateTime,
    pub end: DateTime,
    pub minutes: i64,
    /// Start of every slot held, UTC RFC 3339; unique among confirmed bookings.
    pub slots: Vec<String>,
    pub status: ReservationStatus,
    #[serde(default)]
    pub notes: String,
    pub created_at: DateTime,
    #[serde(default)]
    pub cancelled_at: Option<DateTime>,
}

pub(super) fn collection(db: &Database) -> Collection<ReservationDoc> {
    db.collection(RESERVATIONS)
}

/// One confirmed booking per slot, among bookings that list their slots
/// (the old back end's do not).
pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::unique_filtered(
            RESERVATIONS,
            doc! { "slots": 1 },
            doc! { "status": "confirmed", "slots": { "$exists": true } },
            "one_booking_per_slot_listed".to_owned(),
        ),
        IndexSpec::plain(RESERVATIONS, doc! { "start": 1 }),
        IndexSpec::plain(RESERVATIONS, doc! { "user_id": 1, "start": -1 }),
        IndexSpec::legacy_id(RESERVATIONS),
    ]
}

/// A checked booking's time.
pub(super) struct Planned {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub minutes: i64,
    /// Start of every slot held (see [`ReservationDoc::slots`]).
    pub slots: Vec<String>,
}

/// Opening hours and slot size, from the settings.
pub(super) struct Studio {
    open_minute: i64,
    close_minute: i64,
    slot: i64,
    offset: UtcOffset,
    horizon_days: i64,
    max_future_bookings: i64,
}

impl Studio {
    pub(super) async fn load(db: &Database) -> Result<Self, ApiError> {
        let values = Values::load(db).await?;
        Ok(Self {
            open_minute: values.int("studio.open_hour") * 60,
            close_minute: values.int("studio.close_hour") * 60,
            slot: values.int("studio.slot_minutes").max(1),
            offset: UtcOffset::from_whole_seconds(
                i32::try_from(values.int("studio.utc_offset_minutes") * 60).unwrap_or(0),
            )
            .unwrap_or(UtcOffset::UTC),
            horizon_days: values.int("studio.horizon_days").max(1),
            max_future_bookings: values.int("studio.max_future_bookings").max(1),
        })
    }

    /// The studio's UTC offset (its local time).
    pub(super) fn offset(&self) -> UtcOffset {
        self.offset
    }

    /// A booking of `minutes` from `start` (RFC 3339), checked against
    /// every rule: future, within the horizon, whole slots, on a slot
    /// boundary, inside opening hours.
    pub(super) fn plan(&self, start: &str, minutes: i64) -> Result<Planned, ApiError> {
        let start = OffsetDateTime::parse(start, &Rfc3339)
            .map_err(|_| {
                ApiError::invalid(
                    "start",
                    "an RFC 3339 time such as 2026-12-01T10:00:00-03:00",
                )
            })?
            .to_offset(self.offset);
        let now = OffsetDateTime::now_utc();
        if start <= now {
            return Err(ApiError::invalid("start", "bookings are for the future"));
        }
        if start > now + Duration::days(self.horizon_days) {
            return Err(ApiError::invalid(
                "start",
                format!("bookings are taken up to {} days ahead", self.horizon_days),
            ));
        }
        if minutes < self.slot || minutes % self.slot != 0 || minutes > self.slot * MAX_SLOTS {
            return Err(ApiError::invalid(
                "minutes",
                format!(
                    "a whole number of {}-minute slots, at most {MAX_SLOTS}",
                    self.slot
                ),
            ));
        }
        let minute_of_day = i64::from(start.hour()) * 60 + i64::from(start.minute());
        if start.second() != 0
            || start.nanosecond() != 0
            || (minute_of_day - self.open_minute) % self.slot != 0
        {
            return Err(ApiError::invalid(
                "start",
                "bookings start on a slot boundary",
            ));
        }
        if minute_of_day < self.open_minute || minute_of_day + minutes > self.close_minute {
            return Err(ApiError::invalid(
                "start",
                format!(
                    "the studio is open {:02}:00 to {:02}:00",
                    self.open_minute / 60,
                    self.close_minute / 60
                ),
            ));
        }
        let slots: Vec<String> = (0..minutes / self.slot)
            .map(|i| Self::slot_key(start + Duration::minutes(i * self.slot)))
            .collect();
        Ok(Planned {
            start,
            end: start + Duration::minutes(minutes),
            minutes,
            slots,
        })
    }

    fn slot_key(at: OffsetDateTime) -> String {
        at.to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .unwrap_or_default()
    }

    /// Every slot of the local `date`, as local times.
    fn slots_of(&self, date: Date) -> Vec<OffsetDateTime> {
        let midnight = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(self.offset);
        (0..)
            .map(|i| self.open_minute + i * self.slot)
            .take_while(|m| m + self.slot <= self.close_minute)
            .map(|m| midnight + Duration::minutes(m))
            .collect()
    }
}

pub(super) fn to_bson(at: OffsetDateTime) -> DateTime {
    DateTime::from_millis((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn from_bson(at: DateTime, offset: UtcOffset) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.timestamp_millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
}

fn local_date(raw: &str, field: &str) -> Result<Date, ApiError> {
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        ApiError::bad_request(
            "invalid-query",
            format!("{field}: a date such as 2026-12-01"),
        )
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReservation {
    /// RFC 3339, on a slot boundary, for example `2026-12-01T10:00:00-03:00`.
    start: String,
    /// Admins only: the customer booked for (else the caller).
    user_id: Option<String>,
    /// A whole number of slots.
    minutes: i64,
    notes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationView {
    id: String,
    user_id: String,
    /// Local time of the studio.
    start: String,
    end: String,
    minutes: i64,
    status: ReservationStatus,
    notes: String,
}

impl ReservationView {
    pub(super) fn id(&self) -> String {
        self.id.clone()
    }

    pub(super) fn of(r: &ReservationDoc, offset: UtcOffset) -> Self {
        let time = |t| from_bson(t, offset).format(&Rfc3339).unwrap_or_default();
        Self {
            id: r.id.to_hex(),
            user_id: r.user_id.to_hex(),
            start: time(r.start),
            end: time(r.end),
            minutes: r.minutes,
            status: r.status,
            notes: r.notes.clone(),
        }
    }
}

/// Books the studio. Two requests for an overlapping slot: one 201, one 409.
#[utoipa::path(post, path = "/api/studio/reservations", tag = "studio", request_body = NewReservation,
    responses((status = 201, body = ReservationView), (status = 409, description = "a slot is taken"),
        (status = 422, description = "outside opening hours, off a slot boundary, or in the past")),
    security(("bearer" = [])))]
pub async fn book(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<NewReservation>,
) -> Result<(StatusCode, Json<ReservationView>), ApiError> {
    let studio = Studio::load(&state.db).await?;
    let customer = match &request.user_id {
        None => user.id,
        Some(_) if !user.is_admin() => {
            return Err(ApiError::forbidden("only admins book for someone else"))
        }
        Some(id) => {
            let id =
                crate::db::resolve_id(&state.db, crate::users::repo::USERS, id, "user").await?;
            state
                .users
                .by_id(id)
                .await?
                .ok_or(ApiError::NotFound("user"))?
                .id
        }
    };
    let planned = studio.plan(&request.start, request.minutes)?;
    let notes = fields::optional_text(request.notes.as_deref().unwrap_or(""), "notes", 1000)?;
    let reservation = ReservationDoc {
        id: ObjectId::new(),
        user_id: customer,
        start: to_bson(planned.start),
        end: to_bson(planned.end),
        minutes: planned.minutes,
        slots: planned.slots,
        status: ReservationStatus::Confirmed,
        notes,
        created_at: DateTime::now(),
        cancelled_at: None,
    };
    let limit = (!user.is_admin()).then_some(studio.max_future_bookings);
    insert_within_limit(&state.db, &reservation, limit).await?;
    let view = ReservationView::of(&reservation, studio.offset);
    if customer != user.id {
        state
            .audit
            .record::<(), _>(
                &user,
                "reservation.book",
                RESERVATIONS,
                &reservation.id.to_hex(),
                None,
                Some(&view),
            )
            .await;
    }
    if let Some(booker) = state.users.by_id(customer).await? {
        let queued = state
            .outbox
            .enqueue(NewEmail::new(
                Template::ReservationConfirmation,
                booker.email,
                "Avenue studio: your booking is confirmed",
                format!("{RESERVATIONS}:{}", reservation.id.to_hex()),
                &serde_json::json!({ "name": booker.name, "start": view.start, "end": view.end }),
            ))
            .await;
        if let Err(err) = queued {
            tracing::error!(error = %err, "reservation confirmation not queued");
        }
    }
    Ok((StatusCode::CREATED, Json(view)))
}

/// Inserts `reservation` unless its customer already holds `limit`
/// upcoming bookings, in one transaction with a write to the customer's
/// guard document (see the module comment).
async fn insert_within_limit(
    db: &Database,
    reservation: &ReservationDoc,
    limit: Option<i64>,
) -> Result<(), ApiError> {
    let Some(limit) = limit else {
        return collection(db)
            .insert_one(reservation)
            .await
            .map(drop)
            .on_duplicate("slot-taken", "part of this time is already booked")
            .map_err(ApiError::from);
    };
    let db2 = db.clone();
    transaction(db, move |session| {
        let (db, reservation) = (db2.clone(), reservation.clone());
        async move {
            db.collection::<Document>(GUARDS)
                .update_one(
                    doc! { "_id": reservation.user_id },
                    doc! { "$inc": { "bookings": 1_i64 }, "$set": { "at": DateTime::now() } },
                )
                .upsert(true)
                .session(&mut *session)
                .await?;
            let upcoming = collection(&db)
                .count_documents(doc! {
                    "user_id": reservation.user_id,
                    "status": "confirmed",
                    "end": { "$gt": DateTime::now() },
                })
                .session(&mut *session)
                .await?;
            if i64::try_from(upcoming).unwrap_or(i64::MAX) >= limit {
                return Err(ApiError::conflict(
                    "booking-limit",
                    format!("you already hold {upcoming} upcoming bookings (at most {limit}); cancel one first"),
                )
                .into());
            }
            collection(&db)
                .insert_one(&reservation)
                .session(&mut *session)
                .await
                .map_err(|err| duplicate_or_retry(err, "slot-taken", "part of this time is already booked"))?;
            Ok(())
        }
        .boxed()
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReservationQuery {
    status: Option<ReservationStatus>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// One's own bookings (admins: everyone's), newest first.
#[utoipa::path(get, path = "/api/studio/reservations", tag = "studio", params(ReservationQuery),
    responses((status = 200, body = [ReservationView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ReservationQuery>,
) -> Result<Json<Vec<ReservationView>>, ApiError> {
    let studio = Studio::load(&state.db).await?;
    let mut filter = Document::new();
    if !user.is_admin() {
        filter.insert("user_id", user.id);
    }
    if let Some(status) = query.status {
        filter.insert(
            "status",
            mongodb::bson::to_bson(&status).map_err(anyhow::Error::from)?,
        );
    }
    let docs: Vec<ReservationDoc> = crate::db::find_page(
        &collection(&state.db),
        filter,
        doc! { "start": -1, "_id": -1 },
        crate::db::Page::of(query.page, query.limit),
    )
    .await?;
    Ok(Json(
        docs.iter()
            .map(|r| ReservationView::of(r, studio.offset))
            .collect(),
    ))
}

/// Cancels a booking (its owner or an admin); its slots become free.
#[utoipa::path(post, path = "/api/studio/reservations/{id}/cancel", tag = "studio",
    responses((status = 200, body = ReservationView), (status = 404, description = "no such booking of yours"),
        (status = 409, description = "already cancelled")),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    let studio = Studio::load(&state.db).await?;
    let id = crate::db::resolve_id(&state.db, RESERVATIONS, &id, "reservation").await?;
    let reservations = collection(&state.db);
    let current = reservations
        .find_one(doc! { "_id": id })
        .await?
        .filter(|r| user.is_admin() || r.user_id == user.id)
        .ok_or(ApiError::NotFound("reservation"))?;
    let cancelled = reservations
        .find_one_and_update(
            doc! { "_id": id, "status": "confirmed" },
            doc! { "$set": { "status": "cancelled", "cancelled_at": DateTime::now() } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(|| {
            ApiError::conflict("already-cancelled", "this booking is already cancelled")
        })?;
    if user.is_admin() && current.user_id != user.id {
        let view = ReservationView::of(&current, studio.offset);
        let after = ReservationView::of(&cancelled, studio.offset);
        state
            .audit
            .record(
                &user,
                "reservation.cancel",
                RESERVATIONS,
                &id.to_hex(),
                Some(&view),
                Some(&after),
            )
            .await;
    }
    Ok(Json(ReservationView::of(&cancelled, studio.offset)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DayQuery {
    /// Local date, `YYYY-MM-DD`.
    date: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    start: String,
    free: bool,
}

/// The slots of one day and whether each is free (public).
#[utoipa::path(get, path = "/api/studio/availability", tag = "studio", params(DayQuery),
    responses((status = 200, body = [SlotView]), (status = 400, description = "bad date")))]
pub async fn availability(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> Result<Json<Vec<SlotView>>, ApiError> {
    let studio = Studio::load(&state.db).await?;
    let date = local_date(&query.date, "date")?;
    let slots = studio.slots_of(date);
    let keys: Vec<String> = slots.iter().map(|s| Studio::slot_key(*s)).collect();
    let taken: Vec<ReservationDoc> = collection(&state.db)
        .find(doc! { "status": "confirmed", "slots": { "$in": &keys } })
        .await?
        .try_collect()
        .await?;
    let now = OffsetDateTime::now_utc();
    Ok(Json(
        slots
            .iter()
            .zip(&keys)
            .map(|(slot, key)| SlotView {
                start: slot.format(&Rfc3339).unwrap_or_default(),
                free: *slot > now && !taken.iter().any(|r| r.slots.contains(key)),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RangeQuery {
    /// First local date, `YYYY-MM-DD`.
    from: String,
    /// Last local date (inclusive), at most 62 days after `from`.
    to: String,
}

/// Confirmed bookings per local day (admin).
#[utoipa::path(get, path = "/api/studio/calendar", tag = "studio", params(RangeQuery),
    responses((status = 200, description = "date -> bookings")), security(("bearer" = [])))]
pub async fn calendar(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<BTreeMap<String, Vec<ReservationView>>>, ApiError> {
    let studio = Studio::load(&state.db).await?;
    let from = local_date(&query.from, "from")?;
    let to = local_date(&query.to, "to")?;
    if to < from || (to - from).whole_days() > 62 {
        return Err(ApiError::bad_request(
            "invalid-query",
            "to: from 0 to 62 days after from",
        ));
    }
    let start = PrimitiveDateTime::new(from, Time::MIDNIGHT).assume_offset(studio.offset);
    let end =
        PrimitiveDateTime::new(to, Time::MIDNIGHT).assume_offset(studio.offset) + Duration::days(1);
    let docs: Vec<ReservationDoc> = collection(&state.db)
        .find(doc! { "status": "confirmed", "start": { "$gte": to_bson(start), "$lt": to_bson(end) } })
        .sort(doc! { "start": 1 })
        .await?
        .try_collect()
        .await?;
    let mut days: BTreeMap<String, Vec<ReservationView>> = BTreeMap::new();
    for r in &docs {
        let day = from_bson(r.start, studio.offset).date().to_string();
        days.entry(day)
            .or_default()
            .push(ReservationView::of(r, studio.offset));
    }
    Ok(Json(days))
}
