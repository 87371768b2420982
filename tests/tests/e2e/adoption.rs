//! Taking over the database the old Python back end wrote: the api starts
//! on it, its users sign in with the passwords they have, its documents
//! read (or answer a clear 422), and its old ids still name them.

use mongodb::bson::{doc, Document};
use reqwest::Method;
use serde_json::{json, Value};

use avenue_tests::api::{spawn_stack_on, Stack};
use avenue_tests::old_backend::{self, HASHES, OLD_PASSWORD};
use avenue_tests::{mongo_uri, unique_db};

async fn database(name: &str) -> mongodb::Database {
    mongodb::Client::with_uri_str(mongo_uri())
        .await
        .expect("client")
        .database(name)
}

async fn login(stack: &Stack, email: &str, password: &str) -> (u16, Value) {
    let response = stack
        .api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `GET /api/shop/debug/storage-status` as an admin.
async fn storage_status(stack: &Stack, token: &str) -> Value {
    stack
        .api
        .expect(
            200,
            Method::GET,
            "/api/shop/debug/storage-status",
            Some(token),
            None,
        )
        .await
}

async fn stored_user(stack: &Stack, email: &str) -> Document {
    stack
        .api
        .db
        .collection::<Document>("users")
        .find_one(doc! { "email": { "$regex": format!("^{email}$"), "$options": "i" } })
        .await
        .expect("read")
        .expect("user stored")
}

/// Seen: a few hundred old products without a slug made the unique `slug`
/// index fail with E11000 and the api refused to start. Now it starts, and
/// says which index the data refused instead.
#[tokio::test]
async fn the_api_starts_on_the_old_back_ends_database() {
    let name = unique_db();
    let db = database(&name).await;
    old_backend::insert(
        &db,
        "shop_products",
        (0..300).map(old_backend::product).collect(),
    )
    .await;
    // Two old accounts with the very same address: the unique email index
    // cannot exist until someone merges them.
    let twin = "twin@example.com";
    old_backend::insert(
        &db,
        "users",
        vec![
            old_backend::user(twin, "password", HASHES[0].1),
            old_backend::user(twin, "password", HASHES[0].1),
        ],
    )
    .await;

    let stack = spawn_stack_on(&name, |_| {}).await;
    let health = stack.api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(health.status(), 200);
    let admin = stack.api.admin().await;
    let status = storage_status(&stack, &admin.token).await;
    let problems = status["index_problems"].as_array().expect("index problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["index"], "users(email)");
    assert!(
        problems[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("E11000"),
        "{problems:?}"
    );
    stack.stop().await;
}

/// Seen: an old user document made `POST /api/auth/login` answer 500. Every
/// hash scheme such back ends use, in each field they keep it in, signs in
/// once with the old password and is argon2id afterwards.
#[tokio::test]
async fn old_users_sign_in_with_their_passwords_and_are_rehashed() {
    let name = unique_db();
    let db = database(&name).await;
    let fields = ["password", "hashed_password", "password_hash"];
    let mut accounts = Vec::new();
    for (i, (scheme, hash)) in HASHES.iter().enumerate() {
        let field = fields[i % fields.len()];
        // Old back ends stored addresses as typed.
        let email = format!("Old.{scheme}@Example.com");
        accounts.push((email.clone(), *scheme, field));
        old_backend::insert(&db, "users", vec![old_backend::user(&email, field, hash)]).await;
    }
    let stack = spawn_stack_on(&name, |_| {}).await;

    for (email, scheme, field) in &accounts {
        let (status, wrong) = login(&stack, email, "not-the-password").await;
        assert_eq!(status, 401, "{scheme} in {field}: {wrong}");
        assert_eq!(wrong["code"], "unauthenticated", "{scheme}");

        let (status, session) = login(&stack, &email.to_lowercase(), OLD_PASSWORD).await;
        assert_eq!(status, 200, "{scheme} in {field}: {session}");
        assert_eq!(session["user"]["name"], "Old Customer");
        assert_eq!(session["user"]["role"], "customer");
        assert!(
            session["user"]["created_at"]
                .as_str()
                .unwrap_or("")
                .starts_with("2023-11-20T18:45:12"),
            "{session}"
        );

        let stored = stored_user(&stack, email).await;
        let hash = stored.get_str("password_hash").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{scheme}: {hash}");
        assert!(!stored.contains_key("password") && !stored.contains_key("hashed_password"));
        assert_eq!(
            stored.get_bool("newsletter"),
            Ok(true),
            "unknown fields kept"
        );

        let (status, again) = login(&stack, email, OLD_PASSWORD).await;
        assert_eq!(status, 200, "{scheme} after rehash: {again}");
        let me = stack
            .api
            .expect(
                200,
                Method::GET,
                "/api/auth/me",
                again["access_token"].as_str(),
                None,
            )
            .await;
        assert_eq!(me["email"], email.to_lowercase());
    }
    stack.stop().await;
}

/// A hash nobody can check (an unsalted MD5, an empty field) answers 401
/// `password-reset-required`, never 500; unknown addresses stay plain 401.
#[tokio::test]
async fn unknown_hash_formats_ask_for_a_reset() {
    let name = unique_db();
    let db = database(&name).await;
    old_backend::insert(
        &db,
        "users",
        vec![
            old_backend::user(
                "md5@example.com",
                "password",
                "5f4dcc3b5aa765d61d8327deb882cf99",
            ),
            old_backend::user("empty@example.com", "password", ""),
        ],
    )
    .await;
    let stack = spawn_stack_on(&name, |_| {}).await;
    for email in ["md5@example.com", "empty@example.com"] {
        let (status, body) = login(&stack, email, OLD_PASSWORD).await;
        assert_eq!(status, 401, "{email}: {body}");
        assert_eq!(body["code"], "password-reset-required", "{email}");
    }
    let (status, body) = login(&stack, "nobody@example.com", OLD_PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    stack.stop().await;
}

/// Seen: an old product was missing from the catalogue or failed it. Now a
/// single read converts it, its old uuid still names it, an unreadable one
/// answers 422 `legacy-document` alone, and lists skip it instead of 500.
#[tokio::test]
async fn old_products_read_and_old_links_resolve() {
    let name = unique_db();
    let db = database(&name).await;
    let old = old_backend::product(7);
    let old_uuid = old.get_str("id").expect("uuid").to_owned();
    let broken = old_backend::unreadable_product();
    let broken_id = old_backend::oid_hex(&broken);
    old_backend::insert(&db, "shop_products", vec![old.clone(), broken]).await;
    let stack = spawn_stack_on(&name, |_| {}).await;
    let admin = stack.api.admin().await;
    let ours = stack.published(&admin, "OURS-1", 90_000, 2).await;

    for path in [
        format!("/api/shop/products/{old_uuid}"),
        format!("/api/shop/products/{}", old_backend::oid_hex(&old)),
    ] {
        let product = stack.api.expect(200, Method::GET, &path, None, None).await;
        assert_eq!(product["name"], "Vestido Ñandutí 7", "{path}");
        assert_eq!(product["price"], 150_007, "{path}");
        assert_eq!(product["slug"], "vestido-nanduti-7");
        assert_eq!(product["status"], "published");
    }

    let refused = stack
        .api
        .call(
            Method::GET,
            &format!("/api/shop/products/{broken_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "legacy-document");
    assert!(
        body["message"].as_str().unwrap_or("").contains("consultar"),
        "names the problem: {body}"
    );

    let list = stack
        .api
        .expect(200, Method::GET, "/api/shop/products", None, None)
        .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(ids.contains(&ours.as_str()), "{list}");
    assert!(!ids.contains(&broken_id.as_str()), "{list}");

    let status = storage_status(&stack, &admin.token).await;
    assert!(
        status["skipped_reads"]["shop_products"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{status}"
    );

    // An admin's edit of an old product keeps the fields we do not know.
    let path = format!("/api/shop/products/{old_uuid}");
    stack
        .api
        .expect(
            200,
            Method::PATCH,
            &path,
            Some(&admin.token),
            Some(json!({ "stock": 9 })),
        )
        .await;
    let stored = db
        .collection::<Document>("shop_products")
        .find_one(doc! { "id": &old_uuid })
        .await
        .expect("read")
        .expect("still there");
    assert_eq!(stored.get_i64("stock"), Ok(9));
    assert_eq!(stored.get_str("category"), Ok("vestidos"));
    assert!(stored.get_array("images").is_ok(), "old image links kept");
    stack.stop().await;
}

/// Every by-id route resolves the old string id: an admin changes the role
/// of an old account by its uuid.
#[tokio::test]
async fn old_user_ids_name_their_accounts() {
    let name = unique_db();
    let db = database(&name).await;
    let old = old_backend::user("brand@example.com", "password", HASHES[0].1);
    let old_uuid = old.get_str("id").expect("uuid").to_owned();
    old_backend::insert(&db, "users", vec![old.clone()]).await;
    let stack = spawn_stack_on(&name, |_| {}).await;
    let admin = stack.api.admin().await;
    let changed = stack
        .api
        .expect(
            200,
            Method::PUT,
            &format!("/api/users/{old_uuid}/role"),
            Some(&admin.token),
            Some(json!({ "role": "brand" })),
        )
        .await;
    assert_eq!(changed["id"], old_backend::oid_hex(&old));
    assert_eq!(changed["role"], "brand");
    stack
        .api
        .expect(
            404,
            Method::PUT,
            &format!("/api/users/{}/role", old_backend::uuid()),
            Some(&admin.token),
            Some(json!({ "role": "brand" })),
        )
        .await;
    stack.stop().await;
}

/// The debug endpoints say where cut-over stands: products not adopted,
/// old image references with a page of them to re-upload, and per
/// collection how much is still in the old shape; `adopt-data` moves it.
#[tokio::test]
async fn the_debug_endpoints_tell_where_cut_over_stands() {
    let name = unique_db();
    let db = database(&name).await;
    old_backend::insert(
        &db,
        "shop_products",
        (0..5).map(old_backend::product).collect(),
    )
    .await;
    let stack = spawn_stack_on(&name, |_| {}).await;
    let admin = stack.api.admin().await;
    let products_status = |page: u32| {
        let path = format!("/api/shop/debug/products-status?page={page}&limit=2");
        let api = &stack.api;
        let token = admin.token.clone();
        async move {
            api.expect(200, Method::GET, &path, Some(&token), None)
                .await
        }
    };
    let first = products_status(1).await;
    assert_eq!(first["not_adopted"], 5, "{first}");
    assert_eq!(first["legacy_references"], 5);
    let page: Vec<&Value> = first["to_reupload"]
        .as_array()
        .expect("page")
        .iter()
        .collect();
    assert_eq!(page.len(), 2);
    assert!(page[0]["legacy_id"].is_string());
    assert!(
        page[0]["references"]
            .to_string()
            .contains("/api/uploads/product-"),
        "{first}"
    );
    assert_eq!(
        products_status(3).await["to_reupload"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let before = storage_status(&stack, &admin.token).await;
    assert_eq!(
        before["adoption"]["shop_products"]["old_style"], 5,
        "{before}"
    );
    assert_eq!(before["adoption"]["users"]["old_style"], 0);

    let options = avenue_api::adopt::run::Options {
        apply: true,
        ..Default::default()
    };
    let progress = avenue_shared::progress::for_terminal("adopt-data", "documents");
    avenue_api::adopt::run::run(&db, &options, progress.as_ref(), &mut std::io::sink())
        .await
        .expect("adopt-data");
    assert_eq!(products_status(1).await["not_adopted"], 0);
    let after = storage_status(&stack, &admin.token).await;
    assert_eq!(
        after["adoption"]["shop_products"]["old_style"], 0,
        "{after}"
    );
    assert_eq!(
        after["legacy_references_left"]["products"], 5,
        "images wait for their mapping"
    );
    stack.stop().await;
}

/// A single read of a document no converter reads yet (an old order)
/// answers 422 `legacy-document` naming the field, never 500.
#[tokio::test]
async fn an_unconverted_document_answers_422_not_500() {
    let name = unique_db();
    let db = database(&name).await;
    let order_uuid = old_backend::uuid();
    let buyer_uuid = old_backend::uuid();
    old_backend::insert(
        &db,
        "orders",
        vec![doc! {
            "_id": mongodb::bson::oid::ObjectId::new(),
            "id": &order_uuid,
            "user_id": &buyer_uuid,
            "items": [{ "product_id": old_backend::uuid(), "price": 1000.0, "quantity": 1 }],
            "status": "pending",
            "created_at": "2024-03-10T15:00:00",
        }],
    )
    .await;
    let stack = spawn_stack_on(&name, |_| {}).await;
    let admin = stack.api.admin().await;
    let response = stack
        .api
        .call(
            Method::GET,
            &format!("/api/shop/orders/{order_uuid}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "legacy-document", "{body}");
    // The driver names the value it could not read: the old buyer id.
    assert!(
        body["message"].as_str().unwrap_or("").contains(&buyer_uuid),
        "{body}"
    );
    stack.stop().await;
}
