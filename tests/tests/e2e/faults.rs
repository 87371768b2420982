//! The fault suite (issue 12): the database and the services killed with
//! SIGKILL under load. Each test prints what it sent, what was
//! acknowledged, what was lost and how long recovery took; `make chaos`
//! runs them longer (`CHAOS_ROUNDS`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};

use avenue_shared::Role;
use avenue_tests::chaos::{
    free_port, seconds_until_ready, MediaLoad, MongoProcess, ServiceProcess, Tally,
};
use avenue_tests::{binary, fixtures, token, unique_db};

fn rounds() -> usize {
    std::env::var("CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn media_env(mongo: &MongoProcess, db: &str, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("MONGODB_URI", mongo.uri()),
        ("MONGODB_DB", db.to_owned()),
        ("MEDIA_BIND", format!("127.0.0.1:{port}")),
        ("MEDIA_STRICT", "true".to_owned()),
    ]
}

async fn seed_images(base: &str, n: u8) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for seed in 0..n {
        let response = http
            .post(format!("{base}/v1/media"))
            .bearer_auth(token(Role::Admin))
            .header("content-type", "image/jpeg")
            .body(fixtures::jpeg(800, 600, 100 + seed))
            .send()
            .await
            .expect("media answers");
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.expect("descriptor");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    ids
}

/// Every acknowledged upload, fetched back: how many are missing or
/// differ.
async fn lost(base: &str, tally: &Tally) -> u64 {
    lost_of(base, &tally.acknowledged).await
}

/// How many of `acknowledged` (media id, SHA-256 sent) are missing or
/// differ when fetched back.
async fn lost_of(base: &str, acknowledged: &[(String, String)]) -> u64 {
    let http = reqwest::Client::new();
    let mut lost = 0;
    for (id, sha) in acknowledged {
        let response = http
            .get(format!("{base}/image/upload/{id}.png"))
            .send()
            .await
            .expect("media answers");
        let same = response.status() == 200
            && fixtures::sha256_hex(&response.bytes().await.expect("body")) == *sha;
        if !same {
            eprintln!("lost: {id}");
            lost += 1;
        }
    }
    lost
}

async fn sweep(mongo: &MongoProcess, db: &str) {
    let output = tokio::process::Command::new(binary("avenue-media"))
        .arg("sweep")
        .env("MONGODB_URI", mongo.uri())
        .env("MONGODB_DB", db)
        .env("MEDIA_STAGING_GRACE_SECS", "0")
        .output()
        .await
        .expect("run sweep");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// No record without its bytes, no bytes without a record (or variant),
/// nothing left in the staging journal.
async fn assert_consistent(mongo: &MongoProcess, db: &str) -> (usize, usize) {
    let client = mongodb::Client::with_uri_str(mongo.uri())
        .await
        .expect("uri");
    let db = client.database(db);
    let all = |name: &str| {
        let coll = db.collection::<Document>(name);
        async move {
            coll.find(doc! {})
                .await
                .expect("find")
                .try_collect::<Vec<_>>()
                .await
                .expect("read")
        }
    };
    let files: HashSet<ObjectId> = all("media.files")
        .await
        .iter()
        .filter_map(|f| f.get_object_id("_id").ok())
        .collect();
    let mut referenced = HashSet::new();
    let media = all("media").await;
    for record in &media {
        let key = record.get_str("storage_key").expect("storage_key");
        let id = ObjectId::parse_str(key).expect("a GridFS key");
        assert!(
            files.contains(&id),
            "record {:?} has no bytes",
            record.get_str("_id")
        );
        referenced.insert(id);
    }
    for variant in all("media_variants").await {
        if let Ok(key) = variant.get_str("storage_key") {
            referenced.insert(ObjectId::parse_str(key).expect("a GridFS key"));
        }
    }
    let orphans: Vec<_> = files.difference(&referenced).collect();
    assert!(orphans.is_empty(), "bytes without a record: {orphans:?}");
    assert!(all("media_staging").await.is_empty(), "staging left");
    (media.len(), files.len())
}

fn no_server_errors(what: &str, tally: &Tally) {
    assert_eq!(tally.count("500"), 0, "{what}: {:?}", tally.statuses);
    assert_eq!(
        tally.unavailable_without_retry_after, 0,
        "{what}: 503 without Retry-After"
    );
}

#[tokio::test]
async fn the_database_killed_under_load_loses_nothing_acknowledged() {
    let mut mongo = MongoProcess::start().await;
    let db = unique_db();
    let port = free_port();
    let media = ServiceProcess::start("avenue-media", &media_env(&mongo, &db, port)).await;
    let base = media.url("");
    let images = seed_images(&base, 4).await;
    let load = MediaLoad::start(&base, 8, 8, images);
    let mut recoveries = Vec::new();
    for _ in 0..rounds() {
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "the load runs"
        );
        mongo.kill().await;
        // Writes in flight when it died must fail, not be acknowledged and lost.
        tokio::time::sleep(Duration::from_millis(500)).await;
        mongo.restart().await;
        let ready = seconds_until_ready(&media.url("/readyz"), Duration::from_secs(60))
            .await
            .expect("media is ready again without a restart");
        recoveries.push(ready);
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "uploads resume"
        );
    }
    let (uploads, renders) = load.finish().await;
    sweep(&mongo, &db).await;
    let lost = lost(&base, &uploads).await;
    let (records, files) = assert_consistent(&mongo, &db).await;
    eprintln!(
        "FAULTS database kill x{}: uploads sent {} acknowledged {} lost {lost} {:?}; renders sent {} {:?}; \
         ready again {recoveries:.2?} s after each restart; {records} records, {files} GridFS files",
        rounds(),
        uploads.sent(),
        uploads.acknowledged.len(),
        uploads.statuses,
        renders.sent(),
        renders.statuses,
    );
    assert_eq!(lost, 0);
    no_server_errors("uploads", &uploads);
    no_server_errors("renders", &renders);
}

