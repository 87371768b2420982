//! Any file the site needs: videos (MP4, WebM, QuickTime) and PDFs are
//! taken by their magic numbers, with their own size limits, deduplicated
//! like images, kept in both backends under their resource type, and
//! delivered under Cloudinary's paths with ranges, ETags and the same
//! caching. Transformations on them are a clear 400. The api's old upload
//! endpoint takes them, and the library page previews them.

use avenue_media::config::RemoteDelivery;
use avenue_media::store::BackendKind;
use avenue_shared::{ErrorBody, MediaDescriptor};
use avenue_tests::browser::Browser;
use avenue_tests::cloudinary_fake::CloudinaryFake;
use avenue_tests::fixtures::{self, sha256_hex};
use avenue_tests::{mongo_uri, spawn_api_with, spawn_media, spawn_media_with, MediaApp};
use mongodb::bson::doc;
use reqwest::Method;

async fn refused(response: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status(), status);
    let body: ErrorBody = response.json().await.expect("error envelope");
    assert_eq!(body.code, code, "{}", body.message);
    body.message
}

/// A QuickTime movie: `ftyp` with brand `qt  `.
fn quicktime() -> Vec<u8> {
    let mut mov = fixtures::mp4(4000, 9);
    mov[8..12].copy_from_slice(b"qt  ");
    mov
}

