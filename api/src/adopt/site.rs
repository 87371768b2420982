//! The rest of what the old back end shared: studio `reservations`,
//! `page_content`, `admin_settings`, `audit_logs` and `email_logs`.
//!
//! Pages keep their old image links in the blocks they become (`image`,
//! `images`): `avenue-api rewrite-media-refs` turns those into media ids
//! afterwards, as it does for pages we wrote. Settings cannot be converted
//! in place (ours are keyed by name in `_id`), so an old setting is listed
//! with the key to set instead.

use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::refs::{RefIndex, StudioClock};
use super::{values, Draft, Rules, Verdict};
use crate::studio::reservations::RESERVATIONS;
use crate::system::audit::AUDIT_LOGS;
use crate::system::email::EMAIL_LOGS;
use crate::system::pages::PAGES;
use crate::system::settings::SETTINGS;
use crate::users::model::USERS;

const MINUTE_MS: i64 = 60_000;

pub fn converter(collection: &str) -> Option<fn(&Document, &Rules, &RefIndex) -> Verdict> {
    Some(match collection {
        RESERVATIONS => {
            |d, r, refs| super::convert_with(RESERVATIONS, d, r, |x| reservation(x, refs))
        }
        PAGES => |d, r, _| super::convert_with(PAGES, d, r, page),
        SETTINGS => |d, _, _| setting(d),
        AUDIT_LOGS => |d, r, refs| super::convert_with(AUDIT_LOGS, d, r, |x| audit(x, refs)),
        EMAIL_LOGS => |d, r, _| super::convert_with(EMAIL_LOGS, d, r, email),
        _ => return None,
    })
}

fn booking_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "confirmed" | "confirmada" | "confirmado" | "pending" | "pendiente" | "booked"
        | "reserved" | "reservada" | "active" => "confirmed",
        "completed" | "completada" | "completado" | "done" | "finalizada" => "completed",
        "no_show" | "no-show" | "noshow" | "ausente" => "no_show",
        "cancelled" | "canceled" | "cancelada" | "cancelado" | "rejected" | "rechazada" => {
            "cancelled"
        }
        _ => return None,
    })
}

/// A local date and time of the studio (`2024-06-01` and `10:00`), or a
/// date-time string; one without an offset is the studio's local time, as
/// the old booking form wrote it.
fn local_start(draft: &Draft, clock: StudioClock) -> Result<DateTime, String> {
    let local = |text: &str| -> Option<DateTime> {
        let at = values::date(&Bson::String(text.to_owned()))?;
        let after_t = text.split_once('T').map_or("", |(_, t)| t);
        let has_offset = after_t.contains(['Z', '+', '-']);
        Some(if has_offset {
            at
        } else {
            DateTime::from_millis(at.timestamp_millis() - clock.utc_offset_minutes * MINUTE_MS)
        })
    };
    for field in ["start", "start_time", "starts_at", "datetime"] {
        match draft.doc.get(field) {
            Some(Bson::DateTime(at)) => return Ok(*at),
            Some(Bson::String(text)) if text.contains('T') || text.contains(' ') => {
                return local(&text.replace(' ', "T"))
                    .ok_or_else(|| format!("{field} '{text}' is not a date and time"));
            }
            _ => {}
        }
    }
    let day = values::text(draft.doc.get("date")).ok_or("no start, nor date and time")?;
    let hour = values::text(draft.doc.get("time"))
        .or_else(|| values::text(draft.doc.get("start_time")))
        .ok_or("a date without a time")?;
    local(&format!("{day}T{hour}")).ok_or_else(|| format!("'{day} {hour}' is not a date and time"))
}

