//! One conformance suite, run against every storage backend: GridFS on the
//! MongoDB stand-in, and Cloudinary against the fake. Plus Cloudinary's
//! failure handling: retries, configuration errors, exhausted deadlines.

use std::sync::Arc;
use std::time::Duration;

use avenue_media::store::cloudinary::{CloudinaryAccount, CloudinaryStore, RetryPolicy};
use avenue_media::store::{ByteRange, GridFsStore, ResourceKind, Store, StoreError};
use avenue_tests::cloudinary_fake::{CloudinaryFake, Failure};
use avenue_tests::{fixtures, StorageProbe};
use futures::TryStreamExt;

async fn read_all(
    store: &dyn Store,
    key: &avenue_media::store::StorageKey,
    range: Option<ByteRange>,
) -> Result<Vec<u8>, StoreError> {
    let chunks: Vec<bytes::Bytes> = store.read(key, range).await?.try_collect().await?;
    Ok(chunks.concat())
}

/// What every backend must do.
async fn conformance(store: Arc<dyn Store>) {
    store.health_check().await.expect("healthy");
    // Three GridFS chunks' worth, so ranges cross chunk borders.
    let bytes = fixtures::padded_png(600 * 1024, 99);
    let key = store.new_key(ResourceKind::Image);
    assert_ne!(key, store.new_key(ResourceKind::Image), "keys are fresh");
    let mut writer = store.open_writer(&key).await.expect("open");
    for piece in bytes.chunks(100_000) {
        writer.write(piece).await.expect("write");
    }
    writer.finish().await.expect("finish");

    assert_eq!(read_all(&*store, &key, None).await.expect("read"), bytes);
    for (start, end) in [
        (0u64, 0u64),
        (261_000, 262_000),
        (600 * 1024 - 10, 600 * 1024 - 1),
    ] {
        let part = read_all(&*store, &key, Some(ByteRange { start, end }))
            .await
            .expect("range");
        assert_eq!(part, &bytes[start as usize..=end as usize], "{start}-{end}");
    }

    store.delete(&key).await.expect("delete");
    let gone = read_all(&*store, &key, None).await.expect_err("deleted");
    assert!(gone.is_not_found(), "{gone:?}");
    store.delete(&key).await.expect("deleting twice is fine");

    // An aborted write leaves nothing readable.
    let aborted = store.new_key(ResourceKind::Image);
    let mut writer = store.open_writer(&aborted).await.expect("open");
    writer.write(&bytes[..1000]).await.expect("write");
    writer.abort().await.expect("abort");
    let err = read_all(&*store, &aborted, None)
        .await
        .expect_err("aborted");
    assert!(err.is_not_found(), "{err:?}");

    // Videos and documents are kept as well, under their own kind.
    for (kind, bytes) in [
        (ResourceKind::Video, fixtures::mp4(300 * 1024, 3)),
        (ResourceKind::Raw, fixtures::pdf("size guide")),
    ] {
        let key = store.new_key(kind);
        let mut writer = store.open_writer(&key).await.expect("open");
        writer.write(&bytes).await.expect("write");
        writer.finish().await.expect("finish");
        assert_eq!(read_all(&*store, &key, None).await.expect("read"), bytes);
        let tail = read_all(
            &*store,
            &key,
            Some(ByteRange {
                start: 100,
                end: bytes.len() as u64 - 1,
            }),
        )
        .await
        .expect("range");
        assert_eq!(tail, &bytes[100..], "{kind:?}");
        store.delete(&key).await.expect("delete");
        let gone = read_all(&*store, &key, None).await.expect_err("deleted");
        assert!(gone.is_not_found(), "{kind:?}: {gone:?}");
    }
}

