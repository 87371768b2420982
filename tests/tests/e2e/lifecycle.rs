//! The media lifecycle: library assets stay until deleted, unclaimed
//! pending uploads expire, released media wait for
//! their grace period, a claim racing a sweep always wins, erasure by
//! owner, and orphaned GridFS objects removed.

use std::time::Duration;

use avenue_media::maintenance::sweep::{sweep_once, SweepPolicy, SweepReport};
use avenue_media::media::MediaLibrary;
use avenue_shared::{MediaDescriptor, Role};
use avenue_tests::{fixtures, mongo_uri, signed_path, spawn_media, token_for, MediaApp};
use futures::future::join_all;
use mongodb::bson::{doc, oid::ObjectId};
use reqwest::Method;
use serde_json::json;

async fn library(app: &MediaApp) -> MediaLibrary {
    let settings = avenue_media::Settings::local(&mongo_uri(), &app.db_name);
    avenue_media::startup::open_library(&settings)
        .await
        .expect("a second handle on the same database")
}

fn policy(pending: u64, grace: u64) -> SweepPolicy {
    SweepPolicy {
        staging_grace: Duration::from_secs(3600),
        pending_ttl: Duration::from_secs(pending),
        release_grace: Duration::from_secs(grace),
        orphans: true,
    }
}

/// An upload for a form that may never be saved (`pending=true`).
async fn stored(app: &MediaApp, seed: u8) -> MediaDescriptor {
    let response = app
        .upload(fixtures::png(7, 5, seed), &[("pending", "true")])
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

async fn claim(app: &MediaApp, id: &str, reference: &str) -> u16 {
    app.admin(Method::POST, &format!("/v1/media/{id}/refs"))
        .json(&json!({ "ref": reference }))
        .send()
        .await
        .expect("answer")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_claim_racing_the_sweeper_always_wins() {
    let app = spawn_media().await;
    let lib = library(&app).await;
    let mut media = Vec::new();
    for seed in 0..24 {
        media.push(stored(&app, seed).await);
    }
    // Every upload is already past its pending time: only claims save them.
    let claims = media
        .iter()
        .step_by(2)
        .map(|d| claim(&app, d.id.as_str(), "shop_products:race"));
    let sweeps = (0..6).map(|_| sweep_once(&lib, policy(0, 3600), false));
    let (claimed, swept) = tokio::join!(join_all(claims), join_all(sweeps));
    for report in swept {
        report.expect("sweep");
    }
    sweep_once(&lib, policy(0, 3600), false)
        .await
        .expect("final sweep");
    for (d, status) in media.iter().step_by(2).zip(&claimed) {
        let exists = app
            .admin(Method::GET, &format!("/v1/media/{}", d.id))
            .send()
            .await
            .expect("answer")
            .status();
        match status {
            200 => assert_eq!(exists, 200, "a successful claim keeps {}", d.id),
            404 => assert_eq!(exists, 404, "swept before the claim landed: {}", d.id),
            other => panic!("claim answered {other}"),
        }
    }
    assert!(
        claimed.contains(&200),
        "some claims landed first: {claimed:?}"
    );
    for d in media.iter().skip(1).step_by(2) {
        let gone = app
            .admin(Method::GET, &format!("/v1/media/{}", d.id))
            .send()
            .await
            .expect("answer")
            .status();
        assert_eq!(gone, 404, "unclaimed {} expired", d.id);
    }
    let survivors = claimed.iter().filter(|s| **s == 200).count() as u64;
    assert_eq!(app.count("media", doc! {}).await, survivors);
    assert_eq!(
        app.await_storage_counts((survivors, survivors, survivors, 0))
            .await,
        (survivors, survivors, survivors, 0),
        "bytes went with their records"
    );
    app.stop().await;
}

#[tokio::test]
async fn released_media_wait_for_their_grace_and_take_their_variants() {
    let app = spawn_media().await;
    let lib = library(&app).await;
    let d = stored(&app, 1).await;
    let fresh = stored(&app, 2).await;
    assert_eq!(claim(&app, d.id.as_str(), "page_content:home").await, 200);
    let variant = app
        .fetch(&signed_path("c_scale,w_3", &format!("{}.png", d.id)), &[])
        .await;
    assert_eq!(variant.status(), 200);
    app.await_count("media_variants", 1).await;
    let released = app
        .admin(
            Method::DELETE,
            &format!("/v1/media/{}/refs/page_content:home", d.id),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(released.status(), 204);

    // Within the grace period (and the fresh upload within its pending time): kept.
    let report = sweep_once(&lib, policy(3600, 3600), false)
        .await
        .expect("sweep");
    assert_eq!(report, SweepReport::default());
    let status = app.storage_status().await;
    assert_eq!(status["lifecycle"]["released_awaiting_grace"], 1);
    assert_eq!(status["lifecycle"]["pending_unclaimed"], 1);
    assert!(status["lifecycle"]["last_sweep"]["at"].is_string());

    // A dry run reports and changes nothing.
    let dry = sweep_once(&lib, policy(3600, 0), true)
        .await
        .expect("sweep");
    assert_eq!(dry.expired_released, 1);
    assert_eq!(app.count("media", doc! {}).await, 2);

    let report = sweep_once(&lib, policy(3600, 0), false)
        .await
        .expect("sweep");
    assert_eq!(report.expired_released, 1);
    assert_eq!(report.expired_pending, 0);
    assert_eq!(app.count("media", doc! { "_id": d.id.as_str() }).await, 0);
    assert_eq!(
        app.count("media", doc! { "_id": fresh.id.as_str() }).await,
        1
    );
    assert_eq!(
        app.count("media_variants", doc! {}).await,
        0,
        "variants went too"
    );
    let status = app.storage_status().await;
    assert_eq!(status["lifecycle"]["last_sweep"]["expired_released"], 1);
    app.stop().await;
}

#[tokio::test]
async fn erasing_an_owner_removes_everything_they_uploaded() {
    let app = spawn_media().await;
    let upload_as = |sub: &'static str, seed: u8| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(app.url("/v1/media"))
                .bearer_auth(token_for(sub, Role::Admin, 600))
                .header("content-type", "image/png")
                .body(fixtures::png(4, 4, seed))
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), 201);
            response
                .json::<MediaDescriptor>()
                .await
                .expect("descriptor")
        }
    };
    let a1 = upload_as("user-a", 1).await;
    upload_as("user-a", 2).await;
    let b1 = upload_as("user-b", 3).await;
    assert_eq!(claim(&app, a1.id.as_str(), "shop_products:p1").await, 200);

    let service = app
        .http
        .delete(app.url("/v1/media?owner=user-a"))
        .bearer_auth(token_for("avenue-api", Role::Service, 600))
        .send()
        .await
        .expect("answer");
    assert_eq!(service.status(), 403, "erasure is for admins");
    let erased: serde_json::Value = app
        .admin(Method::DELETE, "/v1/media?owner=user-a")
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(erased["erased"], 2, "claimed ones too: {erased}");
    assert_eq!(erased["claims_dropped"], 1);
    assert_eq!(app.count("media", doc! {}).await, 1);
    assert_eq!(app.count("media", doc! { "_id": b1.id.as_str() }).await, 1);
    assert_eq!(app.await_storage_counts((1, 1, 1, 0)).await, (1, 1, 1, 0));
    app.stop().await;
}

