//! The api killed during a burst of orders: stock stays whole.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};

use avenue_tests::chaos::{free_port, seconds_until_ready, ServiceProcess};

use super::rounds;

/// Orders stall after an api kill, and that is the database's rule, not a
/// bug: the killed process left a transaction open that had already
/// decremented the product's stock, and MongoDB (the stand-in too) keeps
/// that write locked until it reaps the transaction after
/// `transactionLifetimeLimitSeconds` (60 s by default). Meanwhile buyers
/// of that product get `503 busy` with Retry-After; afterwards the
/// uncommitted decrement is gone, so nothing is lost or sold twice.
const TRANSACTION_LIFETIME: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_api_killed_during_a_burst_of_orders_keeps_stock_whole() {
    let media = avenue_tests::spawn_media().await;
    let port = free_port();
    let env = vec![
        ("MONGODB_URI", avenue_tests::mongo_uri()),
        ("MONGODB_DB", media.db_name.clone()),
        ("API_BIND", format!("127.0.0.1:{port}")),
        ("MEDIA_URL", media.address.clone()),
    ];
    let mut api = ServiceProcess::start("avenue-api", &env).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let register = |email: String| {
        let http = http.clone();
        let url = api.url("/api/auth/register");
        async move {
            let session: serde_json::Value = http
                .post(url)
                .json(&serde_json::json!({ "email": email, "password": "correct horse battery", "name": "Buyer", "role": "customer" }))
                .send()
                .await
                .expect("api answers")
                .json()
                .await
                .expect("session");
            session
        }
    };
    let admin = register("boss@example.com".into()).await;
    let admin_id = ObjectId::parse_str(admin["user"]["id"].as_str().expect("id")).expect("oid");
    media
        .db()
        .collection::<Document>("users")
        .update_one(
            doc! { "_id": admin_id },
            doc! { "$set": { "role": "admin" } },
        )
        .await
        .expect("promote");
    let session: serde_json::Value = http
        .post(api.url("/api/auth/login"))
        .json(&serde_json::json!({ "email": "boss@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    let admin_token = session["access_token"].as_str().expect("token").to_owned();
    const INITIAL: i64 = 5000;
    let product: serde_json::Value = http
        .post(api.url("/api/shop/products"))
        .bearer_auth(&admin_token)
        .json(
            &serde_json::json!({ "name": "Chaos dress", "sku": "CHAOS-1", "price": 100000,
            "stock": INITIAL, "sizes": ["M"], "status": "published" }),
        )
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("product");
    let product_id = product["id"].as_str().expect("id").to_owned();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let placed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<
        String,
        u64,
    >::new()));
    let mut buyers = Vec::new();
    for i in 0..8 {
        let token = register(format!("buyer{i}@example.com")).await["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let (stop, placed, statuses, http, url, product_id) = (
            stop.clone(),
            placed.clone(),
            statuses.clone(),
            http.clone(),
            api.url("/api/shop/orders"),
            product_id.clone(),
        );
        buyers.push(tokio::spawn(async move {
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                n += 1;
                let body = serde_json::json!({ "lines": [{ "product_id": product_id, "quantity": 1 + n % 3, "size": "M" }] });
                let response = http.post(&url).bearer_auth(&token).json(&body).send().await;
                let key = match &response {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "error".to_owned(),
                };
                *statuses.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default() += 1;
                match response {
                    Ok(r) if r.status() == 201 => {
                        let order: serde_json::Value = r.json().await.unwrap_or_default();
                        if let Some(id) = order["id"].as_str() {
                            placed.lock().unwrap_or_else(|p| p.into_inner()).push(id.to_owned());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }));
    }
    let count = || placed.lock().unwrap_or_else(|p| p.into_inner()).len();
    // Polls the orders acknowledged so far; the deadline is a failure, not
    // a pause (a stuck api fails the test instead of hanging it).
    let wait_for = |target: usize, within: Duration| async move {
        let started = Instant::now();
        while count() < target {
            assert!(
                started.elapsed() < within,
                "orders stalled at {} for {within:?}",
                count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    };
    let mut recoveries = Vec::new();
    let mut stalls = Vec::new();
    for _ in 1..=rounds() {
        wait_for(count() + 40, Duration::from_secs(60)).await;
        api.kill().await;
        let killed = Instant::now();
        api = ServiceProcess::start("avenue-api", &env).await;
        seconds_until_ready(&api.url("/readyz"), Duration::from_secs(60))
            .await
            .expect("the api is ready after a restart");
        recoveries.push(killed.elapsed().as_secs_f64());
        // The next order after the kill may wait for the server to reap
        // the dead instance's transaction.
        let after = count() + 1;
        wait_for(after, TRANSACTION_LIFETIME + Duration::from_secs(30)).await;
        stalls.push(killed.elapsed().as_secs_f64());
    }
    wait_for(count() + 40, Duration::from_secs(60)).await;
    stop.store(true, std::sync::atomic::Ordering::Release);
    for buyer in buyers {
        let _ = buyer.await;
    }

    let orders: Vec<Document> = media
        .db()
        .collection::<Document>("orders")
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("orders");
    let sold: i64 = orders
        .iter()
        .filter(|o| o.get_str("status").is_ok_and(|s| s != "cancelled"))
        .flat_map(|o| o.get_array("lines").cloned().unwrap_or_default())
        .filter_map(|line| line.as_document().and_then(|l| l.get_i64("quantity").ok()))
        .sum();
    let product_doc = media
        .db()
        .collection::<Document>("shop_products")
        .find_one(doc! { "_id": ObjectId::parse_str(&product_id).expect("oid") })
        .await
        .expect("find")
        .expect("the product");
    let stock = product_doc.get_i64("stock").expect("stock");
    let stored: HashSet<String> = orders
        .iter()
        .filter_map(|o| o.get_object_id("_id").ok().map(|id| id.to_hex()))
        .collect();
    let acknowledged = placed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let missing = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .count();
    // One snapshot: two guards of the same mutex in one statement deadlock.
    let statuses = statuses.lock().unwrap_or_else(|p| p.into_inner()).clone();
    eprintln!(
        "FAULTS api kill x{}: orders sent {} acknowledged {} lost {missing} {statuses:?}; stock {stock} + sold {sold} = {} of {INITIAL}; \
         ready {recoveries:.2?} s after each kill, ordering again after {stalls:.1?} s",
        rounds(),
        statuses.values().sum::<u64>(),
        acknowledged.len(),
        stock + sold,
    );
    assert_eq!(
        stock + sold,
        INITIAL,
        "stock plus sold is the initial stock"
    );
    assert_eq!(missing, 0, "every acknowledged order is stored");
    assert_eq!(statuses.get("500"), None, "no 500s");
    media.stop().await;
}
