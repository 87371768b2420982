//! The database half of an erasure, as one transaction.
//!
//! Records we keep (orders, reservations, applications, deliverables,
//! ratings given) lose their personal fields. Fields this api knows are
//! handled by name; a field it does not know (the old back end wrote it)
//! goes when its name looks personal (`customer_phone`, `shipping_legacy`)
//! and is otherwise kept and reported, because it may be what accounting
//! needs (`items_legacy`) and a guess must not lose that.

use std::collections::{BTreeMap, BTreeSet};

use futures::{FutureExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::{ClientSession, Collection, Database};
use serde::Serialize;
use utoipa::ToSchema;

use avenue_shared::db::regex_escape;
use avenue_shared::{MediaId, MediaRef};

use crate::db::{transaction, TxError};
use crate::http::error::ApiError;
use crate::shop::order_docs::ORDERS;
use crate::studio::reservations::RESERVATIONS;
use crate::system::audit::AUDIT_LOGS;
use crate::system::email::EMAIL_LOGS;
use crate::ugc::applications::APPLICATIONS;
use crate::ugc::deliverables::DELIVERABLES;
use crate::ugc::profiles::{BRANDS, CREATORS};
use crate::users::limiter::LOGIN_ATTEMPTS;
use crate::users::profile::EMAIL_CHANGES;
use crate::users::repo::USERS;
use crate::users::reset::PASSWORD_RESETS;

/// What one step did to one collection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Change {
    pub collection: String,
    /// `deleted`, `anonymised` or `closed`.
    pub action: String,
    pub count: u64,
}

/// The transaction's result, for the handler to finish with.
pub struct Outcome {
    /// When the account was first erased; `None` only if the tombstone
    /// could not be read back (never in practice).
    pub erased_at: Option<DateTime>,
    pub changes: Vec<Change>,
    pub unknown_fields_kept: Vec<String>,
    /// Claims of the deleted profiles, to release in media.
    pub released: Vec<(MediaRef, Vec<MediaId>)>,
}

/// The audit action of an erasure.
pub const ERASE_ACTION: &str = "user.erase";
/// The person's name on everything kept.
const ERASED_NAME: &str = "Erased user";
/// A notification to someone else that quoted the person (their name, a
/// post's address).
pub(super) const ERASED_NOTICE: &str = "About an account since erased.";

/// Erases account `id`, whose address is `email` (empty when the stored
/// document has none), from the database in one transaction.
///
/// # Errors
/// Database failures (then nothing changed).
pub async fn anonymise(db: &Database, id: ObjectId, email: &str) -> Result<Outcome, ApiError> {
    transaction(db, |session| {
        let (db, email) = (db.clone(), email.to_owned());
        async move { Run::new(&db, id).go(session, &email).await }.boxed()
    })
    .await
}

pub(super) struct Run<'a> {
    pub(super) db: &'a Database,
    pub(super) id: ObjectId,
    changes: Vec<Change>,
    kept: BTreeSet<String>,
    pub(super) released: Vec<(MediaRef, Vec<MediaId>)>,
}

pub(super) type Step<T> = Result<T, TxError<ApiError>>;

impl<'a> Run<'a> {
    fn new(db: &'a Database, id: ObjectId) -> Self {
        Self {
            db,
            id,
            changes: Vec::new(),
            kept: BTreeSet::new(),
            released: Vec::new(),
        }
    }

