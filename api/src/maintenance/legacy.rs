//! `avenue-api rewrite-media-refs`: points records that still name images
//! the old way (URLs under `/api/uploads` or `/uploads`, ids of documents
//! in `temp_images` or `product_images_data`) at media ids, using the
//! mapping files `avenue-media import-dir` and `import-collection` wrote.
//!
//! Dry run by default: it prints what it would change, diff-like. With
//! `--apply` each record is changed on its own, its new media claimed
//! first, so an interrupted run is finished by running it again, and a run
//! with nothing left to change changes nothing.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;
use serde::Deserialize;

use avenue_shared::progress::Progress;
use avenue_shared::{MediaId, MediaRef};

use crate::media::{FieldMedia, MediaGateway};
use crate::shop::catalog::PRODUCTS;
use crate::system::pages::PAGES;
use crate::system::settings::SETTINGS;

#[derive(Debug, Deserialize)]
struct Line {
    #[serde(default)]
    old_urls: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    doc_id: Option<String>,
    #[serde(default)]
    product_id: Option<String>,
    media_id: String,
}

/// What the old system called each imported image.
#[derive(Debug, Default)]
pub struct Mapping {
    by_url: HashMap<String, MediaId>,
    by_doc: HashMap<String, MediaId>,
    by_product: HashMap<String, Vec<MediaId>>,
}

/// The path of a URL, whatever host it was served from.
fn normalize(raw: &str) -> String {
    let text = raw.trim();
    let path = match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.path().to_owned(),
        _ => text.split(['?', '#']).next().unwrap_or(text).to_owned(),
    };
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

impl Mapping {
    /// # Errors
    /// When a file cannot be read or a line is not a mapping line.
    pub fn load(files: &[impl AsRef<Path>]) -> anyhow::Result<Self> {
        let mut mapping = Self::default();
        for file in files {
            let reader = std::io::BufReader::new(std::fs::File::open(file.as_ref())?);
            for (n, line) in reader.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let parsed: Line = serde_json::from_str(&line).map_err(|e| {
                    anyhow::anyhow!(
                        "{}:{}: not a mapping line: {e}",
                        file.as_ref().display(),
                        n + 1
                    )
                })?;
                let id = MediaId::parse(&parsed.media_id)
                    .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.as_ref().display(), n + 1))?;
                for url in &parsed.old_urls {
                    mapping.by_url.insert(normalize(url), id.clone());
                }
                if let Some(path) = &parsed.path {
                    mapping.by_url.insert(normalize(path), id.clone());
                }
                if let Some(doc_id) = parsed.doc_id {
                    mapping.by_doc.insert(doc_id, id.clone());
                }
                if let Some(product) = parsed.product_id {
                    let ids = mapping.by_product.entry(product).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        Ok(mapping)
    }

