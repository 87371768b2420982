//! An admin erases a customer: nothing personal stays in any collection
//! (the old back end's fields included), their order stays for accounting
//! with the person anonymised, and the account can neither sign in nor
//! come back. A creator's uploads go from media; media down means the
//! database part is done and the request, repeated, finishes the rest.
//! (The UGC side of an erasure is in `api_ugc::erasure`.)

use avenue_tests::api::{spawn_stack, Stack, TestUser};
use mongodb::bson::{doc, oid::ObjectId, Document};
use reqwest::Method;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime, UtcOffset};

fn erase_path(user: &TestUser) -> String {
    format!("/api/users/{}/erase", user.id)
}

fn tomorrow_at_ten() -> String {
    let offset = UtcOffset::from_hms(-3, 0, 0).expect("offset");
    let day = (OffsetDateTime::now_utc().to_offset(offset) + Duration::days(4)).date();
    format!("{day}T10:00:00-03:00")
}

fn oid(hex: &str) -> ObjectId {
    ObjectId::parse_str(hex).expect("object id")
}

async fn set_raw(stack: &Stack, collection: &str, id: &str, set: Document) {
    stack
        .api
        .db
        .collection::<Document>(collection)
        .update_one(doc! { "_id": oid(id) }, doc! { "$set": set })
        .await
        .expect("raw update");
}

