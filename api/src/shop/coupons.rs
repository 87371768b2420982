//! `shop_coupons`: percent or fixed discounts with a validity window, a
//! minimum order, and usage limits overall and per user. Usage counters
//! live on the coupon and change inside the order's transaction, so two
//! orders racing for the last use cannot both get it.

use crate::indexes::IndexSpec;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::money::Money;
use crate::db::OnDuplicate;
use crate::fields::double_option;
use crate::http::auth::{Admin, CurrentUser};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(check))
}

pub const COUPONS: &str = "shop_coupons";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CouponKind {
    /// `value` percent off the subtotal (1 to 100).
    Percent,
    /// `value` PYG off the subtotal, never below zero.
    Fixed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CouponDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// Upper case; what customers type.
    pub code: String,
    pub kind: CouponKind,
    pub value: i64,
    pub valid_from: Option<DateTime>,
    pub valid_until: Option<DateTime>,
    pub max_uses: Option<i64>,
    pub max_uses_per_user: Option<i64>,
    /// Smallest subtotal (PYG) the coupon applies to.
    pub min_order: i64,
    pub uses: i64,
    /// user id (hex) -> uses.
    #[serde(default)]
    pub uses_by_user: Document,
    pub active: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

pub fn collection(db: &Database) -> Collection<CouponDoc> {
    db.collection(COUPONS)
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::unique_where(COUPONS, doc! { "code": 1 }, "string"),
        IndexSpec::legacy_id(COUPONS),
    ]
}

fn code(raw: &str) -> Result<String, ApiError> {
    let code = raw.trim().to_uppercase();
    let ok = (3..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(ApiError::invalid("code", "3 to 32 letters, digits, - or _"))
    }
}

fn instant(raw: &str, field: &str) -> Result<DateTime, ApiError> {
    let at = OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
        ApiError::invalid(field, "an RFC 3339 time such as 2026-12-01T00:00:00-03:00")
    })?;
    Ok(DateTime::from_millis(
        (at.unix_timestamp_nanos() / 1_000_000) as i64,
    ))
}

fn limit(value: Option<i64>, field: &str) -> Result<Option<i64>, ApiError> {
    match value {
        Some(n) if n < 1 => Err(ApiError::invalid(field, "a limit is at least 1")),
        other => Ok(other),
    }
}

fn value(kind: CouponKind, value: i64) -> Result<i64, ApiError> {
    match kind {
        CouponKind::Percent if !(1..=100).contains(&value) => {
            Err(ApiError::invalid("value", "a percentage is 1 to 100"))
        }
        CouponKind::Fixed => Ok(Money::parse(value, "value")?.amount()).and_then(|v| {
            if v == 0 {
                Err(ApiError::invalid("value", "a fixed discount is at least 1"))
            } else {
                Ok(v)
            }
        }),
        CouponKind::Percent => Ok(value),
    }
}