    /// The media a legacy value names: an old URL, a legacy document id,
    /// or (already migrated) a media id.
    fn resolve(&self, value: &Bson) -> Option<MediaId> {
        let text = match value {
            Bson::String(s) => s.clone(),
            Bson::ObjectId(id) => id.to_hex(),
            Bson::Document(d) => {
                return ["url", "src", "_id", "id", "image_id"]
                    .iter()
                    .find_map(|k| d.get(*k).and_then(|v| self.resolve(v)));
            }
            _ => return None,
        };
        if let Ok(id) = MediaId::parse(text.trim()) {
            return Some(id);
        }
        self.by_doc
            .get(text.trim())
            .or_else(|| self.by_url.get(&normalize(&text)))
            .cloned()
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RewriteReport {
    /// Records changed (or that would be, in a dry run).
    pub records: u64,
    pub references: u64,
    pub unresolved: u64,
    pub failed: u64,
}

/// One record's planned change.
struct Plan {
    collection: &'static str,
    id: Bson,
    update: Document,
    claims: Vec<FieldMedia>,
    reference: MediaRef,
    lines: Vec<String>,
}

fn quote(value: &Bson) -> String {
    match value {
        Bson::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn id_text(id: &Bson) -> String {
    match id {
        Bson::ObjectId(oid) => oid.to_hex(),
        Bson::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const LEGACY_PRODUCT_FIELDS: [&str; 3] = ["images", "image_url", "image"];

fn plan_product(
    mapping: &Mapping,
    product: &Document,
    report: &mut RewriteReport,
    out: &mut Vec<String>,
) -> Option<Plan> {
    let id = product.get("_id")?.clone();
    let key = id_text(&id);
    let mut ids: Vec<MediaId> = product
        .get_array("image_ids")
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().and_then(|s| MediaId::parse(s).ok()))
                .collect()
        })
        .unwrap_or_default();
    let before = ids.len();
    let mut lines = Vec::new();
    let mut unset = Document::new();
    for field in LEGACY_PRODUCT_FIELDS {
        let values: Vec<(String, Bson)> = match product.get(field) {
            Some(Bson::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{field}[{i}]"), v.clone()))
                .collect(),
            Some(Bson::Null) | None => continue,
            Some(single) => vec![(field.to_owned(), single.clone())],
        };
        let mut all_resolved = true;
        for (path, value) in values {
            match mapping.resolve(&value) {
                Some(media) => {
                    lines.push(format!(
                        "~ {PRODUCTS} {key}: {path} {} -> image_ids += {media}",
                        quote(&value)
                    ));
                    if !ids.contains(&media) {
                        ids.push(media);
                    }
                }
                None => {
                    all_resolved = false;
                    report.unresolved += 1;
                    out.push(format!(
                        "! {PRODUCTS} {key}: {path} {} has no mapping; left as it is",
                        quote(&value)
                    ));
                }
            }
        }
        if all_resolved {
            unset.insert(field, "");
        }
    }
    for media in mapping.by_product.get(&key).into_iter().flatten() {
        if !ids.contains(media) {
            lines.push(format!(
                "~ {PRODUCTS} {key}: legacy image document -> image_ids += {media}"
            ));
            ids.push(media.clone());
        }
    }
    if lines.is_empty() && unset.is_empty() {
        return None;
    }
    report.references += (ids.len() - before) as u64;
    let mut update =
        doc! { "$set": { "image_ids": ids.iter().map(|i| i.as_str()).collect::<Vec<_>>() } };
    if !unset.is_empty() {
        update.insert("$unset", unset);
    }
    Some(Plan {
        collection: PRODUCTS,
        reference: MediaRef::of(PRODUCTS, &key).ok()?,
        claims: crate::media::indexed("image_ids", &ids),
        id,
        update,
        lines,
    })
}

const BLOCK_LINK_FIELDS: [&str; 4] = ["url", "src", "image", "image_url"];

/// What rewriting a page's blocks found.
#[derive(Default)]
struct Collected {
    /// Every media the page shows afterwards: its claims.
    found: Vec<FieldMedia>,
    /// The changes, diff-like.
    lines: Vec<String>,
    /// What could not be resolved.
    notes: Vec<String>,
    references: u64,
    unresolved: u64,
}

/// Rewrites the legacy image links of one list of blocks in place.
fn rewrite_blocks(
    mapping: &Mapping,
    blocks: &mut [Bson],
    prefix: &str,
    key: &str,
    acc: &mut Collected,
) {
    for (i, block) in blocks.iter_mut().enumerate() {
        let Some(block) = block.as_document_mut() else {
            continue;
        };
        for field in BLOCK_LINK_FIELDS {
            let Some(value) = block.get(field).cloned() else {
                continue;
            };
            match mapping.resolve(&value) {
                Some(media) => {
                    acc.lines.push(format!(
                        "~ {PAGES} {key}: {prefix}[{i}].{field} {} -> media_id {media}",
                        quote(&value)
                    ));
                    block.remove(field);
                    block.insert("media_id", media.as_str());
                    acc.references += 1;
                }
                None => {
                    acc.unresolved += 1;
                    acc.notes.push(format!(
                        "! {PAGES} {key}: {prefix}[{i}].{field} {} has no mapping",
                        quote(&value)
                    ));
                }
            }
        }
        if let Some(Bson::Array(images)) = block.get("images").cloned() {
            let resolved: Vec<Option<MediaId>> =
                images.iter().map(|v| mapping.resolve(v)).collect();
            if resolved.iter().all(Option::is_some) {
                let ids: Vec<MediaId> = resolved.into_iter().flatten().collect();
                acc.lines.push(format!(
                    "~ {PAGES} {key}: {prefix}[{i}].images -> media_ids {}",
                    ids.len()
                ));
                acc.references += ids.len() as u64;
                block.remove("images");
                block.insert(
                    "media_ids",
                    ids.iter().map(|id| id.as_str()).collect::<Vec<_>>(),
                );
            } else {
                acc.unresolved += 1;
                acc.notes.push(format!(
                    "! {PAGES} {key}: {prefix}[{i}].images has images without a mapping"
                ));
            }
        }
        if let Some(id) = block
            .get_str("media_id")
            .ok()
            .and_then(|s| MediaId::parse(s).ok())
        {
            acc.found.push(FieldMedia {
                field: format!("{prefix}[{i}].media_id"),
                id,
            });
        }
        if let Ok(ids) = block.get_array("media_ids") {
            for (j, id) in ids
                .iter()
                .filter_map(|v| v.as_str().and_then(|s| MediaId::parse(s).ok()))
                .enumerate()
            {
                acc.found.push(FieldMedia {
                    field: format!("{prefix}[{i}].media_ids[{j}]"),
                    id,
                });
            }
        }
    }
}

fn plan_page(
    mapping: &Mapping,
    page: &Document,
    report: &mut RewriteReport,
    out: &mut Vec<String>,
) -> Option<Plan> {
    let id = page.get("_id")?.clone();
    let key = id_text(&id);
    let mut acc = Collected::default();
    let mut set = Document::new();
    if let Ok(blocks) = page.get_array("blocks") {
        let mut blocks = blocks.clone();
        rewrite_blocks(mapping, &mut blocks, "blocks", &key, &mut acc);
        set.insert("blocks", blocks);
    }
    if let Ok(blocks) = page
        .get_document("published")
        .and_then(|p| p.get_array("blocks"))
    {
        let mut blocks = blocks.clone();
        rewrite_blocks(mapping, &mut blocks, "published.blocks", &key, &mut acc);
        set.insert("published.blocks", blocks);
    }
    if let Ok(history) = page.get_array("history") {
        let mut history = history.clone();
        for (v, version) in history.iter_mut().enumerate() {
            if let Some(Bson::Array(blocks)) =
                version.as_document_mut().and_then(|d| d.get_mut("blocks"))
            {
                rewrite_blocks(
                    mapping,
                    blocks,
                    &format!("history[{v}].blocks"),
                    &key,
                    &mut acc,
                );
            }
        }
        set.insert("history", history);
    }
    report.references += acc.references;
    report.unresolved += acc.unresolved;
    out.extend(acc.notes);
    if acc.lines.is_empty() {
        return None;
    }
    Some(Plan {
        collection: PAGES,
        reference: MediaRef::of(PAGES, &key).ok()?,
        claims: acc.found,
        id,
        update: doc! { "$set": set },
        lines: acc.lines,
    })
}

fn plan_setting(
    mapping: &Mapping,
    setting: &Document,
    report: &mut RewriteReport,
    out: &mut Vec<String>,
) -> Option<Plan> {
    let id = setting.get("_id")?.clone();
    let key = id_text(&id);
    let value = setting.get("value")?;
    let text = value.as_str()?;
    if MediaId::parse(text).is_ok() || !(text.contains('/') || mapping.by_doc.contains_key(text)) {
        return None;
    }
    match mapping.resolve(value) {
        Some(media) => {
            report.references += 1;
            Some(Plan {
                collection: SETTINGS,
                reference: MediaRef::of(SETTINGS, &key).ok()?,
                claims: vec![FieldMedia {
                    field: "value".into(),
                    id: media.clone(),
                }],
                lines: vec![format!("~ {SETTINGS} {key}: {} -> {media}", quote(value))],
                update: doc! { "$set": { "value": media.as_str() } },
                id,
            })
        }
        None => {
            if text.starts_with("/api/uploads") || text.starts_with("/uploads") {
                report.unresolved += 1;
                out.push(format!(
                    "! {SETTINGS} {key}: {} has no mapping",
                    quote(value)
                ));
            }
            None
        }
    }
}

/// Plans (and with `apply`, makes) every change.
///
/// # Errors
/// When the database fails; a record whose claims or write fail is
/// reported and counted instead.
pub async fn rewrite(
    db: &Database,
    media: &MediaGateway,
    mapping: &Mapping,
    apply: bool,
    progress: &dyn Progress,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<RewriteReport> {
    let mut report = RewriteReport::default();
    let sources: [(&str, Document); 3] =
        [(PRODUCTS, doc! {}), (PAGES, doc! {}), (SETTINGS, doc! {})];
    let mut total = 0;
    for (collection, filter) in &sources {
        total += db
            .collection::<Document>(collection)
            .count_documents(filter.clone())
            .await?;
    }
    progress.start(total, 0);
    for (collection, filter) in sources {
        let mut cursor = db
            .collection::<Document>(collection)
            .find(filter)
            .sort(doc! { "_id": 1 })
            .await?;
        while let Some(record) = cursor.try_next().await? {
            let mut notes = Vec::new();
            let plan = match collection {
                PRODUCTS => plan_product(mapping, &record, &mut report, &mut notes),
                PAGES => plan_page(mapping, &record, &mut report, &mut notes),
                _ => plan_setting(mapping, &record, &mut report, &mut notes),
            };
            for note in notes {
                writeln!(out, "{note}")?;
            }
            progress.advance(0);
            let Some(plan) = plan else { continue };
            report.records += 1;
            for line in &plan.lines {
                writeln!(out, "{line}")?;
            }
            if !apply {
                continue;
            }
            let target = db.collection::<Document>(plan.collection);
            let written = media
                .save_with::<_, anyhow::Error, _>(&plan.reference, &[], &plan.claims, async {
                    target
                        .update_one(doc! { "_id": plan.id.clone() }, plan.update.clone())
                        .await?;
                    Ok(())
                })
                .await;
            if let Err(err) = written {
                report.failed += 1;
                progress.failed(
                    &format!("{} {}", plan.collection, id_text(&plan.id)),
                    &err.to_string(),
                );
            }
        }
    }
    progress.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_to_their_path() {
        assert_eq!(
            normalize("https://old.avenue.com.py/api/uploads/a.jpg?v=2"),
            "/api/uploads/a.jpg"
        );
        assert_eq!(normalize("/uploads/b.png"), "/uploads/b.png");
        assert_eq!(normalize("products/c.webp"), "/products/c.webp");
    }
}
