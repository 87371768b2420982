//! Bringing the old system's images home: `import-dir` (the uploads folder
//! the old pods wrote to) and `import-collection` (images stored inside
//! MongoDB documents). Each image is stored like any upload (type from the
//! bytes, limits applied, deduplicated by content), and one JSON line per
//! source is written to a mapping file that `avenue-api rewrite-media-refs`
//! reads: old paths, URLs and document ids on one side, media ids on the
//! other. A source already imported is only looked up, so a second run
//! changes nothing and an interrupted run is finished by running it again.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use serde::Serialize;
use sha2::{Digest, Sha256};

use avenue_shared::MediaId;

use crate::media::fields::{Folder, UploadFields};
use crate::media::MediaError;
use crate::media::MediaLibrary;
use avenue_shared::progress::Progress;

/// Who the imported media belong to (their `owner`).
pub const IMPORT_OWNER: &str = "legacy-import";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Stored now.
    pub imported: u64,
    /// Already a media (an earlier run, or the same bytes twice).
    pub existing: u64,
    /// Not images (with the reason printed).
    pub skipped: u64,
    /// Images that could not be stored, or sources that could not be read.
    pub failed: u64,
    pub bytes: u64,
}

/// One line of the mapping file.
#[derive(Debug, Serialize)]
pub struct MappingLine {
    /// `dir` or `collection`.
    pub source: &'static str,
    /// Path relative to the imported folder (`dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// URLs the old system served the file under (`dir`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub old_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// The legacy document's `_id`, as text (`collection`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// What the legacy document claimed; the stored type comes from the bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_type: Option<String>,
    pub media_id: String,
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
}

/// How an imported file is filed: in `folder`, under its old name. A
/// library asset, never pending: it is kept until someone deletes it.
fn imported(folder: &Option<Folder>, name: Option<&str>) -> UploadFields {
    UploadFields {
        folder: folder.clone(),
        original_name: name.and_then(crate::media::fields::original_name),
        ..UploadFields::default()
    }
}

/// The outcome of storing one image.
enum Stored {
    New(crate::media::repo::MediaRecord),
    Existing(crate::media::repo::MediaRecord),
}

async fn store(
    library: &MediaLibrary,
    data: Vec<u8>,
    fields: UploadFields,
) -> Result<Stored, MediaError> {
    let digest: [u8; 32] = Sha256::digest(&data).into();
    if let Some(existing) = library.repo().get(&MediaId::from_sha256(&digest)).await? {
        return Ok(Stored::Existing(existing));
    }
    let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(data))]);
    let staged = library.ingest(body).await?;
    let outcome = library.commit(staged, fields, IMPORT_OWNER).await?;
    Ok(if outcome.created {
        Stored::New(outcome.record)
    } else {
        Stored::Existing(outcome.record)
    })
}

/// Refusals that mean "not an image we take", as opposed to failures.
fn not_an_image(err: &MediaError) -> bool {
    matches!(
        err,
        MediaError::UnsupportedType(_) | MediaError::EmptyUpload
    )
}

/// Stores one source's bytes and counts the outcome; `None` when there is
/// no media to map (skipped or failed, already reported). A folder holds
/// other files beside images, so non-images are skipped there; inside an
/// image collection a non-image is damage, so `skip_non_images` is off.
async fn import_one(
    library: &MediaLibrary,
    data: Vec<u8>,
    fields: UploadFields,
    what: &str,
    skip_non_images: bool,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Option<crate::media::repo::MediaRecord> {
    let size = data.len() as u64;
    let record = match store(library, data, fields).await {
        Ok(Stored::New(record)) => {
            report.imported += 1;
            report.bytes += size;
            Some(record)
        }
        Ok(Stored::Existing(record)) => {
            report.existing += 1;
            Some(record)
        }
        Err(err) if skip_non_images && not_an_image(&err) => {
            report.skipped += 1;
            progress.failed(what, &format!("skipped: {err}"));
            None
        }
        Err(err) => {
            report.failed += 1;
            progress.failed(what, &err.to_string());
            None
        }
    };
    progress.advance(size);
    record
}

fn files_under(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
            // Links are not followed: the old folder has none, and a link
            // could lead the import outside it.
        }
    }
    out.sort();
    Ok(out)
}

