//! `avenue-api adopt-data`: walks every collection the old back end wrote,
//! says for each document whether it is ours, convertible (and how) or not
//! (and why), and with `--apply` converts in place.
//!
//! Each document is replaced on its own, conditional on the version read,
//! so a run killed half-way leaves every document either as it was or
//! fully converted, and the next run finishes the rest: converted
//! documents read as ours and are not touched again. A refused document is
//! never written; it is counted, shown and written to the report.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;
use serde::Serialize;

use avenue_shared::progress::Progress;

use super::refs::{RefIndex, StudioClock};
use super::{coupons, id_text, orders, products, site, ugc, users, Rules, Verdict};
use crate::shop::catalog::PRODUCTS;
use crate::shop::coupons::COUPONS;
use crate::shop::grouped::GROUPED;
use crate::shop::order_docs::ORDERS;
use crate::studio::reservations::RESERVATIONS;
use crate::system::audit::AUDIT_LOGS;
use crate::system::email::EMAIL_LOGS;
use crate::system::pages::PAGES;
use crate::system::settings::SETTINGS;
use crate::ugc::applications::APPLICATIONS;
use crate::ugc::campaign_docs::CAMPAIGNS;
use crate::ugc::deliverables::{DELIVERABLES, METRICS, RATINGS};
use crate::ugc::notifications::NOTIFICATIONS;
use crate::ugc::packages::PACKAGES;
use crate::ugc::profiles::brands::BRANDS;
use crate::ugc::profiles::creators::CREATORS;
use crate::users::model::USERS;

/// Every collection the old back end shared with us, converters first
/// and in dependency order: orders resolve users and products.
pub const COLLECTIONS: [&str; 19] = [
    USERS,
    PRODUCTS,
    COUPONS,
    ORDERS,
    CREATORS,
    BRANDS,
    PACKAGES,
    CAMPAIGNS,
    APPLICATIONS,
    DELIVERABLES,
    METRICS,
    RATINGS,
    NOTIFICATIONS,
    GROUPED,
    RESERVATIONS,
    SETTINGS,
    PAGES,
    AUDIT_LOGS,
    EMAIL_LOGS,
];

/// A value that must stay unique, and what to do when another document
/// holds it: products get a `-2`, `-3` suffix; accounts and coupon codes
/// are refused (someone must merge them).
#[derive(Clone, Copy)]
enum OnTaken {
    Suffix,
    Refuse,
}

fn unique_fields(collection: &str) -> &'static [(&'static str, OnTaken)] {
    match collection {
        USERS => &[("email", OnTaken::Refuse)],
        PRODUCTS => &[("slug", OnTaken::Suffix), ("sku", OnTaken::Suffix)],
        COUPONS => &[("code", OnTaken::Refuse)],
        _ => &[],
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub apply: bool,
    pub rules: Rules,
    /// Only these collections (all when empty).
    pub only: Vec<String>,
}

/// One collection's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub collection: String,
    pub documents: u64,
    pub ours: u64,
    pub convertible: u64,
    pub refused: u64,
    /// Written by this run (with `--apply`).
    pub converted: u64,
    /// Changed by someone else between read and write: run again.
    pub changed_meanwhile: u64,
    /// No converter exists for this collection yet: only counted, and
    /// how many look like the old back end's (a string `id`).
    pub converter: bool,
    pub old_style: u64,
    pub examples: Vec<String>,
}

/// One line of `--report`: a document that changes or fails.
#[derive(Debug, Serialize)]
struct ReportLine<'a> {
    collection: &'a str,
    id: &'a str,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    changes: &'a [String],
}

const EXAMPLES: usize = 3;