#[tokio::test]
async fn the_media_service_killed_under_load_loses_nothing_acknowledged() {
    let mongo = MongoProcess::start().await;
    let db = unique_db();
    let port = free_port();
    let mut media = ServiceProcess::start("avenue-media", &media_env(&mongo, &db, port)).await;
    let base = media.url("");
    let images = seed_images(&base, 4).await;
    let load = MediaLoad::start(&base, 8, 8, images);
    let mut recoveries = Vec::new();
    for _ in 0..rounds() {
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "the load runs"
        );
        media.kill().await;
        let restarted = Instant::now();
        media = ServiceProcess::start("avenue-media", &media_env(&mongo, &db, port)).await;
        seconds_until_ready(&media.url("/readyz"), Duration::from_secs(60))
            .await
            .expect("ready after a restart");
        recoveries.push(restarted.elapsed().as_secs_f64());
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "uploads resume"
        );
    }
    let (uploads, renders) = load.finish().await;
    sweep(&mongo, &db).await;
    let lost = lost(&base, &uploads).await;
    let (records, files) = assert_consistent(&mongo, &db).await;
    eprintln!(
        "FAULTS media kill x{}: uploads sent {} acknowledged {} lost {lost} {:?}; renders sent {} {:?}; \
         ready {recoveries:.2?} s after each kill; {records} records, {files} GridFS files",
        rounds(),
        uploads.sent(),
        uploads.acknowledged.len(),
        uploads.statuses,
        renders.sent(),
        renders.statuses,
    );
    assert_eq!(lost, 0);
    no_server_errors("uploads", &uploads);
    no_server_errors("renders", &renders);
}

/// The stand-in alone, through the driver alone: small GridFS uploads each
/// followed by a record naming the file (what an upload does, minus the
/// service), with SecantusDB killed by SIGKILL and restarted meanwhile.
/// Counts the records acknowledged whose file is gone afterwards.
async fn driver_only_losses(journaled: bool) -> (usize, usize) {
    use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
    let mut mongo = MongoProcess::start().await;
    let mut options = ClientOptions::parse(mongo.uri()).await.expect("uri");
    options.server_selection_timeout = Some(Duration::from_secs(30));
    if journaled {
        options.write_concern = Some(
            WriteConcern::builder()
                .w(Acknowledgment::Majority)
                .journal(true)
                .build(),
        );
    }
    let client = mongodb::Client::with_options(options).expect("client");
    let db = client.database("probe");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for worker in 0..8u32 {
        let (db, stop) = (db.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            use futures::AsyncWriteExt;
            let bucket = db.gridfs_bucket(None);
            let records = db.collection::<Document>("records");
            let mut acknowledged = Vec::new();
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                n += 1;
                let id = ObjectId::new();
                let written = async {
                    let mut upload = bucket
                        .open_upload_stream(format!("{worker}-{n}"))
                        .id(mongodb::bson::Bson::ObjectId(id))
                        .await?;
                    upload
                        .write_all(&fixtures::png(6, 5, (n % 250) as u8))
                        .await
                        .map_err(mongodb::error::Error::custom)?;
                    upload
                        .close()
                        .await
                        .map_err(mongodb::error::Error::custom)?;
                    records
                        .insert_one(doc! { "_id": format!("{worker}-{n}"), "file": id })
                        .await?;
                    Ok::<_, mongodb::error::Error>(())
                }
                .await;
                if written.is_ok() {
                    acknowledged.push(id);
                } else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    mongo.kill().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    mongo.restart().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Release);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer"));
    }
    let files = db.collection::<Document>("fs.files");
    let mut lost = 0;
    for id in &acknowledged {
        if files
            .find_one(doc! { "_id": id })
            .await
            .expect("find")
            .is_none()
        {
            lost += 1;
        }
    }
    (acknowledged.len(), lost)
}

