//! The nine `ugc_*` collections as the old back end wrote them. Their
//! references name old ids, and `creator_id` / `brand_id` name either the
//! profile or its user; both resolve (see [`RefIndex::profile`]). A
//! document whose creator, brand, campaign or user cannot be found is
//! refused: adopted, it would belong to nobody.

use mongodb::bson::{doc, Bson, DateTime, Document};

use super::refs::RefIndex;
use super::{Draft, Rules, Verdict};
use crate::ugc::applications::APPLICATIONS;
use crate::ugc::campaign_docs::CAMPAIGNS;
use crate::ugc::deliverables::{DELIVERABLES, METRICS, RATINGS};
use crate::ugc::notifications::NOTIFICATIONS;
use crate::ugc::packages::PACKAGES;
use crate::ugc::profiles::brands::BRANDS;
use crate::ugc::profiles::creators::CREATORS;
use crate::users::model::USERS;

const DAY_MS: i64 = 24 * 3600 * 1000;

fn level_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "nano" | "starter" | "beginner" | "principiante" => "nano",
        "micro" => "micro",
        "mid" | "medium" | "mid-tier" | "mid_tier" | "medio" => "mid",
        "macro" | "mega" | "top" => "macro",
        _ => return None,
    })
}

fn campaign_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "draft" | "borrador" => "draft",
        "published" | "active" | "activa" | "activo" | "open" | "abierta" | "publicada" => {
            "published"
        }
        "paused" | "pausada" | "on_hold" => "paused",
        "closed" | "cerrada" | "finished" | "finalizada" | "completed" | "completada"
        | "cancelled" | "canceled" | "cancelada" => "closed",
        _ => return None,
    })
}

fn application_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "pending" | "pendiente" | "applied" | "new" | "en_revision" => "pending",
        "accepted" | "aceptada" | "aceptado" | "approved" | "aprobada" | "aprobado" => "accepted",
        "rejected" | "rechazada" | "rechazado" | "declined" => "rejected",
        _ => return None,
    })
}

fn deliverable_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "submitted" | "pending" | "pendiente" | "enviado" | "in_review" | "en_revision" => {
            "submitted"
        }
        "changes_requested" | "revision" | "needs_changes" | "cambios" => "changes_requested",
        "approved" | "aprobado" | "accepted" | "completed" | "completado" => "approved",
        _ => return None,
    })
}

fn deliverable_type(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "post" | "posts" | "publicacion" | "publicación" => "post",
        "reel" | "reels" => "reel",
        "story" | "stories" | "historia" | "historias" => "story",
        "video" | "videos" | "tiktok" => "video",
        "photo" | "photos" | "foto" | "fotos" | "image" | "imagen" => "photo",
        _ => return None,
    })
}

/// A creator or brand profile (by its id or its user's), as `field`;
/// answers the profile's id and its user's.
fn profile(
    draft: &mut Draft,
    field: &str,
    collection: &str,
    refs: &RefIndex,
) -> Result<(mongodb::bson::oid::ObjectId, mongodb::bson::oid::ObjectId), String> {
    let raw = draft
        .doc
        .get(field)
        .cloned()
        .ok_or_else(|| format!("no {field}"))?;
    let (id, user) = refs
        .profile(collection, &raw)
        .ok_or_else(|| format!("{field} {raw} names no profile in {collection}"))?;
    draft.set(field, id, "the profile's id");
    Ok((id, user))
}

pub fn converter(collection: &str) -> Option<fn(&Document, &Rules, &RefIndex) -> Verdict> {
    Some(match collection {
        CREATORS => |d, r, refs| super::convert_with(CREATORS, d, r, |x| creator(x, refs)),
        BRANDS => |d, r, refs| super::convert_with(BRANDS, d, r, |x| brand(x, refs)),
        PACKAGES => |d, r, _| super::convert_with(PACKAGES, d, r, package),
        CAMPAIGNS => |d, r, refs| super::convert_with(CAMPAIGNS, d, r, |x| campaign(x, refs)),
        APPLICATIONS => {
            |d, r, refs| super::convert_with(APPLICATIONS, d, r, |x| application(x, refs))
        }
        DELIVERABLES => {
            |d, r, refs| super::convert_with(DELIVERABLES, d, r, |x| deliverable(x, refs))
        }
        METRICS => |d, r, refs| super::convert_with(METRICS, d, r, |x| metric(x, refs)),
        RATINGS => |d, r, refs| super::convert_with(RATINGS, d, r, |x| rating(x, refs)),
        NOTIFICATIONS => {
            |d, r, refs| super::convert_with(NOTIFICATIONS, d, r, |x| notification(x, refs))
        }
        _ => return None,
    })
}

