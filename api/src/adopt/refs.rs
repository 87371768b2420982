//! References between old documents are the old string ids (`user_id`,
//! `product_id`, ...). After adoption they name our ObjectIds, so an order
//! still belongs to its user and lists its products. The index maps every
//! old id, whether still in `id` or already kept as `legacy_id`, to the
//! document's `_id`, so a dry run resolves what an apply will.
//!
//! The UGC documents also need what their references lead to: the user
//! behind a creator or brand profile (the old back end named either), the
//! brand user behind a campaign, the application of a creator to a
//! campaign. Those links are read here too, through the same index, so
//! they resolve whether or not the linked documents are adopted yet.

use std::collections::HashMap;

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::Database;

use crate::ugc::applications::APPLICATIONS;
use crate::ugc::campaign_docs::CAMPAIGNS;
use crate::ugc::profiles::brands::BRANDS;
use crate::ugc::profiles::creators::CREATORS;
use crate::users::model::USERS;

/// The studio's clock, for old bookings stored as a local date and time.
#[derive(Debug, Clone, Copy)]
pub struct StudioClock {
    pub utc_offset_minutes: i64,
    pub slot_minutes: i64,
}

impl Default for StudioClock {
    /// Asunción (UTC-3 all year since 2024) and hour slots: the settings'
    /// defaults.
    fn default() -> Self {
        Self {
            utc_offset_minutes: -180,
            slot_minutes: 60,
        }
    }
}

/// Old id -> `_id`, per referenced collection, and the links above.
#[derive(Debug, Default, Clone)]
pub struct RefIndex {
    by_collection: HashMap<&'static str, HashMap<String, ObjectId>>,
    /// Per profile collection: profile `_id` -> its user's `_id`.
    owner: HashMap<&'static str, HashMap<ObjectId, ObjectId>>,
    /// Per profile collection: user `_id` -> the profile's `_id`.
    profile_of: HashMap<&'static str, HashMap<ObjectId, ObjectId>>,
    /// Campaign `_id` -> the raw `brand_id` / `brand_user_id` it holds.
    campaign_brand: HashMap<ObjectId, (Option<Bson>, Option<ObjectId>)>,
    /// (campaign `_id`, creator user `_id`) -> application `_id`.
    applications: HashMap<(ObjectId, ObjectId), ObjectId>,
    /// Display name and address of each user, for profile defaults.
    users: HashMap<ObjectId, (Option<String>, Option<String>)>,
    pub studio: StudioClock,
}

impl RefIndex {
    /// Reads the old ids of `collections`, and the links of those of them
    /// that have any. Profiles' users resolve through USERS, so list it
    /// first.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn load(db: &Database, collections: &[&'static str]) -> mongodb::error::Result<Self> {
        let mut index = Self::default();
        for &collection in collections {
            let mut cursor = db
                .collection::<Document>(collection)
                .find(doc! {})
                .projection(doc! {
                    "_id": 1, "id": 1, "legacy_id": 1, "user_id": 1, "name": 1, "email": 1,
                    "brand_id": 1, "brand_user_id": 1, "campaign_id": 1, "creator_id": 1,
                    "creator_user_id": 1,
                })
                .await?;
            let mut rows = Vec::new();
            while let Some(stored) = cursor.try_next().await? {
                let Some(Bson::ObjectId(oid)) = stored.get("_id") else {
                    continue;
                };
                let map = index.by_collection.entry(collection).or_default();
                for field in ["legacy_id", "id"] {
                    if let Some(Bson::String(old)) = stored.get(field) {
                        map.insert(old.clone(), *oid);
                    }
                }
                rows.push((*oid, stored));
            }
            for (oid, stored) in rows {
                index.link(collection, oid, &stored);
            }
        }
        Ok(index)
    }

    fn link(&mut self, collection: &'static str, oid: ObjectId, stored: &Document) {
        let text = |f: &str| stored.get_str(f).ok().map(str::to_owned);
        match collection {
            USERS => {
                self.users.insert(oid, (text("name"), text("email")));
            }
            CREATORS | BRANDS => {
                if let Some(user) = stored.get("user_id").and_then(|u| self.resolve(USERS, u)) {
                    self.owner.entry(collection).or_default().insert(oid, user);
                    self.profile_of
                        .entry(collection)
                        .or_default()
                        .insert(user, oid);
                }
            }
            CAMPAIGNS => {
                let brand_user = stored.get_object_id("brand_user_id").ok();
                self.campaign_brand
                    .insert(oid, (stored.get("brand_id").cloned(), brand_user));
            }
            APPLICATIONS => {
                let campaign = stored
                    .get("campaign_id")
                    .and_then(|c| self.resolve(CAMPAIGNS, c));
                let creator_user = stored.get_object_id("creator_user_id").ok().or_else(|| {
                    stored
                        .get("creator_id")
                        .and_then(|c| self.profile(CREATORS, c))
                        .map(|(_, user)| user)
                });
                if let (Some(campaign), Some(user)) = (campaign, creator_user) {
                    self.applications.insert((campaign, user), oid);
                }
            }
            _ => {}
        }
    }

    /// The `_id` a reference names: an ObjectId already, its hex, or an
    /// old id of `collection`.
    pub fn resolve(&self, collection: &str, value: &Bson) -> Option<ObjectId> {
        match value {
            Bson::ObjectId(id) => Some(*id),
            Bson::String(text) => ObjectId::parse_str(text).ok().or_else(|| {
                self.by_collection
                    .get(collection)
                    .and_then(|map| map.get(text.trim()))
                    .copied()
            }),
            _ => None,
        }
    }

    /// A creator or brand profile named by its own id or by its user's
    /// (the old back end used both): the profile's `_id` and its user's.
    pub fn profile(&self, collection: &str, value: &Bson) -> Option<(ObjectId, ObjectId)> {
        let owners = self.owner.get(collection)?;
        if let Some(id) = self.resolve(collection, value) {
            if let Some(user) = owners.get(&id) {
                return Some((id, *user));
            }
        }
        let user = self.resolve(USERS, value)?;
        let profile = self.profile_of.get(collection)?.get(&user)?;
        Some((*profile, user))
    }

    /// The brand user behind a campaign.
    pub fn campaign_brand_user(&self, campaign: ObjectId) -> Option<ObjectId> {
        let (brand, brand_user) = self.campaign_brand.get(&campaign)?;
        brand_user.or_else(|| {
            brand
                .as_ref()
                .and_then(|b| self.profile(BRANDS, b))
                .map(|(_, user)| user)
        })
    }

    /// The application of the creator `user` to `campaign`.
    pub fn application(&self, campaign: ObjectId, user: ObjectId) -> Option<ObjectId> {
        self.applications.get(&(campaign, user)).copied()
    }

    /// A user's name and address, as stored.
    pub fn user(&self, user: ObjectId) -> (Option<&str>, Option<&str>) {
        self.users
            .get(&user)
            .map_or((None, None), |(n, e)| (n.as_deref(), e.as_deref()))
    }
}
