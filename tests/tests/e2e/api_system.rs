//! Settings, website-builder pages, compatibility endpoints and the API
//! document, over real HTTP.

use avenue_tests::api::spawn_stack;
use avenue_tests::fixtures;
use mongodb::bson::doc;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn settings_are_typed_audited_and_claim_their_media() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let put = |key: &'static str, value: Value, status: u16| {
        let path = format!("/api/admin/settings/{key}");
        let token = admin.token.clone();
        async move {
            api.expect(
                status,
                Method::PUT,
                &path,
                Some(&token),
                Some(json!({ "value": value })),
            )
            .await
        }
    };
    for (key, value) in [
        ("studio.open_hour", json!("nine")),
        ("studio.open_hour", json!(25)),
        ("studio.slot_minutes", json!(45)),
        ("shop.orders_enabled", json!("yes")),
        ("contact.email", json!("not an email")),
        ("shop.free_shipping_min", json!(-1)),
        ("site.logo_media_id", json!("nope")),
    ] {
        let refused = put(key, value, 422).await;
        assert_eq!(refused["field"], "value", "{key}: {refused}");
    }
    put("no.such.key", json!(1), 404).await;
    let set = put("site.title", json!("  Avenue Asunción "), 200).await;
    assert_eq!(set["value"], "Avenue Asunción");
    assert_eq!(set["type"], "string");

    let logo = stack.image(7).await;
    put("site.logo_media_id", json!(logo), 200).await;
    assert_eq!(
        stack.refs_of(&logo).await,
        vec!["admin_settings:site.logo_media_id".to_owned()]
    );
    let unknown = put(
        "site.logo_media_id",
        json!("0123456789abcdef0123456789abcdef"),
        422,
    )
    .await;
    assert_eq!(unknown["field"], "value");
    let public = api
        .expect(200, Method::GET, "/api/settings/public", None, None)
        .await;
    assert_eq!(public["site.logo_media_id"], logo);
    assert_eq!(public["site.title"], "Avenue Asunción");
    assert_eq!(public["studio.open_hour"], 9, "defaults fill what is unset");
    put("site.logo_media_id", Value::Null, 200).await;
    assert!(
        stack.refs_of(&logo).await.is_empty(),
        "clearing releases the logo"
    );

    let audit = api
        .expect(
            200,
            Method::GET,
            "/api/admin/audit-logs?collection=admin_settings&record_id=site.title",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(audit[0]["before"], "Avenue");
    assert_eq!(audit[0]["after"], "Avenue Asunción");
    avenue_tests::old_backend::assert_adoption_leaves_ours_alone(&stack.api.db).await;
    stack.stop().await;
}

