//! Mirror mode (`MEDIA_BACKEND=gridfs MEDIA_MIRROR=cloudinary`): every new
//! upload lands in both backends, deletes remove both, a failing mirror
//! does not fail the upload, and `migrate-store` promotes the mirror copies
//! (checked, not copied again) and copies only what is missing, variants
//! too when asked.

use avenue_media::store::BackendKind;
use avenue_shared::MediaDescriptor;
use avenue_tests::cloudinary_fake::{CloudinaryFake, Failure};
use avenue_tests::fixtures::{self, sha256_hex};
use avenue_tests::{media_command, signed_path, spawn_media_with, MediaApp};
use mongodb::bson::doc;

async fn spawn_mirrored(fake: &CloudinaryFake) -> MediaApp {
    let cloudinary = fake.settings();
    spawn_media_with(|s| {
        s.backend = BackendKind::GridFs;
        s.mirror = Some(BackendKind::Cloudinary);
        s.cloudinary = Some(cloudinary);
    })
    .await
}

async fn upload(app: &MediaApp, bytes: Vec<u8>, status: u16) -> MediaDescriptor {
    let response = app.upload(bytes, &[]).await;
    assert_eq!(response.status(), status);
    response.json().await.expect("descriptor")
}

#[tokio::test]
async fn every_upload_lands_in_both_backends_and_leaves_with_its_media() {
    let fake = CloudinaryFake::start().await;
    let app = spawn_mirrored(&fake).await;
    let bytes = fixtures::png(40, 30, 7);
    let d = upload(&app, bytes.clone(), 201).await;
    assert_eq!(d.backend, "gridfs");
    assert_eq!(d.mirrors, vec!["cloudinary".to_owned()]);
    assert_eq!(app.storage_counts().await, (1, 1, 1, 0));
    let record = app.documents("media", doc! {}).await.remove(0);
    let mirror_key = record
        .get_array("mirrors")
        .expect("mirrors")
        .first()
        .and_then(|m| m.as_document())
        .and_then(|m| m.get_str("storage_key").ok())
        .expect("mirror key")
        .to_owned();
    let copy = fake.resource(&mirror_key).expect("copy at Cloudinary");
    assert_eq!(sha256_hex(&copy.bytes), d.sha256);

    // Served from the primary: streamed, not redirected.
    let original = app.fetch(&format!("/image/upload/{}.png", d.id), &[]).await;
    assert_eq!(original.status(), 200);
    assert_eq!(original.bytes().await.expect("body").as_ref(), bytes);

    let status = app.storage_status().await;
    assert_eq!(status["mirror"]["backend"], "cloudinary");
    assert_eq!(status["mirror"]["media_without_copy"], 0);
    assert_eq!(status["backends"]["cloudinary"]["mirror_copies"], 1);
    assert_eq!(status["backends"]["gridfs"]["media"], 1);

    // The same bytes again: nothing new stays anywhere.
    let again = upload(&app, bytes, 200).await;
    assert_eq!(again.id, d.id);
    assert_eq!(fake.resource_count(), 1);
    assert_eq!(app.await_storage_counts((1, 1, 1, 0)).await, (1, 1, 1, 0));

    let deleted = app
        .admin(reqwest::Method::DELETE, &format!("/v1/media/{}", d.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(deleted.status(), 204);
    assert_eq!(fake.resource_count(), 0, "the mirror copy goes too");
    assert_eq!(app.storage_counts().await, (0, 0, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_failing_mirror_is_reported_and_the_migration_fills_the_gap() {
    let fake = CloudinaryFake::start().await;
    let app = spawn_mirrored(&fake).await;

    // Cloudinary refuses the mirror copy: the upload still succeeds.
    fake.fail_next([Failure::Status(401)]);
    let lonely = upload(&app, fixtures::png(20, 20, 1), 201).await;
    assert!(lonely.mirrors.is_empty());
    assert_eq!(fake.resource_count(), 0);
    assert_eq!(
        app.await_storage_counts((1, 1, 1, 0)).await,
        (1, 1, 1, 0),
        "nothing journalled stays behind"
    );
    let mirrored = upload(&app, fixtures::png(20, 20, 2), 201).await;
    assert_eq!(mirrored.mirrors, vec!["cloudinary".to_owned()]);
    assert_eq!(
        app.storage_status().await["mirror"]["media_without_copy"],
        1
    );

    // A variant big enough to be kept in GridFS rather than inline.
    let noisy = upload(&app, fixtures::noise_png(500, 500, 9), 201).await;
    let variant_path = signed_path("c_scale,w_480", &format!("{}.png", noisy.id));
    let variant = app.fetch(&variant_path, &[]).await;
    assert_eq!(variant.status(), 200);
    let variant_sha = sha256_hex(&variant.bytes().await.expect("body"));
    let in_store = doc! { "storage_key": { "$exists": true } };
    assert_eq!(
        app.await_matching("media_variants", in_store.clone(), 1)
            .await,
        1,
        "the variant is kept in GridFS"
    );

    let uploads_before = fake.calls("upload");
    let output = media_command(
        &app.db_name,
        Some(&fake),
        &["migrate-store", "--to", "cloudinary", "--variants"],
    )
    .output()
    .await
    .expect("run migrate-store");
    let summary = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{summary} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(summary.starts_with("migrate-store: 3 moved"), "{summary}");
    assert!(summary.contains("2 of them promoted"), "{summary}");
    assert!(summary.contains("1 variants moved"), "{summary}");
    assert_eq!(
        fake.calls("upload") - uploads_before,
        2,
        "only the missing original and the variant were uploaded"
    );

    // Every record is served from Cloudinary now, its bytes verified there.
    for record in app.documents("media", doc! {}).await {
        assert_eq!(record.get_str("backend").expect("backend"), "cloudinary");
        assert!(record.get_array("mirrors").map_or(true, Vec::is_empty));
        let copy = fake
            .resource(record.get_str("storage_key").expect("key"))
            .expect("at Cloudinary");
        assert_eq!(
            sha256_hex(&copy.bytes),
            record.get_str("sha256").expect("sha")
        );
    }
    let variant_doc = app.documents("media_variants", in_store).await.remove(0);
    assert_eq!(
        variant_doc.get_str("backend").expect("backend"),
        "cloudinary"
    );
    let variant_copy = fake
        .resource(variant_doc.get_str("storage_key").expect("key"))
        .expect("variant at Cloudinary");
    assert_eq!(sha256_hex(&variant_copy.bytes), variant_sha);

    let status = app.storage_status().await;
    let run = &status["migration"]["last_run"];
    assert_eq!(run["state"], "finished");
    assert_eq!(run["to"], "cloudinary");
    assert_eq!(run["media_moved"], 3);
    assert_eq!(run["variants_moved"], 1);
    assert_eq!(run["failed"], 0);
    assert_eq!(status["mirror"]["media_without_copy"], 0);
    app.stop().await;
}