fn reservation(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let created = draft.minted()?;
    draft.legacy_id();
    draft.reference("user_id", &["customer_id", "client_id"], USERS, refs)?;
    let clock = refs.studio;
    let start = local_start(draft, clock)?;
    draft.set("start", start, "the booking's start");
    let minutes = match draft.doc.get("minutes") {
        Some(Bson::Int64(n)) if *n > 0 => *n,
        _ => {
            let explicit = draft.first(&["duration_minutes"], values::count);
            let hours = draft.first(&["duration", "hours"], |v| match v {
                Bson::Double(f) if f.is_finite() => Some((f * 60.0).round() as i64),
                other => values::count(other).map(|h| if h <= 12 { h * 60 } else { h }),
            });
            let until_end = draft
                .first(&["end", "end_time", "ends_at"], values::date)
                .map(|end| (end.timestamp_millis() - start.timestamp_millis()) / MINUTE_MS);
            let minutes = explicit
                .or(hours)
                .or(until_end)
                .unwrap_or(clock.slot_minutes);
            if minutes <= 0 || minutes > 24 * 60 {
                return Err(format!("a booking of {minutes} minutes"));
            }
            draft.set("minutes", minutes, "from the old duration");
            minutes
        }
    };
    let end = DateTime::from_millis(start.timestamp_millis() + minutes * MINUTE_MS);
    draft.set("end", end, "start plus its minutes");
    if !matches!(draft.doc.get("slots"), Some(Bson::Array(_))) {
        let slot = clock.slot_minutes.max(1);
        let mut slots = Vec::new();
        let mut at = start.timestamp_millis();
        while at < end.timestamp_millis() {
            let utc = OffsetDateTime::from_unix_timestamp(at / 1000)
                .map_err(|e| e.to_string())?
                .format(&Rfc3339)
                .map_err(|e| e.to_string())?;
            slots.push(Bson::String(utc));
            at += slot * MINUTE_MS;
        }
        draft.set("slots", slots, "the studio slots it holds");
    }
    let status = draft.word_field("status", &[], booking_word, "confirmed")?;
    draft.text_field("notes", &["comments", "description", "message"], Some(""))?;
    let created = draft
        .date_field("created_at", &[], Some(created))?
        .unwrap_or(created);
    let cancelled = (status == "cancelled").then(|| {
        draft
            .first(&["cancelled_at", "updated_at"], values::date)
            .unwrap_or(created)
    });
    draft.date_field("cancelled_at", &[], cancelled)?;
    Ok(())
}

/// A page's old sections as our blocks, image links kept for
/// `rewrite-media-refs`.
fn block(section: &Document, i: usize) -> Result<Document, String> {
    let text = |fields: &[&str]| {
        fields
            .iter()
            .find_map(|f| values::text(section.get(*f)))
            .map_or(Bson::Null, Bson::String)
    };
    let kind = values::text(section.get("type"))
        .or_else(|| values::text(section.get("kind")))
        .unwrap_or_default()
        .to_lowercase();
    let image = text(&["image", "image_url", "url", "src"]);
    Ok(match kind.as_str() {
        "hero" | "banner" => {
            let mut hero = doc! {
                "type": "hero", "title": text(&["title", "heading"]),
                "subtitle": text(&["subtitle", "text"]), "link": text(&["link", "href", "cta_link"]),
            };
            if hero.get("title") == Some(&Bson::Null) {
                hero.insert("title", "");
            }
            if image != Bson::Null {
                hero.insert("image", image);
                let alt = text(&["alt", "image_alt", "alt_text"]);
                if alt != Bson::Null {
                    hero.insert("alt", alt);
                }
            } else {
                hero.insert("media_id", Bson::Null);
            }
            hero
        }
        "heading" | "title" => {
            doc! { "type": "heading", "text": text(&["text", "title", "content"]), "level": Bson::Null }
        }
        "text" | "paragraph" | "richtext" | "rich_text" | "content" | "html" => {
            doc! { "type": "text", "text": text(&["text", "content", "body", "html"]) }
        }
        "image" | "picture" => doc! {
            "type": "image", "image": image, "alt": text(&["alt", "alt_text"]),
            "caption": text(&["caption"]),
        },
        "gallery" | "carousel" | "slider" => {
            // Each item's link, and its own alt text when it had one.
            let items: Vec<(Bson, Bson)> =
                match section.get("images").or_else(|| section.get("slides")) {
                    Some(Bson::Array(items)) => items
                        .iter()
                        .filter_map(|item| match item {
                            Bson::String(s) => Some((Bson::String(s.clone()), Bson::Null)),
                            Bson::Document(d) => ["image", "url", "src"]
                                .iter()
                                .find_map(|f| values::text(d.get(*f)))
                                .map(|link| {
                                    let alt = ["alt", "alt_text", "caption"]
                                        .iter()
                                        .find_map(|f| values::text(d.get(*f)))
                                        .map_or(Bson::Null, Bson::String);
                                    (Bson::String(link), alt)
                                }),
                            _ => None,
                        })
                        .collect(),
                    _ => vec![],
                };
            let (images, alts): (Vec<Bson>, Vec<Bson>) = items.into_iter().unzip();
            let mut gallery = doc! { "type": "gallery", "images": images };
            if alts.iter().any(|a| *a != Bson::Null) {
                gallery.insert("alts", alts);
            }
            gallery
        }
        "button" | "cta" | "link" => doc! {
            "type": "button", "label": text(&["label", "text", "title"]),
            "href": text(&["href", "link", "url"]),
        },
        other => {
            return Err(format!(
                "section {i} is of type '{other}', which has no block"
            ))
        }
    })
}

