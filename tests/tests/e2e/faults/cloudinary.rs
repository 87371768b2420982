//! Cloudinary failing a third of its calls: no upload is lost.

use std::time::Instant;

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};

use avenue_tests::fixtures;

use super::lost_of;

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