/// Runs over the chosen collections, writing `--report` lines to `report`.
///
/// # Errors
/// When the database fails or the report cannot be written.
pub async fn run(
    db: &Database,
    options: &Options,
    progress: &dyn Progress,
    report: &mut dyn Write,
) -> anyhow::Result<Vec<Summary>> {
    let chosen: Vec<&'static str> = COLLECTIONS
        .iter()
        .copied()
        .filter(|c| options.only.is_empty() || options.only.iter().any(|o| o == c))
        .collect();
    let mut total = 0;
    for collection in &chosen {
        total += db
            .collection::<Document>(collection)
            .estimated_document_count()
            .await?;
    }
    progress.start(total, 0);
    let mut summaries = Vec::new();
    for collection in chosen {
        // Loaded per collection: documents converted just before are found
        // by their `legacy_id` as well as their old `id`.
        let refs = if needs_refs(collection) {
            let mut refs = RefIndex::load(db, LINKED).await?;
            refs.studio = studio_clock(db).await;
            refs
        } else {
            RefIndex::default()
        };
        let summary = match converter(collection) {
            Some(convert) => {
                adopt_collection(db, collection, &convert, &refs, options, progress, report).await?
            }
            None => count_only(db, collection, progress).await?,
        };
        summaries.push(summary);
    }
    progress.finish();
    Ok(summaries)
}

/// What references resolve against, in the order links need them
/// (profiles resolve their users; applications their campaigns).
const LINKED: &[&str] = &[
    USERS,
    PRODUCTS,
    CREATORS,
    BRANDS,
    CAMPAIGNS,
    APPLICATIONS,
    DELIVERABLES,
];

fn needs_refs(collection: &str) -> bool {
    !matches!(
        collection,
        USERS | PRODUCTS | COUPONS | PACKAGES | PAGES | SETTINGS | EMAIL_LOGS
    )
}

/// The studio's offset and slot size from the settings, for old bookings.
async fn studio_clock(db: &Database) -> StudioClock {
    let defaults = StudioClock::default();
    match crate::system::settings::Values::load(db).await {
        Ok(values) => StudioClock {
            utc_offset_minutes: values.int("studio.utc_offset_minutes"),
            slot_minutes: values.int("studio.slot_minutes").max(1),
        },
        Err(err) => {
            tracing::warn!(error = ?err, "settings unreadable; old bookings read in UTC-3, hour slots");
            defaults
        }
    }
}

type Convert = Box<dyn Fn(&Document, &Rules, &RefIndex) -> Verdict + Send + Sync>;

fn converter(collection: &str) -> Option<Convert> {
    Some(match collection {
        USERS => Box::new(|d, r, _| users::convert(d, r)),
        PRODUCTS => Box::new(|d, r, _| products::convert(d, r)),
        COUPONS => Box::new(|d, r, _| coupons::convert(d, r)),
        ORDERS => Box::new(orders::convert),
        other => Box::new(ugc::converter(other).or_else(|| site::converter(other))?),
    })
}

async fn count_only(
    db: &Database,
    collection: &'static str,
    progress: &dyn Progress,
) -> anyhow::Result<Summary> {
    let documents = db
        .collection::<Document>(collection)
        .count_documents(doc! {})
        .await?;
    let old_style = db
        .collection::<Document>(collection)
        .count_documents(doc! { "id": { "$type": "string" }, "legacy_id": { "$exists": false } })
        .await?;
    for _ in 0..documents {
        progress.advance(0);
    }
    Ok(Summary {
        collection: collection.to_owned(),
        documents,
        old_style,
        ..Summary::default()
    })
}

