//! Refused uploads: each bad input gets its status and JSON error, and
//! leaves nothing behind in any collection.

use std::time::Duration;

use avenue_shared::ErrorBody;
use avenue_tests::{fixtures, spawn_media, spawn_media_with, MediaApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> ErrorBody {
    assert_eq!(response.status(), status);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let body: ErrorBody = response.json().await.expect("JSON error envelope");
    assert_eq!(body.code, code, "{}", body.message);
    body
}

async fn assert_nothing_stored(app: &MediaApp) {
    assert_eq!(app.await_storage_counts((0, 0, 0, 0)).await, (0, 0, 0, 0));
}

#[tokio::test]
async fn empty_bodies_are_400() {
    let app = spawn_media().await;
    expect_error(app.upload(Vec::new(), &[]).await, 400, "empty-upload").await;
    expect_error(
        app.upload_raw(Vec::new(), "image/png").await,
        400,
        "empty-upload",
    )
    .await;
    assert_nothing_stored(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn anything_but_the_accepted_formats_is_415() {
    let app = spawn_media().await;
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>"#;
    let bmp = {
        let mut b = b"BM".to_vec();
        b.resize(200, 0);
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("svg", svg.to_vec()),
        (
            "text",
            b"hello, this is not an image at all, just some text bytes here".to_vec(),
        ),
        ("bmp", bmp),
        ("zip", {
            let mut z = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
            z.resize(200, 7);
            z
        }),
        ("mkv", {
            let mut m = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska".to_vec();
            m.resize(200, 0);
            m
        }),
        ("tiny", b"GI".to_vec()),
    ];
    for (name, bytes) in cases {
        let body = expect_error(
            app.upload_raw(bytes, "image/png").await,
            415,
            "unsupported-media-type",
        )
        .await;
        assert!(!body.message.is_empty(), "{name}");
    }
    let svg_body = expect_error(
        app.upload(svg.to_vec(), &[]).await,
        415,
        "unsupported-media-type",
    )
    .await;
    assert!(svg_body.message.contains("SVG"), "{}", svg_body.message);
    assert_nothing_stored(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn too_many_pixels_is_422_from_the_header_alone() {
    let app = spawn_media().await;
    // 30000 x 30000 declared in 33 bytes: refusing it must not need the pixels.
    let bomb = fixtures::png_header(30_000, 30_000);
    let body = expect_error(app.upload(bomb, &[]).await, 422, "too-many-pixels").await;
    assert!(body.message.contains("30000x30000"), "{}", body.message);
    let avif = fixtures::avif_header(10_000, 10_000);
    expect_error(
        app.upload_raw(avif, "image/avif").await,
        422,
        "too-many-pixels",
    )
    .await;
    assert_nothing_stored(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn the_pixel_limit_is_configurable() {
    let app = spawn_media_with(|s| s.limits.max_pixels = 99).await;
    expect_error(
        app.upload(fixtures::png(10, 10, 1), &[]).await,
        422,
        "too-many-pixels",
    )
    .await;
    let ok = app.upload(fixtures::png(9, 11, 1), &[]).await;
    assert_eq!(ok.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn a_header_without_dimensions_is_422() {
    let app = spawn_media().await;
    // JPEG start-of-image and an APP0 segment, then nothing: no frame header.
    let truncated = fixtures::jpeg(20, 20, 1)[..20].to_vec();
    expect_error(
        app.upload_raw(truncated, "image/jpeg").await,
        422,
        "unreadable-image",
    )
    .await;
    let empty_size = fixtures::png_header(0, 10);
    expect_error(app.upload(empty_size, &[]).await, 422, "unreadable-image").await;
    assert_nothing_stored(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_reading() {
    let app = spawn_media_with(|s| s.limits.max_upload_bytes = 64 * 1024).await;
    let big = fixtures::padded_png(200 * 1024, 1);
    expect_error(
        app.upload_raw(big.clone(), "image/png").await,
        413,
        "too-large",
    )
    .await;
    expect_error(app.upload(big, &[]).await, 413, "too-large").await;
    let fits = app
        .upload_raw(fixtures::padded_png(64 * 1024, 2), "image/png")
        .await;
    assert_eq!(fits.status(), 201, "exactly the limit is allowed");
    app.stop().await;
}

/// Sends a chunked upload larger than the limit and never ends it: a
/// service that buffered the whole body first would wait forever, so the
/// 413 proves the limit is enforced while streaming.
#[tokio::test]
async fn a_streamed_body_over_the_limit_is_cut_off_with_413() {
    let limit = 256 * 1024;
    let app = spawn_media_with(|s| s.limits.max_upload_bytes = limit).await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.admin_token
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let body = fixtures::padded_png(limit as usize + 100 * 1024, 5);
    for piece in body.chunks(16 * 1024) {
        let chunk = format!("{:x}\r\n", piece.len());
        // The server may stop reading once it has answered.
        if stream.write_all(chunk.as_bytes()).await.is_err()
            || stream.write_all(piece).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    // No terminating zero-length chunk: the body never ends.
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    response.extend_from_slice(&buf[..n]);
                    if response.windows(4).any(|w| w == b"\r\n\r\n")
                        && String::from_utf8_lossy(&response).contains("too-large")
                    {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the service waited for the end of an oversized body"
    );
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"code\":\"too-large\""), "{text}");
    assert_nothing_stored(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_forms_are_400_and_leave_nothing() {
    let app = spawn_media().await;
    let png = fixtures::png(6, 6, 1);
    // The file arrives first and is stored; the bad field after it must undo that.
    expect_error(
        app.upload(png.clone(), &[("folder", "../etc")]).await,
        400,
        "invalid-field",
    )
    .await;
    expect_error(
        app.upload(png.clone(), &[("colour", "red")]).await,
        400,
        "unknown-field",
    )
    .await;
    let too_many_tags = (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    expect_error(
        app.upload(png.clone(), &[("tags", &too_many_tags)]).await,
        400,
        "invalid-field",
    )
    .await;
    expect_error(
        app.upload(png.clone(), &[("alt", &"x".repeat(5000))]).await,
        400,
        "invalid-field",
    )
    .await;

    let no_file = reqwest::multipart::Form::new().text("folder", "a");
    let response = app
        .admin(reqwest::Method::POST, "/v1/media")
        .multipart(no_file)
        .send()
        .await
        .expect("answer");
    expect_error(response, 400, "missing-file").await;

    let two_files = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(png.clone()))
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixtures::png(7, 7, 1)),
        );
    let response = app
        .admin(reqwest::Method::POST, "/v1/media")
        .multipart(two_files)
        .send()
        .await
        .expect("answer");
    expect_error(response, 400, "too-many-files").await;

    let response = app
        .admin(reqwest::Method::POST, "/v1/media")
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 400);

    // Every refusal above was undone before it was answered: only this upload remains.
    assert_eq!(app.upload_raw(png, "image/png").await.status(), 201);
    assert_eq!(app.storage_counts().await, (1, 1, 1, 0));
    app.stop().await;
}

#[tokio::test]
async fn query_metadata_is_checked_before_any_byte_is_stored() {
    let app = spawn_media().await;
    let response = app
        .admin(reqwest::Method::POST, "/v1/media?folder=a//b")
        .header("content-type", "image/png")
        .body(fixtures::png(5, 5, 5))
        .send()
        .await
        .expect("answer");
    let body = expect_error(response, 400, "invalid-field").await;
    assert!(body.message.starts_with("folder"), "{}", body.message);
    assert_nothing_stored(&app).await;
    app.stop().await;
}