/// Imports every file under `root` but `skip` (the mapping being written,
/// when it lies inside the folder).
///
/// # Errors
/// When the folder cannot be listed or the mapping cannot be written; a
/// single file that fails is reported and counted instead.
pub async fn import_dir(
    library: &MediaLibrary,
    root: &Path,
    skip: Option<&Path>,
    url_prefixes: &[String],
    folder: Option<Folder>,
    mapping: &mut dyn Write,
    progress: &dyn Progress,
) -> anyhow::Result<ImportReport> {
    let skip = skip.and_then(|p| p.canonicalize().ok());
    let files: Vec<PathBuf> = files_under(root)?
        .into_iter()
        .filter(|f| skip.is_none() || f.canonicalize().ok() != skip)
        .collect();
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    progress.start(files.len() as u64, total);
    let mut report = ImportReport::default();
    for file in files {
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let data = match tokio::fs::read(&file).await {
            Ok(data) => data,
            Err(err) => {
                report.failed += 1;
                progress.failed(&relative, &err.to_string());
                continue;
            }
        };
        let Some(record) = import_one(
            library,
            data,
            imported(&folder, Some(&relative)),
            &relative,
            true,
            &mut report,
            progress,
        )
        .await
        else {
            continue;
        };
        let old_urls: Vec<String> = url_prefixes
            .iter()
            .map(|prefix| format!("{}/{relative}", prefix.trim_end_matches('/')))
            .collect();
        // Kept in `legacy_urls` too, so the api redirects the old links.
        let delivery_path = format!(
            "/{}/upload/{}.{}",
            record.format.resource().as_str(),
            record.id,
            record.format.extension()
        );
        for old in &old_urls {
            library
                .repo()
                .remember_old_link(old, &record.id, &delivery_path, "dir")
                .await?;
        }
        let line = MappingLine {
            source: "dir",
            old_urls,
            path: Some(relative),
            collection: None,
            doc_id: None,
            product_id: None,
            filename: None,
            declared_type: None,
            media_id: record.id.to_string(),
            url: library.delivery_url(&record),
            sha256: record.sha256.clone(),
            bytes: record.bytes,
        };
        writeln!(mapping, "{}", serde_json::to_string(&line)?)?;
        mapping.flush()?;
    }
    progress.finish();
    Ok(report)
}

/// Field names of a legacy collection; the old schema varied.
#[derive(Debug, Clone)]
pub struct LegacyFields {
    /// Base64 text (plain or a data URI) or BSON binary.
    pub data: String,
    pub content_type: String,
    pub filename: String,
    pub product: String,
}

fn text_of(value: Option<&Bson>) -> Option<String> {
    match value? {
        Bson::String(s) => Some(s.clone()),
        Bson::ObjectId(id) => Some(id.to_hex()),
        Bson::Int32(n) => Some(n.to_string()),
        Bson::Int64(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bytes_of(value: Option<&Bson>) -> Result<Vec<u8>, String> {
    match value {
        Some(Bson::Binary(binary)) => Ok(binary.bytes.clone()),
        Some(Bson::String(text)) => {
            let payload = match text.strip_prefix("data:") {
                Some(rest) => rest
                    .split_once(";base64,")
                    .map(|(_, payload)| payload)
                    .ok_or_else(|| "a data URI that is not base64".to_owned())?,
                None => text.as_str(),
            };
            let cleaned: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(cleaned)
                .map_err(|e| format!("not valid base64: {e}"))
        }
        Some(other) => Err(format!(
            "the data field holds {:?}, not bytes",
            other.element_type()
        )),
        None => Err("no data field".to_owned()),
    }
}

/// Imports the images held in documents of `collection`.
///
/// # Errors
/// When the database fails or the mapping cannot be written; a document
/// that cannot be read is reported and counted instead.
pub async fn import_collection(
    library: &MediaLibrary,
    db: &mongodb::Database,
    collection: &str,
    fields: &LegacyFields,
    folder: Option<Folder>,
    mapping: &mut dyn Write,
    progress: &dyn Progress,
) -> anyhow::Result<ImportReport> {
    let source = db.collection::<Document>(collection);
    let total = source.count_documents(doc! {}).await?;
    progress.start(total, 0);
    let mut report = ImportReport::default();
    let mut cursor = source.find(doc! {}).sort(doc! { "_id": 1 }).await?;
    while let Some(document) = cursor.try_next().await? {
        let doc_id = text_of(document.get("_id")).unwrap_or_else(|| "?".to_owned());
        let data = match bytes_of(document.get(&fields.data)) {
            Ok(data) => data,
            Err(reason) => {
                report.failed += 1;
                progress.failed(&format!("{collection} {doc_id}"), &reason);
                progress.advance(0);
                continue;
            }
        };
        let what = format!("{collection} {doc_id}");
        let Some(record) = import_one(
            library,
            data,
            imported(&folder, text_of(document.get(&fields.filename)).as_deref()),
            &what,
            false,
            &mut report,
            progress,
        )
        .await
        else {
            continue;
        };
        let line = MappingLine {
            source: "collection",
            path: None,
            old_urls: Vec::new(),
            collection: Some(collection.to_owned()),
            doc_id: Some(doc_id),
            product_id: text_of(document.get(&fields.product)),
            filename: text_of(document.get(&fields.filename)),
            declared_type: text_of(document.get(&fields.content_type)),
            media_id: record.id.to_string(),
            url: library.delivery_url(&record),
            sha256: record.sha256.clone(),
            bytes: record.bytes,
        };
        writeln!(mapping, "{}", serde_json::to_string(&line)?)?;
        mapping.flush()?;
        // Marked on the old document (one field added, nothing changed),
        // so the api's storage status tells imported from left.
        if let Some(id) = document.get("_id") {
            source
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { IMPORTED_MARK: record.id.to_string() } },
                )
                .await?;
        }
    }
    progress.finish();
    Ok(report)
}

/// The field `import-collection` sets on each old document it imported:
/// the media id its bytes now live under.
pub const IMPORTED_MARK: &str = "avenue_media_id";
