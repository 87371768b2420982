//! The catalogue over real HTTP: media claims on save, unknown ids and a
//! media outage refused with nothing written, search and paging that
//! neither skip nor repeat, groups by model kept in step, and the audit.

use std::collections::HashSet;

use avenue_tests::api::{spawn_stack, Stack};
use futures::future::join_all;
use futures::FutureExt;
use mongodb::bson::doc;
use reqwest::Method;
use serde_json::{json, Value};

async fn product(stack: &Stack, token: &str, body: Value) -> Value {
    stack
        .api
        .expect(
            201,
            Method::POST,
            "/api/shop/products",
            Some(token),
            Some(body),
        )
        .await
}

#[tokio::test]
async fn products_claim_their_images_and_release_what_they_drop() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let (a, b, c) = (
        stack.image(1).await,
        stack.image(2).await,
        stack.image(3).await,
    );
    let created = product(
        &stack,
        &admin.token,
        json!({ "name": "Vestido Azul", "sku": "VA-1", "price": 150000, "stock": 3,
                "sizes": ["S", "M"], "image_ids": [a, b], "status": "published" }),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["slug"], "vestido-azul");
    assert_eq!(created["price_display"], "₲ 150.000");
    assert_eq!(created["image_ids"], json!([a, b]));
    let reference = format!("shop_products:{id}");
    assert_eq!(stack.refs_of(&a).await, vec![reference.clone()]);
    assert_eq!(stack.refs_of(&b).await, vec![reference.clone()]);

    // The media service refuses to delete what the product shows.
    let in_use = stack
        .media
        .admin(Method::DELETE, &format!("/v1/media/{a}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(in_use.status(), 409);

    // Reordered and one swapped: the dropped one is released.
    let updated = api
        .update_product(&admin, &id, json!({ "image_ids": [c, a] }))
        .expect(200)
        .await;
    assert_eq!(updated["image_ids"], json!([c, a]));
    assert!(stack.refs_of(&b).await.is_empty());
    assert_eq!(stack.refs_of(&c).await, vec![reference.clone()]);

    // An unknown id is a 422 naming it; nothing changes.
    let unknown = "0123456789abcdef0123456789abcdef";
    let refused = api
        .update_product(
            &admin,
            &id,
            json!({ "image_ids": [c, b, unknown], "price": 1 }),
        )
        .expect(422)
        .await;
    assert_eq!(refused["field"], "image_ids[2]");
    assert!(
        stack.refs_of(&b).await.is_empty(),
        "the claim taken before the refusal was released"
    );
    let unchanged = api.product(None, &id).expect(200).await;
    assert_eq!(unchanged["price"], 150000);
    assert_eq!(unchanged["image_ids"], json!([c, a]));
    let malformed = api
        .create_product(&admin, json!({ "name": "X", "sku": "X-1", "price": 1, "stock": 1, "image_ids": ["../etc/passwd"] })).expect(422)
        .await;
    assert_eq!(malformed["code"], "invalid-field");

    // Media down: a write that changes media fields is a 503 and changes nothing.
    stack.media_link.cut();
    let down = api
        .update_product(&admin, &id, json!({ "image_ids": [b], "name": "Renamed" }))
        .expect(503)
        .await;
    assert_eq!(down["code"], "media-unavailable");
    let down_create = api
        .create_product(
            &admin,
            json!({ "name": "Other", "sku": "O-1", "price": 5, "stock": 1, "image_ids": [b] }),
        )
        .send()
        .await;
    assert_eq!(down_create.status(), 503);
    stack.media_link.restore();
    assert_eq!(api.count("shop_products", doc! {}).await, 1);
    let still = api.product(None, &id).expect(200).await;
    assert_eq!(still["name"], "Vestido Azul");

    // Deleting the product releases everything; media can then go.
    api.delete_product(&admin, &id).expect(204).await;
    assert!(stack.refs_of(&a).await.is_empty());
    assert!(stack.refs_of(&c).await.is_empty());
    let gone = stack
        .media
        .admin(Method::DELETE, &format!("/v1/media/{a}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(gone.status(), 204);

    // Every admin write is in the audit trail, with before and after.
    let audit = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/audit-logs?record_id={id}"),
            Some(&admin.token),
            None,
        )
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec!["product.delete", "product.update", "product.create"]
    );
    let update = &audit[1];
    assert_eq!(update["actor"], admin.id);
    assert_eq!(update["before"]["image_ids"], json!([a, b]));
    assert_eq!(update["after"]["image_ids"], json!([c, a]));
    stack.stop().await;
}

#[tokio::test]
async fn product_rules_are_enforced() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    product(
        &stack,
        &admin.token,
        json!({ "name": "Top", "sku": "T-1", "price": 1000, "stock": 1 }),
    )
    .await;
    for (body, field) in [
        (
            json!({ "name": "A", "sku": "A-1", "price": -5, "stock": 1 }),
            "price",
        ),
        (
            json!({ "name": "A", "sku": "A-1", "price": 5, "stock": -1 }),
            "stock",
        ),
        (
            json!({ "name": "A", "sku": "A 1", "price": 5, "stock": 1 }),
            "sku",
        ),
        (
            json!({ "name": "", "sku": "A-1", "price": 5, "stock": 1 }),
            "name",
        ),
        (
            json!({ "name": "A", "sku": "A-1", "price": 5, "stock": 1, "currency": "USD" }),
            "currency",
        ),
        (
            json!({ "name": "A", "sku": "A-1", "price": 5, "stock": 1, "slug": "Not A Slug" }),
            "slug",
        ),
        (
            json!({ "name": "A", "sku": "A-1", "price": "5", "stock": 1 }),
            "price",
        ),
    ] {
        let refused = api.create_product(&admin, body).expect(422).await;
        assert_eq!(refused["field"], field, "{refused}");
    }
    let sku_taken = api
        .create_product(
            &admin,
            json!({ "name": "Other", "sku": "T-1", "price": 5, "stock": 1 }),
        )
        .expect(409)
        .await;
    assert_eq!(sku_taken["code"], "sku-taken");
    let slug_taken = api
        .create_product(
            &admin,
            json!({ "name": "Top", "sku": "T-2", "price": 5, "stock": 1 }),
        )
        .expect(409)
        .await;
    assert_eq!(slug_taken["code"], "slug-taken");
    assert_eq!(api.count("shop_products", doc! {}).await, 1);
    // Drafts are the admin's.
    let draft = product(
        &stack,
        &admin.token,
        json!({ "name": "Secret", "sku": "S-1", "price": 5, "stock": 1 }),
    )
    .await;
    let id = draft["id"].as_str().expect("id");
    api.product(None, id).expect(404).await;
    api.expect(
        200,
        Method::GET,
        "/api/shop/products/secret",
        Some(&admin.token),
        None,
    )
    .await;
    let public = api
        .expect(
            200,
            Method::GET,
            "/api/shop/products?status=draft",
            None,
            None,
        )
        .await;
    assert_eq!(public["total"], 0, "anonymous listings never show drafts");
    stack.stop().await;
}

