//! Coupons and orders over real HTTP: server-side prices, the last item
//! sold once under concurrent buyers, coupon limits under concurrency,
//! status transitions with stock given back, who sees which order, and the
//! confirmation email queued with the order.

use avenue_tests::api::{spawn_stack, Stack, TestUser};
use futures::future::join_all;
use futures::FutureExt;
use mongodb::bson::doc;
use reqwest::Method;
use serde_json::{json, Value};

fn order(product: &str, quantity: i64, coupon: Option<&str>) -> Value {
    let mut body =
        json!({ "lines": [{ "product_id": product, "quantity": quantity, "size": "M" }] });
    if let Some(code) = coupon {
        body["coupon"] = json!(code);
    }
    body
}

#[tokio::test]
async fn the_last_item_is_sold_exactly_once() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let product = stack.published(&admin, "LAST-1", 250000, 1).await;
    let mut buyers = Vec::new();
    for _ in 0..8 {
        buyers.push(api.user("customer").await);
    }
    let attempts = join_all(
        buyers
            .iter()
            .map(|b| api.place_order(b, order(&product, 1, None)).send()),
    )
    .await;
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(stack.stock_of(&product).await, 0);
    assert_eq!(api.count("orders", doc! {}).await, 1);
    let refusal: Value = attempts
        .into_iter()
        .find(|r| r.status() == 409)
        .expect("a refusal")
        .json()
        .await
        .expect("envelope");
    assert_eq!(refusal["code"], "out-of-stock");
    stack.stop().await;
}

#[tokio::test]
async fn orders_are_priced_by_the_server_and_move_through_their_states() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let buyer = api.user("customer").await;
    let stranger = api.user("customer").await;
    let product = stack.published(&admin, "DRESS-1", 150000, 5).await;

    // The client cannot name a price.
    let priced = api
        .place_order(&buyer, json!({ "lines": [{ "product_id": product, "quantity": 1, "size": "M", "unit_price": 1 }] })).expect(422)
        .await;
    assert_eq!(priced["code"], "invalid-field");
    for (body, field) in [
        (json!({ "lines": [] }), "lines"),
        (
            json!({ "lines": [{ "product_id": product, "quantity": 0, "size": "M" }] }),
            "lines[0].quantity",
        ),
        (
            json!({ "lines": [{ "product_id": product, "quantity": 1, "size": "XXL" }] }),
            "lines[0].size",
        ),
        (
            json!({ "lines": [{ "product_id": "nope", "quantity": 1 }] }),
            "lines[0].product_id",
        ),
        (
            json!({ "lines": [{ "product_id": "65f000000000000000000000", "quantity": 1 }] }),
            "lines[0].product_id",
        ),
    ] {
        let refused = api.place_order(&buyer, body).expect(422).await;
        assert_eq!(refused["field"], field, "{refused}");
    }
    let too_many = api
        .place_order(&buyer, order(&product, 6, None))
        .expect(409)
        .await;
    assert_eq!(too_many["code"], "out-of-stock");
    assert_eq!(
        api.count("orders", doc! {}).await,
        0,
        "refusals write nothing"
    );
    assert_eq!(stack.stock_of(&product).await, 5);

    let placed = api
        .place_order(&buyer, order(&product, 2, None))
        .expect(201)
        .await;
    assert_eq!(placed["subtotal"], 300000);
    assert_eq!(placed["total"], 300000);
    assert_eq!(placed["status"], "pending");
    assert_eq!(stack.stock_of(&product).await, 3);
    let id = placed["id"].as_str().expect("id").to_owned();

    // Only the buyer and admins see it.
    api.order(&buyer, &id).expect(200).await;
    api.order(&stranger, &id).expect(404).await;
    api.order(&admin, &id).expect(200).await;
    let theirs = api
        .expect(
            200,
            Method::GET,
            "/api/shop/orders",
            Some(&stranger.token),
            None,
        )
        .await;
    assert_eq!(theirs["total"], 0);
    let all = api
        .expect(
            200,
            Method::GET,
            "/api/shop/orders",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(all["total"], 1);
    api.cancel_order(&stranger, &id).expect(404).await;
    api.set_order_status(&buyer, &id, json!({ "status": "paid" }))
        .expect(403)
        .await;

    // pending -> paid -> shipped; shipped cannot be cancelled; delivered.
    let status_path = format!("/api/shop/orders/{id}/status");
    let status = |next: &'static str, expected: u16| {
        api.expect(
            expected,
            Method::POST,
            &status_path,
            Some(&admin.token),
            Some(json!({ "status": next })),
        )
    };
    status("shipped", 409).await;
    status("paid", 200).await;
    let buyer_cancel = api.cancel_order(&buyer, &id).expect(409).await;
    assert_eq!(buyer_cancel["code"], "invalid-transition");
    status("shipped", 200).await;
    status("cancelled", 409).await;
    let delivered = status("delivered", 200).await;
    let history: Vec<&str> = delivered["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert_eq!(history, vec!["pending", "paid", "shipped", "delivered"]);

    // A cancelled order gives its stock back.
    let second = api
        .place_order(&buyer, order(&product, 3, None))
        .expect(201)
        .await;
    assert_eq!(stack.stock_of(&product).await, 0);
    let second_id = second["id"].as_str().expect("id");
    let cancelled = api.cancel_order(&buyer, second_id).expect(200).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(stack.stock_of(&product).await, 3);
    api.cancel_order(&buyer, second_id).expect(409).await;

    // Each order queued its confirmation, and the dispatcher sent it (log only).
    let emails = await_sent(&stack, &admin, 2).await;
    let mine: Vec<&Value> = emails
        .iter()
        .filter(|e| e["template"] == "order-confirmation")
        .collect();
    assert_eq!(mine.len(), 2);
    assert!(mine
        .iter()
        .all(|e| e["to"] == buyer.email && e["sender"] == "log-only"));
    assert!(mine
        .iter()
        .any(|e| e["body"].as_str().is_some_and(|b| b.contains("₲ 300.000"))));
    avenue_tests::old_backend::assert_adoption_leaves_ours_alone(&stack.api.db).await;
    stack.stop().await;
}

