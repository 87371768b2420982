//! `orders` as the old back end wrote them: `items` with old product ids
//! and float prices, the buyer's old user id, status words, ISO dates.
//! The buyer and every product are resolved through the reference index:
//! an order that would lose either is refused, never adopted half-known.

use mongodb::bson::{doc, Bson, Document};

use super::refs::RefIndex;
use super::{values, Draft, Rules, Verdict};
use crate::shop::catalog::PRODUCTS;
use crate::shop::money::CURRENCY;
use crate::shop::order_docs::ORDERS;
use crate::users::model::USERS;

fn status_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "pending" | "pendiente" | "new" | "nuevo" | "created" | "awaiting_payment" => "pending",
        "paid" | "pagado" | "confirmed" | "confirmado" | "processing" | "procesando" => "paid",
        "shipped" | "enviado" | "sent" | "in_transit" => "shipped",
        "delivered" | "entregado" | "completed" | "completado" | "complete" => "delivered",
        "cancelled" | "canceled" | "cancelado" | "refunded" | "reembolsado" => "cancelled",
        _ => return None,
    })
}

/// # Verdicts
/// Refused: an unknown buyer or product, a status word nobody mapped, a
/// line without a price or quantity.
pub fn convert(stored: &Document, rules: &Rules, refs: &RefIndex) -> Verdict {
    super::convert_with(ORDERS, stored, rules, |draft| convert_into(draft, refs))
}

fn convert_into(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();

    let buyer = draft.doc.get("user_id").cloned().ok_or("no user_id")?;
    let user = refs
        .resolve(USERS, &buyer)
        .ok_or_else(|| format!("user_id {buyer} names no user"))?;
    draft.set("user_id", user, "the buyer's id");

    if !draft.doc.contains_key("lines") {
        let items = ["items", "products", "cart"]
            .into_iter()
            .find(|f| matches!(draft.doc.get(*f), Some(Bson::Array(_))))
            .ok_or("no lines or items")?;
        let Some(Bson::Array(items)) = draft.doc.remove(items) else {
            return Err("no lines or items".to_owned());
        };
        draft.doc.insert("items_legacy", items.clone());
        let mut lines = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item = item
                .as_document()
                .ok_or_else(|| format!("item {i} is not a document"))?;
            lines.push(Bson::Document(line(item, i, refs)?));
        }
        draft.doc.insert("lines", lines);
        draft.note("items: converted to lines (the originals kept as items_legacy)");
    }
    let subtotal: i64 = match draft.doc.get("lines") {
        Some(Bson::Array(lines)) => lines
            .iter()
            .filter_map(|l| l.as_document().and_then(|l| l.get_i64("line_total").ok()))
            .sum(),
        _ => return Err("lines is not a list".to_owned()),
    };
    amount(draft, "subtotal", Some(subtotal))?;
    amount(draft, "discount", Some(0))?;
    let discount = draft.doc.get_i64("discount").unwrap_or(0);
    amount(draft, "total", Some((subtotal - discount).max(0)))?;
    if values::text(draft.doc.get("currency")).as_deref() != Some(CURRENCY) {
        draft.set("currency", CURRENCY, "guaraníes");
    }
    if !draft.doc.contains_key("coupon_code") {
        let code = values::text(draft.doc.get("coupon")).map_or(Bson::Null, Bson::String);
        draft.set("coupon_code", code, "from coupon");
    }

    let status = match draft.doc.get("status") {
        Some(Bson::String(word)) => status_word(word)
            .ok_or_else(|| format!("status '{word}' is unknown; map it in --rules"))?,
        None | Some(Bson::Null) => "pending",
        Some(other) => return Err(format!("status {other} is not a word")),
    };
    draft.set("status", status, "from the old status");

    let created = draft.timestamps(id)?;
    if !matches!(draft.doc.get("history"), Some(Bson::Array(_))) {
        if let Some(old) = draft.doc.remove("history") {
            draft.doc.insert("history_legacy", old);
        }
        let first = doc! { "status": status, "at": created, "by": Bson::Null };
        draft.set("history", vec![first], "started with the status found");
    }
    match draft.doc.get("shipping") {
        None => draft.set("shipping", Bson::Null, "none recorded"),
        Some(Bson::Null) => {}
        Some(Bson::Document(s))
            if ["name", "address", "phone"]
                .iter()
                .all(|f| s.get_str(f).is_ok()) => {}
        Some(_) => {
            if let Some(old) = draft.doc.remove("shipping") {
                draft.doc.insert("shipping_legacy", old);
            }
            draft.set("shipping", Bson::Null, "old shape kept as shipping_legacy");
        }
    }
    Ok(())
}

/// An integer PYG field, converted from the old shapes or else `fallback`.
fn amount(draft: &mut Draft, field: &str, fallback: Option<i64>) -> Result<(), String> {
    match draft.doc.get(field) {
        Some(Bson::Int64(n)) if *n >= 0 => Ok(()),
        None | Some(Bson::Null) => {
            let value = fallback.ok_or_else(|| format!("no {field}"))?;
            draft.set(field, value, "computed from the lines");
            Ok(())
        }
        Some(raw) => {
            let raw = raw.clone();
            let value =
                values::guaranies(&raw).ok_or_else(|| format!("{field} {raw} is not an amount"))?;
            draft.set(field, value, "whole guaraníes");
            Ok(())
        }
    }
}

fn line(item: &Document, i: usize, refs: &RefIndex) -> Result<Document, String> {
    let raw_product = item
        .get("product_id")
        .or_else(|| item.get("id"))
        .ok_or_else(|| format!("item {i} names no product"))?;
    let product = refs
        .resolve(PRODUCTS, raw_product)
        .ok_or_else(|| format!("item {i}: product {raw_product} is not in shop_products"))?;
    let unit_price = ["unit_price", "price"]
        .iter()
        .find_map(|f| item.get(*f).and_then(values::guaranies))
        .ok_or_else(|| format!("item {i} has no price"))?;
    let quantity = ["quantity", "qty", "cantidad"]
        .iter()
        .find_map(|f| item.get(*f).and_then(values::count))
        .filter(|q| *q > 0)
        .ok_or_else(|| format!("item {i} has no quantity"))?;
    let optional = |field: &str| values::text(item.get(field)).map_or(Bson::Null, Bson::String);
    Ok(doc! {
        "product_id": product,
        "name": values::text(item.get("name")).unwrap_or_default(),
        "sku": values::text(item.get("sku")).unwrap_or_default(),
        "size": optional("size"),
        "color": optional("color"),
        "unit_price": unit_price,
        "quantity": quantity,
        "line_total": unit_price.saturating_mul(quantity),
    })
}
