//! Documents the old Python back end wrote, made ours. One converter per
//! collection says, for any stored document, whether it is already in our
//! shape, how it converts, or why it cannot. The same converters serve the
//! read path (an unconverted document is read through them, so sign-in and
//! single reads work before `adopt-data` has run) and `adopt-data`, which
//! writes their output back.
//!
//! Conversions keep every field they do not understand, keep the old string
//! id as `legacy_id`, and never guess where guessing could lose meaning: an
//! unknown status word is a refusal naming the word (map it in `--rules`).

pub mod coupons;
pub mod orders;
pub mod products;
pub mod refs;
pub mod rules;
pub mod run;
pub mod shape;
pub mod site;
pub mod ugc;
pub mod users;
pub mod values;

use mongodb::bson::{oid::ObjectId, Bson, DateTime, Document};

pub use rules::Rules;

/// What a converter made of one stored document.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Already in our shape: nothing to change.
    Ours,
    /// Convertible: the document as it should be stored, and what changed.
    Convert {
        document: Document,
        changes: Vec<String>,
    },
    /// Not convertible, and why; it stays as it is and is listed.
    Refuse(String),
}

/// A stored document we cannot read as ours: a single read of it answers
/// 422 `legacy-document` with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {id} of {collection} is not in a shape this service reads: {problem}")]
pub struct LegacyDocument {
    pub collection: &'static str,
    pub id: String,
    pub problem: String,
}

/// A conversion in progress: the document being rewritten and the notes
/// on what changed, so every converter reports the same way.
pub struct Draft {
    pub doc: Document,
    pub changes: Vec<String>,
}

impl Draft {
    /// Starts from `stored` with `rules` applied (renames, then value maps).
    pub fn new(collection: &str, stored: &Document, rules: &Rules) -> Self {
        let mut draft = Self {
            doc: stored.clone(),
            changes: Vec::new(),
        };
        rules.apply(collection, &mut draft);
        draft
    }

    pub fn note(&mut self, change: impl Into<String>) {
        self.changes.push(change.into());
    }

    /// Sets `field` when its value differs, noting why.
    pub fn set(&mut self, field: &str, value: impl Into<Bson>, why: &str) {
        let value = value.into();
        if self.doc.get(field) != Some(&value) {
            self.doc.insert(field, value);
            self.note(format!("{field}: {why}"));
        }
    }

    /// The document's `_id`, which must be an ObjectId (every reference
    /// and every claim names it).
    pub fn object_id(&self) -> Result<ObjectId, String> {
        match self.doc.get("_id") {
            Some(Bson::ObjectId(id)) => Ok(*id),
            Some(other) => Err(format!("_id {other} is not an ObjectId")),
            None => Err("the document has no _id".to_owned()),
        }
    }

    /// The old back end's string `id` becomes `legacy_id` (old links and
    /// references resolve through it).
    pub fn legacy_id(&mut self) {
        if self.doc.contains_key("legacy_id") {
            return;
        }
        if let Some(id) = values::text(self.doc.get("id")) {
            self.doc.remove("id");
            self.doc.insert("legacy_id", id);
            self.note("id: kept as legacy_id");
        }
    }

    /// `field` as a BSON date: converted from the old shapes, or else
    /// `fallback` (noting it). A present but unreadable value is refused.
    pub fn date(&mut self, field: &str, fallback: DateTime) -> Result<DateTime, String> {
        match self.doc.get(field) {
            Some(Bson::DateTime(at)) => Ok(*at),
            None | Some(Bson::Null) => {
                self.set(field, fallback, "missing; derived");
                Ok(fallback)
            }
            Some(other) => {
                let at =
                    values::date(other).ok_or_else(|| format!("{field} {other} is not a date"))?;
                self.set(field, at, "converted to a date");
                Ok(at)
            }
        }
    }

    /// The creation time the document's ObjectId `_id` carries.
    pub fn minted(&self) -> Result<DateTime, String> {
        Ok(DateTime::from_millis(
            self.object_id()?.timestamp().timestamp_millis(),
        ))
    }

    /// `created_at` and `updated_at` as BSON dates; when missing, the
    /// creation time from the ObjectId `id`, and the update from that.
    /// Answers the creation time.
    pub fn timestamps(&mut self, id: ObjectId) -> Result<DateTime, String> {
        let minted = DateTime::from_millis(id.timestamp().timestamp_millis());
        let created = self.date("created_at", minted)?;
        self.date("updated_at", created)?;
        Ok(created)
    }

    pub fn finish(self) -> Verdict {
        if self.changes.is_empty() {
            Verdict::Ours
        } else {
            Verdict::Convert {
                document: self.doc,
                changes: self.changes,
            }
        }
    }
}

/// Runs a converter's `body` over `stored` (with `rules` applied first)
/// and says what came of it: the one shape every converter shares.
pub fn convert_with(
    collection: &str,
    stored: &Document,
    rules: &Rules,
    body: impl FnOnce(&mut Draft) -> Result<(), String>,
) -> Verdict {
    let mut draft = Draft::new(collection, stored, rules);
    match body(&mut draft) {
        Ok(()) => draft.finish(),
        Err(why) => Verdict::Refuse(why),
    }
}

/// The `_id` of a stored document as text, for reports and logs.
pub fn id_text(stored: &Document) -> String {
    match stored.get("_id") {
        Some(Bson::ObjectId(id)) => id.to_hex(),
        Some(Bson::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "(no _id)".to_owned(),
    }
}

/// Reads a stored document as `T`: directly when it is ours, through
/// `convert` when it is in the old back end's shape.
///
/// # Errors
/// [`LegacyDocument`] naming the problem when it is neither.
pub fn read_as<T: serde::de::DeserializeOwned>(
    collection: &'static str,
    stored: Document,
    convert: impl FnOnce(&Document, &Rules) -> Verdict,
) -> Result<T, LegacyDocument> {
    let problem = |problem: String, stored: &Document| LegacyDocument {
        collection,
        id: id_text(stored),
        problem,
    };
    let document = match convert(&stored, &Rules::default()) {
        Verdict::Ours => stored,
        Verdict::Convert { document, .. } => document,
        Verdict::Refuse(why) => return Err(problem(why, &stored)),
    };
    mongodb::bson::from_document(document.clone())
        .map_err(|err| problem(err.to_string(), &document))
}