/// Waits (up to 15 s) until `count` emails are sent, then answers them.
async fn await_sent(stack: &Stack, admin: &TestUser, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let sent = stack
            .api
            .expect(
                200,
                Method::GET,
                "/api/admin/email-logs?status=sent",
                Some(&admin.token),
                None,
            )
            .await;
        let sent = sent.as_array().cloned().unwrap_or_default();
        if sent.len() >= count || tokio::time::Instant::now() > deadline {
            return sent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn coupons_apply_their_rules_and_limits() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let product = stack.published(&admin, "COAT-1", 100000, 100).await;
    let coupon = |body: Value| api.create_coupon(&admin, body).expect(201);
    coupon(json!({ "code": "diez", "kind": "percent", "value": 10, "max_uses": 3, "max_uses_per_user": 1 })).await;
    coupon(json!({ "code": "FIJO", "kind": "fixed", "value": 30000, "min_order": 200000 })).await;
    coupon(json!({ "code": "VIEJO", "kind": "percent", "value": 50, "valid_until": "2020-01-01T00:00:00Z" })).await;
    coupon(json!({ "code": "FUTURO", "kind": "percent", "value": 50, "valid_from": "2999-01-01T00:00:00Z" })).await;
    let dup = api
        .create_coupon(
            &admin,
            json!({ "code": "DIEZ", "kind": "fixed", "value": 1 }),
        )
        .expect(409)
        .await;
    assert_eq!(dup["code"], "code-taken");
    for (body, field) in [
        (
            json!({ "code": "X1X", "kind": "percent", "value": 101 }),
            "value",
        ),
        (
            json!({ "code": "X1X", "kind": "fixed", "value": -1 }),
            "value",
        ),
        (
            json!({ "code": "X1X", "kind": "fixed", "value": 5, "max_uses": 0 }),
            "max_uses",
        ),
        (
            json!({ "code": "X1X", "kind": "fixed", "value": 5, "valid_from": "yesterday" }),
            "valid_from",
        ),
        (json!({ "code": "!", "kind": "fixed", "value": 5 }), "code"),
    ] {
        let refused = api.create_coupon(&admin, body).expect(422).await;
        assert_eq!(refused["field"], field, "{refused}");
    }

    let buyer = api.user("customer").await;
    let quote = api
        .expect(
            200,
            Method::POST,
            "/api/shop/coupons/check",
            Some(&buyer.token),
            Some(json!({ "code": "diez", "subtotal": 100000 })),
        )
        .await;
    assert_eq!(quote["discount"], 10000);
    for (code, subtotal, reason) in [
        ("FIJO", 100000, "coupon-minimum-not-met"),
        ("VIEJO", 100000, "coupon-expired"),
        ("FUTURO", 100000, "coupon-not-yet-valid"),
        ("NADA", 100000, "coupon-unknown"),
    ] {
        let refused = api
            .expect(
                422,
                Method::POST,
                "/api/shop/coupons/check",
                Some(&buyer.token),
                Some(json!({ "code": code, "subtotal": subtotal })),
            )
            .await;
        assert_eq!(refused["code"], reason);
    }
    let fixed = api
        .place_order(&buyer, order(&product, 2, Some("fijo")))
        .expect(201)
        .await;
    assert_eq!(fixed["discount"], 30000);
    assert_eq!(fixed["total"], 170000);

    // Once per user: a second use by the same buyer is refused, and the
    // refused order takes no stock.
    let first = api
        .place_order(&buyer, order(&product, 1, Some("DIEZ")))
        .expect(201)
        .await;
    assert_eq!(first["total"], 90000);
    let before = stack.stock_of(&product).await;
    let again = api
        .place_order(&buyer, order(&product, 1, Some("DIEZ")))
        .expect(422)
        .await;
    assert_eq!(again["code"], "coupon-used-by-you");
    assert_eq!(
        stack.stock_of(&product).await,
        before,
        "nothing taken by a refused order"
    );

    // Three uses overall, under a race of six buyers: exactly two more win.
    let mut racers = Vec::new();
    for _ in 0..6 {
        racers.push(api.user("customer").await);
    }
    let results = join_all(
        racers
            .iter()
            .map(|r| api.place_order(r, order(&product, 1, Some("DIEZ"))).send()),
    )
    .await;
    let won = results.iter().filter(|r| r.status() == 201).count();
    assert_eq!(
        won,
        2,
        "{:?}",
        results.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    assert!(results
        .iter()
        .all(|r| r.status() == 201 || r.status() == 422));
    let coupons = api
        .expect(
            200,
            Method::GET,
            "/api/shop/coupons",
            Some(&admin.token),
            None,
        )
        .await;
    let diez = coupons
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["code"] == "DIEZ")
        .expect("DIEZ");
    assert_eq!(diez["uses"], 3);

    // Cancelling gives the use back.
    let first_id = first["id"].as_str().expect("id");
    api.cancel_order(&buyer, first_id).expect(200).await;
    let coupons = api
        .expect(
            200,
            Method::GET,
            "/api/shop/coupons",
            Some(&admin.token),
            None,
        )
        .await;
    let diez = coupons
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["code"] == "DIEZ")
        .expect("DIEZ");
    assert_eq!(diez["uses"], 2);
    api.place_order(&buyer, order(&product, 1, Some("DIEZ")))
        .expect(201)
        .await;
    avenue_tests::old_backend::assert_adoption_leaves_ours_alone(&stack.api.db).await;
    stack.stop().await;
}

