//! Business rules an abuser finds first (issue 12): a cart cannot dodge
//! the quantity cap by splitting lines, an unpaid order cannot hold stock
//! for ever, one customer cannot book the studio's whole calendar, and
//! nobody but admins can pin someone else's upload.

use std::time::{Duration, Instant};

use avenue_tests::api::{spawn_stack, Stack, TestUser};
use futures::future::join_all;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn split_lines_are_held_to_the_quantity_cap_once_merged() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let product = stack.published(&admin, "SPLIT-1", 100_000, 10_000).await;
    let buyer = api.user("customer").await;
    let lines: Vec<Value> = (0..50)
        .map(|_| json!({ "product_id": product, "quantity": 100, "size": "M" }))
        .collect();
    let refused = api
        .place_order(&buyer, json!({ "lines": lines }))
        .expect(422)
        .await;
    assert_eq!(refused["field"], "lines[1].quantity", "{refused}");
    assert_eq!(stack.stock_of(&product).await, 10_000, "nothing taken");
    assert_eq!(api.count("orders", doc! {}).await, 0);

    // Two lines that together stay within the cap are one line of their sum.
    let order = api
        .place_order(
            &buyer,
            json!({ "lines": [
            { "product_id": product, "quantity": 60, "size": "M" },
            { "product_id": product, "quantity": 40, "size": "M" },
        ] }),
        )
        .expect(201)
        .await;
    assert_eq!(order["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(order["lines"][0]["quantity"], 100);
    stack.stop().await;
}

/// Moves an order's deadline into the past, as the passing of time would.
async fn overdue(stack: &Stack, order_id: &str) {
    stack
        .api
        .db
        .collection::<Document>("orders")
        .update_one(
            doc! { "_id": ObjectId::parse_str(order_id).expect("oid") },
            doc! { "$set": { "expires_at": DateTime::from_millis(DateTime::now().timestamp_millis() - 1000) } },
        )
        .await
        .expect("backdate");
}

async fn status_of(stack: &Stack, token: &str, order_id: &str) -> Value {
    stack
        .api
        .expect(
            200,
            Method::GET,
            &format!("/api/shop/orders/{order_id}"),
            Some(token),
            None,
        )
        .await
}

#[tokio::test]
async fn unpaid_orders_expire_and_give_their_stock_and_coupon_back() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let product = stack.published(&admin, "HOLD-1", 100_000, 5).await;
    api.create_coupon(
        &admin,
        json!({ "code": "UNICO", "kind": "percent", "value": 10, "max_uses": 1 }),
    )
    .expect(201)
    .await;
    api.expect(
        200,
        Method::PUT,
        "/api/admin/settings/shop.unpaid_order_minutes",
        Some(&admin.token),
        Some(json!({ "value": 30 })),
    )
    .await;

    let hoarder = api.user("customer").await;
    let held = api
        .place_order(
            &hoarder,
            json!({
            "lines": [{ "product_id": product, "quantity": 5, "size": "M" }], "coupon": "UNICO" }),
        )
        .expect(201)
        .await;
    let held_id = held["id"].as_str().expect("id").to_owned();
    let expires = time::OffsetDateTime::parse(
        held["expires_at"]
            .as_str()
            .expect("a pending order says when it expires"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let minutes = (expires - time::OffsetDateTime::now_utc()).whole_minutes();
    assert!(
        (28..=30).contains(&minutes),
        "expires in {minutes} min, setting says 30"
    );
    assert_eq!(stack.stock_of(&product).await, 0);

    // A paid order is never expired, whatever its deadline says.
    let restocked = stack.published(&admin, "HOLD-2", 100_000, 3).await;
    let payer = api.user("customer").await;
    let paid = api
        .place_order(
            &payer,
            json!({
            "lines": [{ "product_id": restocked, "quantity": 2, "size": "M" }] }),
        )
        .expect(201)
        .await;
    let paid_id = paid["id"].as_str().expect("id").to_owned();
    api.set_order_status(&admin, &paid_id, json!({ "status": "paid" }))
        .expect(200)
        .await;

    overdue(&stack, &held_id).await;
    overdue(&stack, &paid_id).await;
    let started = Instant::now();
    let expired = loop {
        let order = status_of(&stack, &hoarder.token, &held_id).await;
        if order["status"] == "cancelled" {
            break order;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the order never expired: {order}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let last = expired["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("history");
    assert_eq!(last["status"], "cancelled");
    assert_eq!(last["reason"], "payment-timeout");
    assert!(last["by"].is_null(), "the system cancelled it: {last}");
    assert!(
        expired["expires_at"].is_null(),
        "only pending orders show a deadline"
    );
    assert_eq!(stack.stock_of(&product).await, 5, "the stock came back");

    // The coupon's only use came back with it: another buyer can use it.
    let other = api.user("customer").await;
    let reused = api
        .place_order(
            &other,
            json!({
            "lines": [{ "product_id": product, "quantity": 1, "size": "M" }], "coupon": "UNICO" }),
        )
        .expect(201)
        .await;
    assert_eq!(reused["coupon_code"], "UNICO");

    assert_eq!(
        status_of(&stack, &payer.token, &paid_id).await["status"],
        "paid"
    );
    assert_eq!(stack.stock_of(&restocked).await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn orders_can_be_switched_off() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let product = stack.published(&admin, "OFF-1", 100_000, 5).await;
    api.expect(
        200,
        Method::PUT,
        "/api/admin/settings/shop.orders_enabled",
        Some(&admin.token),
        Some(json!({ "value": false })),
    )
    .await;
    let buyer = api.user("customer").await;
    let refused = api
        .place_order(
            &buyer,
            json!({
            "lines": [{ "product_id": product, "quantity": 1, "size": "M" }] }),
        )
        .expect(409)
        .await;
    assert_eq!(refused["code"], "orders-closed");
    assert_eq!(stack.stock_of(&product).await, 5);
    stack.stop().await;
}

fn studio_day(days: i64) -> String {
    let offset = time::UtcOffset::from_hms(-3, 0, 0).expect("offset");
    (time::OffsetDateTime::now_utc().to_offset(offset) + time::Duration::days(days))
        .date()
        .to_string()
}

#[tokio::test]
async fn one_customer_cannot_book_the_whole_calendar() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;

    // The horizon: 180 days by default.
    let customer = api.user("customer").await;
    let far = api
        .book(
            &customer,
            json!({ "start": format!("{}T10:00:00-03:00", studio_day(200)), "minutes": 60 }),
        )
        .expect(422)
        .await;
    assert_eq!(far["field"], "start");
    assert!(
        far["message"].as_str().unwrap_or("").contains("180 days"),
        "{far}"
    );

    // The cap holds under concurrency: six requests at once, two allowed.
    api.expect(
        200,
        Method::PUT,
        "/api/admin/settings/studio.max_future_bookings",
        Some(&admin.token),
        Some(json!({ "value": 2 })),
    )
    .await;
    let day = studio_day(5);
    let attempts = join_all((10..16).map(|hour| {
        api.book(
            &customer,
            json!({ "start": format!("{day}T{hour}:00:00-03:00"), "minutes": 60 }),
        )
        .send()
    }))
    .await;
    let mut created = Vec::new();
    let mut limited = 0;
    for response in attempts {
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("json");
        match status {
            201 => created.push(body["id"].as_str().expect("id").to_owned()),
            409 => {
                assert_eq!(body["code"], "booking-limit", "{body}");
                limited += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created.len(), limited), (2, 4));
    assert_eq!(
        api.count("reservations", doc! { "status": "confirmed" })
            .await,
        2
    );

    // Cancelling one frees a place; another customer and admins are not held back.
    api.expect(
        200,
        Method::POST,
        &format!("/api/studio/reservations/{}/cancel", created[0]),
        Some(&customer.token),
        None,
    )
    .await;
    api.book(
        &customer,
        json!({ "start": format!("{day}T17:00:00-03:00"), "minutes": 60 }),
    )
    .expect(201)
    .await;
    let neighbour = api.user("customer").await;
    api.book(
        &neighbour,
        json!({ "start": format!("{day}T18:00:00-03:00"), "minutes": 60 }),
    )
    .expect(201)
    .await;
    for hour in [9, 10, 11] {
        api.book(
            &admin,
            json!({ "start": format!("{}T{hour:02}:00:00-03:00", studio_day(6)), "minutes": 60 }),
        )
        .expect(201)
        .await;
    }
    stack.stop().await;
}

async fn set_profile_image(stack: &Stack, creator: &TestUser, image: &str) -> reqwest::Response {
    stack
        .api
        .put_my_creator(creator, json!({ "name": "Creadora", "bio": "Moda", "niches": ["moda"], "profile_image": image })).send()
        .await
}

#[tokio::test]
async fn only_admins_pin_media_they_did_not_upload() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let creator = api.user("creator").await;

    // An admin's product image: a creator cannot claim it.
    let admins_image = stack.image(40).await;
    let refused = set_profile_image(&stack, &creator, &admins_image).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["field"], "profile_image", "{body}");
    assert!(
        stack.refs_of(&admins_image).await.is_empty(),
        "no claim was left behind"
    );
    assert_eq!(
        api.count("ugc_creators", doc! {}).await,
        0,
        "nothing written"
    );

    // Their own upload (through the api) is theirs to use.
    let mine = api.upload(&creator, 41, None).await;
    assert_eq!(mine.status(), 201);
    let mine: Value = mine.json().await.expect("json");
    let mine = mine["id"].as_str().expect("id").to_owned();
    let saved = set_profile_image(&stack, &creator, &mine).await;
    assert_eq!(saved.status(), 201, "{:?}", saved.text().await);
    assert_eq!(stack.refs_of(&mine).await.len(), 1);

    // Library assets are for everyone; only admins add to the library.
    let library = api.upload(&admin, 42, Some("library/avatars")).await;
    assert_eq!(library.status(), 201);
    let library: Value = library.json().await.expect("json");
    let library = library["id"].as_str().expect("id").to_owned();
    let switched = set_profile_image(&stack, &creator, &library).await;
    assert_eq!(switched.status(), 200, "{:?}", switched.text().await);
    assert_eq!(stack.refs_of(&library).await.len(), 1);
    let sneaky = api.upload(&creator, 43, Some("library")).await;
    assert_eq!(sneaky.status(), 422);

    // Another creator cannot take the first one's upload either.
    let rival = api.user("creator").await;
    let taken = set_profile_image(&stack, &rival, &mine).await;
    assert_eq!(taken.status(), 422);

    // An admin may set any image on anyone's profile.
    let profile = api.my_creator(&creator).expect(200).await;
    let profile_id = profile["id"].as_str().expect("id");
    api.patch_creator(&admin, profile_id, json!({ "profile_image": admins_image }))
        .expect(200)
        .await;
    assert_eq!(stack.refs_of(&admins_image).await.len(), 1);

    // Customers have no image fields and cannot upload.
    let customer = api.user("customer").await;
    assert_eq!(api.upload(&customer, 44, None).await.status(), 403);

    // The media service itself refuses such a claim, whoever asks.
    let direct = stack
        .media
        .admin(Method::POST, &format!("/v1/media/{admins_image}/refs"))
        .json(&json!({ "ref": "ugc_creators:65f000000000000000000000", "on_behalf_of": rival.id }))
        .send()
        .await
        .expect("media answers");
    assert_eq!(direct.status(), 403);
    let body: Value = direct.json().await.expect("json");
    assert_eq!(body["code"], "not-owner");
    stack.stop().await;
}