fn creator(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();
    let user = draft.reference("user_id", &[], USERS, refs)?;
    let user_name = refs.user(user).0.map(str::to_owned);
    let handle = draft.first(&["instagram", "tiktok"], |v| super::values::text(Some(v)));
    let fallback = user_name.or(handle).unwrap_or_else(|| "Creator".to_owned());
    draft.text_field(
        "name",
        &["display_name", "full_name", "username"],
        Some(&fallback),
    )?;
    draft.text_field("bio", &["description", "about"], Some(""))?;
    if !matches!(draft.doc.get("handles"), Some(Bson::Document(_))) {
        let socials = draft.doc.get_document("social_media").ok().cloned();
        let handle = |name: &str| {
            let from = socials
                .as_ref()
                .and_then(|s| s.get(name))
                .or_else(|| draft.doc.get(name));
            super::values::text(from).map_or(Bson::Null, Bson::String)
        };
        let handles = doc! {
            "instagram": handle("instagram"), "tiktok": handle("tiktok"), "youtube": handle("youtube"),
        };
        draft.set("handles", handles, "from the old social fields");
    }
    draft.labels_field("niches", &["categories", "niche", "category"]);
    draft.word_field("level", &["tier"], level_word, "nano")?;
    draft.optional_text("profile_image", &["avatar", "photo", "photo_url", "image"]);
    draft.labels_field("portfolio_links", &["portfolio", "portfolio_urls"]);
    draft.count_field("rating_sum", &[], Some(0))?;
    draft.count_field("rating_count", &[], Some(0))?;
    draft.timestamps(id)?;
    Ok(())
}

fn brand(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();
    let user = draft.reference("user_id", &[], USERS, refs)?;
    let company = draft.text_field("company", &["company_name", "brand_name", "name"], None)?;
    draft.optional_text("logo_url", &["logo", "image", "logo_media_id"]);
    let contact_ok = draft
        .doc
        .get_document("contact")
        .is_ok_and(|c| c.get_str("name").is_ok() && c.get_str("email").is_ok());
    if !contact_ok {
        let user_email = refs.user(user).1.map(str::to_owned);
        let name = draft
            .first(&["contact_name"], |v| super::values::text(Some(v)))
            .unwrap_or_else(|| company.clone());
        let email = draft
            .first(&["contact_email", "email"], |v| {
                super::values::text(Some(v))
            })
            .or(user_email)
            .unwrap_or_default();
        let phone = draft
            .first(&["contact_phone", "phone"], |v| {
                super::values::text(Some(v))
            })
            .map_or(Bson::Null, Bson::String);
        if let Some(old) = draft.doc.remove("contact") {
            draft.doc.insert("contact_legacy", old);
        }
        draft.set(
            "contact",
            doc! { "name": name, "email": email, "phone": phone },
            "from the old contact fields",
        );
    }
    draft.optional_text("website", &["url", "web"]);
    draft.count_field("rating_sum", &[], Some(0))?;
    draft.count_field("rating_count", &[], Some(0))?;
    let subscription_ok = match draft.doc.get("subscription") {
        None | Some(Bson::Null) => false,
        Some(Bson::Document(s)) => s.get_object_id("package_id").is_ok(),
        Some(_) => false,
    };
    if !subscription_ok && !matches!(draft.doc.get("subscription"), Some(Bson::Null)) {
        if let Some(old) = draft.doc.remove("subscription") {
            draft.doc.insert("subscription_legacy", old);
        }
        draft.set(
            "subscription",
            Bson::Null,
            "none in our shape (any old one kept as subscription_legacy)",
        );
    }
    draft.timestamps(id)?;
    Ok(())
}