/// A coupon's limit lowered while orders redeem it: the uses never end
/// above the limit, and a limit below the uses already made is refused.
#[tokio::test]
async fn a_coupon_never_counts_more_uses_than_its_limit_while_it_is_lowered() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let product = stack.published(&admin, "RACE-1", 100000, 100).await;
    let mut buyers = Vec::new();
    for _ in 0..6 {
        buyers.push(api.user("customer").await);
    }
    // Uses made before the race: with three, lowering to two is refused
    // whatever the race does.
    for (round, before) in [0, 1, 3].into_iter().enumerate() {
        let code = format!("LIMITE{round}");
        api.create_coupon(
            &admin,
            json!({ "code": code, "kind": "percent", "value": 10, "max_uses": 10 }),
        )
        .expect(201)
        .await;
        for buyer in buyers.iter().take(before) {
            api.place_order(buyer, order(&product, 1, Some(&code)))
                .expect(201)
                .await;
        }
        let lower = api
            .json_call(
                Method::PATCH,
                &format!("/api/shop/coupons/{code}"),
                Some(&admin),
                Some(json!({ "max_uses": 2 })),
            )
            .send();
        let mut racers: Vec<_> = buyers
            .iter()
            .map(|b| {
                api.place_order(b, order(&product, 1, Some(&code)))
                    .send()
                    .boxed()
            })
            .collect();
        racers.insert(round * 2, lower.boxed());
        let mut statuses = Vec::new();
        let mut bodies = Vec::new();
        for answer in join_all(racers).await {
            statuses.push(answer.status().as_u16());
            bodies.push(answer.json::<Value>().await.unwrap_or(Value::Null));
        }
        let patch_status = statuses[round * 2];
        let won = before + statuses.iter().filter(|s| **s == 201).count();
        assert!(matches!(patch_status, 200 | 422), "{statuses:?}");
        assert!(
            statuses.iter().all(|s| matches!(s, 200 | 201 | 422)),
            "{statuses:?}"
        );

        let coupons = api
            .expect(
                200,
                Method::GET,
                "/api/shop/coupons",
                Some(&admin.token),
                None,
            )
            .await;
        let stored = coupons
            .as_array()
            .and_then(|all| all.iter().find(|c| c["code"] == code.as_str()))
            .expect("the coupon")
            .clone();
        assert_eq!(stored["uses"], won, "round {round}: {stored} {statuses:?}");
        if patch_status == 200 {
            assert_eq!(stored["max_uses"], 2, "{stored}");
            assert!(
                won <= 2,
                "round {round}: {won} uses of a coupon limited to 2"
            );
        } else {
            assert_eq!(
                bodies[round * 2]["field"],
                "max_uses",
                "{:?}",
                bodies[round * 2]
            );
            assert_eq!(stored["max_uses"], 10, "{stored}");
            assert!(
                won > 2,
                "round {round}: lowering to 2 refused with {won} uses"
            );
        }
    }
    stack.stop().await;
}