#[tokio::test]
async fn pages_have_drafts_published_copies_versions_and_claimed_media() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let (hero, one, two) = (
        stack.image(1).await,
        stack.image(2).await,
        stack.image(3).await,
    );
    let created = api
        .expect(201, Method::POST, "/api/pages", Some(&admin.token), Some(json!({
            "slug": "home", "title": "Inicio",
            "blocks": [
                { "type": "hero", "title": "Nueva colección", "media_id": hero, "link": "/shop" },
                { "type": "text", "text": "Hecho en Paraguay." },
                { "type": "gallery", "media_ids": [one, two] },
            ],
        })))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let reference = format!("page_content:{id}");
    for media in [&hero, &one, &two] {
        assert_eq!(stack.refs_of(media).await, vec![reference.clone()]);
    }
    // Drafts are not public.
    api.expect(404, Method::GET, "/api/pages/home", None, None)
        .await;
    // Nor is their existence: asking for a draft without the right gets
    // what a missing page gets, by slug and by id, signed in or not.
    let missing = api
        .expect(
            404,
            Method::GET,
            "/api/pages/nowhere?draft=true",
            None,
            None,
        )
        .await;
    let customer = api.user("customer").await;
    for path in [
        "/api/pages/home?draft=true".to_owned(),
        format!("/api/pages/{id}?draft=true"),
    ] {
        for token in [None, Some(customer.token.as_str())] {
            let answer = api.expect(404, Method::GET, &path, token, None).await;
            assert_eq!(
                answer, missing,
                "{path}: a draft's answer must not differ from a missing page's"
            );
        }
    }
    api.expect(
        200,
        Method::POST,
        &format!("/api/pages/{id}/publish"),
        Some(&admin.token),
        None,
    )
    .await;
    let public = api
        .expect(200, Method::GET, "/api/pages/home", None, None)
        .await;
    assert_eq!(public["title"], "Inicio");
    assert_eq!(public["blocks"][2]["media_ids"], json!([one, two]));

    // A new draft leaves the published copy alone until it is published.
    let saved = api
        .expect(
            200,
            Method::PUT,
            &format!("/api/pages/{id}"),
            Some(&admin.token),
            Some(json!({
                "title": "Inicio 2", "expected_version": 1,
                "blocks": [{ "type": "image", "media_id": one, "alt": "Vestido" }],
            })),
        )
        .await;
    assert_eq!(saved["version"], 2);
    assert_eq!(
        api.expect(200, Method::GET, "/api/pages/home", None, None)
            .await["title"],
        "Inicio"
    );
    let draft = api
        .expect(
            200,
            Method::GET,
            "/api/pages/home?draft=true",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(draft["title"], "Inicio 2");
    // Older versions keep their media claimed: the hero is still held.
    assert_eq!(stack.refs_of(&hero).await, vec![reference.clone()]);
    let stale = api
        .expect(
            409,
            Method::PUT,
            &format!("/api/pages/{id}"),
            Some(&admin.token),
            Some(json!({
                "title": "Lost edit", "expected_version": 1, "blocks": [],
            })),
        )
        .await;
    assert_eq!(stale["code"], "edit-conflict");
    let versions = api
        .expect(
            200,
            Method::GET,
            &format!("/api/pages/{id}/versions"),
            Some(&admin.token),
            None,
        )
        .await;
    let numbers: Vec<i64> = versions
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v["version"].as_i64())
        .collect();
    assert_eq!(numbers, vec![2, 1]);

    // Bad blocks and unknown media are refused, naming the field; nothing changes.
    for (blocks, field) in [
        (
            json!([{ "type": "image", "media_id": "0123456789abcdef0123456789abcdef" }]),
            "blocks[0].media_id",
        ),
        (
            json!([{ "type": "text", "text": "ok" }, { "type": "gallery", "media_ids": [one, "0123456789abcdef0123456789abcdef"] }]),
            "blocks[1].media_ids[1]",
        ),
        (
            json!([{ "type": "button", "label": "Go", "href": "javascript:alert(1)" }]),
            "blocks[0].href",
        ),
        (
            json!([{ "type": "heading", "text": "x", "level": 9 }]),
            "blocks[0].level",
        ),
    ] {
        let refused = api
            .expect(
                422,
                Method::PUT,
                &format!("/api/pages/{id}"),
                Some(&admin.token),
                Some(json!({ "title": "T", "blocks": blocks })),
            )
            .await;
        assert_eq!(refused["field"], field, "{refused}");
    }
    let unknown_type = api
        .expect(
            422,
            Method::PUT,
            &format!("/api/pages/{id}"),
            Some(&admin.token),
            Some(json!({ "title": "T", "blocks": [{ "type": "iframe", "src": "x" }] })),
        )
        .await;
    assert_eq!(unknown_type["code"], "invalid-field");
    let after = api
        .expect(
            200,
            Method::GET,
            "/api/pages/home?draft=true",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(after["version"], 2);

    // Unpublish hides it; delete releases every claim.
    api.expect(
        200,
        Method::POST,
        &format!("/api/pages/{id}/unpublish"),
        Some(&admin.token),
        None,
    )
    .await;
    api.expect(404, Method::GET, "/api/pages/home", None, None)
        .await;
    api.expect(
        204,
        Method::DELETE,
        &format!("/api/pages/{id}"),
        Some(&admin.token),
        None,
    )
    .await;
    for media in [&hero, &one, &two] {
        assert!(stack.refs_of(media).await.is_empty());
    }
    assert_eq!(api.count("page_content", doc! {}).await, 0);
    avenue_tests::old_backend::assert_adoption_leaves_ours_alone(&stack.api.db).await;
    stack.stop().await;
}