#[tokio::test]
async fn orphaned_gridfs_objects_are_removed() {
    let app = spawn_media().await;
    let lib = library(&app).await;
    let kept = stored(&app, 5).await;
    // An interrupted upload from a process that died before journalling:
    // chunks without a files document, and a files document nothing knows.
    let old = ObjectId::from_parts(1_600_000_000, [1; 5], [0, 0, 1]);
    let old_file = ObjectId::from_parts(1_600_000_000, [1; 5], [0, 0, 2]);
    let chunks = app
        .db()
        .collection::<mongodb::bson::Document>("media.chunks");
    for n in 0..3 {
        chunks
            .insert_one(doc! { "files_id": old, "n": n, "data": mongodb::bson::Binary { subtype: mongodb::bson::spec::BinarySubtype::Generic, bytes: vec![7; 10] } })
            .await
            .expect("chunk");
    }
    app.db()
        .collection::<mongodb::bson::Document>("media.files")
        .insert_one(doc! { "_id": old_file, "length": 0_i64, "chunkSize": 261_120, "uploadDate": mongodb::bson::DateTime::now(), "filename": "lost" })
        .await
        .expect("file");
    let mut quick = policy(3600, 3600);
    quick.staging_grace = Duration::from_secs(0);
    let dry = sweep_once(&lib, quick, true).await.expect("sweep");
    assert_eq!(dry.orphans, 2);
    assert_eq!(
        app.storage_counts().await,
        (1, 2, 4, 0),
        "a dry run keeps them"
    );
    let report = sweep_once(&lib, quick, false).await.expect("sweep");
    assert_eq!(report.orphans, 2);
    assert_eq!(app.storage_counts().await, (1, 1, 1, 0));
    let original = app
        .fetch(&format!("/image/upload/{}.png", kept.id), &[])
        .await;
    assert_eq!(original.status(), 200, "what is referenced stays");
    app.stop().await;
}

