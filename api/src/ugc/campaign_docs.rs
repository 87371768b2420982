//! `ugc_campaigns` as stored and shown: the document, its statuses and
//! requirements, its indexes and its view. The campaign handlers, the
//! applications and the deliverables all read it.

use crate::db::DbError;
use crate::indexes::IndexSpec;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::Level;
use crate::shop::money::Money;

pub const CAMPAIGNS: &str = "ugc_campaigns";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Draft,
    Published,
    Paused,
    Closed,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Paused => "paused",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliverableType {
    Post,
    Reel,
    Story,
    Video,
    Photo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Requirements {
    pub min_level: Option<Level>,
    /// A creator needs at least one of these (none: anyone).
    #[serde(default)]
    pub niches: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub brand_id: ObjectId,
    pub brand_user_id: ObjectId,
    pub title: String,
    pub description: String,
    /// Integer PYG.
    pub budget: i64,
    pub deliverable_types: Vec<DeliverableType>,
    pub deadline: DateTime,
    pub requirements: Requirements,
    /// Creators the brand will accept.
    pub slots: i64,
    pub accepted: i64,
    pub status: CampaignStatus,
    /// Whether publishing has used one of the package's campaigns.
    pub counted: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

pub fn collection(db: &Database) -> Collection<CampaignDoc> {
    db.collection(CAMPAIGNS)
}

/// The campaign a path or query names, by our id or its old one.
///
/// # Errors
/// [`DbError::NoSuch`] when neither names a campaign.
pub async fn resolve(db: &Database, raw: &str) -> Result<ObjectId, DbError> {
    crate::db::resolve_id(db, CAMPAIGNS, raw, "campaign").await
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::plain(CAMPAIGNS, doc! { "status": 1, "created_at": -1, "_id": -1 }),
        IndexSpec::plain(CAMPAIGNS, doc! { "brand_user_id": 1, "created_at": -1 }),
        IndexSpec::legacy_id(CAMPAIGNS),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    id: String,
    brand_id: String,
    title: String,
    description: String,
    budget: i64,
    budget_display: String,
    deliverable_types: Vec<DeliverableType>,
    deadline: String,
    requirements: Requirements,
    slots: i64,
    accepted: i64,
    status: CampaignStatus,
}

impl From<&CampaignDoc> for CampaignView {
    fn from(c: &CampaignDoc) -> Self {
        Self {
            id: c.id.to_hex(),
            brand_id: c.brand_id.to_hex(),
            title: c.title.clone(),
            description: c.description.clone(),
            budget: c.budget,
            budget_display: Money::from_stored(c.budget).display(),
            deliverable_types: c.deliverable_types.clone(),
            deadline: c.deadline.try_to_rfc3339_string().unwrap_or_default(),
            requirements: c.requirements.clone(),
            slots: c.slots,
            accepted: c.accepted,
            status: c.status,
        }
    }
}
