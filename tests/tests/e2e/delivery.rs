//! Delivery of originals: caching headers, 304, HEAD, byte ranges.

use avenue_shared::{ErrorBody, MediaDescriptor};
use avenue_tests::{fixtures, spawn_media, MediaApp};

const GRIDFS_CHUNK: usize = 255 * 1024;

async fn stored(app: &MediaApp, bytes: Vec<u8>) -> MediaDescriptor {
    let response = app.upload(bytes, &[]).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

fn path(d: &MediaDescriptor) -> String {
    let ext = d.url.rsplit('.').next().expect("url has an extension");
    format!("/image/upload/{}.{ext}", d.id)
}

#[tokio::test]
async fn originals_are_served_with_immutable_caching_and_a_strong_etag() {
    let app = spawn_media().await;
    let bytes = fixtures::jpeg(30, 20, 1);
    let d = stored(&app, bytes.clone()).await;
    let response = app.fetch(&path(&d), &[]).await;
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["etag"], format!("\"{}\"", d.sha256).as_str());
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["content-length"], bytes.len().to_string().as_str());
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        bytes.as_slice()
    );

    // A versioned URL and the jpeg alias serve the same bytes.
    let versioned = format!("/image/upload/v1700000000/{}.jpeg", d.id);
    let again = app.fetch(&versioned, &[]).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.bytes().await.expect("body").as_ref(),
        bytes.as_slice()
    );
    app.stop().await;
}

#[tokio::test]
async fn if_none_match_answers_304_without_a_body() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::png(9, 9, 1)).await;
    let etag = format!("\"{}\"", d.sha256);
    for validator in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"nope\", {etag}"),
        "*".into(),
    ] {
        let response = app
            .http
            .get(app.url(&path(&d)))
            .header("if-none-match", &validator)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), 304, "{validator}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(response.bytes().await.expect("body").is_empty());
    }
    let miss = app
        .http
        .get(app.url(&path(&d)))
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .expect("answer");
    assert_eq!(miss.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn head_answers_headers_only() {
    let app = spawn_media().await;
    let bytes = fixtures::gif(16, 16, 2);
    let d = stored(&app, bytes.clone()).await;
    let response = app
        .http
        .head(app.url(&path(&d)))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    assert_eq!(response.headers()["content-type"], "image/gif");
    assert!(response.headers().contains_key("etag"));
    assert!(response.bytes().await.expect("body").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn byte_ranges_are_exact_across_gridfs_chunks() {
    let app = spawn_media().await;
    // Three GridFS chunks, so ranges start, end and straddle chunk borders.
    let bytes = fixtures::padded_png(2 * GRIDFS_CHUNK + 1000, 77);
    let d = stored(&app, bytes.clone()).await;
    let len = bytes.len();
    let c = GRIDFS_CHUNK;
    let cases = [
        ("bytes=0-99".to_owned(), 0, 99),
        (format!("bytes={}-{}", c - 10, c + 10), c - 10, c + 10),
        (format!("bytes={}-{}", c - 1, 2 * c), c - 1, 2 * c),
        (format!("bytes={}-", len - 5), len - 5, len - 1),
        ("bytes=-300".to_owned(), len - 300, len - 1),
        (format!("bytes=10-{}", len * 2), 10, len - 1),
        (format!("bytes={c}-{c}"), c, c),
    ];
    for (header, start, end) in cases {
        let response = app
            .http
            .get(app.url(&path(&d)))
            .header("range", &header)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), 206, "{header}");
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes {start}-{end}/{len}").as_str(),
            "{header}"
        );
        assert_eq!(
            response.headers()["content-length"],
            (end - start + 1).to_string().as_str()
        );
        let body = response.bytes().await.expect("body");
        assert_eq!(body.as_ref(), &bytes[start..=end], "{header}");
    }
    let whole = app.fetch(&path(&d), &[]).await;
    assert_eq!(
        whole.bytes().await.expect("body").as_ref(),
        bytes.as_slice()
    );
    app.stop().await;
}

#[tokio::test]
async fn unsatisfiable_and_ignored_ranges() {
    let app = spawn_media().await;
    let bytes = fixtures::png(5, 5, 3);
    let len = bytes.len();
    let d = stored(&app, bytes.clone()).await;
    let past_end = app
        .http
        .get(app.url(&path(&d)))
        .header("range", format!("bytes={len}-"))
        .send()
        .await
        .expect("answer");
    assert_eq!(past_end.status(), 416);
    assert_eq!(
        past_end.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    // Multiple ranges, a stale If-Range and garbage all fall back to the whole body.
    for (range, if_range) in [
        ("bytes=0-1,3-4", None),
        ("bytes=0-1", Some("\"stale\"")),
        ("bytes=x-y", None),
    ] {
        let mut request = app.http.get(app.url(&path(&d))).header("range", range);
        if let Some(v) = if_range {
            request = request.header("if-range", v);
        }
        let response = request.send().await.expect("answer");
        assert_eq!(response.status(), 200, "{range}");
        assert_eq!(response.bytes().await.expect("body").len(), len);
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_or_malformed_delivery_paths() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::png(5, 5, 4)).await;
    let get = |p: String| {
        let url = app.url(&p);
        let http = app.http.clone();
        async move { http.get(url).send().await.expect("answer") }
    };
    let unknown = get("/image/upload/0123456789abcdef0123456789abcdef.png".into()).await;
    assert_eq!(unknown.status(), 404);
    // A format conversion or transformation without a signature is refused in strict mode.
    for unsigned in [
        format!("/image/upload/{}.jpg", d.id),
        format!("/image/upload/w_100,h_100/{}.png", d.id),
    ] {
        let response = get(unsigned.clone()).await;
        assert_eq!(response.status(), 403, "{unsigned}");
        let body: ErrorBody = response.json().await.expect("envelope");
        assert_eq!(body.code, "signature-required");
    }
    // No extension is the original, as Cloudinary's SDKs write it (issue 29).
    let bare = get(format!("/image/upload/{}", d.id)).await;
    assert_eq!(bare.status(), 200);
    assert_eq!(bare.headers()["content-type"], "image/png");
    for bad in [
        format!("/image/upload/{}.exe", d.id),
        "/image/upload/not-an-id.png".to_owned(),
        format!("/image/upload/w_0/{}.png", d.id),
    ] {
        let response = get(bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: ErrorBody = response.json().await.expect("envelope");
        assert!(!body.code.is_empty());
    }
    app.stop().await;
}
