//! Uploading: formats decided by bytes, descriptors, deduplication.

use avenue_shared::{MediaDescriptor, UploadOptions};
use avenue_tests::fixtures::{self, sha256_hex};
use avenue_tests::spawn_media;
use mongodb::bson::doc;

#[tokio::test]
async fn each_accepted_format_is_stored_with_its_type_and_size() {
    let app = spawn_media().await;
    let cases = [
        (fixtures::jpeg(40, 30, 1), "image/jpeg", "jpg", (40, 30)),
        (fixtures::png(41, 31, 2), "image/png", "png", (41, 31)),
        (fixtures::webp(42, 32, 3), "image/webp", "webp", (42, 32)),
        (fixtures::gif(43, 33, 4), "image/gif", "gif", (43, 33)),
        (fixtures::avif(44, 34), "image/avif", "avif", (44, 34)),
        (fixtures::heic(46, 36), "image/heic", "heic", (46, 36)),
    ];
    for (bytes, mime, ext, (width, height)) in cases {
        let response = app.upload(bytes.clone(), &[]).await;
        assert_eq!(response.status(), 201, "{mime}");
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let d: MediaDescriptor = response.json().await.expect("descriptor");
        assert_eq!(d.content_type, mime);
        assert_eq!((d.width, d.height), (width, height), "{mime}");
        assert_eq!(d.bytes, bytes.len() as u64);
        assert_eq!(d.sha256, sha256_hex(&bytes));
        assert_eq!(d.id.as_str(), &d.sha256[..32]);
        assert_eq!(d.backend, "gridfs");
        assert_eq!(d.resource_type, "image");
        // A BlurHash, computed at upload, for every image.
        let hash = d.placeholder.as_deref().expect("a placeholder");
        assert_eq!(hash.len(), 28, "{mime}: {hash}");
        assert!(blurhash::decode(hash, 2, 2, 1.0).is_ok(), "{mime}: {hash}");
        assert!(
            d.url.ends_with(&format!("/image/upload/{}.{ext}", d.id)),
            "{}",
            d.url
        );
        assert_eq!(
            location.as_deref(),
            Some(format!("/v1/media/{}", d.id).as_str())
        );

        let delivered = app
            .http
            .get(app.url(&format!("/image/upload/{}.{ext}", d.id)))
            .send()
            .await
            .expect("delivery answers");
        assert_eq!(delivered.status(), 200);
        assert_eq!(
            delivered.bytes().await.expect("body").as_ref(),
            bytes.as_slice()
        );
    }
    assert_eq!(app.storage_counts().await, (6, 6, 6, 0));
    app.stop().await;
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_not_the_name_or_header() {
    let app = spawn_media().await;
    let png = fixtures::png(10, 10, 9);
    // Claimed JPEG, named .jpg, is really a PNG.
    let response = app.upload_raw(png.clone(), "image/jpeg").await;
    assert_eq!(response.status(), 201);
    let d: MediaDescriptor = response.json().await.expect("descriptor");
    assert_eq!(d.content_type, "image/png");
    assert!(d.url.ends_with(".png"));
    app.stop().await;
}

#[tokio::test]
async fn metadata_travels_in_form_fields_or_the_query_string() {
    let app = spawn_media().await;
    let d: MediaDescriptor = app
        .upload(
            fixtures::png(8, 8, 1),
            &[
                ("folder", "products/spring"),
                ("tags", "red, dress"),
                ("alt", "A red dress"),
            ],
        )
        .await
        .json()
        .await
        .expect("descriptor");
    assert_eq!(d.folder.as_deref(), Some("products/spring"));
    assert_eq!(d.tags, vec!["red", "dress"]);
    assert_eq!(d.alt.as_deref(), Some("A red dress"));

    let raw = app
        .admin(
            reqwest::Method::POST,
            "/v1/media?folder=pages&tags=hero&alt=Banner",
        )
        .header("content-type", "application/octet-stream")
        .body(fixtures::png(8, 8, 2))
        .send()
        .await
        .expect("answer");
    assert_eq!(raw.status(), 201);
    let d: MediaDescriptor = raw.json().await.expect("descriptor");
    assert_eq!(d.folder.as_deref(), Some("pages"));
    assert_eq!(d.tags, vec!["hero"]);
    assert_eq!(d.alt.as_deref(), Some("Banner"));
    app.stop().await;
}

#[tokio::test]
async fn the_same_bytes_are_stored_once_and_answer_the_same_id() {
    let app = spawn_media().await;
    let bytes = fixtures::jpeg(64, 48, 7);
    let first = app.upload(bytes.clone(), &[("folder", "a")]).await;
    assert_eq!(first.status(), 201);
    let first: MediaDescriptor = first.json().await.expect("descriptor");
    let second = app.upload(bytes.clone(), &[("folder", "b")]).await;
    assert_eq!(second.status(), 200, "a repeat is not a creation");
    let second: MediaDescriptor = second.json().await.expect("descriptor");
    assert_eq!(first, second, "the existing media is answered unchanged");
    assert_eq!(app.storage_counts().await, (1, 1, 1, 0));
    app.stop().await;
}

#[tokio::test]
async fn concurrent_uploads_of_the_same_bytes_keep_one_object() {
    let app = spawn_media().await;
    let bytes = fixtures::padded_png(600 * 1024, 42);
    let client = app.client();
    let uploads = (0..8).map(|_| {
        let client = client.clone();
        let bytes = bytes.clone();
        async move { client.upload(bytes, &UploadOptions::default()).await }
    });
    let results = futures::future::join_all(uploads).await;
    let ids: Vec<_> = results
        .into_iter()
        .map(|r| r.expect("every upload succeeds").id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let chunks = (600 * 1024usize).div_ceil(255 * 1024) as u64;
    // Losers of the race discard their copies before answering.
    assert_eq!(app.storage_counts().await, (1, 1, chunks, 0));
    let file = app
        .count("media.files", doc! { "length": 600 * 1024 })
        .await;
    assert_eq!(file, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_typed_client_round_trips() {
    let app = spawn_media().await;
    let client = app.client();
    let bytes = fixtures::png(12, 12, 3);
    let options = UploadOptions {
        folder: Some("x".into()),
        tags: vec!["t".into()],
        alt: None,
        file_name: Some("x.png".into()),
        pending: true,
    };
    let created = client.upload(bytes, &options).await.expect("upload");
    assert!(created.pending);
    assert_eq!(created.original_name.as_deref(), Some("x.png"));
    let fetched = client.get(&created.id).await.expect("get");
    assert_eq!(created, fetched);
    client.delete(&created.id).await.expect("delete");
    let gone = client.get(&created.id).await.expect_err("deleted");
    assert!(gone.is_not_found(), "{gone:?}");
    app.stop().await;
}