    pub(super) fn collection(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    pub(super) fn note(&mut self, collection: &str, action: &str, count: u64) {
        if count > 0 {
            self.changes.push(Change {
                collection: collection.to_owned(),
                action: action.to_owned(),
                count,
            });
        }
    }

    async fn go(mut self, s: &mut ClientSession, email: &str) -> Step<Outcome> {
        let id = self.id;
        let orders = self.ids(s, ORDERS, doc! { "user_id": id }).await?;
        let reservations = self.ids(s, RESERVATIONS, doc! { "user_id": id }).await?;
        let applications = self
            .ids(s, APPLICATIONS, doc! { "creator_user_id": id })
            .await?;
        let deliverables = self
            .ids(s, DELIVERABLES, doc! { "creator_user_id": id })
            .await?;

        self.emails(s, email, &orders, &reservations).await?;
        for tokens in [PASSWORD_RESETS, EMAIL_CHANGES] {
            self.delete(s, tokens, doc! { "user_id": id }).await?;
        }
        self.scrub(s, ORDERS, doc! { "user_id": id }, ORDER_FIELDS, |_| {
            doc! { "shipping": Bson::Null }
        })
        .await?;
        self.scrub(
            s,
            RESERVATIONS,
            doc! { "user_id": id },
            RESERVATION_FIELDS,
            |_| {
                doc! { "notes": "" }
            },
        )
        .await?;
        self.ugc(s, &applications, &deliverables).await?;
        let mut profiles = Vec::new();
        for kind in [CREATORS, BRANDS] {
            if let Some(profile) = self.drop_profile(s, kind).await? {
                profiles.push((kind, profile));
            }
        }
        let mut records: Vec<(&str, ObjectId)> = vec![(USERS, id)];
        records.extend(orders.iter().map(|o| (ORDERS, *o)));
        records.extend(reservations.iter().map(|r| (RESERVATIONS, *r)));
        records.extend(profiles.iter().map(|(kind, profile)| (*kind, *profile)));
        self.redact_audit(s, &records).await?;
        let erased_at = self.tombstone(s).await?;
        Ok(Outcome {
            erased_at,
            changes: self.changes,
            unknown_fields_kept: self.kept.into_iter().collect(),
            released: self.released,
        })
    }

    pub(super) async fn find(
        &self,
        s: &mut ClientSession,
        name: &str,
        filter: Document,
    ) -> Step<Vec<Document>> {
        let mut cursor = self.collection(name).find(filter).session(&mut *s).await?;
        Ok(cursor.stream(&mut *s).try_collect().await?)
    }

    pub(super) async fn ids(
        &self,
        s: &mut ClientSession,
        name: &str,
        filter: Document,
    ) -> Step<Vec<ObjectId>> {
        Ok(self
            .find(s, name, filter)
            .await?
            .iter()
            .filter_map(|d| d.get_object_id("_id").ok())
            .collect())
    }

    pub(super) async fn delete(
        &mut self,
        s: &mut ClientSession,
        name: &str,
        filter: Document,
    ) -> Step<()> {
        let gone = self
            .collection(name)
            .delete_many(filter)
            .session(&mut *s)
            .await?;
        self.note(name, "deleted", gone.deleted_count);
        Ok(())
    }

    /// Anonymises each record `filter` selects: `set` gives the values of
    /// its personal fields we know; unknown ones go or are reported (see
    /// the module's note). `ours` are the fields this api writes.
    pub(super) async fn scrub(
        &mut self,
        s: &mut ClientSession,
        name: &str,
        filter: Document,
        ours: &[&str],
        set: impl Fn(&Document) -> Document,
    ) -> Step<()> {
        let mut changed = 0;
        for record in self.find(s, name, filter).await? {
            let Some(record_id) = record.get("_id").cloned() else {
                continue;
            };
            let set = set(&record);
            let mut unset = Document::new();
            for key in record.keys() {
                if ours.contains(&key.as_str()) || set.contains_key(key) {
                    continue;
                }
                if looks_personal(key) {
                    unset.insert(key.clone(), "");
                } else {
                    self.kept.insert(format!("{name}.{key}"));
                }
            }
            let mut update = doc! { "$set": set };
            if !unset.is_empty() {
                update.insert("$unset", unset);
            }
            let done = self
                .collection(name)
                .update_one(doc! { "_id": record_id }, update)
                .session(&mut *s)
                .await?;
            changed += done.modified_count;
        }
        self.note(name, "anonymised", changed);
        Ok(())
    }

    /// Mails to any address the person had, or about their records; mails
    /// still waiting go with them, so none is sent after.
    async fn emails(
        &mut self,
        s: &mut ClientSession,
        email: &str,
        orders: &[ObjectId],
        reservations: &[ObjectId],
    ) -> Step<()> {
        let mut addresses = vec![email.to_owned()];
        for change in self
            .find(s, EMAIL_CHANGES, doc! { "user_id": self.id })
            .await?
        {
            if let Ok(address) = change.get_str("new_email") {
                addresses.push(address.to_owned());
            }
        }
        let mut about = vec![Bson::String(format!("{USERS}:{}", self.id.to_hex()))];
        about.extend(
            orders
                .iter()
                .map(|o| Bson::String(format!("{ORDERS}:{}", o.to_hex()))),
        );
        about.extend(
            reservations
                .iter()
                .map(|r| Bson::String(format!("{RESERVATIONS}:{}", r.to_hex()))),
        );
        let addresses: Vec<String> = addresses
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| regex_escape(a))
            .collect();
        let mut either = vec![doc! { "related": { "$in": about } }];
        // The old back end kept addresses as typed: match in any case.
        either.extend(addresses.iter().map(|address| {
            doc! { "to": { "$regex": format!("^{address}$"), "$options": "i" } }
        }));
        self.delete(s, EMAIL_LOGS, doc! { "$or": either }).await?;
        // Sign-in and reset attempts are counted per address.
        let counted: Vec<Document> = addresses
            .iter()
            .map(|address| doc! { "_id": { "$regex": format!("account:{address}$"), "$options": "i" } })
            .collect();
        self.delete(s, LOGIN_ATTEMPTS, doc! { "$or": counted })
            .await
    }

