//! `avenue-api import-products FILE`: the ERP's product list (CSV with a
//! header row, or JSON lines) upserted by SKU. Each row goes through the
//! same rules as `POST /api/shop/products`; a dry run (the default) says
//! what would be created and changed, field by field, and `--apply` writes
//! it. Rows are independent: a bad row is reported with its line number
//! and the others go on. Running the same file again changes nothing.

use std::collections::HashMap;
use std::io::Write;

use mongodb::bson::{doc, DateTime, Document};
use mongodb::Database;
use serde::Deserialize;

use super::catalog::{collection, ProductDoc, ProductStatus, PRODUCTS};
use super::products::{apply_patch, parse_new, NewProduct, ProductPatch};
use crate::http::error::ApiError;
use avenue_shared::progress::Progress;

/// One row as the file says it, before any rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    sku: String,
    name: String,
    price: Amount,
    stock: Amount,
    model: Option<String>,
    #[serde(default)]
    sizes: Labels,
    #[serde(default)]
    colors: Labels,
    description: Option<String>,
    status: Option<ProductStatus>,
}

/// A whole number as an ERP writes it: `150000`, `150.000` (es-PY
/// thousands), or a JSON number.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Amount {
    Number(i64),
    Text(String),
    #[default]
    Missing,
}

impl Amount {
    fn parse(&self, field: &str) -> Result<i64, String> {
        let bad = || format!("{field}: a whole number (150000 or 150.000)");
        match self {
            Self::Number(n) => Ok(*n),
            Self::Missing => Err(format!("{field}: missing")),
            Self::Text(text) => {
                let text = text.trim();
                let grouped = text.contains('.')
                    && text.split('.').skip(1).all(|g| g.len() == 3)
                    && text.split('.').all(|g| !g.is_empty());
                let digits = if grouped {
                    text.replace('.', "")
                } else {
                    text.to_owned()
                };
                digits.parse().map_err(|_| bad())
            }
        }
    }
}

/// Sizes or colours: a JSON list, or text split on `|` or `;`.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Labels {
    List(Vec<String>),
    Text(String),
    #[default]
    Missing,
}