async fn status_of(app: &MediaApp, id: &str) -> u16 {
    app.admin(Method::GET, &format!("/v1/media/{id}"))
        .send()
        .await
        .expect("answer")
        .status()
        .as_u16()
}

/// The failure this project exists to end: an image put in the library and
/// not used yet was deleted after a day. Library assets now stay, used or
/// not, released or not; only pending uploads expire.
#[tokio::test]
async fn library_assets_stay_until_deleted_and_only_pending_uploads_expire() {
    let app = spawn_media().await;
    let lib = library(&app).await;
    let asset: MediaDescriptor = app
        .upload(fixtures::png(9, 9, 1), &[])
        .await
        .json()
        .await
        .expect("descriptor");
    assert!(!asset.pending);
    assert_eq!(asset.original_name.as_deref(), Some("upload.bin"));
    let form_upload = stored(&app, 2).await;
    assert!(form_upload.pending);
    // Pending bytes uploaded again into the library become a library asset;
    // library bytes uploaded again as pending stay in the library.
    let promoted = stored(&app, 3).await;
    let again: MediaDescriptor = app
        .upload(fixtures::png(7, 5, 3), &[])
        .await
        .json()
        .await
        .expect("descriptor");
    assert_eq!(
        (again.id.clone(), again.pending),
        (promoted.id.clone(), false)
    );
    let kept: MediaDescriptor = app
        .upload(fixtures::png(9, 9, 1), &[("pending", "true")])
        .await
        .json()
        .await
        .expect("descriptor");
    assert_eq!((kept.id.clone(), kept.pending), (asset.id.clone(), false));

    // Used, then no longer used: still kept.
    assert_eq!(
        claim(&app, asset.id.as_str(), "shop_products:p1").await,
        200
    );
    let released = app
        .admin(
            Method::DELETE,
            &format!("/v1/media/{}/refs/shop_products:p1", asset.id),
        )
        .send()
        .await
        .expect("release");
    assert!(released.status().is_success());

    let unused: serde_json::Value = app
        .admin(Method::GET, "/v1/media?unused=true")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("page");
    assert_eq!(
        unused["items"].as_array().map(Vec::len),
        Some(3),
        "{unused}"
    );

    // Every clock run out: only the pending upload goes.
    let report = sweep_once(&lib, policy(0, 0), false).await.expect("sweep");
    assert_eq!(report.expired_pending, 1, "{report:?}");
    assert_eq!(status_of(&app, form_upload.id.as_str()).await, 404);
    for id in [&asset.id, &promoted.id] {
        assert_eq!(status_of(&app, id.as_str()).await, 200, "{id}");
    }
    let status: serde_json::Value = app
        .admin(Method::GET, "/v1/storage/status")
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["lifecycle"]["library_unused"], 2, "{status}");
    assert_eq!(status["lifecycle"]["pending_unclaimed"], 0, "{status}");
}

#[tokio::test]
async fn the_original_file_name_is_kept_and_searchable() {
    let app = spawn_media().await;
    for (name, seed) in [("Vestido Rojo.png", 1), ("remera-azul.png", 2)] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(fixtures::png(6, 6, seed)).file_name(name),
        );
        let response = app
            .admin(Method::POST, "/v1/media")
            .multipart(form)
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status(), 201);
    }
    let raw = app
        .admin(
            Method::POST,
            "/v1/media?filename=C%3A%5Cfotos%5Clogo%20final.png",
        )
        .header("content-type", "image/png")
        .body(fixtures::png(6, 6, 3))
        .send()
        .await
        .expect("raw upload");
    let raw: MediaDescriptor = raw.json().await.expect("descriptor");
    assert_eq!(raw.original_name.as_deref(), Some("logo final.png"));
    let found: serde_json::Value = app
        .admin(Method::GET, "/v1/media?q=ROJO")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("page");
    let names: Vec<&str> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["original_name"].as_str())
        .collect();
    assert_eq!(names, ["Vestido Rojo.png"]);
    // Characters that mean something to a regex are only text.
    let none: serde_json::Value = app
        .admin(Method::GET, "/v1/media?q=.*")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("page");
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0), "{none}");
}