#[tokio::test]
async fn videos_and_pdfs_are_stored_once_and_delivered_as_uploaded() {
    let app = spawn_media().await;
    let mp4 = fixtures::mp4(200 * 1024, 1);
    let cases = [
        (mp4.clone(), "video/mp4", "video", "mp4"),
        (fixtures::webm(5000, 2), "video/webm", "video", "webm"),
        (quicktime(), "video/quicktime", "video", "mov"),
        (
            fixtures::pdf("Guia de talles"),
            "application/pdf",
            "raw",
            "pdf",
        ),
    ];
    let mut ids = Vec::new();
    for (bytes, mime, resource, ext) in &cases {
        // Named and typed as anything: the bytes decide.
        let response = app
            .upload_raw(bytes.clone(), "application/octet-stream")
            .await;
        assert_eq!(response.status(), 201, "{mime}");
        let d: MediaDescriptor = response.json().await.expect("descriptor");
        assert_eq!(d.content_type, *mime);
        assert_eq!(d.resource_type, *resource);
        assert_eq!(d.sha256, sha256_hex(bytes));
        assert_eq!(d.bytes, bytes.len() as u64);
        assert_eq!((d.width, d.height, d.placeholder.as_deref()), (0, 0, None));
        let path = format!("/{resource}/upload/{}.{ext}", d.id);
        assert!(d.url.ends_with(&path), "{}", d.url);
        ids.push((d.id.to_string(), path));
    }
    // The same bytes again, in a form this time: the same media.
    let again = app.upload(mp4.clone(), &[("folder", "videos")]).await;
    assert_eq!(again.status(), 200, "a repeat is not a creation");
    let d: MediaDescriptor = again.json().await.expect("descriptor");
    assert_eq!(d.id.as_str(), ids[0].0);
    assert_eq!(app.storage_counts().await.0, 4);

    let (video, video_path) = &ids[0];
    let whole = app.fetch(video_path, &[]).await;
    assert_eq!(whole.status(), 200);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "video/mp4");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["surrogate-key"], format!("media-{video}").as_str());
    assert_eq!(headers["access-control-allow-origin"], "*");
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    assert_eq!(whole.bytes().await.expect("body").as_ref(), mp4.as_slice());

    // Seeking: a byte range deep in the file.
    let part = app
        .fetch(video_path, &[("range", "bytes=150000-150099")])
        .await;
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 150000-150099/{}", mp4.len()).as_str()
    );
    assert_eq!(
        part.bytes().await.expect("body").as_ref(),
        &mp4[150_000..150_100]
    );
    let beyond = app.fetch(video_path, &[("range", "bytes=9999999-")]).await;
    assert_eq!(beyond.status(), 416);
    let revalidated = app.fetch(video_path, &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status(), 304);

    // The PDF, as uploaded.
    let (_, pdf_path) = &ids[3];
    let pdf = app.fetch(pdf_path, &[]).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(
        pdf.bytes().await.expect("body").as_ref(),
        cases[3].0.as_slice()
    );

    // Nothing to transform, and every wrong turn says where to go.
    for (path, code) in [
        (
            format!("/video/upload/c_fill,w_100/{video}.mp4"),
            "invalid-transformation",
        ),
        (
            format!("/video/upload/t_thumb/{video}.mp4"),
            "invalid-transformation",
        ),
        (format!("/image/upload/{video}.jpg"), "not-an-image"),
        (format!("/image/upload/t_thumb/{video}.jpg"), "not-an-image"),
        (format!("/video/upload/{video}.webm"), "no-conversion"),
        (format!("/raw/upload/{video}.mp4"), "wrong-resource-type"),
    ] {
        let message = refused(app.fetch(&path, &[]).await, 400, code).await;
        assert!(
            message.contains(video.as_str()) || code == "invalid-transformation",
            "{path}: {message}"
        );
    }
    let not_an_image = refused(
        app.fetch(&format!("/image/upload/{video}.jpg"), &[]).await,
        400,
        "not-an-image",
    )
    .await;
    assert!(not_an_image.contains(video_path.as_str()), "{not_an_image}");
    // Nothing was rendered or kept for those.
    assert_eq!(app.count("variants", doc! {}).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn each_kind_is_held_to_its_own_size_limit() {
    let app = spawn_media_with(|s| {
        s.limits.max_upload_bytes = 64 * 1024;
        s.limits.max_video_bytes = 256 * 1024;
        s.limits.max_raw_bytes = 32 * 1024;
    })
    .await;
    // A video four times the image limit fits its own.
    let video = app.upload(fixtures::mp4(200 * 1024, 3), &[]).await;
    assert_eq!(video.status(), 201);
    let message = refused(
        app.upload(fixtures::mp4(300 * 1024, 4), &[]).await,
        413,
        "too-large",
    )
    .await;
    assert!(message.contains(&(256 * 1024).to_string()), "{message}");
    // A declared length over the video limit is refused before reading.
    refused(
        app.upload_raw(fixtures::mp4(300 * 1024, 5), "video/mp4")
            .await,
        413,
        "too-large",
    )
    .await;
    // A PDF over its limit, and an image over its own, though both are
    // under the video limit.
    let mut big_pdf = fixtures::pdf("lookbook");
    big_pdf.extend(std::iter::repeat_n(b'%', 40 * 1024));
    refused(app.upload(big_pdf, &[]).await, 413, "too-large").await;
    refused(
        app.upload(fixtures::padded_png(100 * 1024, 1), &[]).await,
        413,
        "too-large",
    )
    .await;
    // Only the video stayed; nothing half-written.
    assert_eq!(app.await_storage_counts((1, 1, 4, 0)).await.0, 1);
    app.stop().await;
}

#[tokio::test]
async fn cloudinary_keeps_videos_and_pdfs_under_their_resource_types() {
    let fake = CloudinaryFake::start().await;
    let cloudinary = fake.settings();
    let app = spawn_media_with(|s| {
        s.backend = BackendKind::Cloudinary;
        s.cloudinary = Some(cloudinary);
        s.delivery.remote = RemoteDelivery::Proxy;
    })
    .await;
    let mp4 = fixtures::mp4(50 * 1024, 6);
    let pdf = fixtures::pdf("Lookbook invierno");
    let mut found = Vec::new();
    for (bytes, resource, ext) in [(&mp4, "video", "mp4"), (&pdf, "raw", "pdf")] {
        let response = app.upload(bytes.clone(), &[]).await;
        assert_eq!(response.status(), 201);
        let d: MediaDescriptor = response.json().await.expect("descriptor");
        assert_eq!(d.backend, "cloudinary");
        let record = app
            .documents("media", doc! { "_id": d.id.as_str() })
            .await
            .pop()
            .expect("record");
        let key = record.get_str("storage_key").expect("key").to_owned();
        let public_id = key
            .strip_prefix(&format!("{resource}:"))
            .unwrap_or_else(|| panic!("{key} names its resource type"));
        let stored = fake
            .resource_of(resource, public_id)
            .unwrap_or_else(|| panic!("uploaded as {resource}"));
        assert_eq!(&stored.bytes, bytes);
        assert!(fake.resource(public_id).is_none(), "not an image upload");
        // Delivered through us, ranges and all.
        let path = format!("/{resource}/upload/{}.{ext}", d.id);
        let part = app.fetch(&path, &[("range", "bytes=10-19")]).await;
        assert_eq!(part.status(), 206, "{path}");
        assert_eq!(part.bytes().await.expect("body").as_ref(), &bytes[10..20]);
        found.push((d.id, resource.to_owned(), public_id.to_owned()));
    }
    // Deleting destroys them under the same resource types.
    for (id, resource, public_id) in found {
        let deleted = app
            .admin(Method::DELETE, &format!("/v1/media/{id}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(deleted.status(), 204);
        assert!(
            fake.resource_of(&resource, &public_id).is_none(),
            "{resource} destroyed"
        );
    }
    assert_eq!(fake.resource_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_old_upload_endpoint_takes_videos_and_pdfs() {
    let media = spawn_media().await;
    let api = spawn_api_with(&mongo_uri(), &media.db_name, &media.address, |_| {}).await;
    let admin = api.admin().await;
    for (bytes, name, path) in [
        (fixtures::pdf("Guia de talles"), "guia.pdf", "/raw/upload/"),
        (fixtures::webm(3000, 7), "desfile.webm", "/video/upload/"),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name),
        );
        let response = api
            .request(Method::POST, "/api/uploads", Some(&admin.token))
            .multipart(form)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), 201, "{name}");
        let body: serde_json::Value = response.json().await.expect("json");
        let url = body["url"].as_str().expect("url");
        assert!(url.contains(path), "{url}");
        // Under media's public address, served by this media.
        let at = url.find(path).expect("a delivery path");
        let delivered = media.fetch(&url[at..], &[]).await;
        assert_eq!(delivered.status(), 200);
        assert_eq!(
            delivered.bytes().await.expect("body").as_ref(),
            bytes.as_slice()
        );
        // Not an image: a product photo is refused, and nothing claims it.
        let id = body["id"].as_str().expect("id");
        let product = api
            .request(Method::POST, "/api/shop/products", Some(&admin.token))
            .json(&serde_json::json!({
                "name": "Vestido", "sku": format!("F-{name}"), "price": 1000, "stock": 1,
                "image_ids": [id],
            }))
            .send()
            .await
            .expect("answer");
        assert_eq!(product.status(), 422, "{name}");
        let refusal: ErrorBody = product.json().await.expect("envelope");
        assert_eq!(refusal.field.as_deref(), Some("image_ids[0]"));
        assert!(
            refusal.message.contains("not an image"),
            "{}",
            refusal.message
        );
        let record = media
            .documents("media", doc! { "_id": id })
            .await
            .pop()
            .expect("record");
        assert!(
            record.get_array("refs").is_ok_and(Vec::is_empty),
            "{record}"
        );
    }
    media.stop().await;
}

/// The library page lists a video with a `<video>` preview and a PDF with
/// an icon, opens each without image tools, and links their originals.
#[tokio::test]
async fn the_library_page_previews_videos_and_pdfs() {
    let app = spawn_media().await;
    let image = upload(&app, fixtures::png(40, 30, 3), "vestido.png").await;
    let video = upload(&app, fixtures::mp4(20 * 1024, 8), "desfile.mp4").await;
    let pdf = upload(&app, fixtures::pdf("Guia"), "guia.pdf").await;
    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&app.url("/admin/media"))
        .await
        .expect("open the page");
    browser
        .eval(&format!(
            "(sessionStorage.setItem('avenue-media-token', '{}'), location.reload(), true)",
            app.admin_token
        ))
        .await;
    browser
        .until("document.querySelectorAll('#grid .card').length === 3")
        .await;
    let kinds = browser
        .eval(&format!(
            "['{image}', '{video}', '{pdf}'].map(id => {{ const c = document.querySelector(`.card[data-id='${{id}}']`); \
             return [c.className, c.firstElementChild.tagName, c.firstElementChild.getAttribute('src') || c.firstElementChild.textContent, c.children[2].textContent]; }})"
        ))
        .await;
    let kinds = kinds.as_array().expect("cards");
    assert_eq!(kinds[0][1], "IMG", "{kinds:?}");
    assert_eq!(kinds[1][1], "VIDEO", "{kinds:?}");
    assert!(
        kinds[1][2]
            .as_str()
            .expect("src")
            .starts_with(&format!("/video/upload/{video}.mp4")),
        "{kinds:?}"
    );
    assert_eq!(kinds[1][3], "video/mp4");
    assert_eq!(kinds[2][1], "SPAN", "{kinds:?}");
    assert_eq!(kinds[2][2], "PDF");
    // What the preview asks for is served (the fixture is not a playable
    // movie, so the player's own state says nothing here).
    let src = kinds[1][2]
        .as_str()
        .expect("src")
        .trim_end_matches("#t=0.1");
    let served = app.fetch(src, &[("range", "bytes=0-")]).await;
    assert_eq!(served.status(), 206);

    // Opening the PDF: a link to the original, no preset or signing tools.
    browser
        .eval(&format!(
            "(document.querySelector(`.card[data-id='{pdf}']`).click(), true)"
        ))
        .await;
    browser
        .until(&format!(
            "document.getElementById('detail-id').textContent === '{pdf}'"
        ))
        .await;
    let details = browser
        .eval("[document.getElementById('preview').hidden, document.getElementById('preview-file').hidden, document.getElementById('preview-file').getAttribute('href'), document.getElementById('sign').hidden, document.getElementById('url').value, document.getElementById('variants').textContent]")
        .await;
    assert_eq!(details[0], true, "{details}");
    assert_eq!(details[1], false, "{details}");
    assert_eq!(
        details[2],
        format!("/raw/upload/{pdf}.pdf").as_str(),
        "{details}"
    );
    assert_eq!(details[3], true, "{details}");
    assert_eq!(
        details[4],
        app.url(&format!("/raw/upload/{pdf}.pdf")).as_str()
    );
    assert!(
        details[5].as_str().expect("text").contains("as uploaded"),
        "{details}"
    );
    let fetched = app.fetch(&format!("/raw/upload/{pdf}.pdf"), &[]).await;
    assert_eq!(fetched.status(), 200);

    // Opening the video: a player on the original.
    browser
        .eval(&format!(
            "(document.querySelector(`.card[data-id='{video}']`).click(), true)"
        ))
        .await;
    browser
        .until(&format!(
            "document.getElementById('detail-id').textContent === '{video}'"
        ))
        .await;
    let player = browser
        .eval("[document.getElementById('preview-video').hidden, document.getElementById('preview-video').getAttribute('src'), document.getElementById('preview').hidden]")
        .await;
    assert_eq!(player[0], false, "{player}");
    assert_eq!(player[1], format!("/video/upload/{video}.mp4").as_str());
    assert_eq!(player[2], true, "{player}");
    browser.stop().await;
    app.stop().await;
}

async fn upload(app: &MediaApp, bytes: Vec<u8>, name: &str) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let response = app
        .admin(Method::POST, "/v1/media")
        .multipart(form)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 201, "{name}");
    let d: MediaDescriptor = response.json().await.expect("descriptor");
    d.id.to_string()
}