#[tokio::test]
async fn search_filters_and_pages_without_gaps_or_repeats() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    for i in 0..23 {
        product(
            &stack,
            &admin.token,
            json!({ "name": format!("Remera {i}"), "sku": format!("R-{i}"),
                    "price": 1000 * (i % 4), "stock": i % 3, "colors": [if i % 2 == 0 { "rojo" } else { "azul" }],
                    "status": "published" }),
        )
        .await;
    }
    product(&stack, &admin.token, json!({ "name": "Pantalón", "sku": "P-1", "price": 500, "stock": 1, "status": "published" })).await;
    let mut seen: Vec<String> = Vec::new();
    let mut last_price = -1;
    for page in 1..=3 {
        let body = api
            .expect(
                200,
                Method::GET,
                &format!("/api/shop/products?q=remera&sort=price_asc&limit=10&page={page}"),
                None,
                None,
            )
            .await;
        assert_eq!(body["total"], 23);
        for item in body["items"].as_array().expect("items") {
            let price = item["price"].as_i64().expect("price");
            assert!(price >= last_price, "sorted by price");
            last_price = price;
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(seen.len(), 23);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        23,
        "no repeats across pages"
    );
    let filtered = api
        .expect(
            200,
            Method::GET,
            "/api/shop/products?color=rojo&min_price=1000&max_price=2000&in_stock=true",
            None,
            None,
        )
        .await;
    for item in filtered["items"].as_array().expect("items") {
        assert_eq!(item["colors"], json!(["rojo"]));
        let price = item["price"].as_i64().expect("price");
        assert!((1000..=2000).contains(&price));
        assert!(item["stock"].as_i64().expect("stock") > 0);
    }
    assert!(filtered["total"].as_u64().expect("total") > 0);
    // Regex characters are searched for, not interpreted.
    let literal = api
        .expect(200, Method::GET, "/api/shop/products?q=.*", None, None)
        .await;
    assert_eq!(literal["total"], 0);
    let bad = api
        .expect(
            400,
            Method::GET,
            "/api/shop/products?sort=sideways",
            None,
            None,
        )
        .await;
    assert_eq!(bad["code"], "invalid-query");
    stack.stop().await;
}