#[allow(clippy::too_many_arguments)]
async fn adopt_collection(
    db: &Database,
    collection: &'static str,
    convert: &Convert,
    refs: &RefIndex,
    options: &Options,
    progress: &dyn Progress,
    report: &mut dyn Write,
) -> anyhow::Result<Summary> {
    let stored = db.collection::<Document>(collection);
    let mut summary = Summary {
        collection: collection.to_owned(),
        converter: true,
        ..Summary::default()
    };
    // Unique values held, including those this run gave away without
    // writing them (a dry run), so it predicts what an apply would meet.
    let mut taken = Taken::load(db, collection).await?;
    let mut cursor = stored
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .batch_size(500)
        .await?;
    while let Some(original) = cursor.try_next().await? {
        progress.advance(0);
        summary.documents += 1;
        let id = id_text(&original);
        let verdict = match convert(&original, &options.rules, refs) {
            Verdict::Convert {
                mut document,
                mut changes,
            } => match make_unique(collection, &mut document, &mut changes, &mut taken) {
                Ok(()) => Verdict::Convert { document, changes },
                Err(why) => Verdict::Refuse(why),
            },
            other => other,
        };
        match verdict {
            Verdict::Ours => summary.ours += 1,
            Verdict::Refuse(why) => {
                summary.refused += 1;
                example(&mut summary, format!("! {id}: {why}"));
                write_line(report, collection, &id, "refused", Some(&why), &[])?;
            }
            Verdict::Convert { document, changes } => {
                summary.convertible += 1;
                example(&mut summary, format!("~ {id}: {}", changes.join("; ")));
                if !options.apply {
                    write_line(report, collection, &id, "convertible", None, &changes)?;
                    continue;
                }
                match write(db, collection, &original, &document).await? {
                    Written::Converted => {
                        summary.converted += 1;
                        write_line(report, collection, &id, "converted", None, &changes)?;
                    }
                    Written::ChangedMeanwhile => {
                        summary.changed_meanwhile += 1;
                        write_line(report, collection, &id, "changed-meanwhile", None, &changes)?;
                    }
                    Written::Refused(why) => {
                        summary.convertible -= 1;
                        summary.refused += 1;
                        write_line(report, collection, &id, "refused", Some(&why), &changes)?;
                    }
                }
            }
        }
    }
    Ok(summary)
}

fn example(summary: &mut Summary, line: String) {
    let prefix = &line[..1];
    if summary
        .examples
        .iter()
        .filter(|e| e.starts_with(prefix))
        .count()
        < EXAMPLES
    {
        summary.examples.push(line);
    }
}

fn write_line(
    report: &mut dyn Write,
    collection: &str,
    id: &str,
    outcome: &str,
    reason: Option<&str>,
    changes: &[String],
) -> anyhow::Result<()> {
    let line = ReportLine {
        collection,
        id,
        outcome,
        reason,
        changes,
    };
    serde_json::to_writer(&mut *report, &line)?;
    report.write_all(b"\n")?;
    Ok(())
}

/// The values of each unique field, and which document holds each: read
/// once per collection, so checking a value costs no query (a query per
/// document scanned the collection each time: quadratic).
#[derive(Default)]
struct Taken {
    by_field: HashMap<&'static str, HashMap<String, Bson>>,
}

impl Taken {
    async fn load(db: &Database, collection: &str) -> mongodb::error::Result<Self> {
        let mut taken = Self::default();
        let fields = unique_fields(collection);
        if fields.is_empty() {
            return Ok(taken);
        }
        let mut projection = doc! { "_id": 1 };
        for (field, _) in fields {
            projection.insert(*field, 1);
        }
        let mut cursor = db
            .collection::<Document>(collection)
            .find(doc! {})
            .projection(projection)
            .await?;
        while let Some(stored) = cursor.try_next().await? {
            let id = stored.get("_id").cloned().unwrap_or(Bson::Null);
            for (field, _) in fields {
                if let Ok(value) = stored.get_str(field) {
                    taken.holder(field).insert(value.to_owned(), id.clone());
                }
            }
        }
        Ok(taken)
    }

    fn holder(&mut self, field: &'static str) -> &mut HashMap<String, Bson> {
        self.by_field.entry(field).or_default()
    }

    fn is_free(&self, field: &str, value: &str, own_id: &Bson) -> bool {
        self.by_field
            .get(field)
            .and_then(|values| values.get(value))
            .is_none_or(|holder| holder == own_id)
    }
}

