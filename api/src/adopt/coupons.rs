//! `shop_coupons` as the old back end wrote them: `discount_type` and
//! `discount_value` (or `type`/`amount`), `expiry_date` as an ISO string,
//! `usage_limit` and `used_count`, `is_active`.

use mongodb::bson::{Bson, Document};

use super::{values, Draft, Rules, Verdict};
use crate::shop::coupons::COUPONS;

fn kind_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "percent" | "percentage" | "porcentaje" | "pct" | "%" => "percent",
        "fixed" | "amount" | "monto" | "flat" | "fijo" => "fixed",
        _ => return None,
    })
}

/// # Verdicts
/// Refused: no code, a kind nobody mapped, a value out of range.
pub fn convert(stored: &Document, rules: &Rules) -> Verdict {
    super::convert_with(COUPONS, stored, rules, convert_into)
}

fn convert_into(draft: &mut Draft) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();
    let code = values::text(draft.doc.get("code")).ok_or("no code")?;
    draft.set(
        "code",
        code.to_uppercase(),
        "upper case, as customers type it",
    );

    let kind = match draft.first(&["kind", "discount_type", "type"], |v| {
        v.as_str().map(str::to_owned)
    }) {
        Some(word) => kind_word(&word)
            .ok_or_else(|| format!("kind '{word}' is unknown; map it in --rules"))?,
        None => "percent",
    };
    draft.set("kind", kind, "from the old discount type");
    let value = draft
        .first(
            &["value", "discount_value", "discount", "amount"],
            values::guaranies,
        )
        .ok_or("no discount value")?;
    if kind == "percent" && !(1..=100).contains(&value) {
        return Err(format!("a percent coupon of {value}"));
    }
    draft.set("value", value, "whole number");

    for (ours, old) in [
        ("valid_from", ["valid_from", "start_date", "starts_at"]),
        ("valid_until", ["valid_until", "expiry_date", "expires_at"]),
    ] {
        if matches!(
            draft.doc.get(ours),
            Some(Bson::DateTime(_)) | Some(Bson::Null)
        ) {
            continue;
        }
        let at = draft
            .first(&old, values::date)
            .map_or(Bson::Null, Bson::DateTime);
        draft.set(ours, at, "a date");
    }
    for (ours, old) in [
        ("max_uses", ["max_uses", "usage_limit", "max_usage"]),
        (
            "max_uses_per_user",
            ["max_uses_per_user", "per_user_limit", "limit_per_user"],
        ),
    ] {
        if matches!(draft.doc.get(ours), Some(Bson::Int64(_)) | Some(Bson::Null)) {
            continue;
        }
        let n = draft
            .first(&old, values::count)
            .map_or(Bson::Null, Bson::Int64);
        draft.set(ours, n, "a count");
    }
    if !matches!(draft.doc.get("min_order"), Some(Bson::Int64(_))) {
        let min = draft.first(&["min_order", "min_purchase", "minimum"], values::guaranies);
        draft.set("min_order", min.unwrap_or(0), "whole guaraníes");
    }
    if !matches!(draft.doc.get("uses"), Some(Bson::Int64(_))) {
        let uses = draft.first(
            &["uses", "used_count", "times_used", "usage_count"],
            values::count,
        );
        draft.set("uses", uses.unwrap_or(0), "a count");
    }
    if !matches!(draft.doc.get("uses_by_user"), Some(Bson::Document(_))) {
        draft.set("uses_by_user", Document::new(), "none recorded per user");
    }
    if !matches!(draft.doc.get("active"), Some(Bson::Boolean(_))) {
        let active = draft.first(&["active", "is_active", "enabled"], values::boolean);
        draft.set("active", active.unwrap_or(true), "from the old flag");
    }
    draft.timestamps(id)?;
    Ok(())
}