/// `shop.shipping_cost` is charged on delivered orders below
/// `shop.free_shipping_min` (after the coupon), and the total says so.
#[tokio::test]
async fn shipping_is_charged_below_the_free_threshold() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let buyer = api.user("customer").await;
    let set = |key: &str, value: Value| {
        api.json_call(
            Method::PUT,
            &format!("/api/admin/settings/{key}"),
            Some(&admin),
            Some(json!({ "value": value })),
        )
        .expect(200)
    };
    set("shop.shipping_cost", json!(25000)).await;
    set("shop.free_shipping_min", json!(200000)).await;
    api.create_coupon(
        &admin,
        json!({ "code": "MITAD", "kind": "percent", "value": 50 }),
    )
    .expect(201)
    .await;
    let product = stack.published(&admin, "SHIP-1", 150000, 20).await;
    let address =
        json!({ "name": "Ana", "address": "Palma 123, Asunción", "phone": "0981 000000" });
    let with_address = |quantity: i64, coupon: Option<&str>| {
        let mut body = order(&product, quantity, coupon);
        body["shipping"] = address.clone();
        body
    };

    // (quantity, coupon, address?) -> (shipping, total)
    let cases = [
        (1, None, true, 25000, 175000),
        (2, None, true, 0, 300000),
        // 300 000 halved is below the threshold again.
        (2, Some("MITAD"), true, 25000, 175000),
        (1, None, false, 0, 150000),
    ];
    for (quantity, coupon, delivered, shipping, total) in cases {
        let body = if delivered {
            with_address(quantity, coupon)
        } else {
            order(&product, quantity, coupon)
        };
        let placed = api.place_order(&buyer, body).expect(201).await;
        assert_eq!(placed["shipping_cost"], shipping, "{placed}");
        assert_eq!(placed["total"], total, "{placed}");
        let sum = placed["subtotal"].as_i64().unwrap_or_default()
            - placed["discount"].as_i64().unwrap_or_default()
            + placed["shipping_cost"].as_i64().unwrap_or_default();
        assert_eq!(placed["total"].as_i64(), Some(sum), "{placed}");
        let related = format!("orders:{}", placed["id"].as_str().unwrap_or_default());
        let emails = api
            .expect(
                200,
                Method::GET,
                &format!("/api/admin/email-logs?related={related}"),
                Some(&admin.token),
                None,
            )
            .await;
        let text = emails[0]["body"].as_str().unwrap_or_default();
        assert_eq!(text.contains("Shipping: ₲ 25.000"), shipping > 0, "{text}");
    }
    stack.stop().await;
}