fn page(draft: &mut Draft) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();
    let raw_slug = draft.text_field("slug", &["page", "name", "key"], None)?;
    let slug = crate::fields::slugify(&raw_slug);
    if slug.is_empty() {
        return Err(format!("slug '{raw_slug}' has no letters or digits"));
    }
    draft.set("slug", slug.clone(), "as a URL part");
    let title = draft.text_field("title", &["name", "page"], Some(&slug))?;
    let created = draft.timestamps(id)?;
    if !matches!(draft.doc.get("blocks"), Some(Bson::Array(_))) {
        let sections = match draft
            .doc
            .get("sections")
            .or_else(|| draft.doc.get("content"))
        {
            Some(Bson::Array(items)) => items.clone(),
            Some(Bson::Document(one)) => vec![Bson::Document(one.clone())],
            None | Some(Bson::Null) => vec![],
            Some(other) => return Err(format!("sections {other} is not a list")),
        };
        let mut blocks = Vec::new();
        for (i, section) in sections.iter().enumerate() {
            let section = section
                .as_document()
                .ok_or_else(|| format!("section {i} is not a document"))?;
            blocks.push(Bson::Document(block(section, i)?));
        }
        draft.set(
            "blocks",
            blocks.clone(),
            "from the old sections (kept as they were)",
        );
        draft.count_field("version", &[], Some(1))?;
        let published = draft
            .first(&["is_published", "published", "active", "is_active"], |v| {
                values::boolean(v)
            })
            .unwrap_or(true);
        draft.set(
            "status",
            if published { "published" } else { "draft" },
            "the old page was live unless marked otherwise",
        );
        // The old back end did not record who saved a page: the zero id.
        let copy = doc! {
            "version": 1_i64, "title": &title, "blocks": blocks,
            "saved_at": created, "saved_by": ObjectId::from_bytes([0; 12]),
        };
        if published {
            draft.set("published", copy.clone(), "what visitors saw");
        } else if !draft.doc.contains_key("published") {
            draft.set("published", Bson::Null, "not live");
        }
        draft.set("history", vec![copy], "the version found");
    }
    Ok(())
}

/// Old settings keys and the key of ours that holds the same thing.
const SETTING_ALIASES: &[(&[&str], &str)] = &[
    (
        &["store_name", "site_name", "shop_name", "title"],
        "site.title",
    ),
    (&["logo", "logo_url", "site_logo"], "site.logo_media_id"),
    (&["contact_email", "email", "store_email"], "contact.email"),
];

/// Ours are keyed by name in `_id`; an old one (ObjectId `_id`, `key`,
/// `value`) cannot become one in place and is listed with what to do.
fn setting(stored: &Document) -> Verdict {
    if matches!(stored.get("_id"), Some(Bson::String(_))) {
        return Verdict::Ours;
    }
    let key = values::text(stored.get("key"))
        .or_else(|| values::text(stored.get("name")))
        .unwrap_or_else(|| "(no key)".to_owned());
    let value = stored
        .get("value")
        .map_or("nothing".to_owned(), ToString::to_string);
    let ours = SETTING_ALIASES
        .iter()
        .find(|(old, _)| old.contains(&key.to_lowercase().as_str()))
        .map(|(_, ours)| *ours);
    Verdict::Refuse(match ours {
        Some(ours) => format!(
            "old setting '{key}' = {value}: set it as '{ours}' with PUT /api/admin/settings/{ours}"
        ),
        None => format!(
            "old setting '{key}' = {value} has no counterpart; GET /api/admin/settings lists ours"
        ),
    })
}