/// Gives each unique field of `document` a value no other document holds,
/// or says why it cannot; the values it keeps are then taken.
fn make_unique(
    collection: &str,
    document: &mut Document,
    changes: &mut Vec<String>,
    taken: &mut Taken,
) -> Result<(), String> {
    let own_id = document.get("_id").cloned().unwrap_or(Bson::Null);
    let fields = unique_fields(collection);
    let mut chosen = Vec::new();
    for (field, on_taken) in fields {
        let Ok(wanted) = document.get_str(field).map(str::to_owned) else {
            continue;
        };
        let mut candidate = wanted.clone();
        let mut n = 1;
        while !taken.is_free(field, &candidate, &own_id) {
            n += 1;
            match on_taken {
                OnTaken::Refuse => {
                    return Err(format!("another document already has {field} '{wanted}'"))
                }
                OnTaken::Suffix if n > 50 => {
                    return Err(format!("{field} '{wanted}' is taken 50 times over"))
                }
                OnTaken::Suffix => candidate = format!("{wanted}-{n}"),
            }
        }
        if candidate != wanted {
            changes.push(format!("{field}: '{wanted}' taken; '{candidate}' instead"));
            document.insert(*field, candidate.clone());
        }
        chosen.push((*field, candidate));
    }
    for (field, value) in chosen {
        taken.holder(field).insert(value, own_id.clone());
    }
    Ok(())
}

enum Written {
    Converted,
    ChangedMeanwhile,
    /// A unique index refused it (another writer took the value).
    Refused(String),
}

/// Replaces `original` by `converted`, only if it is still as read.
async fn write(
    db: &Database,
    collection: &str,
    original: &Document,
    converted: &Document,
) -> anyhow::Result<Written> {
    let mut version = doc! { "_id": original.get("_id").cloned().unwrap_or(Bson::Null) };
    match original.get("updated_at") {
        Some(at) => version.insert("updated_at", at.clone()),
        None => version.insert("updated_at", doc! { "$exists": false }),
    };
    match db
        .collection::<Document>(collection)
        .replace_one(version, converted)
        .await
    {
        Ok(result) if result.matched_count == 1 => Ok(Written::Converted),
        Ok(_) => Ok(Written::ChangedMeanwhile),
        Err(err) if crate::db::is_duplicate_key(&err) => Ok(Written::Refused(format!(
            "a unique index refused it: {err}"
        ))),
        Err(err) => Err(err.into()),
    }
}

/// The summary as people read it: one block per collection.
pub fn print(summaries: &[Summary], apply: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let mode = if apply {
        "applied"
    } else {
        "dry run; add --apply to write"
    };
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for s in summaries {
        if s.converter {
            writeln!(
                out,
                "{}: {} document(s): {} ours, {} convertible, {} refused{}",
                s.collection,
                s.documents,
                s.ours,
                s.convertible,
                s.refused,
                if apply {
                    format!(
                        ", {} converted, {} changed meanwhile",
                        s.converted, s.changed_meanwhile
                    )
                } else {
                    String::new()
                }
            )?;
        } else {
            writeln!(
                out,
                "{}: {} document(s), {} in the old style; derived from {PRODUCTS} and rebuilt \
                 by the api, so left as they are",
                s.collection, s.documents, s.old_style
            )?;
        }
        for example in &s.examples {
            writeln!(out, "    {example}")?;
        }
        *totals.entry("convertible").or_default() += s.convertible;
        *totals.entry("refused").or_default() += s.refused;
        *totals.entry("converted").or_default() += s.converted;
    }
    writeln!(
        out,
        "adopt-data: {} convertible, {} refused, {} converted ({mode})",
        totals.get("convertible").copied().unwrap_or(0),
        totals.get("refused").copied().unwrap_or(0),
        totals.get("converted").copied().unwrap_or(0)
    )
}