    /// Audit entries keep who did what when; their before/after snapshots
    /// of the person's records (their account, orders with the address,
    /// profiles) are dropped.
    async fn redact_audit(
        &mut self,
        s: &mut ClientSession,
        records: &[(&str, ObjectId)],
    ) -> Step<()> {
        let mut by_collection: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (collection, id) in records {
            by_collection
                .entry(collection)
                .or_default()
                .push(id.to_hex());
        }
        let either: Vec<Document> = by_collection
            .into_iter()
            .map(|(collection, ids)| doc! { "collection": collection, "record_id": { "$in": ids } })
            .collect();
        let redacted = self
            .collection(AUDIT_LOGS)
            .update_many(
                // The erasure's own entries hold only counts: they stay.
                doc! { "$or": either, "redacted": { "$ne": true }, "action": { "$ne": ERASE_ACTION } },
                doc! { "$set": { "before": Bson::Null, "after": Bson::Null, "redacted": true } },
            )
            .session(&mut *s)
            .await?;
        self.note(AUDIT_LOGS, "anonymised", redacted.modified_count);
        Ok(())
    }

    /// Replaces the account by a tombstone; answers when it was erased.
    async fn tombstone(&mut self, s: &mut ClientSession) -> Step<Option<DateTime>> {
        let users = self.collection(USERS);
        let Some(stored) = users
            .find_one(doc! { "_id": self.id })
            .session(&mut *s)
            .await?
        else {
            return Ok(None);
        };
        if let Ok(at) = stored.get_datetime("erased_at") {
            return Ok(Some(*at));
        }
        let now = DateTime::now();
        let created = stored.get_datetime("created_at").map_or(now, |at| *at);
        let role = stored.get("role").cloned().unwrap_or(Bson::Null);
        let tombstone = doc! {
            "_id": self.id,
            // Unique like any address, and undeliverable (RFC 2606).
            "email": format!("erased-{}@erased.invalid", self.id.to_hex()),
            "name": ERASED_NAME,
            "role": role,
            "password_hash": "",
            "refresh_tokens": [],
            "is_active": false,
            "erased_at": now,
            "created_at": created,
            "updated_at": now,
        };
        users
            .replace_one(doc! { "_id": self.id }, tombstone)
            .session(&mut *s)
            .await?;
        self.note(USERS, "anonymised", 1);
        Ok(Some(now))
    }
}

const ORDER_FIELDS: &[&str] = &[
    "_id",
    "user_id",
    "lines",
    "subtotal",
    "discount",
    "shipping_cost",
    "total",
    "currency",
    "coupon_code",
    "status",
    "history",
    "shipping",
    "expires_at",
    "created_at",
    "updated_at",
    "legacy_id",
];
const RESERVATION_FIELDS: &[&str] = &[
    "_id",
    "user_id",
    "start",
    "end",
    "minutes",
    "slots",
    "status",
    "notes",
    "created_at",
    "cancelled_at",
    "legacy_id",
];
/// Whether a field the old back end wrote reads as personal by its name.
fn looks_personal(key: &str) -> bool {
    const PARTS: [&str; 30] = [
        "name",
        "mail",
        "phone",
        "tel",
        "whatsapp",
        "address",
        "addr",
        "street",
        "city",
        "zip",
        "postal",
        "customer",
        "client",
        "contact",
        "shipping",
        "billing",
        "recipient",
        "note",
        "comment",
        "message",
        "pitch",
        "review",
        "bio",
        "birth",
        "document",
        "dni",
        "ruc",
        "handle",
        "avatar",
        "url",
    ];
    let key = key.to_ascii_lowercase();
    key == "ip" || key.ends_with("_ip") || PARTS.iter().any(|part| key.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_looking_fields_are_told_from_accounting_ones() {
        for personal in [
            "customer_phone",
            "shipping_legacy",
            "Email",
            "direccion_address",
            "ip",
            "client_ip",
            "notes",
        ] {
            assert!(looks_personal(personal), "{personal}");
        }
        for kept in [
            "items_legacy",
            "total_legacy",
            "payment_status",
            "paid",
            "currency_code",
        ] {
            assert!(!looks_personal(kept), "{kept}");
        }
    }
}