#[tokio::test]
async fn groups_by_model_follow_every_product_change() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let red = product(
        &stack,
        &admin.token,
        json!({ "name": "Falda roja", "sku": "F-R", "price": 90000, "stock": 2,
        "colors": ["rojo"], "model": "falda", "status": "published" }),
    )
    .await;
    let blue = product(
        &stack,
        &admin.token,
        json!({ "name": "Falda azul", "sku": "F-A", "price": 80000, "stock": 5,
        "colors": ["azul"], "model": "falda", "status": "published" }),
    )
    .await;
    let groups = api
        .expect(200, Method::GET, "/api/shop/products-grouped", None, None)
        .await;
    let group = &groups[0];
    assert_eq!(group["_id"], "falda");
    assert_eq!(group["min_price"], 80000);
    assert_eq!(group["max_price"], 90000);
    assert_eq!(group["total_stock"], 7);
    assert_eq!(group["colors"], json!(["azul", "rojo"]));

    // A price change, a move to another model, a delete: the groups follow.
    let red_id = red["id"].as_str().expect("id");
    api.update_product(&admin, red_id, json!({ "price": 70000 }))
        .expect(200)
        .await;
    let groups = api
        .expect(200, Method::GET, "/api/shop/products-grouped", None, None)
        .await;
    assert_eq!(groups[0]["min_price"], 70000);
    api.update_product(&admin, red_id, json!({ "model": "falda-larga" }))
        .expect(200)
        .await;
    let groups = api
        .expect(200, Method::GET, "/api/shop/products-grouped", None, None)
        .await;
    let models: Vec<&str> = groups
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|g| g["_id"].as_str())
        .collect();
    assert_eq!(models, vec!["falda", "falda-larga"]);
    assert_eq!(groups[0]["total_stock"], 5);
    let blue_id = blue["id"].as_str().expect("id");
    api.delete_product(&admin, blue_id).expect(204).await;
    let groups = api
        .expect(200, Method::GET, "/api/shop/products-grouped", None, None)
        .await;
    let models: Vec<&str> = groups
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|g| g["_id"].as_str())
        .collect();
    assert_eq!(models, vec!["falda-larga"]);
    // Unpublishing takes a product out of its group.
    api.update_product(&admin, red_id, json!({ "status": "draft" }))
        .expect(200)
        .await;
    let groups = api
        .expect(200, Method::GET, "/api/shop/products-grouped", None, None)
        .await;
    assert_eq!(groups, json!([]));
    stack.stop().await;
}

/// An admin's edit of other fields, raced against orders, never gives back
/// stock the orders took: the edit is conditional on the version it read
/// (409 when an order landed between), and writes only what it changed.
#[tokio::test]
async fn an_edit_racing_orders_never_undoes_what_they_took() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let mut buyers = Vec::new();
    for _ in 0..6 {
        buyers.push(api.user("customer").await);
    }
    for round in 0..5 {
        let product = stack
            .published(&admin, &format!("RACE-STOCK-{round}"), 100_000, 10)
            .await;
        let line = json!({ "lines": [{ "product_id": product, "quantity": 1, "size": "M" }] });
        let mut racers: Vec<_> = buyers
            .iter()
            .map(|b| api.place_order(b, line.clone()).send().boxed())
            .collect();
        let edit = api
            .update_product(
                &admin,
                &product,
                json!({ "name": format!("Renamed {round}") }),
            )
            .send();
        racers.insert(round * 3 % 6, edit.boxed());
        let statuses: Vec<u16> = join_all(racers)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        let edit_status = statuses[round * 3 % 6];
        assert!(matches!(edit_status, 200 | 409), "{statuses:?}");
        let won = statuses.iter().filter(|s| **s == 201).count() as i64;
        assert_eq!(
            stack.stock_of(&product).await,
            10 - won,
            "round {round}: {statuses:?}"
        );
    }
    stack.stop().await;
}
