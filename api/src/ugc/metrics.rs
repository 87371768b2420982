//! `ugc_metrics`: the creator reports a post's numbers (every report kept);
//! the brand sees per-campaign totals from an aggregation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::campaign_docs as campaigns;
use super::notifications::{self, Notice};
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::deliverables::{visible, DELIVERABLES, METRICS};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_metrics, metrics_history))
        .routes(routes!(campaign_metrics))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsReport {
    views: i64,
    likes: i64,
    comments: i64,
    shares: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsView {
    views: i64,
    likes: i64,
    comments: i64,
    shares: i64,
    reported_at: String,
}

/// Reports the numbers of a deliverable's post (its creator); every report
/// is kept.
#[utoipa::path(post, path = "/api/ugc/deliverables/{id}/metrics", tag = "ugc", request_body = MetricsReport,
    responses((status = 201, body = MetricsView), (status = 422, description = "negative or absurd numbers")),
    security(("bearer" = [])))]
pub async fn report_metrics(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(report): ApiJson<MetricsReport>,
) -> Result<(StatusCode, Json<MetricsView>), ApiError> {
    let deliverable = visible(&state.db, &user, &id).await?;
    if deliverable.creator_user_id != user.id {
        return Err(ApiError::forbidden("only the creator reports metrics"));
    }
    for (field, value) in [
        ("views", report.views),
        ("likes", report.likes),
        ("comments", report.comments),
        ("shares", report.shares),
    ] {
        if !(0..=100_000_000_000).contains(&value) {
            return Err(ApiError::invalid(field, "a whole number from 0"));
        }
    }
    let now = DateTime::now();
    state
        .db
        .collection::<Document>(METRICS)
        .insert_one(doc! {
            "deliverable_id": deliverable.id, "campaign_id": deliverable.campaign_id,
            "creator_user_id": user.id, "views": report.views, "likes": report.likes,
            "comments": report.comments, "shares": report.shares, "reported_at": now,
        })
        .await?;
    notifications::notify(
        &state.db,
        Notice {
            user: deliverable.brand_user_id,
            kind: "metrics-reported",
            message: format!(
                "New numbers: {} views, {} likes.",
                report.views, report.likes
            ),
            related: format!("{DELIVERABLES}:{}", deliverable.id.to_hex()),
        },
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(MetricsView {
            views: report.views,
            likes: report.likes,
            comments: report.comments,
            shares: report.shares,
            reported_at: now.try_to_rfc3339_string().unwrap_or_default(),
        }),
    ))
}

fn number(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}

/// Every report of one deliverable, newest first (its parties).
#[utoipa::path(get, path = "/api/ugc/deliverables/{id}/metrics", tag = "ugc",
    responses((status = 200, body = [MetricsView])), security(("bearer" = [])))]
pub async fn metrics_history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<MetricsView>>, ApiError> {
    let deliverable = visible(&state.db, &user, &id).await?;
    let docs: Vec<Document> = state
        .db
        .collection::<Document>(METRICS)
        .find(doc! { "deliverable_id": deliverable.id })
        .sort(doc! { "reported_at": -1, "_id": -1 })
        .await?
        .try_collect()
        .await?;
    Ok(Json(
        docs.iter()
            .map(|d| MetricsView {
                views: number(d, "views"),
                likes: number(d, "likes"),
                comments: number(d, "comments"),
                shares: number(d, "shares"),
                reported_at: d
                    .get_datetime("reported_at")
                    .ok()
                    .and_then(|t| t.try_to_rfc3339_string().ok())
                    .unwrap_or_default(),
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignMetrics {
    campaign_id: String,
    /// Deliverables with at least one report.
    deliverables: i64,
    views: i64,
    likes: i64,
    comments: i64,
    shares: i64,
    /// (likes + comments + shares) / views, when there are views.
    engagement_rate: Option<f64>,
}

/// Totals for a campaign: the latest report of each deliverable, summed
/// (its brand and admins).
#[utoipa::path(get, path = "/api/ugc/campaigns/{id}/metrics", tag = "ugc",
    responses((status = 200, body = CampaignMetrics), (status = 404, description = "no such campaign of yours")),
    security(("bearer" = [])))]
pub async fn campaign_metrics(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignMetrics>, ApiError> {
    let id = crate::ugc::campaign_docs::resolve(&state.db, &id).await?;
    let campaign = campaigns::collection(&state.db)
        .find_one(doc! { "_id": id })
        .await?
        .filter(|c| user.is_admin() || c.brand_user_id == user.id)
        .ok_or(ApiError::NotFound("campaign"))?;
    let rows: Vec<Document> = state
        .db
        .collection::<Document>(METRICS)
        .aggregate([
            doc! { "$match": { "campaign_id": campaign.id } },
            doc! { "$sort": { "reported_at": -1, "_id": -1 } },
            doc! { "$group": {
                "_id": "$deliverable_id",
                "views": { "$first": "$views" }, "likes": { "$first": "$likes" },
                "comments": { "$first": "$comments" }, "shares": { "$first": "$shares" },
            } },
            doc! { "$group": {
                "_id": Bson::Null,
                "deliverables": { "$sum": 1 },
                "views": { "$sum": "$views" }, "likes": { "$sum": "$likes" },
                "comments": { "$sum": "$comments" }, "shares": { "$sum": "$shares" },
            } },
        ])
        .await?
        .try_collect()
        .await?;
    let totals = rows.into_iter().next().unwrap_or_default();
    let views = number(&totals, "views");
    let interactions =
        number(&totals, "likes") + number(&totals, "comments") + number(&totals, "shares");
    Ok(Json(CampaignMetrics {
        campaign_id: campaign.id.to_hex(),
        deliverables: number(&totals, "deliverables"),
        views,
        likes: number(&totals, "likes"),
        comments: number(&totals, "comments"),
        shares: number(&totals, "shares"),
        engagement_rate: (views > 0)
            .then(|| (interactions as f64 / views as f64 * 10_000.0).round() / 10_000.0),
    }))
}
