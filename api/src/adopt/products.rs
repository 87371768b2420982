//! `shop_products` as the old back end wrote them: a uuid `id`, a float
//! `price`, images as `/api/uploads/...` URLs, an `is_active` flag instead
//! of a status, no slug and often no SKU.
//!
//! Image fields are left as they are: `rewrite-media-refs` points them at
//! media ids from the import mappings, and the products status lists the
//! products that still hold them.

use mongodb::bson::{Bson, Document};

use super::{values, Draft, Rules, Verdict};
use crate::fields;
use crate::shop::catalog::PRODUCTS;
use crate::shop::money::CURRENCY;

fn status_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "published" | "active" | "activo" | "activa" | "publicado" | "visible" | "live" => {
            "published"
        }
        "draft" | "inactive" | "inactivo" | "borrador" | "hidden" | "oculto" | "archived" => {
            "draft"
        }
        _ => return None,
    })
}

/// # Verdicts
/// Refused: no usable `_id`, no name, a price that is not an amount, a
/// currency other than guaraníes, a status word nobody mapped.
pub fn convert(stored: &Document, rules: &Rules) -> Verdict {
    super::convert_with(PRODUCTS, stored, rules, convert_into)
}

fn convert_into(draft: &mut Draft) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();

    let name = values::text(draft.doc.get("name"))
        .or_else(|| values::text(draft.doc.get("title")))
        .ok_or("no name")?;
    let name: String = name.chars().take(200).collect();
    draft.set("name", name.clone(), "from the old name");

    if values::text(draft.doc.get("slug")).is_none() {
        let mut slug = fields::slugify(&name);
        if slug.is_empty() {
            slug = format!("product-{}", id.to_hex());
        }
        draft.set("slug", slug, "derived from the name");
    }
    if values::text(draft.doc.get("sku")).is_none() {
        let sku = values::text(draft.doc.get("code"))
            .or_else(|| values::text(draft.doc.get("legacy_id")).map(|l| legacy_sku(&l)))
            .unwrap_or_else(|| format!("LEGACY-{}", id.to_hex()));
        draft.set("sku", sku, "derived (code or legacy id)");
    }
    if !matches!(draft.doc.get("description"), Some(Bson::String(_))) {
        let text = values::text(draft.doc.get("description")).unwrap_or_default();
        draft.set("description", text, "text");
    }

    match draft.doc.get("price") {
        Some(Bson::Int64(n)) if *n >= 0 => {}
        Some(raw) => {
            let raw = raw.clone();
            let amount = values::guaranies(&raw)
                .ok_or_else(|| format!("price {raw} is not an amount in guaraníes"))?;
            draft.set("price", amount, "whole guaraníes");
        }
        None => return Err("no price".to_owned()),
    }
    match values::text(draft.doc.get("currency")) {
        None => draft.set("currency", CURRENCY, "guaraníes"),
        Some(currency) if currency.eq_ignore_ascii_case(CURRENCY) => {
            draft.set("currency", CURRENCY, "upper-cased")
        }
        Some(other) => return Err(format!("currency '{other}' is not {CURRENCY}")),
    }
    match draft.doc.get("stock") {
        Some(Bson::Int64(n)) if *n >= 0 => {}
        None | Some(Bson::Null) => draft.set("stock", 0_i64, "missing; none in stock"),
        Some(raw) => {
            let raw = raw.clone();
            let stock = values::count(&raw).ok_or_else(|| format!("stock {raw} is not a count"))?;
            draft.set("stock", stock, "a whole count");
        }
    }
    for field in ["sizes", "colors"] {
        let labels = values::labels(draft.doc.get(field)).unwrap_or_default();
        let labels: Vec<Bson> = labels.into_iter().map(Bson::String).collect();
        draft.set(field, Bson::Array(labels), "a list of labels");
    }
    match draft.doc.get("model") {
        None | Some(Bson::Null) | Some(Bson::String(_)) => {}
        Some(other) => {
            let text = other.to_string();
            draft.set("model", text, "as text");
        }
    }
    if !matches!(draft.doc.get("image_ids"), Some(Bson::Array(_))) {
        draft.set(
            "image_ids",
            Bson::Array(Vec::new()),
            "none yet (old image fields kept)",
        );
    }

    let status = match draft.doc.get("status") {
        Some(Bson::String(word)) => status_word(word)
            .ok_or_else(|| format!("status '{word}' is unknown; map it in --rules"))?,
        _ => {
            let active = ["is_active", "active", "published", "visible"]
                .iter()
                .find_map(|f| draft.doc.get(*f).and_then(values::boolean));
            // The old shop showed every product without a flag.
            if active.unwrap_or(true) {
                "published"
            } else {
                "draft"
            }
        }
    };
    draft.set("status", status, "from the old status or active flag");

    draft.timestamps(id)?;
    Ok(())
}

/// `LEGACY-` and the first block of the uuid, upper-cased: short, stable,
/// and within the SKU alphabet.
fn legacy_sku(legacy_id: &str) -> String {
    let head: String = legacy_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    format!("LEGACY-{}", head.to_uppercase())
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{doc, oid::ObjectId};

    use super::*;
    use crate::shop::catalog::ProductDoc;

    #[test]
    fn an_old_product_converts_once_and_reads() {
        let stored = doc! {
            "_id": ObjectId::new(),
            "id": "9d1c0f4e-1111-4000-8000-000000000002",
            "name": "Vestido Ñandutí",
            "price": 150000.0,
            "stock": 3,
            "images": ["/api/uploads/a.jpg", ["/api/uploads/b.jpg"]],
            "is_active": false,
            "created_at": "2024-05-01T10:00:00",
            "supplier": "Asunción Textil",
        };
        let Verdict::Convert { document, .. } = convert(&stored, &Rules::default()) else {
            panic!("convertible");
        };
        assert_eq!(document.get_str("slug"), Ok("vestido-nanduti"));
        assert_eq!(document.get_str("status"), Ok("draft"));
        assert_eq!(document.get_i64("price"), Ok(150000));
        assert_eq!(document.get_str("sku"), Ok("LEGACY-9D1C0F4E1111"));
        assert!(document.get_array("images").is_ok(), "old images kept");
        assert_eq!(document.get_str("supplier"), Ok("Asunción Textil"));
        assert_eq!(convert(&document, &Rules::default()), Verdict::Ours);
        let product: ProductDoc = mongodb::bson::from_document(document).expect("reads as ours");
        assert_eq!(product.stock, 3);
    }

    #[test]
    fn rules_rename_and_map_before_converting() {
        let rules = Rules::parse(
            "[shop_products.rename]\nnombre = \"name\"\n[shop_products.values.status]\nagotado = \"draft\"\n",
        )
        .expect("rules");
        let stored =
            doc! { "_id": ObjectId::new(), "nombre": "Falda", "price": 1, "status": "agotado" };
        assert!(matches!(
            convert(&stored, &Rules::default()),
            Verdict::Refuse(_)
        ));
        let Verdict::Convert { document, .. } = convert(&stored, &rules) else {
            panic!("convertible with rules");
        };
        assert_eq!(document.get_str("name"), Ok("Falda"));
        assert_eq!(document.get_str("status"), Ok("draft"));
        let cheap = doc! { "_id": ObjectId::new(), "name": "x", "price": "cheap" };
        assert!(
            matches!(convert(&cheap, &Rules::default()), Verdict::Refuse(w) if w.contains("cheap"))
        );
    }
}
