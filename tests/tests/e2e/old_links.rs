//! Old links keep working: the old back end's upload URLs redirect to the
//! images an import made of them, and the old admin front end may send our
//! own delivery URLs wherever an id is taken.

use avenue_tests::api::spawn_stack;
use avenue_tests::scratch::ScratchDir;
use avenue_tests::{fixtures, media_command};
use reqwest::redirect::Policy;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn old_upload_links_redirect_to_the_images_they_became() {
    let stack = spawn_stack().await;
    let scratch = ScratchDir::new("old-links");
    let folder = scratch.path();
    std::fs::create_dir_all(folder.join("ropa")).expect("folder");
    std::fs::write(
        folder.join("ropa/vestido azul.png"),
        fixtures::png(12, 9, 4),
    )
    .expect("file");
    std::fs::write(folder.join("logo.png"), fixtures::png(5, 5, 8)).expect("file");
    let mapping = folder.join("map.jsonl");
    let import = media_command(
        &stack.media.db_name,
        None,
        &[
            "import-dir",
            folder.to_str().expect("utf-8"),
            "--mapping",
            mapping.to_str().expect("utf-8"),
        ],
    )
    .output()
    .await
    .expect("import-dir");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&mapping)
        .expect("mapping")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let dress = lines
        .iter()
        .find(|l| l["path"] == "ropa/vestido azul.png")
        .expect("the dress imported");

    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    for (method, path) in [
        (Method::GET, "/api/uploads/ropa/vestido%20azul.png"),
        (Method::HEAD, "/api/uploads/ropa/vestido%20azul.png"),
        (Method::GET, "/uploads/ropa/vestido%20azul.png?v=3"),
    ] {
        let answer = http
            .request(method.clone(), stack.api.url(path))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status(), 301, "{method} {path}");
        let location = answer.headers()["location"]
            .to_str()
            .expect("text")
            .to_owned();
        // The api's public media base, and the path of the dress's original.
        let expected = format!(
            "http://127.0.0.1:{}/image/upload/{}.png",
            stack.media_link.port,
            dress["media_id"].as_str().expect("media id")
        );
        assert_eq!(location, expected, "{method} {path}");
        // And the redirect lands on the image itself.
        let image = reqwest::get(&location).await.expect("follow");
        assert_eq!(image.status(), 200);
        assert_eq!(image.headers()["content-type"], "image/png");
    }
    let unknown = http
        .get(stack.api.url("/api/uploads/ropa/nunca.jpg"))
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.expect("a JSON error");
    assert_eq!(body["code"], "not-found", "{body}");
    // POST /api/uploads still uploads.
    let admin = stack.api.admin().await;
    let uploaded = stack.api.upload(&admin, 3, None).await;
    assert_eq!(uploaded.status(), 201);
    // Made for a form that may never be saved: pending, it expires unclaimed.
    let uploaded: Value = uploaded.json().await.expect("uploaded");
    let descriptor: Value = stack
        .media
        .admin(
            Method::GET,
            &format!("/v1/media/{}", uploaded["id"].as_str().expect("id")),
        )
        .send()
        .await
        .expect("descriptor")
        .json()
        .await
        .expect("json");
    assert_eq!(descriptor["pending"], true, "{descriptor}");
    stack.stop().await;
}

#[tokio::test]
async fn our_delivery_urls_are_taken_where_ids_are_and_others_are_refused() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let id = api.upload_id(&admin, 5).await;
    // Under the media base the api was given, with any transformation.
    let media_base = format!("http://127.0.0.1:{}", stack.media_link.port);
    let ours = [
        format!("{media_base}/image/upload/{id}.jpg"),
        format!("{media_base}/image/upload/t_product/{id}.webp"),
        format!("{media_base}/image/upload/c_fill,w_300,h_300/f_auto/{id}.png"),
    ];
    let created = api
        .expect(
            201,
            Method::POST,
            "/api/shop/products",
            Some(&admin.token),
            Some(
                json!({ "name": "Linked coat", "sku": "LINK-1", "price": 1000, "stock": 1,
                         "image_ids": ours, "status": "published" }),
            ),
        )
        .await;
    // The three name one image, kept once.
    assert_eq!(created["image_ids"], json!([id]), "{created}");

    let refused = api
        .expect(
            422,
            Method::POST,
            "/api/shop/products",
            Some(&admin.token),
            Some(
                json!({ "name": "Foreign coat", "sku": "LINK-2", "price": 1000, "stock": 1,
                         "image_ids": ["https://imgur.test/coat.jpg"] }),
            ),
        )
        .await;
    assert_eq!(refused["field"], "image_ids[0]", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("not an image of this site")),
        "{refused}"
    );

    let page = api
        .expect(
            201,
            Method::POST,
            "/api/pages",
            Some(&admin.token),
            Some(json!({ "slug": "lookbook", "title": "Lookbook", "blocks": [
                { "type": "image", "media_id": ours[1], "alt": "coat", "caption": null },
                { "type": "gallery", "media_ids": [ours[0], ours[2]] },
            ] })),
        )
        .await;
    assert_eq!(page["blocks"][0]["media_id"], id.as_str(), "{page}");
    assert_eq!(page["blocks"][1]["media_ids"], json!([id, id]), "{page}");

    let setting = api
        .expect(
            200,
            Method::PUT,
            "/api/admin/settings/site.logo_media_id",
            Some(&admin.token),
            Some(json!({ "value": ours[2] })),
        )
        .await;
    assert_eq!(setting["value"], id.as_str(), "{setting}");
    api.expect(
        422,
        Method::PUT,
        "/api/admin/settings/site.logo_media_id",
        Some(&admin.token),
        Some(json!({ "value": "https://imgur.test/logo.png" })),
    )
    .await;
    stack.stop().await;
}