#[tokio::test]
async fn compatibility_endpoints_answer_from_the_new_truth() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let form = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("photo.png"),
            )
            .text("folder", "shop")
    };
    let uploaded = api
        .request(Method::POST, "/api/uploads", Some(&admin.token))
        .multipart(form(fixtures::png(6, 6, 9)))
        .send()
        .await
        .expect("answer");
    assert_eq!(uploaded.status(), 201);
    let body: Value = uploaded.json().await.expect("json");
    let id = body["id"].as_str().expect("id").to_owned();
    assert!(body["url"]
        .as_str()
        .expect("url")
        .ends_with(&format!("/image/upload/{id}.png")));
    let fetched = stack
        .media
        .fetch(&format!("/image/upload/{id}.png"), &[])
        .await;
    assert_eq!(fetched.status(), 200);
    let refused = api
        .request(Method::POST, "/api/uploads", Some(&admin.token))
        .multipart(form(b"this is not an image".to_vec()))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 415);

    // Debug: products with images, one referencing a media deleted behind its back.
    let other = stack.image(4).await;
    api.create_product(&admin, json!({ "name": "Con foto", "sku": "CF-1", "price": 1, "stock": 1, "image_ids": [id, other] })).expect(201).await;
    api.create_product(
        &admin,
        json!({ "name": "Sin foto", "sku": "SF-1", "price": 1, "stock": 1 }),
    )
    .expect(201)
    .await;
    api.db
        .collection::<mongodb::bson::Document>("shop_products")
        .insert_one(doc! { "name": "Legacy", "images": ["/api/uploads/old.jpg"] })
        .await
        .expect("legacy product");
    stack
        .media
        .db()
        .collection::<mongodb::bson::Document>("media")
        .delete_one(doc! { "_id": &other })
        .await
        .expect("vanish");
    let status = api
        .expect(
            200,
            Method::GET,
            "/api/shop/debug/products-status",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status["products"], 3);
    assert_eq!(status["with_images"], 1);
    assert_eq!(status["referenced_media"], 2);
    assert_eq!(status["missing_media"], json!([other]));
    assert_eq!(status["legacy_references"], 1);
    let storage = api
        .expect(
            200,
            Method::GET,
            "/api/shop/debug/storage-status",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(storage["media"]["primary"], "gridfs");
    assert_eq!(storage["references"]["products_with_images"], 1);

    stack.media_link.cut();
    let down = api
        .expect(
            503,
            Method::GET,
            "/api/shop/debug/storage-status",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(down["code"], "media-unavailable");
    stack.media_link.restore();
    stack.stop().await;
}

#[tokio::test]
async fn the_api_document_matches_the_routes() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let document = api
        .expect(200, Method::GET, "/api/openapi.json", None, None)
        .await;
    assert!(document["openapi"]
        .as_str()
        .expect("version")
        .starts_with("3."));
    let paths = document["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/auth/login", "post"),
        ("/api/shop/products", "get"),
        ("/api/shop/products/{id}", "patch"),
        ("/api/shop/orders", "post"),
        ("/api/studio/reservations", "post"),
        ("/api/pages/{id}/publish", "post"),
        ("/api/uploads", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} documented"
        );
    }
    // Every documented operation is routed: none answers the fallback 404.
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "65f000000000000000000000")
            .replace("{code}", "SALE")
            .replace("{key}", "site.title");
        for method in item.as_object().expect("operations").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = api.call(method.clone(), &concrete, None, None).await;
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(body["message"], "no such endpoint", "{method} {path}");
        }
    }
    assert!(document["components"]["schemas"]["NewProduct"].is_object());
    let docs = api.call(Method::GET, "/api/docs", None, None).await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.expect("html");
    assert!(
        html.contains("openapi.json") && !html.contains("cdn") && !html.contains("src=\"http"),
        "self-contained"
    );
    stack.stop().await;
}
