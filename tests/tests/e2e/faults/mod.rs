//! The fault suite (issue 12): the database and the services killed with
//! SIGKILL under load. Each test prints what it sent, what was
//! acknowledged, what was lost and how long recovery took; `make chaos`
//! runs them longer (`CHAOS_ROUNDS`).

mod api;
mod cloudinary;
mod kills;

use std::collections::HashSet;

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};

use avenue_shared::Role;
use avenue_tests::chaos::{MongoProcess, Tally};
use avenue_tests::{binary, fixtures, token};

pub(super) fn rounds() -> usize {
    std::env::var("CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

pub(super) fn media_env(mongo: &MongoProcess, db: &str, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("MONGODB_URI", mongo.uri()),
        ("MONGODB_DB", db.to_owned()),
        ("MEDIA_BIND", format!("127.0.0.1:{port}")),
        ("MEDIA_STRICT", "true".to_owned()),
    ]
}

pub(super) async fn seed_images(base: &str, n: u8) -> Vec<String> {
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
pub(super) async fn lost(base: &str, tally: &Tally) -> u64 {
    lost_of(base, &tally.acknowledged).await
}

/// How many of `acknowledged` (media id, SHA-256 sent) are missing or
/// differ when fetched back.
pub(super) async fn lost_of(base: &str, acknowledged: &[(String, String)]) -> u64 {
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

pub(super) async fn sweep(mongo: &MongoProcess, db: &str) {
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
pub(super) async fn assert_consistent(mongo: &MongoProcess, db: &str) -> (usize, usize) {
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

pub(super) fn no_server_errors(what: &str, tally: &Tally) {
    assert_eq!(tally.count("500"), 0, "{what}: {:?}", tally.statuses);
    assert_eq!(
        tally.unavailable_without_retry_after, 0,
        "{what}: 503 without Retry-After"
    );
}
