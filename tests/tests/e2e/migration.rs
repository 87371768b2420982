//! Moving media from GridFS to Cloudinary with `avenue-media migrate-store`:
//! interrupted half-way by SIGKILL, resumed, every byte verified, a third
//! run a no-op, and the service serving throughout.

use std::process::Stdio;

use avenue_shared::{MediaDescriptor, UploadOptions};
use avenue_tests::cloudinary_fake::CloudinaryFake;
use avenue_tests::fixtures::{self, sha256_hex};
use avenue_tests::{media_command, spawn_media_with, MediaApp};
use mongodb::bson::doc;
use tokio::process::Command;

const MEDIA: usize = 200;

fn migrate_command(db: &str, fake: &CloudinaryFake) -> Command {
    media_command(db, Some(fake), &["migrate-store", "--to", "cloudinary"])
}

/// Waits (up to 15 s) until the last migration run reports moved media.
async fn await_reported_progress(app: &MediaApp) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let run = app.storage_status().await["migration"]["last_run"].clone();
        if run["media_moved"].as_u64().is_some_and(|n| n > 0)
            || tokio::time::Instant::now() > deadline
        {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_interrupted_migration_resumes_and_every_byte_arrives() {
    let fake = CloudinaryFake::start().await;
    let cloudinary = fake.settings();
    // Uploads go to GridFS; Cloudinary is configured, as during a switch.
    let app = spawn_media_with(|s| s.cloudinary = Some(cloudinary)).await;
    let client = app.client();
    let mut uploaded: Vec<MediaDescriptor> = Vec::new();
    for i in 0..MEDIA {
        let bytes = fixtures::png(8 + (i % 7) as u32, 8, (i % 251) as u8);
        let bytes = [bytes, (i as u32).to_be_bytes().to_vec()].concat(); // unique trailer
        uploaded.push(
            client
                .upload(bytes, &UploadOptions::default())
                .await
                .expect("upload"),
        );
    }
    assert_eq!(
        app.count("media", doc! { "backend": "gridfs" }).await,
        MEDIA as u64
    );
    assert_eq!(
        app.storage_counts().await,
        (MEDIA as u64, MEDIA as u64, MEDIA as u64, 0)
    );

    // First run: killed once a third of the media are at Cloudinary.
    let mut first = migrate_command(&app.db_name, &fake)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start migrate-store");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while fake.resource_count() < MEDIA / 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Any instance shows the running migration's progress.
    let run = await_reported_progress(&app).await;
    first.kill().await.expect("SIGKILL");
    assert_eq!(run["state"], "running", "{run}");
    assert_eq!(run["to"], "cloudinary");
    assert_eq!(run["media_total"], MEDIA as u64);
    assert!(run["media_moved"].as_u64().is_some_and(|n| n > 0), "{run}");
    let moved = app.count("media", doc! { "backend": "cloudinary" }).await;
    assert!(
        moved > 0 && moved < MEDIA as u64,
        "interrupted half-way: {moved}"
    );

    // The service serves every media meanwhile, from wherever it is.
    for d in uploaded.iter().step_by(10) {
        let original = app.fetch(&format!("/image/upload/{}.png", d.id), &[]).await;
        assert_eq!(original.status(), 200, "{}", d.id);
        assert_eq!(sha256_hex(&original.bytes().await.expect("body")), d.sha256);
    }

    // Second run: finishes the rest.
    let output = migrate_command(&app.db_name, &fake)
        .output()
        .await
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(summary.contains("0 failed"), "{summary}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("media"),
        "progress lines"
    );
    let run = app.storage_status().await["migration"]["last_run"].clone();
    assert_eq!(run["state"], "finished", "{run}");
    // Resumed, not restarted: only what the first run left. (Not exactly
    // MEDIA - moved: the killed run's last update may land after the count.)
    let total = run["media_total"].as_u64().expect("a count");
    assert!(total > 0 && total < MEDIA as u64, "{run}");
    assert_eq!(run["media_moved"], total, "{run}");
    assert_eq!(
        app.count("media", doc! { "backend": "cloudinary" }).await,
        MEDIA as u64
    );

    // Every record points at a Cloudinary copy with exactly its bytes.
    let records = app.documents("media", doc! {}).await;
    assert_eq!(records.len(), MEDIA);
    for record in &records {
        let key = record.get_str("storage_key").expect("key");
        let copy = fake.resource(key).expect("copy at Cloudinary");
        assert_eq!(
            sha256_hex(&copy.bytes),
            record.get_str("sha256").expect("sha")
        );
    }

    // Third run: nothing left to do.
    let output = migrate_command(&app.db_name, &fake)
        .output()
        .await
        .expect("run");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("migrate-store: 0 moved"));

    // Old GridFS bytes and the killed run's stray copy wait for the sweeper.
    let status = app.storage_status().await;
    assert_eq!(status["backends"]["cloudinary"]["media"], MEDIA as u64);
    assert_eq!(status["backends"]["gridfs"]["media"], 0);
    assert_eq!(status["migration"]["media_outside_primary"], MEDIA as u64);
    let sweep = media_command(&app.db_name, Some(&fake), &["sweep"])
        .env("MEDIA_STAGING_GRACE_SECS", "0")
        .output()
        .await
        .expect("sweep");
    assert!(
        sweep.status.success(),
        "{}",
        String::from_utf8_lossy(&sweep.stderr)
    );
    let leftover = app.documents("media.files", doc! {}).await;
    assert_eq!(
        app.storage_counts().await,
        (MEDIA as u64, 0, 0, 0),
        "GridFS emptied: {leftover:?} {}",
        String::from_utf8_lossy(&sweep.stdout)
    );
    assert_eq!(
        fake.resource_count(),
        MEDIA,
        "no stray copies left at Cloudinary"
    );

    // Delivery now redirects to Cloudinary, and the bytes there are right.
    // One not fetched above: the service trusts a record it has read for
    // 30 s, and this test swept with no grace period at all (in production
    // the grace period, an hour, covers that).
    let d = &uploaded[MEDIA / 2 + 1];
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url(&format!("/image/upload/{}.png", d.id)))
        .send()
        .await
        .expect("answer");
    assert_eq!(redirect.status(), 302);
    app.stop().await;
}
