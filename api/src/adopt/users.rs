//! `users` as the old back end wrote them: a uuid `id`, the hash in
//! `password` or `hashed_password`, `full_name`, ISO dates, roles in other
//! words (`user`, `cliente`) or an `is_admin` flag.

use mongodb::bson::{Bson, Document};

use super::{values, Draft, Rules, Verdict};
use crate::users::model::{Email, USERS};

/// Where old back ends keep the hash, in the order we trust them.
const HASH_FIELDS: [&str; 3] = ["password_hash", "hashed_password", "password"];

pub(crate) fn role_word(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_lowercase().as_str() {
        "admin" | "administrator" | "administrador" | "superadmin" | "staff" => "admin",
        "customer" | "user" | "client" | "cliente" | "usuario" | "buyer" => "customer",
        "brand" | "marca" | "business" => "brand",
        "creator" | "creador" | "creadora" | "influencer" | "ugc_creator" => "creator",
        _ => return None,
    })
}

/// # Verdicts
/// Refused: no usable `_id` or email, a role word nobody mapped.
pub fn convert(stored: &Document, rules: &Rules) -> Verdict {
    super::convert_with(USERS, stored, rules, convert_into)
}

fn convert_into(draft: &mut Draft) -> Result<(), String> {
    let id = draft.object_id()?;
    draft.legacy_id();

    let raw_email = values::text(draft.doc.get("email")).ok_or("no email")?;
    let email = Email::parse(&raw_email, "email")
        .map_err(|_| format!("email '{raw_email}' is not an address"))?;
    draft.set("email", email.as_str(), "trimmed and lower-cased");

    if values::text(draft.doc.get("name")).is_none() {
        let first_last = [
            values::text(draft.doc.get("first_name")),
            values::text(draft.doc.get("last_name")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let name = values::text(draft.doc.get("full_name"))
            .or_else(|| values::text(draft.doc.get("username")))
            .or_else(|| (!first_last.is_empty()).then_some(first_last))
            .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_owned());
        let name: String = name.chars().take(100).collect();
        draft.set("name", name, "derived from the old name fields");
    }

    let role = match draft.doc.get("role") {
        Some(Bson::String(word)) => {
            role_word(word).ok_or_else(|| format!("role '{word}' is unknown; map it in --rules"))?
        }
        None | Some(Bson::Null) => {
            let admin = draft
                .doc
                .get("is_admin")
                .and_then(values::boolean)
                .unwrap_or(false);
            if admin {
                "admin"
            } else {
                "customer"
            }
        }
        Some(other) => return Err(format!("role {other} is not a word")),
    };
    draft.set("role", role, "from the old role");

    // The old back end's own switch: kept, as a flag whatever it was typed.
    if let Some(raw) = draft.doc.get("is_active").cloned() {
        if !matches!(raw, Bson::Boolean(_)) {
            let active = values::boolean(&raw).unwrap_or(true);
            draft.set("is_active", active, "read as a flag");
        }
    }

    if !matches!(draft.doc.get("password_hash"), Some(Bson::String(_))) {
        let found = HASH_FIELDS
            .iter()
            .find_map(|field| values::text(draft.doc.get(*field)).map(|h| (*field, h)));
        match found {
            Some((field, hash)) => {
                draft.doc.remove(field);
                draft.doc.insert("password_hash", hash);
                draft.note(format!(
                    "{field}: moved to password_hash (checked at sign-in, then argon2id)"
                ));
            }
            None => draft.set(
                "password_hash",
                "",
                "no password hash; the user signs in after a reset",
            ),
        }
    }

    draft.timestamps(id)?;
    if !matches!(draft.doc.get("refresh_tokens"), Some(Bson::Array(_))) {
        draft.set("refresh_tokens", Bson::Array(Vec::new()), "no sessions yet");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{doc, oid::ObjectId};

    use super::*;
    use crate::users::model::UserDoc;

    #[test]
    fn an_old_user_converts_once_and_reads() {
        let stored = doc! {
            "_id": ObjectId::new(),
            "id": "3f2b8c1e-0000-4000-8000-000000000001",
            "email": " Ana@Example.COM ",
            "full_name": "Ana Pérez",
            "password": "$2b$12$abcdefghijklmnopqrstuu",
            "created_at": "2024-01-02T03:04:05.678901",
            "is_active": true,
            "favourite_colour": "green",
        };
        let Verdict::Convert { document, changes } = convert(&stored, &Rules::default()) else {
            panic!("convertible");
        };
        assert!(
            changes.iter().any(|c| c.starts_with("password:")),
            "{changes:?}"
        );
        assert_eq!(document.get_str("email"), Ok("ana@example.com"));
        assert_eq!(
            document.get_str("legacy_id"),
            Ok("3f2b8c1e-0000-4000-8000-000000000001")
        );
        assert_eq!(document.get_str("favourite_colour"), Ok("green"));
        assert!(!document.contains_key("password"));
        assert_eq!(convert(&document, &Rules::default()), Verdict::Ours);
        let user: UserDoc = mongodb::bson::from_document(document).expect("reads as ours");
        assert_eq!(user.name, "Ana Pérez");
        assert_eq!(user.password_hash, "$2b$12$abcdefghijklmnopqrstuu");
    }

    #[test]
    fn the_old_switch_off_keeps_the_account_off_whatever_its_type() {
        for (raw, active) in [
            (Bson::Boolean(false), false),
            (Bson::String("false".into()), false),
            (Bson::Int32(0), false),
            (Bson::String("1".into()), true),
            (Bson::String("maybe".into()), true),
        ] {
            let stored = doc! {
                "_id": ObjectId::new(), "email": "a@b.co", "password": "$2b$12$abcdefghijklmnopqrstuu",
                "is_active": raw.clone(),
            };
            let document = match convert(&stored, &Rules::default()) {
                Verdict::Convert { document, .. } => document,
                other => panic!("{raw}: {other:?}"),
            };
            let user: UserDoc = mongodb::bson::from_document(document).expect("reads as ours");
            assert_eq!(user.is_active, active, "{raw}");
        }
    }

    #[test]
    fn refusals_name_the_problem() {
        let no_email = doc! { "_id": ObjectId::new(), "name": "x" };
        assert_eq!(
            convert(&no_email, &Rules::default()),
            Verdict::Refuse("no email".into())
        );
        let odd_role = doc! { "_id": ObjectId::new(), "email": "a@b.co", "role": "wizard" };
        let Verdict::Refuse(why) = convert(&odd_role, &Rules::default()) else {
            panic!("refused");
        };
        assert!(why.contains("wizard"), "{why}");
        let string_id = doc! { "_id": "abc", "email": "a@b.co" };
        assert!(matches!(
            convert(&string_id, &Rules::default()),
            Verdict::Refuse(_)
        ));
    }
}
