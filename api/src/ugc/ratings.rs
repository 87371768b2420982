//! `ugc_ratings`: after approval each side may rate the other once, and the
//! rated profile's sum and count move in the same transaction as the rating.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::FutureExt;
use mongodb::bson::{doc, DateTime, Document};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::notifications::{self, Notice};
use crate::db::{duplicate_or_retry, transaction, TxError};
use crate::fields;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::deliverables::{visible, DeliverableStatus, DELIVERABLES, RATINGS};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(rate))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 to 5.
    stars: i64,
    review: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    deliverable_id: String,
    /// `creator` or `brand`: who was rated.
    rated: String,
    stars: i64,
    review: String,
}

/// Rates the other side of an approved deliverable, once: the brand rates
/// the creator, the creator the brand.
#[utoipa::path(post, path = "/api/ugc/deliverables/{id}/ratings", tag = "ugc", request_body = RatingInput,
    responses((status = 201, body = RatingView), (status = 409, description = "already rated, or not approved yet"),
        (status = 422, description = "stars out of range")),
    security(("bearer" = [])))]
pub async fn rate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RatingInput>,
) -> Result<(StatusCode, Json<RatingView>), ApiError> {
    let deliverable = visible(&state.db, &user, &id).await?;
    if !(1..=5).contains(&input.stars) {
        return Err(ApiError::invalid("stars", "1 to 5"));
    }
    let review = fields::optional_text(input.review.as_deref().unwrap_or(""), "review", 1000)?;
    if deliverable.status != DeliverableStatus::Approved {
        return Err(ApiError::conflict(
            "not-approved",
            "ratings follow an approved deliverable",
        ));
    }
    let (rated, rated_user, profiles) = if user.id == deliverable.brand_user_id {
        (
            "creator",
            deliverable.creator_user_id,
            super::profiles::CREATORS,
        )
    } else if user.id == deliverable.creator_user_id {
        ("brand", deliverable.brand_user_id, super::profiles::BRANDS)
    } else {
        return Err(ApiError::forbidden(
            "only the brand and the creator rate each other",
        ));
    };
    let db = state.db.clone();
    let stars = input.stars;
    transaction(&state.db, |session| {
        let (db, deliverable, review) = (db.clone(), deliverable.clone(), review.clone());
        async move {
            db.collection::<Document>(RATINGS)
                .insert_one(doc! {
                    "deliverable_id": deliverable.id, "campaign_id": deliverable.campaign_id,
                    "from_user": user.id, "to_user": rated_user, "rated": rated,
                    "stars": stars, "review": &review, "created_at": DateTime::now(),
                })
                .session(&mut *session)
                .await
                .map_err(|e| {
                    duplicate_or_retry(
                        e,
                        "already-rated",
                        "you have rated this deliverable already",
                    )
                })?;
            let moved = db
                .collection::<Document>(profiles)
                .update_one(
                    doc! { "user_id": rated_user },
                    doc! { "$inc": { "rating_sum": stars, "rating_count": 1 } },
                )
                .session(&mut *session)
                .await?;
            if moved.matched_count == 0 {
                return Err(TxError::Abort(ApiError::NotFound("profile")));
            }
            notifications::notify_in(
                &db,
                session,
                Notice {
                    user: rated_user,
                    kind: "rating-received",
                    message: format!("You were rated {stars} of 5."),
                    related: format!("{DELIVERABLES}:{}", deliverable.id.to_hex()),
                },
            )
            .await?;
            Ok(())
        }
        .boxed()
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RatingView {
            deliverable_id: deliverable.id.to_hex(),
            rated: rated.to_owned(),
            stars,
            review,
        }),
    ))
}