fn audit(draft: &mut Draft, refs: &RefIndex) -> Result<(), String> {
    let created = draft.minted()?;
    draft.legacy_id();
    draft.date_field("at", &["timestamp", "created_at", "date"], Some(created))?;
    if draft.doc.get_object_id("actor").is_err() {
        let raw = draft
            .first(&["actor", "user_id", "admin_id"], |v| Some(v.clone()))
            .unwrap_or(Bson::Null);
        let actor = refs.resolve(USERS, &raw).map_or(Bson::Null, Bson::ObjectId);
        if raw != Bson::Null && actor == Bson::Null {
            draft.doc.insert("actor_legacy", raw);
        }
        draft.set("actor", actor, "the user who acted, when known");
    }
    draft.text_field("actor_role", &["role"], Some("legacy"))?;
    draft.text_field("action", &["event", "type"], Some("legacy"))?;
    draft.text_field("collection", &["entity", "resource", "model"], Some(""))?;
    draft.text_field(
        "record_id",
        &["entity_id", "resource_id", "object_id"],
        Some(""),
    )?;
    for field in ["before", "after"] {
        if !draft.doc.contains_key(field) {
            draft.set(field, Bson::Null, "not recorded");
        }
    }
    Ok(())
}

fn email_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "sent" | "delivered" | "enviado" | "success" | "ok" => "sent",
        // Never sent by the old back end: failed, so an admin can decide
        // to resend it, rather than sent unasked after cut-over.
        "failed" | "error" | "fallido" | "bounced" | "pending" | "queued" | "pendiente" => "failed",
        _ => return None,
    })
}

fn email(draft: &mut Draft) -> Result<(), String> {
    // Our own entries (pending ones above all) are left to the outbox.
    if mongodb::bson::from_document::<crate::system::email::EmailDoc>(draft.doc.clone()).is_ok() {
        return Ok(());
    }
    let id = draft.object_id()?;
    draft.legacy_id();
    draft.text_field("to", &["email", "recipient", "to_email"], None)?;
    draft.text_field("template", &["type", "kind"], Some("legacy"))?;
    draft.text_field("subject", &["title"], Some(""))?;
    draft.text_field("body", &["text", "content", "message"], Some(""))?;
    draft.optional_text("html", &["html_body", "html_content"]);
    let status = draft.word_field("status", &[], email_word, "sent")?;
    if status == "failed" && !draft.doc.contains_key("last_error") {
        let reason = draft
            .first(&["error", "error_message"], |v| values::text(Some(v)))
            .unwrap_or_else(|| "not sent by the old back end".to_owned());
        draft.set("last_error", reason, "why it was not sent");
    }
    draft.count_field("attempts", &["retries", "tries"], Some(1))?;
    draft.text_field("related", &[], Some(""))?;
    let created = draft.timestamps(id)?;
    let sent = (status == "sent").then_some(created);
    draft.date_field("sent_at", &[], sent)?;
    draft.text_field("sender", &[], Some("old-back-end"))?;
    if !draft.doc.contains_key("next_attempt_at") {
        draft.set("next_attempt_at", Bson::Null, "never picked up by itself");
    }
    if !matches!(draft.doc.get("history"), Some(Bson::Array(_))) {
        draft.set("history", Bson::Array(vec![]), "no attempts recorded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_booking_words_keep_what_happened() {
        for (old, ours) in [
            ("Reservada", "confirmed"),
            ("done", "completed"),
            ("Completada", "completed"),
            ("no-show", "no_show"),
            ("ausente", "no_show"),
            ("cancelada", "cancelled"),
        ] {
            assert_eq!(booking_word(old), Some(ours), "{old}");
        }
        assert_eq!(
            booking_word("en_espera"),
            None,
            "a word nobody defined is refused"
        );
    }

    #[test]
    fn old_galleries_and_heroes_keep_their_alt_text() {
        let gallery = block(
            &doc! { "type": "carousel", "slides": [
                { "image": "/uploads/a.jpg", "alt": "Frente" },
                "/uploads/b.jpg",
                { "src": "/uploads/c.jpg" },
            ] },
            0,
        )
        .expect("converts");
        assert_eq!(
            gallery.get_array("images").expect("images").len(),
            3,
            "{gallery}"
        );
        assert_eq!(
            gallery.get_array("alts").expect("alts"),
            &vec![Bson::from("Frente"), Bson::Null, Bson::Null]
        );
        let plain =
            block(&doc! { "type": "gallery", "images": ["/uploads/a.jpg"] }, 1).expect("converts");
        assert!(plain.get("alts").is_none(), "{plain}");
        let hero = block(
            &doc! { "type": "banner", "title": "Otoño", "image": "/uploads/h.jpg", "image_alt": "Portada" },
            2,
        )
        .expect("converts");
        assert_eq!(hero.get_str("alt"), Ok("Portada"));
    }
}