fn package(draft: &mut Draft) -> Result<(), String> {
    let created = draft.minted()?;
    draft.legacy_id();
    draft.text_field("name", &["title"], None)?;
    draft.count_field(
        "campaign_quota",
        &[
            "campaigns_per_month",
            "campaigns",
            "quota",
            "campaign_limit",
        ],
        None,
    )?;
    draft.money_field("price", &["amount", "cost"], None)?;
    draft.count_field("duration_days", &["duration", "days"], Some(30))?;
    draft.bool_field("active", &["is_active", "enabled"], true);
    draft.date_field("created_at", &[], Some(created))?;
    Ok(())
}

fn campaign(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();
    let (_, brand_user) = profile(draft, "brand_id", BRANDS, refs)?;
    draft.set("brand_user_id", brand_user, "the brand's user");
    draft.text_field("title", &["name"], None)?;
    draft.text_field("description", &["brief", "details"], Some(""))?;
    draft.money_field("budget", &["price", "amount"], Some(0))?;
    if !matches!(draft.doc.get("deliverable_types"), Some(Bson::Array(_))) {
        let words = draft
            .first(&["deliverables", "content_types", "types"], |v| {
                super::values::labels(Some(v))
            })
            .unwrap_or_else(|| vec!["post".to_owned()]);
        let mut types = Vec::new();
        for word in words {
            let kind = deliverable_type(&word)
                .ok_or_else(|| format!("deliverable type '{word}' is unknown"))?;
            if !types.contains(&Bson::String(kind.to_owned())) {
                types.push(Bson::String(kind.to_owned()));
            }
        }
        draft.set("deliverable_types", types, "from the old content types");
    }
    let created = draft.timestamps(id)?;
    let month_later = DateTime::from_millis(created.timestamp_millis() + 30 * DAY_MS);
    draft.date_field("deadline", &["end_date", "due_date"], Some(month_later))?;
    if !matches!(draft.doc.get("requirements"), Some(Bson::Document(_))) {
        let niches: Vec<Bson> = draft
            .first(&["niches", "categories"], |v| {
                super::values::labels(Some(v))
            })
            .unwrap_or_default()
            .into_iter()
            .map(Bson::String)
            .collect();
        let level = draft
            .first(&["min_level"], |v| v.as_str().and_then(level_word))
            .map_or(Bson::Null, |l| Bson::String(l.to_owned()));
        draft.set(
            "requirements",
            doc! { "min_level": level, "niches": niches },
            "from the old requirements",
        );
    }
    draft.count_field("slots", &["max_creators", "creators_needed"], Some(1))?;
    draft.count_field("accepted", &[], Some(0))?;
    let status = draft.word_field("status", &[], campaign_word, "draft")?;
    if !matches!(draft.doc.get("counted"), Some(Bson::Boolean(_))) {
        draft.set("counted", status != "draft", "published campaigns count");
    }
    Ok(())
}

fn application(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let created = draft.minted()?;
    draft.legacy_id();
    let campaign = draft.reference("campaign_id", &[], CAMPAIGNS, refs)?;
    let (_, creator_user) = profile(draft, "creator_id", CREATORS, refs)?;
    draft.set("creator_user_id", creator_user, "the creator's user");
    let brand_user = refs
        .campaign_brand_user(campaign)
        .ok_or("its campaign's brand is unknown")?;
    draft.set("brand_user_id", brand_user, "the campaign's brand user");
    draft.text_field("pitch", &["message", "cover_letter", "proposal"], Some(""))?;
    let status = draft.word_field("status", &[], application_word, "pending")?;
    let created = draft
        .date_field("created_at", &["applied_at"], Some(created))?
        .unwrap_or(created);
    let decided = (status != "pending").then_some(created);
    draft.date_field("decided_at", &["updated_at"], decided)?;
    Ok(())
}