fn check_window(from: Option<DateTime>, until: Option<DateTime>) -> Result<(), ApiError> {
    match (from, until) {
        (Some(from), Some(until)) if until <= from => Err(ApiError::invalid(
            "valid_until",
            "the window ends after it starts",
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCoupon {
    code: String,
    kind: CouponKind,
    value: i64,
    /// RFC 3339.
    valid_from: Option<String>,
    valid_until: Option<String>,
    max_uses: Option<i64>,
    max_uses_per_user: Option<i64>,
    #[serde(default)]
    min_order: i64,
    active: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    valid_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    valid_until: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    max_uses: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    max_uses_per_user: Option<Option<i64>>,
    min_order: Option<i64>,
    value: Option<i64>,
    active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponView {
    code: String,
    kind: CouponKind,
    value: i64,
    valid_from: Option<String>,
    valid_until: Option<String>,
    max_uses: Option<i64>,
    max_uses_per_user: Option<i64>,
    min_order: i64,
    uses: i64,
    active: bool,
}

impl From<&CouponDoc> for CouponView {
    fn from(c: &CouponDoc) -> Self {
        let time = |t: Option<DateTime>| t.and_then(|t| t.try_to_rfc3339_string().ok());
        Self {
            code: c.code.clone(),
            kind: c.kind,
            value: c.value,
            valid_from: time(c.valid_from),
            valid_until: time(c.valid_until),
            max_uses: c.max_uses,
            max_uses_per_user: c.max_uses_per_user,
            min_order: c.min_order,
            uses: c.uses,
            active: c.active,
        }
    }
}

/// Every coupon (admin).
#[utoipa::path(get, path = "/api/shop/coupons", tag = "shop",
    responses((status = 200, body = [CouponView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<CouponView>>, ApiError> {
    let coupons: Vec<CouponDoc> = collection(&state.db)
        .find(doc! {})
        .sort(doc! { "code": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(Json(coupons.iter().map(CouponView::from).collect()))
}

/// Creates a coupon (admin).
#[utoipa::path(post, path = "/api/shop/coupons", tag = "shop", request_body = NewCoupon,
    responses((status = 201, body = CouponView), (status = 409, description = "code taken"),
        (status = 422, description = "invalid field")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(input): ApiJson<NewCoupon>,
) -> Result<(StatusCode, Json<CouponView>), ApiError> {
    let now = DateTime::now();
    let valid_from = input
        .valid_from
        .as_deref()
        .map(|t| instant(t, "valid_from"))
        .transpose()?;
    let valid_until = input
        .valid_until
        .as_deref()
        .map(|t| instant(t, "valid_until"))
        .transpose()?;
    check_window(valid_from, valid_until)?;
    let coupon = CouponDoc {
        id: ObjectId::new(),
        code: code(&input.code)?,
        kind: input.kind,
        value: value(input.kind, input.value)?,
        valid_from,
        valid_until,
        max_uses: limit(input.max_uses, "max_uses")?,
        max_uses_per_user: limit(input.max_uses_per_user, "max_uses_per_user")?,
        min_order: Money::parse(input.min_order, "min_order")?.amount(),
        uses: 0,
        uses_by_user: Document::new(),
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    collection(&state.db)
        .insert_one(&coupon)
        .await
        .on_duplicate("code-taken", "a coupon with this code exists")?;
    let view = CouponView::from(&coupon);
    state
        .audit
        .record(
            &admin,
            "coupon.create",
            COUPONS,
            &coupon.code,
            None::<&CouponView>,
            Some(&view),
        )
        .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Changes a coupon (admin); the code and kind stay.
#[utoipa::path(patch, path = "/api/shop/coupons/{code}", tag = "shop", request_body = CouponPatch,
    responses((status = 200, body = CouponView), (status = 404, description = "no such coupon")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(raw_code): Path<String>,
    ApiJson(patch): ApiJson<CouponPatch>,
) -> Result<Json<CouponView>, ApiError> {
    let coupons = collection(&state.db);
    let before = coupons
        .find_one(doc! { "code": raw_code.trim().to_uppercase() })
        .await?
        .ok_or(ApiError::NotFound("coupon"))?;
    let mut after = before.clone();
    if let Some(from) = patch.valid_from {
        after.valid_from = from
            .as_deref()
            .map(|t| instant(t, "valid_from"))
            .transpose()?;
    }
    if let Some(until) = patch.valid_until {
        after.valid_until = until
            .as_deref()
            .map(|t| instant(t, "valid_until"))
            .transpose()?;
    }
    check_window(after.valid_from, after.valid_until)?;
    if let Some(max) = patch.max_uses {
        after.max_uses = limit(max, "max_uses")?;
    }
    if let Some(max) = patch.max_uses_per_user {
        after.max_uses_per_user = limit(max, "max_uses_per_user")?;
    }
    if let Some(min) = patch.min_order {
        after.min_order = Money::parse(min, "min_order")?.amount();
    }
    if let Some(v) = patch.value {
        after.value = value(after.kind, v)?;
    }
    if let Some(active) = patch.active {
        after.active = active;
    }
    after.updated_at = DateTime::now();
    // Only the edited fields are written: usage counters move concurrently,
    // so a new limit is held against the uses stored at the write.
    let mut filter = doc! { "_id": before.id };
    if let Some(max) = after.max_uses {
        filter.insert("uses", doc! { "$lte": max });
    }
    let written = coupons
        .update_one(
            filter,
            doc! { "$set": {
                "valid_from": after.valid_from,
                "valid_until": after.valid_until,
                "max_uses": after.max_uses,
                "max_uses_per_user": after.max_uses_per_user,
                "min_order": after.min_order,
                "value": after.value,
                "active": after.active,
                "updated_at": after.updated_at,
            } },
        )
        .await?;
    if written.matched_count == 0 {
        return Err(ApiError::invalid(
            "max_uses",
            "the coupon has been used more times than this limit",
        ));
    }
    let (before, after) = (CouponView::from(&before), CouponView::from(&after));
    state
        .audit
        .record(
            &admin,
            "coupon.update",
            COUPONS,
            &after.code,
            Some(&before),
            Some(&after),
        )
        .await;
    Ok(Json(after))
}

/// Deletes a coupon (admin). Orders keep the code they used.
#[utoipa::path(delete, path = "/api/shop/coupons/{code}", tag = "shop",
    responses((status = 204), (status = 404, description = "no such coupon")),
    security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(raw_code): Path<String>,
) -> Result<StatusCode, ApiError> {
    let before = collection(&state.db)
        .find_one_and_delete(doc! { "code": raw_code.trim().to_uppercase() })
        .await?
        .ok_or(ApiError::NotFound("coupon"))?;
    let view = CouponView::from(&before);
    state
        .audit
        .record(
            &admin,
            "coupon.delete",
            COUPONS,
            &view.code,
            Some(&view),
            None::<&CouponView>,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Why a coupon does not apply, or the discount it gives on `subtotal`.
///
/// # Errors
/// 422 with a `coupon-*` code.
pub fn discount_for(
    coupon: &CouponDoc,
    subtotal: Money,
    user: &ObjectId,
    now: DateTime,
) -> Result<Money, ApiError> {
    let refuse = |code: &'static str, message: &str| Err(ApiError::unprocessable(code, message));
    if !coupon.active {
        return refuse("coupon-inactive", "this coupon is not active");
    }
    if coupon.valid_from.is_some_and(|from| now < from) {
        return refuse("coupon-not-yet-valid", "this coupon is not valid yet");
    }
    if coupon.valid_until.is_some_and(|until| now >= until) {
        return refuse("coupon-expired", "this coupon has expired");
    }
    if subtotal.amount() < coupon.min_order {
        return refuse(
            "coupon-minimum-not-met",
            &format!(
                "this coupon needs an order of at least {}",
                Money::from_stored(coupon.min_order).display()
            ),
        );
    }
    if coupon.max_uses.is_some_and(|max| coupon.uses >= max) {
        return refuse("coupon-used-up", "this coupon has been used up");
    }
    let mine = user_uses(coupon, user);
    if coupon.max_uses_per_user.is_some_and(|max| mine >= max) {
        return refuse("coupon-used-by-you", "you have already used this coupon");
    }
    Ok(match coupon.kind {
        CouponKind::Percent => subtotal.percent(coupon.value),
        CouponKind::Fixed => Money::from_stored(coupon.value.min(subtotal.amount())),
    })
}

fn user_uses(coupon: &CouponDoc, user: &ObjectId) -> i64 {
    match coupon.uses_by_user.get(user.to_hex()) {
        Some(mongodb::bson::Bson::Int32(n)) => i64::from(*n),
        Some(mongodb::bson::Bson::Int64(n)) => *n,
        _ => 0,
    }
}

/// Takes one use of `code` for `user` inside `session`, answering the
/// discount. The counters are written here, so concurrent orders conflict
/// on this document and the transaction retries see the new counts.
///
/// # Errors
/// 422 `coupon-*` when it does not apply; database failures.
pub async fn redeem(
    db: &Database,
    session: &mut ClientSession,
    raw_code: &str,
    user: &ObjectId,
    subtotal: Money,
) -> Result<(String, Money), crate::db::TxError<ApiError>> {
    let coupons = collection(db);
    let coupon = coupons
        .find_one(doc! { "code": raw_code.trim().to_uppercase() })
        .session(&mut *session)
        .await?
        .ok_or_else(|| ApiError::unprocessable("coupon-unknown", "no coupon with this code"))?;
    let discount = discount_for(&coupon, subtotal, user, DateTime::now())?;
    let per_user = format!("uses_by_user.{}", user.to_hex());
    coupons
        .update_one(
            // As read: the same uses and no edit since (a lowered limit,
            // a deactivation), else the decision above is stale.
            doc! { "_id": coupon.id, "uses": coupon.uses, "updated_at": coupon.updated_at },
            doc! { "$inc": { "uses": 1, &per_user: 1 } },
        )
        .session(&mut *session)
        .await
        .map_err(crate::db::TxError::Db)
        .and_then(|done| {
            if done.matched_count == 1 {
                Ok(())
            } else {
                // Someone else used or edited it between our read and
                // write: the whole order runs again and sees it as it is.
                Err(crate::db::TxError::Retry)
            }
        })?;
    Ok((coupon.code, discount))
}

/// Gives back the use an order took (when it is cancelled).
///
/// # Errors
/// Database failures.
pub async fn give_back(
    db: &Database,
    session: &mut ClientSession,
    code: &str,
    user: &ObjectId,
) -> Result<(), mongodb::error::Error> {
    let per_user = format!("uses_by_user.{}", user.to_hex());
    collection(db)
        .update_one(
            doc! { "code": code, "uses": { "$gt": 0 } },
            doc! { "$inc": { "uses": -1, &per_user: -1 } },
        )
        .session(session)
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponCheck {
    code: String,
    /// Integer PYG.
    subtotal: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponQuote {
    code: String,
    discount: i64,
    total: i64,
}

/// What a coupon would take off a subtotal, for the signed-in user.
#[utoipa::path(post, path = "/api/shop/coupons/check", tag = "shop", request_body = CouponCheck,
    responses((status = 200, body = CouponQuote), (status = 422, description = "the coupon does not apply")),
    security(("bearer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<CouponCheck>,
) -> Result<Json<CouponQuote>, ApiError> {
    let subtotal = Money::parse(request.subtotal, "subtotal")?;
    let coupon = collection(&state.db)
        .find_one(doc! { "code": request.code.trim().to_uppercase() })
        .await?
        .ok_or_else(|| ApiError::unprocessable("coupon-unknown", "no coupon with this code"))?;
    let discount = discount_for(&coupon, subtotal, &user.id, DateTime::now())?;
    Ok(Json(CouponQuote {
        code: coupon.code,
        discount: discount.amount(),
        total: subtotal.minus(discount).amount(),
    }))
}