fn cloudinary_store(fake: &CloudinaryFake, retry: RetryPolicy) -> CloudinaryStore {
    let account = CloudinaryAccount::parse(&fake.cloudinary_url(), None).expect("fake account");
    CloudinaryStore::new(
        account,
        url::Url::parse(&fake.delivery_base()).expect("url"),
        retry,
    )
    .expect("store")
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_millis(20),
        deadline: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn gridfs_conforms() {
    let probe = StorageProbe::open(&avenue_tests::unique_db()).await;
    let gridfs = GridFsStore::new(probe.db.clone());
    gridfs.ensure_indexes().await.expect("indexes");
    conformance(Arc::new(gridfs)).await;
    assert_eq!(probe.counts().await, (0, 0, 0, 0), "nothing left in GridFS");
    let _ = probe.db.drop().await;
}

#[tokio::test]
async fn cloudinary_conforms() {
    let fake = CloudinaryFake::start().await;
    conformance(Arc::new(cloudinary_store(&fake, quick_retries()))).await;
    assert_eq!(fake.resource_count(), 0, "nothing left at Cloudinary");
}

#[tokio::test]
async fn cloudinary_retries_rate_limits_and_server_errors() {
    let fake = CloudinaryFake::start().await;
    let store = cloudinary_store(&fake, quick_retries());
    fake.fail_next([
        Failure::Status(420),
        Failure::Status(429),
        Failure::Status(503),
    ]);
    let key = store.new_key(ResourceKind::Image);
    let mut writer = store.open_writer(&key).await.expect("open");
    writer.write(&fixtures::png(4, 4, 1)).await.expect("write");
    writer
        .finish()
        .await
        .expect("succeeds on the fourth attempt");
    assert_eq!(fake.calls("upload"), 4);
    assert!(fake.resource(key.as_str()).is_some());
}

#[tokio::test]
async fn cloudinary_credentials_errors_are_not_retried() {
    let fake = CloudinaryFake::start().await;
    let store = cloudinary_store(&fake, quick_retries());
    fake.fail_next([Failure::Status(401)]);
    let err = store
        .delete(&store.new_key(ResourceKind::Image))
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Misconfigured(_)), "{err:?}");
    assert_eq!(fake.calls("destroy"), 1, "no retry");

    // Wrong secret: the fake's real signature check refuses it.
    let wrong_url = format!(
        "cloudinary://{}:wrong@{}?upload_prefix={}",
        fake.api_key, fake.cloud, fake.base_url
    );
    let account = CloudinaryAccount::parse(&wrong_url, None).expect("account");
    let wrong = CloudinaryStore::new(
        account,
        url::Url::parse(&fake.delivery_base()).expect("url"),
        quick_retries(),
    )
    .expect("store");
    let err = wrong
        .delete(&wrong.new_key(ResourceKind::Image))
        .await
        .expect_err("bad signature");
    assert!(matches!(err, StoreError::Misconfigured(_)), "{err:?}");
    let err = wrong.health_check().await.expect_err("bad credentials");
    assert!(matches!(err, StoreError::Misconfigured(_)), "{err:?}");
}

#[tokio::test]
async fn cloudinary_gives_up_after_the_deadline() {
    let fake = CloudinaryFake::start().await;
    let store = cloudinary_store(
        &fake,
        RetryPolicy {
            first_delay: Duration::from_millis(50),
            deadline: Duration::from_millis(400),
            attempt_timeout: Duration::from_secs(5),
        },
    );
    fake.fail_next(std::iter::repeat_n(Failure::Status(500), 50));
    let err = store
        .delete(&store.new_key(ResourceKind::Image))
        .await
        .expect_err("unavailable");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let calls = fake.calls("destroy");
    assert!(
        (2..50).contains(&calls),
        "retried a few times, then stopped: {calls}"
    );
}

#[tokio::test]
async fn cloudinary_slow_answers_time_out_and_are_retried() {
    let fake = CloudinaryFake::start().await;
    let store = cloudinary_store(
        &fake,
        RetryPolicy {
            first_delay: Duration::from_millis(20),
            deadline: Duration::from_secs(5),
            attempt_timeout: Duration::from_millis(300),
        },
    );
    fake.fail_next([Failure::Slow(Duration::from_secs(2))]);
    store
        .delete(&store.new_key(ResourceKind::Image))
        .await
        .expect("second attempt answers");
    assert_eq!(fake.calls("destroy"), 2);
}

/// A video larger than a chunk goes up as Cloudinary's chunked upload, a
/// chunk at a time as the bytes arrive (one chunk in memory, never the
/// file), and comes back whole.
#[tokio::test]
async fn cloudinary_takes_large_files_in_chunks() {
    let fake = CloudinaryFake::start().await;
    let store = cloudinary_store(&fake, quick_retries())
        .with_chunk_size(avenue_media::store::cloudinary::store::MIN_CHUNK_SIZE);
    let video = fixtures::mp4(12 * 1024 * 1024, 4);
    let key = store.new_key(ResourceKind::Video);
    let mut writer = store.open_writer(&key).await.expect("open");
    for piece in video.chunks(300_000) {
        writer.write(piece).await.expect("write");
    }
    // Two full chunks went while the bytes streamed; the rest at finish.
    assert_eq!(fake.chunks_received(), 2);
    assert_eq!(
        fake.resource_count(),
        0,
        "nothing stored before the last chunk"
    );
    writer.finish().await.expect("finish");
    assert_eq!(fake.chunks_received(), 3);
    assert_eq!(read_all(&store, &key, None).await.expect("read"), video);

    // A small file is still one plain upload.
    let small = store.new_key(ResourceKind::Raw);
    let mut writer = store.open_writer(&small).await.expect("open");
    writer.write(&fixtures::pdf("tiny")).await.expect("write");
    writer.finish().await.expect("finish");
    assert_eq!(fake.chunks_received(), 3, "no chunk for a small file");
    store.delete(&key).await.expect("delete");
    store.delete(&small).await.expect("delete");
    assert_eq!(fake.resource_count(), 0);
}