/// How many records `report` says it changed in `collection` by `action`.
fn changed(report: &Value, collection: &str, action: &str) -> u64 {
    report["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["collection"] == collection && c["action"] == action)
        .filter_map(|c| c["count"].as_u64())
        .sum()
}

#[tokio::test]
async fn erasing_a_customer_leaves_nothing_personal_and_keeps_the_order() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let product = stack.published(&admin, "ERA-1", 150000, 10).await;
    let zoe = api.user("customer").await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("Zoe Quispe {}", &tag[..8]);
    let new_email = format!("zoe.new-{tag}@example.com");
    api.expect(
        200,
        Method::PATCH,
        "/api/auth/me",
        Some(&zoe.token),
        Some(json!({ "name": name })),
    )
    .await;

    // A life in the shop and the studio.
    let placed = api
        .place_order(
            &zoe,
            json!({ "lines": [{ "product_id": product, "quantity": 1, "size": "M" }],
                    "shipping": { "name": name, "address": "Calle Secreta 77", "phone": "0981 777 555" } }),
        )
        .expect(201)
        .await;
    let order = placed["id"].as_str().expect("order id").to_owned();
    api.set_order_status(&admin, &order, json!({ "status": "paid" }))
        .expect(200)
        .await;
    api.book(
        &zoe,
        json!({ "start": tomorrow_at_ten(), "minutes": 60, "notes": "Zoe's sister comes too" }),
    )
    .expect(201)
    .await;
    api.expect(
        202,
        Method::POST,
        "/api/auth/password-reset",
        None,
        Some(json!({ "email": zoe.email })),
    )
    .await;
    api.expect(
        200,
        Method::PATCH,
        "/api/auth/me",
        Some(&zoe.token),
        Some(json!({ "email": new_email })),
    )
    .await;
    // An admin's change leaves a snapshot of the account in the audit log.
    api.expect(
        200,
        Method::PUT,
        &format!("/api/users/{}/role", zoe.id),
        Some(&admin.token),
        Some(json!({ "role": "customer" })),
    )
    .await;
    // What the old back end left on her records.
    set_raw(
        &stack,
        "users",
        &zoe.id,
        doc! { "phone_number": "+595 981 424242" },
    )
    .await;
    set_raw(&stack, "orders", &order, doc! {
        "customer_email": "zoe.legacy@example.org", "items_legacy": [{ "sku": "ERA-1", "qty": 1 }],
    })
    .await;
    let secrets = [
        zoe.email.as_str(),
        name.as_str(),
        new_email.as_str(),
        "Calle Secreta",
        "777 555",
        "Zoe's sister",
        "424242",
        "zoe.legacy@example.org",
    ];
    assert!(
        api.mentions(&secrets).await.len() >= 6,
        "the test saw the data first"
    );

    // Who may erase whom.
    api.expect(
        403,
        Method::POST,
        &erase_path(&zoe),
        Some(&zoe.token),
        Some(json!({ "confirm_email": zoe.email })),
    )
    .await;
    let own = api
        .expect(
            409,
            Method::POST,
            &erase_path(&admin),
            Some(&admin.token),
            Some(json!({ "confirm_email": admin.email })),
        )
        .await;
    assert_eq!(own["code"], "own-account");
    let other_admin = api.admin().await;
    let colleague = api
        .expect(
            409,
            Method::POST,
            &erase_path(&other_admin),
            Some(&admin.token),
            Some(json!({ "confirm_email": other_admin.email })),
        )
        .await;
    assert_eq!(colleague["code"], "admin-account");
    for wrong in [json!({}), json!({ "confirm_email": admin.email })] {
        let refused = api
            .expect(
                422,
                Method::POST,
                &erase_path(&zoe),
                Some(&admin.token),
                Some(wrong),
            )
            .await;
        assert_eq!(refused["field"], "confirm_email");
    }
    assert!(
        !api.mentions(&[&zoe.email]).await.is_empty(),
        "a refusal erased nothing"
    );

    let report = api
        .expect(
            200,
            Method::POST,
            &erase_path(&zoe),
            Some(&admin.token),
            Some(json!({ "confirm_email": zoe.email.to_uppercase() })),
        )
        .await;
    assert_eq!(
        report["media_erased"], 0,
        "customers upload nothing: {report}"
    );
    for (collection, action) in [
        ("users", "anonymised"),
        ("orders", "anonymised"),
        ("reservations", "anonymised"),
        ("password_resets", "deleted"),
        ("email_changes", "deleted"),
        ("email_logs", "deleted"),
        ("audit_logs", "anonymised"),
    ] {
        assert!(
            changed(&report, collection, action) >= 1,
            "{collection} {action}: {report}"
        );
    }
    assert_eq!(
        report["unknown_fields_kept"],
        json!(["orders.items_legacy"]),
        "{report}"
    );

    // Nothing of her is left anywhere.
    let left = api.mentions(&secrets).await;
    assert!(left.is_empty(), "personal data left: {left:#?}");

    // Her order stays for accounting, without her.
    let kept = api
        .expect(
            200,
            Method::GET,
            &format!("/api/shop/orders/{order}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(kept["total"], placed["total"]);
    assert_eq!(kept["status"], "paid");
    assert_eq!(kept["user_id"], zoe.id.as_str());
    assert!(kept["shipping"].is_null(), "{kept}");
    let stored = api
        .db
        .collection::<Document>("orders")
        .find_one(doc! { "_id": oid(&order) })
        .await
        .expect("read")
        .expect("order kept");
    assert!(
        stored.get("items_legacy").is_some() && stored.get("customer_email").is_none(),
        "{stored}"
    );

    // The account is a tombstone: no sign-in, no session, no way back.
    let account = api
        .expect(
            200,
            Method::GET,
            "/api/users?q=erased",
            Some(&admin.token),
            None,
        )
        .await;
    let tombstone = account
        .as_array()
        .and_then(|users| users.iter().find(|u| u["id"] == zoe.id.as_str()))
        .expect("listed")
        .clone();
    assert_eq!(tombstone["name"], "Erased user");
    assert_eq!(tombstone["is_active"], false);
    assert!(tombstone["erased_at"].is_string(), "{tombstone}");
    let stale = api
        .call(Method::GET, "/api/auth/me", Some(&zoe.token), None)
        .await;
    assert_eq!(stale.status(), 401, "her access token ended with her");
    let sign_in = api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": zoe.email, "password": zoe.password })),
        )
        .await;
    assert_eq!(sign_in.status(), 401);
    let refresh = api
        .call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({ "refresh_token": zoe.refresh_token })),
        )
        .await;
    assert_eq!(refresh.status(), 401);
    let back = api
        .expect(
            409,
            Method::POST,
            &format!("/api/users/{}/reactivate", zoe.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(back["code"], "erased");
    // Nobody can take the tombstone's address (it would block a repeat).
    let squat = api
        .call(Method::POST, "/api/auth/register", None,
            Some(json!({ "email": format!("erased-{}@erased.invalid", zoe.id), "password": "another long password", "name": "Squatter" })))
        .await;
    assert_eq!(squat.status(), 422);
    // Her address is free for a new account.
    api.expect(
        201,
        Method::POST,
        "/api/auth/register",
        None,
        Some(json!({ "email": zoe.email, "password": "another long password", "name": "Someone" })),
    )
    .await;

    // Repeating finds nothing more, and says so; the erasure is audited
    // without her data.
    let again = api
        .expect(
            200,
            Method::POST,
            &erase_path(&zoe),
            Some(&admin.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(again["changes"], json!([]), "{again}");
    assert_eq!(again["media_erased"], 0);
    assert_eq!(again["erased_at"], report["erased_at"]);
    let audit = api
        .expect(
            200,
            Method::GET,
            "/api/admin/audit-logs?action=user.erase",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(audit.as_array().map(Vec::len), Some(2), "{audit}");
    stack.stop().await;
}

#[tokio::test]
async fn an_erasure_media_cannot_finish_is_completed_by_repeating_it() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let ugo = api.user("creator").await;
    let upload = api.upload_id(&ugo, 5).await;

    stack.media_link.cut();
    let refused = api
        .expect(
            503,
            Method::POST,
            &erase_path(&ugo),
            Some(&admin.token),
            Some(json!({ "confirm_email": ugo.email })),
        )
        .await;
    assert_eq!(refused["code"], "erasure-unfinished", "{refused}");
    // The database part is done: she cannot sign in, her address is gone.
    assert!(api.mentions(&[&ugo.email]).await.is_empty());
    let still = stack
        .media
        .admin(Method::GET, &format!("/v1/media/{upload}"))
        .send()
        .await
        .expect("media");
    assert_eq!(still.status(), 200, "media kept the file while unreachable");

    stack.media_link.restore();
    let done = api
        .expect(
            200,
            Method::POST,
            &erase_path(&ugo),
            Some(&admin.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(done["media_erased"], 1, "{done}");
    let gone = stack
        .media
        .admin(Method::GET, &format!("/v1/media/{upload}"))
        .send()
        .await
        .expect("media");
    assert_eq!(gone.status(), 404);
    stack.stop().await;
}

#[tokio::test]
async fn an_old_account_nobody_could_convert_is_erased_all_the_same() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    // A role word nobody mapped: the account cannot be read as ours.
    let email = format!("Old.Wizard-{}@Example.com", uuid::Uuid::new_v4().simple());
    let mut old =
        avenue_tests::old_backend::user(&email, "password", "$2b$12$abcdefghijklmnopqrstuu");
    old.insert("role", "wizard");
    old.insert("phone", "+595 981 313131");
    let id = old.get_object_id("_id").expect("id").to_hex();
    api.db
        .collection::<Document>("users")
        .insert_one(&old)
        .await
        .expect("old user");
    api.db
        .collection::<Document>("email_logs")
        .insert_one(doc! { "to": &email, "subject": "Bienvenido", "status": "sent" })
        .await
        .expect("old mail");

    let report = api
        .expect(
            200,
            Method::POST,
            &format!("/api/users/{id}/erase"),
            Some(&admin.token),
            Some(json!({ "confirm_email": email.to_lowercase() })),
        )
        .await;
    assert_eq!(changed(&report, "email_logs", "deleted"), 1, "{report}");
    let left = api.mentions(&[&email, "313131", "Old Customer"]).await;
    assert!(left.is_empty(), "personal data left: {left:#?}");
    let tombstone = api
        .db
        .collection::<Document>("users")
        .find_one(doc! { "_id": oid(&id) })
        .await
        .expect("read")
        .expect("tombstone");
    assert!(tombstone.get_datetime("erased_at").is_ok(), "{tombstone}");
    assert_eq!(tombstone.get_str("role"), Ok("wizard"), "kept as found");
    stack.stop().await;
}