fn deliverable(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();
    let campaign = draft.reference("campaign_id", &[], CAMPAIGNS, refs)?;
    let creator_user = match draft.doc.get_object_id("creator_user_id") {
        Ok(user) => user,
        Err(_) => {
            let raw = draft
                .doc
                .get("creator_id")
                .cloned()
                .ok_or("no creator_id")?;
            let (_, user) = refs
                .profile(CREATORS, &raw)
                .ok_or_else(|| format!("creator_id {raw} names no creator"))?;
            draft.set("creator_user_id", user, "the creator's user");
            user
        }
    };
    if draft.doc.get_object_id("application_id").is_err() {
        let found = match draft.doc.get("application_id") {
            Some(raw) => refs.resolve(APPLICATIONS, raw),
            None => refs.application(campaign, creator_user),
        }
        .ok_or("no application of this creator to this campaign")?;
        draft.set("application_id", found, "the creator's application");
    }
    let brand_user = refs
        .campaign_brand_user(campaign)
        .ok_or("its campaign's brand is unknown")?;
    draft.set("brand_user_id", brand_user, "the campaign's brand user");
    draft.text_field("post_url", &["url", "link", "content_url"], None)?;
    draft.optional_text("file_url", &["file", "drive_url"]);
    draft.word_field("status", &[], deliverable_word, "submitted")?;
    if !matches!(draft.doc.get("history"), Some(Bson::Array(_))) {
        if let Some(old) = draft.doc.remove("history") {
            draft.doc.insert("history_legacy", old);
        }
        draft.set("history", Bson::Array(vec![]), "no revisions recorded");
    }
    draft.timestamps(id)?;
    Ok(())
}

fn metric(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let created = draft.minted()?;
    draft.legacy_id();
    draft.reference("campaign_id", &[], CAMPAIGNS, refs)?;
    if draft.doc.contains_key("deliverable_id") {
        draft.reference("deliverable_id", &[], DELIVERABLES, refs)?;
    } else {
        draft.set("deliverable_id", Bson::Null, "none recorded");
    }
    if let Some(raw) = draft.doc.get("creator_id").cloned() {
        let (_, user) = refs
            .profile(CREATORS, &raw)
            .ok_or_else(|| format!("creator_id {raw} names no creator"))?;
        draft.set("creator_user_id", user, "the creator's user");
    }
    for field in ["views", "likes", "comments", "shares"] {
        draft.count_field(field, &[], Some(0))?;
    }
    draft.date_field(
        "reported_at",
        &["created_at", "date", "timestamp"],
        Some(created),
    )?;
    Ok(())
}

fn rating(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let created = draft.minted()?;
    draft.legacy_id();
    if draft.doc.get_object_id("to_user").is_err() {
        let (rated, raw) = if let Some(c) = draft.doc.get("creator_id").cloned() {
            ("creator", c)
        } else if let Some(b) = draft.doc.get("brand_id").cloned() {
            ("brand", b)
        } else {
            return Err("names neither the creator nor the brand rated".into());
        };
        let collection = if rated == "creator" { CREATORS } else { BRANDS };
        let (_, user) = refs
            .profile(collection, &raw)
            .ok_or_else(|| format!("{rated} {raw} is unknown"))?;
        draft.set("to_user", user, "the rated user");
        draft.set("rated", rated, "who was rated");
    }
    let stars = draft
        .first(&["stars", "rating", "score"], |v| match v {
            Bson::Double(f) if f.is_finite() => Some(f.round() as i64),
            other => super::values::count(other),
        })
        .ok_or("no stars")?;
    if !(1..=5).contains(&stars) {
        return Err(format!("{stars} stars is not 1 to 5"));
    }
    draft.set("stars", stars, "whole stars");
    draft.text_field("review", &["comment", "text"], Some(""))?;
    for field in ["from_user", "deliverable_id", "campaign_id"] {
        if !draft.doc.contains_key(field) {
            draft.set(field, Bson::Null, "not recorded by the old back end");
        }
    }
    draft.date_field("created_at", &["date"], Some(created))?;
    Ok(())
}

fn notification(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let created = draft.minted()?;
    draft.legacy_id();
    draft.reference("user_id", &[], USERS, refs)?;
    draft.text_field("kind", &["type", "category"], Some("notice"))?;
    draft.text_field("message", &["text", "body", "title"], None)?;
    draft.text_field("related", &["link", "url"], Some(""))?;
    draft.bool_field("read", &["is_read", "seen"], false);
    draft.date_field("created_at", &["date", "timestamp"], Some(created))?;
    Ok(())
}
