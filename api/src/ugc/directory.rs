//! Who may find whom: the brands list (admins all; creators the brands
//! hiring now, that is with a published campaign) and the ratings a
//! profile has received, which anyone signed in may read.

use axum::extract::{Path, State};
use axum::Json;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use avenue_shared::Role;

use super::campaign_docs::CAMPAIGNS;
use super::common::Picture;
use super::deliverables::RATINGS;
use super::profiles::{self, brands, BrandDoc, BrandView, CreatorDoc, Profile};
use crate::db::{regex_escape, Page};
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::plain::rfc3339;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_brands))
        .routes(routes!(creator_ratings))
        .routes(routes!(brand_ratings))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct BrandQuery {
    /// Part of the company name, any case.
    q: Option<String>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// Brands by company name (admins: every brand; creators: the brands with
/// a published campaign; anyone else 403).
#[utoipa::path(get, path = "/api/ugc/brands", tag = "ugc", params(BrandQuery),
    responses((status = 200, body = [BrandView]), (status = 403, description = "neither an admin nor a creator")),
    security(("bearer" = [])))]
pub async fn list_brands(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<BrandQuery>,
) -> Result<Json<Vec<BrandView>>, ApiError> {
    let mut filter = Document::new();
    match user.role {
        Role::Admin => {}
        Role::Creator => {
            let hiring = state
                .db
                .collection::<Document>(CAMPAIGNS)
                .distinct("brand_id", doc! { "status": "published" })
                .await?;
            let ids: Vec<Bson> = hiring
                .into_iter()
                .filter(|id| matches!(id, Bson::ObjectId(_)))
                .collect();
            filter.insert("_id", doc! { "$in": ids });
        }
        _ => {
            return Err(ApiError::forbidden(
                "brands are listed for admins and creators",
            ))
        }
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let q: String = q.chars().take(100).collect();
        filter.insert(
            "company",
            doc! { "$regex": regex_escape(&q), "$options": "i" },
        );
    }
    let docs: Vec<BrandDoc> = crate::db::find_page(
        &brands(&state.db),
        filter,
        doc! { "company": 1, "_id": 1 },
        Page::of(query.page, query.limit),
    )
    .await?;
    let pictures: Vec<_> = docs
        .iter()
        .filter_map(|b| Picture::media_of(b.logo_url.as_deref()))
        .collect();
    let embeds = state.embeds(pictures.iter()).await;
    Ok(Json(
        docs.iter()
            .map(|b| b.embedded_view(state.media_public_url(), &embeds))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RatingQuery {
    page: Option<u32>,
    limit: Option<u32>,
}

/// A rating a profile received.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceivedRating {
    deliverable_id: String,
    campaign_id: String,
    /// 1 to 5.
    stars: i64,
    review: String,
    /// RFC 3339.
    created_at: String,
}

/// The ratings a creator received, newest first (any signed-in user).
#[utoipa::path(get, path = "/api/ugc/creators/{id}/ratings", tag = "ugc", params(RatingQuery),
    responses((status = 200, body = [ReceivedRating]), (status = 404, description = "no such creator")),
    security(("bearer" = [])))]
pub async fn creator_ratings(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<RatingQuery>,
) -> Result<Json<Vec<ReceivedRating>>, ApiError> {
    let creator: CreatorDoc = profiles::by_id(&state.db, &id).await?;
    received(&state, creator.user_id(), "creator", query).await
}

/// The ratings a brand received, newest first (any signed-in user).
#[utoipa::path(get, path = "/api/ugc/brands/{id}/ratings", tag = "ugc", params(RatingQuery),
    responses((status = 200, body = [ReceivedRating]), (status = 404, description = "no such brand")),
    security(("bearer" = [])))]
pub async fn brand_ratings(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<RatingQuery>,
) -> Result<Json<Vec<ReceivedRating>>, ApiError> {
    let brand: BrandDoc = profiles::by_id(&state.db, &id).await?;
    received(&state, brand.user_id(), "brand", query).await
}

async fn received(
    state: &AppState,
    user: ObjectId,
    rated: &str,
    query: RatingQuery,
) -> Result<Json<Vec<ReceivedRating>>, ApiError> {
    let docs: Vec<Document> = crate::db::find_page(
        &state.db.collection::<Document>(RATINGS),
        doc! { "to_user": user, "rated": rated },
        doc! { "created_at": -1, "_id": -1 },
        Page::of(query.page, query.limit),
    )
    .await?;
    let id = |d: &Document, field: &str| {
        d.get_object_id(field)
            .map(|i| i.to_hex())
            .unwrap_or_default()
    };
    Ok(Json(
        docs.iter()
            .map(|d| ReceivedRating {
                deliverable_id: id(d, "deliverable_id"),
                campaign_id: id(d, "campaign_id"),
                stars: d
                    .get_i64("stars")
                    .or_else(|_| d.get_i32("stars").map(i64::from))
                    .unwrap_or(0),
                review: d.get_str("review").unwrap_or_default().to_owned(),
                created_at: d
                    .get_datetime("created_at")
                    .map_or_else(|_| String::new(), |t| rfc3339(*t)),
            })
            .collect(),
    ))
}