impl Labels {
    fn into_vec(self) -> Option<Vec<String>> {
        match self {
            Self::List(items) => Some(items),
            // An empty cell leaves the product's list as it is.
            Self::Text(text) if text.trim().is_empty() => None,
            Self::Text(text) => Some(
                text.split(['|', ';'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Self::Missing => None,
        }
    }
}

/// What one run found, and did when applying.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub failed: usize,
    /// How many products each field changes in.
    pub fields: HashMap<&'static str, usize>,
}

/// Reads `text` as CSV (header row) or JSON lines, and imports each row;
/// a line per new, changed or refused product goes to `out`.
///
/// # Errors
/// A file that is neither format (no header, unknown columns), or the
/// database failing; refused rows are counted, not errors.
pub async fn import(
    db: &Database,
    text: &str,
    apply: bool,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> anyhow::Result<ImportReport> {
    let rows = read_rows(text)?;
    let mut report = ImportReport {
        rows: rows.len(),
        ..ImportReport::default()
    };
    progress.start(rows.len() as u64, 0);
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    for (line, row) in rows {
        let outcome = match row {
            Err(why) => Err(why),
            Ok(row) => match first_line_of.get(row.sku.trim()) {
                Some(first) => Err(format!("sku {} is also on line {first}", row.sku.trim())),
                None => {
                    first_line_of.insert(row.sku.trim().to_owned(), line);
                    upsert(db, row, apply).await?
                }
            },
        };
        match outcome {
            Ok(Outcome::Created(sku)) => {
                report.created += 1;
                writeln!(out, "line {line}: {sku}: new")?;
            }
            Ok(Outcome::Changed(sku, changes)) => {
                report.changed += 1;
                for (field, _) in &changes {
                    *report.fields.entry(field).or_default() += 1;
                }
                let said: Vec<String> = changes
                    .iter()
                    .map(|(f, how)| format!("{f} {how}"))
                    .collect();
                writeln!(out, "line {line}: {sku}: {}", said.join(", "))?;
            }
            Ok(Outcome::Unchanged) => report.unchanged += 1,
            Err(why) => {
                report.failed += 1;
                progress.failed(&format!("line {line}"), &why);
                writeln!(out, "line {line}: refused: {why}")?;
            }
        }
        progress.advance(0);
    }
    progress.finish();
    if apply && report.created + report.changed > 0 {
        super::grouped::regroup_all(db).await?;
    }
    Ok(report)
}

enum Outcome {
    Created(String),
    Changed(String, Vec<(&'static str, String)>),
    Unchanged,
}

/// Rows with their line numbers (1 is the CSV header); a row that cannot
/// be read is its reason.
fn read_rows(text: &str) -> anyhow::Result<Vec<(usize, Result<Row, String>)>> {
    let first = text.trim_start_matches('\u{feff}').trim_start();
    if first.starts_with('{') {
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                (
                    i + 1,
                    serde_json::from_str::<Row>(l).map_err(|e| e.to_string()),
                )
            })
            .collect());
    }
    let body = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body.as_bytes());
    let headers = reader.headers()?.clone();
    const KNOWN: [&str; 9] = [
        "sku",
        "name",
        "price",
        "stock",
        "model",
        "sizes",
        "colors",
        "description",
        "status",
    ];
    for column in &headers {
        if !KNOWN.contains(&column) {
            anyhow::bail!(
                "line 1: unknown column '{column}'; the columns are {}",
                KNOWN.join(",")
            );
        }
    }
    for required in ["sku", "name", "price", "stock"] {
        if !headers.iter().any(|c| c == required) {
            anyhow::bail!("line 1: the header has no '{required}' column");
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        // Counted from the record's first byte: the reader's own line
        // count misses blank lines, and its position starts before them.
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let rest = body.get(start..).unwrap_or("");
        let start = start + (rest.len() - rest.trim_start_matches(['\r', '\n']).len());
        let line = 1 + body
            .get(..start)
            .map_or(0, |before| before.matches('\n').count());
        let mut row = Row::default();
        let mut problem = None;
        for (column, value) in headers.iter().zip(record.iter()) {
            let value = value.to_owned();
            let optional = || (!value.is_empty()).then(|| value.clone());
            match column {
                "sku" => row.sku = value,
                "name" => row.name = value,
                "price" | "stock" => {
                    let amount = match optional() {
                        Some(text) => Amount::Text(text),
                        None => Amount::Missing,
                    };
                    if column == "price" {
                        row.price = amount;
                    } else {
                        row.stock = amount;
                    }
                }
                "model" => row.model = optional(),
                "sizes" => row.sizes = Labels::Text(value),
                "colors" => row.colors = Labels::Text(value),
                "description" => row.description = optional(),
                _ => match value.as_str() {
                    "" => {}
                    "draft" => row.status = Some(ProductStatus::Draft),
                    "published" => row.status = Some(ProductStatus::Published),
                    other => problem = Some(format!("status: '{other}' is draft or published")),
                },
            }
        }
        rows.push((line, problem.map_or(Ok(row), Err)));
    }
    Ok(rows)
}

fn refusal(err: ApiError) -> String {
    match err {
        ApiError::Invalid { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    }
}

async fn upsert(db: &Database, row: Row, apply: bool) -> anyhow::Result<Result<Outcome, String>> {
    let sku = row.sku.trim().to_owned();
    let price = match row.price.parse("price") {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let stock = match row.stock.parse("stock") {
        Ok(s) => s,
        Err(why) => return Ok(Err(why)),
    };
    let products = collection(db);
    let stored = db
        .collection::<Document>(PRODUCTS)
        .find_one(doc! { "sku": &sku })
        .await?;
    let Some(stored) = stored else {
        let input = NewProduct {
            name: row.name,
            slug: None,
            sku: sku.clone(),
            description: row.description,
            price,
            currency: None,
            stock,
            sizes: row.sizes.into_vec().unwrap_or_default(),
            colors: row.colors.into_vec().unwrap_or_default(),
            model: row.model,
            image_ids: Vec::new(),
            status: row.status,
        };
        let product = match parse_new(input) {
            Ok(p) => p,
            Err(err) => return Ok(Err(refusal(err))),
        };
        if apply {
            if let Err(why) = insert(db, product).await? {
                return Ok(Err(why));
            }
        }
        return Ok(Ok(Outcome::Created(sku)));
    };
    let before: ProductDoc =
        match crate::adopt::read_as(PRODUCTS, stored, crate::adopt::products::convert) {
            Ok(p) => p,
            Err(why) => return Ok(Err(format!("the stored product cannot be read: {why}"))),
        };
    let patch = ProductPatch {
        name: Some(row.name),
        description: row.description.map(Some),
        price: Some(price),
        stock: Some(stock),
        sizes: row.sizes.into_vec(),
        colors: row.colors.into_vec(),
        model: row.model.map(Some),
        status: row.status,
        ..ProductPatch::default()
    };
    let after = match apply_patch(before.clone(), patch) {
        Ok(p) => p,
        Err(err) => return Ok(Err(refusal(err))),
    };
    let changes = differences(&before, &after);
    if changes.is_empty() {
        return Ok(Ok(Outcome::Unchanged));
    }
    if apply {
        let mut set = Document::new();
        let stored_after = mongodb::bson::to_document(&after)?;
        for (field, _) in &changes {
            let value = stored_after
                .get(*field)
                .cloned()
                .unwrap_or(mongodb::bson::Bson::Null);
            set.insert(*field, value);
        }
        set.insert("updated_at", DateTime::now());
        let written = products
            .update_one(
                doc! { "_id": before.id, "updated_at": before.updated_at },
                doc! { "$set": set },
            )
            .await?;
        if written.matched_count == 0 {
            return Ok(Err(
                "the product changed while importing; run the import again".into(),
            ));
        }
    }
    Ok(Ok(Outcome::Changed(sku, changes)))
}

/// A new product; when its name's slug is taken, the slug gains its SKU.
async fn insert(db: &Database, mut product: ProductDoc) -> anyhow::Result<Result<(), String>> {
    for attempt in 0..2 {
        match collection(db).insert_one(&product).await {
            Ok(_) => return Ok(Ok(())),
            Err(err) if crate::db::is_duplicate_key(&err) && attempt == 0 => {
                if err.to_string().contains("sku") {
                    return Ok(Err("another product took this sku meanwhile".into()));
                }
                product.slug = crate::fields::slugify(&format!("{} {}", product.slug, product.sku));
            }
            Err(err) if crate::db::is_duplicate_key(&err) => {
                return Ok(Err(format!("slug {} is taken", product.slug)));
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(Err("slug taken".into()))
}

/// The fields an import sets that differ, and how (`price 100000 → 120000`).
fn differences(before: &ProductDoc, after: &ProductDoc) -> Vec<(&'static str, String)> {
    let mut changes = Vec::new();
    let mut note = |field: &'static str, old: String, new: String| {
        if old != new {
            changes.push((field, format!("{old} → {new}")));
        }
    };
    note(
        "name",
        format!("{:?}", before.name),
        format!("{:?}", after.name),
    );
    note("price", before.price.to_string(), after.price.to_string());
    note("stock", before.stock.to_string(), after.stock.to_string());
    note("sizes", before.sizes.join("|"), after.sizes.join("|"));
    note("colors", before.colors.join("|"), after.colors.join("|"));
    note(
        "model",
        format!("{:?}", before.model),
        format!("{:?}", after.model),
    );
    note(
        "description",
        format!("{:?}", before.description),
        format!("{:?}", after.description),
    );
    note(
        "status",
        format!("{:?}", before.status),
        format!("{:?}", after.status),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_an_erp_writes_them() {
        assert_eq!(Amount::Text("150.000".into()).parse("price"), Ok(150_000));
        assert_eq!(Amount::Text(" 150000 ".into()).parse("price"), Ok(150_000));
        assert_eq!(Amount::Number(7).parse("stock"), Ok(7));
        for bad in ["150.5", "1.50.000", "", "abc", "15,000"] {
            assert!(Amount::Text(bad.into()).parse("price").is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_rows_keep_their_line_numbers_and_bad_headers_stop_the_run() {
        let rows =
            read_rows("sku,name,price,stock,sizes\nA-1,Vestido,150.000,3,S|M\n\nB-2,Falda,x,1,\n")
                .expect("reads");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        let first = rows[0].1.as_ref().expect("row");
        assert_eq!(first.sizes_for_test(), vec!["S", "M"]);
        assert_eq!(rows[1].0, 4);
        assert!(read_rows("sku,name,price,stock,colour\n").is_err());
        assert!(read_rows("sku,name,price\n").is_err());
    }

    impl Row {
        fn sizes_for_test(&self) -> Vec<String> {
            match &self.sizes {
                Labels::Text(t) => Labels::Text(t.clone()).into_vec().unwrap_or_default(),
                Labels::List(l) => l.clone(),
                Labels::Missing => Vec::new(),
            }
        }
    }
}