#[tokio::test]
#[ignore = "a diagnosis of the MongoDB stand-in, not of our code; `make chaos` runs it"]
async fn the_stand_in_keeps_acknowledged_gridfs_writes_through_a_kill() {
    for journaled in [false, true] {
        let (acknowledged, lost) = driver_only_losses(journaled).await;
        eprintln!(
            "FAULTS stand-in alone (driver only, journaled majority: {journaled}): \
             {acknowledged} uploads acknowledged, {lost} files lost"
        );
        assert_eq!(lost, 0, "the stand-in lost acknowledged GridFS writes");
    }
}

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

/// Cloudinary failing a third of its calls while 8 clients upload: every
/// upload media acknowledged is in Cloudinary byte for byte, every refusal
/// is a 503 with Retry-After (never a 500), and no record points at a
/// resource Cloudinary does not hold.
#[tokio::test]
async fn cloudinary_failing_a_third_of_its_calls_loses_no_upload() {
    use avenue_tests::cloudinary_fake::{CloudinaryFake, Failure};
    const CLIENTS: u8 = 8;
    const EACH: u8 = 12;
    let fake = CloudinaryFake::start().await;
    let cloudinary = fake.settings();
    let app = avenue_tests::spawn_media_with(|s| {
        s.backend = avenue_media::store::BackendKind::Cloudinary;
        s.cloudinary = Some(cloudinary);
    })
    .await;
    fake.fail_every(Some((3, Failure::Status(500))));
    let started = Instant::now();
    let results = futures::future::join_all((0..CLIENTS).map(|client| {
        let app = &app;
        async move {
            let mut out = Vec::new();
            for n in 0..EACH {
                let bytes = fixtures::png(24, 16, client.wrapping_mul(EACH).wrapping_add(n));
                let sha = fixtures::sha256_hex(&bytes);
                let response = app.upload(bytes, &[]).await;
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                out.push((
                    status,
                    retry_after,
                    body["id"].as_str().map(str::to_owned),
                    sha,
                ));
            }
            out
        }
    }))
    .await;
    let elapsed = started.elapsed();
    fake.fail_every(None);
    let calls = fake.calls("upload");

    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let mut acknowledged = Vec::new();
    for (status, retry_after, id, sha) in results.into_iter().flatten() {
        *statuses.entry(status).or_default() += 1;
        match status {
            201 => acknowledged.push((id.expect("a descriptor names its id"), sha)),
            503 => assert!(retry_after, "503 without Retry-After"),
            other => panic!("upload answered {other}"),
        }
    }
    let lost = lost_of(&app.address, &acknowledged).await;
    let records: Vec<Document> = app
        .db()
        .collection::<Document>("media")
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("records");
    let without_bytes = records
        .iter()
        .filter(|r| {
            r.get_str("storage_key")
                .map_or(true, |key| fake.resource(key).is_none())
        })
        .count();
    eprintln!(
        "FAULTS cloudinary 1/3 failing: uploads sent {} acknowledged {} lost {lost} {statuses:?}; \
         {calls} upload calls to Cloudinary (retries included) in {:.1} s; records {} resources {} without bytes {without_bytes}",
        u32::from(CLIENTS) * u32::from(EACH),
        acknowledged.len(),
        elapsed.as_secs_f64(),
        records.len(),
        fake.resource_count(),
    );
    assert_eq!(lost, 0, "every acknowledged upload is in Cloudinary");
    assert_eq!(without_bytes, 0, "no record without its resource");
    assert_eq!(
        records.len(),
        acknowledged.len(),
        "no record for a refused upload"
    );
    assert!(
        acknowledged.len() * 2 > usize::from(CLIENTS) * usize::from(EACH),
        "retries carry most uploads through: {statuses:?}"
    );
    app.stop().await;
}
