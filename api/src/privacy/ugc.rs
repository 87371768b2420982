//! The UGC side of an erasure: what a creator or a brand leaves on the
//! platform, kept for the other party without the person.

use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::ClientSession;

use avenue_shared::{MediaId, MediaRef};

use super::scrub::{Run, Step, ERASED_NOTICE};
use crate::ugc::applications::APPLICATIONS;
use crate::ugc::campaign_docs::CAMPAIGNS;
use crate::ugc::deliverables::{DELIVERABLES, RATINGS};
use crate::ugc::notifications::{self, Notice, NOTIFICATIONS};
use crate::ugc::profiles::BRANDS;
use crate::ugc::subscriptions::{archive_stored, Outcome as Ending};
use crate::users::repo::USERS;

impl Run<'_> {
    pub(super) async fn ugc(
        &mut self,
        s: &mut ClientSession,
        applications: &[ObjectId],
        deliverables: &[ObjectId],
    ) -> Step<()> {
        let id = self.id;
        self.delete(s, RATINGS, doc! { "to_user": id }).await?;
        self.scrub(s, RATINGS, doc! { "from_user": id }, RATING_FIELDS, |_| {
            doc! { "review": "" }
        })
        .await?;
        self.delete(s, NOTIFICATIONS, doc! { "user_id": id })
            .await?;
        let mut quoted: Vec<Bson> = applications
            .iter()
            .map(|a| Bson::String(format!("{APPLICATIONS}:{}", a.to_hex())))
            .collect();
        quoted.extend(
            deliverables
                .iter()
                .map(|d| Bson::String(format!("{DELIVERABLES}:{}", d.to_hex()))),
        );
        let reworded = self
            .collection(NOTIFICATIONS)
            .update_many(
                doc! { "related": { "$in": quoted }, "message": { "$ne": ERASED_NOTICE } },
                doc! { "$set": { "message": ERASED_NOTICE } },
            )
            .session(&mut *s)
            .await?;
        self.note(NOTIFICATIONS, "anonymised", reworded.modified_count);
        // A pending application of theirs is withdrawn: no brand can hire
        // someone who is gone. Decided ones stay for the campaign's count.
        self.delete(
            s,
            APPLICATIONS,
            doc! { "creator_user_id": id, "status": "pending" },
        )
        .await?;
        self.scrub(
            s,
            APPLICATIONS,
            doc! { "creator_user_id": id },
            APPLICATION_FIELDS,
            |_| doc! { "pitch": "" },
        )
        .await?;
        let either = doc! { "$or": [{ "creator_user_id": id }, { "brand_user_id": id }] };
        self.scrub(s, DELIVERABLES, either, DELIVERABLE_FIELDS, |record| {
            forget_in_deliverable(record, id)
        })
        .await
    }

    /// Deletes their profile of `kind`, answering its id. A brand's
    /// subscription is archived first and its open campaigns close.
    pub(super) async fn drop_profile(
        &mut self,
        s: &mut ClientSession,
        kind: &str,
    ) -> Step<Option<ObjectId>> {
        let Some(profile) = self
            .collection(kind)
            .find_one(doc! { "user_id": self.id })
            .session(&mut *s)
            .await?
        else {
            return Ok(None);
        };
        let Ok(profile_id) = profile.get_object_id("_id") else {
            return Ok(None);
        };
        if kind == BRANDS {
            self.close_brand(s, profile_id, &profile).await?;
        }
        let picture = ["profile_image", "logo_url"]
            .iter()
            .find_map(|field| profile.get_str(field).ok())
            .and_then(|p| MediaId::parse(p).ok());
        if let (Some(picture), Ok(reference)) = (picture, MediaRef::of(kind, &profile_id.to_hex()))
        {
            self.released.push((reference, vec![picture]));
        }
        self.delete(s, kind, doc! { "_id": profile_id }).await?;
        Ok(Some(profile_id))
    }

    async fn close_brand(
        &mut self,
        s: &mut ClientSession,
        brand: ObjectId,
        profile: &Document,
    ) -> Step<()> {
        let now = DateTime::now();
        if let Some(subscription) = profile
            .get("subscription")
            .filter(|v| !matches!(v, Bson::Null))
        {
            let running = subscription
                .as_document()
                .and_then(|d| d.get_datetime("ends_at").ok())
                .is_some_and(|ends| *ends > now);
            let ending = if running {
                Ending::Cancelled
            } else {
                Ending::Ended
            };
            archive_stored(self.db, s, brand, subscription.clone(), ending, now).await?;
        }
        let open = doc! { "brand_user_id": self.id, "status": { "$ne": "closed" } };
        let campaigns = self.find(s, CAMPAIGNS, open.clone()).await?;
        let closed = self
            .collection(CAMPAIGNS)
            .update_many(
                open,
                doc! { "$set": { "status": "closed", "updated_at": now } },
            )
            .session(&mut *s)
            .await?;
        self.note(CAMPAIGNS, "closed", closed.modified_count);
        for campaign in campaigns {
            let (Ok(campaign_id), title) = (
                campaign.get_object_id("_id"),
                campaign.get_str("title").unwrap_or(""),
            ) else {
                continue;
            };
            let accepted = self
                .find(
                    s,
                    APPLICATIONS,
                    doc! { "campaign_id": campaign_id, "status": "accepted" },
                )
                .await?;
            let hired: Vec<ObjectId> = accepted
                .iter()
                .filter_map(|a| a.get_object_id("creator_user_id").ok())
                .collect();
            // No notice for a creator erased before (nobody reads it).
            let live = self
                .ids(
                    s,
                    USERS,
                    doc! { "_id": { "$in": hired }, "erased_at": { "$exists": false } },
                )
                .await?;
            for creator in live {
                notifications::notify_in(
                    self.db,
                    s,
                    Notice {
                        user: creator,
                        kind: "campaign-closed",
                        message: format!("The campaign \"{title}\" is closed."),
                        related: format!("{CAMPAIGNS}:{}", campaign_id.to_hex()),
                    },
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// A deliverable without what the person wrote: the creator's post and
/// file and every note, or the brand's own review notes.
fn forget_in_deliverable(record: &Document, person: ObjectId) -> Document {
    let is_creator = record.get_object_id("creator_user_id").ok() == Some(person);
    let history: Vec<Bson> = record
        .get_array("history")
        .map(|entries| {
            entries
                .iter()
                .map(|entry| match entry.as_document() {
                    Some(entry) => {
                        let mut entry = entry.clone();
                        let by_them = entry.get_object_id("by").ok() == Some(person);
                        if is_creator {
                            entry.insert("post_url", "");
                            entry.insert("file_url", Bson::Null);
                        }
                        if is_creator || by_them {
                            entry.insert("note", "");
                        }
                        Bson::Document(entry)
                    }
                    None => entry.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut set = doc! { "history": history };
    if is_creator {
        set.insert("post_url", "");
        set.insert("file_url", Bson::Null);
    }
    set
}

const APPLICATION_FIELDS: &[&str] = &[
    "_id",
    "campaign_id",
    "creator_id",
    "creator_user_id",
    "brand_user_id",
    "pitch",
    "status",
    "created_at",
    "decided_at",
    "legacy_id",
];
const DELIVERABLE_FIELDS: &[&str] = &[
    "_id",
    "application_id",
    "campaign_id",
    "creator_user_id",
    "brand_user_id",
    "post_url",
    "file_url",
    "status",
    "history",
    "created_at",
    "updated_at",
    "legacy_id",
];
const RATING_FIELDS: &[&str] = &[
    "_id",
    "deliverable_id",
    "campaign_id",
    "from_user",
    "to_user",
    "rated",
    "stars",
    "review",
    "created_at",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deliverable_forgets_the_creator_but_keeps_the_review_trail() {
        let (creator, brand) = (ObjectId::new(), ObjectId::new());
        let record = doc! {
            "creator_user_id": creator, "brand_user_id": brand, "post_url": "https://ig.example/p/1",
            "history": [
                { "status": "submitted", "post_url": "https://ig.example/p/1", "note": "mine", "by": creator },
                { "status": "changes_requested", "post_url": "https://ig.example/p/1", "note": "brighter", "by": brand },
            ],
        };
        let as_creator = forget_in_deliverable(&record, creator);
        assert_eq!(as_creator.get_str("post_url"), Ok(""));
        let history = as_creator.get_array("history").expect("history");
        assert_eq!(history.len(), 2);
        for entry in history {
            let entry = entry.as_document().expect("entry");
            assert_eq!(entry.get_str("post_url"), Ok(""));
            assert_eq!(entry.get_str("note"), Ok(""));
            assert!(entry.get_str("status").is_ok());
        }
        let as_brand = forget_in_deliverable(&record, brand);
        assert!(
            !as_brand.contains_key("post_url"),
            "the creator's post stays"
        );
        let history = as_brand.get_array("history").expect("history");
        let notes: Vec<&str> = history
            .iter()
            .filter_map(|e| e.as_document()?.get_str("note").ok())
            .collect();
        assert_eq!(notes, ["mine", ""]);
    }
}
