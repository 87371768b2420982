//! Media that embeds itself: a page read carries, per block, what a front
//! end needs to draw each image, from one lookup to media.

use avenue_tests::api::spawn_stack;
use avenue_tests::fixtures;
use reqwest::Method;
use serde_json::{json, Value};

async fn upload_sized(
    stack: &avenue_tests::api::Stack,
    token: &str,
    width: u32,
    seed: u8,
) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(fixtures::png(width, width / 2, seed))
            .file_name("wide.png"),
    );
    let answer: Value = stack
        .api
        .request(Method::POST, "/api/uploads", Some(token))
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("uploaded");
    answer["id"].as_str().expect("id").to_owned()
}

/// A page read by slug carries, per block, what an `<img>` needs: the URL,
/// the size, the alt text (the block's, else the library's), the type and
/// a srcset whose every URL media serves unsigned; without media, the page
/// still answers, marked.
#[tokio::test]
async fn a_public_page_embeds_its_media_and_survives_media_being_away() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let wide = upload_sized(&stack, &admin.token, 700, 1).await;
    let small = upload_sized(&stack, &admin.token, 200, 2).await;
    // The library's alt text for the small one.
    let patched = stack
        .media
        .admin(Method::PATCH, &format!("/v1/media/{small}"))
        .json(&json!({ "alt": "Remera azul" }))
        .send()
        .await
        .expect("patch");
    assert!(patched.status().is_success());
    let page = api
        .expect(
            201,
            Method::POST,
            "/api/pages",
            Some(&admin.token),
            Some(json!({ "slug": "verano", "title": "Verano", "blocks": [
                { "type": "heading", "text": "Verano", "level": 1 },
                { "type": "image", "media_id": wide, "alt": "Vestido largo", "caption": null },
                { "type": "gallery", "media_ids": [small, wide] },
            ] })),
        )
        .await;
    let id = page["id"].as_str().expect("id");
    api.expect(
        200,
        Method::POST,
        &format!("/api/pages/{id}/publish"),
        Some(&admin.token),
        None,
    )
    .await;

    let read = api
        .expect(200, Method::GET, "/api/pages/verano", None, None)
        .await;
    let embeds = read["embeds"].as_array().expect("embeds");
    assert_eq!(embeds.len(), 3, "{read}");
    assert_eq!(embeds[0], json!([]), "a heading shows no media");
    let image = &embeds[1][0];
    assert_eq!(image["id"], wide.as_str());
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(700), Some(350))
    );
    assert_eq!(image["alt"], "Vestido largo", "the block's own alt");
    assert_eq!(image["content_type"], "image/png");
    let gallery = embeds[2].as_array().expect("gallery");
    assert_eq!(gallery[0]["alt"], "Remera azul", "the library's alt");
    assert_eq!(gallery[1]["alt"], Value::Null);
    let media_base = format!("http://127.0.0.1:{}", stack.media_link.port);
    let srcset = image["srcset"].as_str().expect("srcset");
    let entries: Vec<(&str, &str)> = srcset
        .split(", ")
        .map(|e| e.split_once(' ').expect("URL and width"))
        .collect();
    assert_eq!(
        entries.iter().map(|(_, w)| *w).collect::<Vec<_>>(),
        ["320w", "640w", "700w"],
        "{srcset}"
    );
    for (url, width) in entries {
        assert!(url.starts_with(&media_base), "{url}");
        let answer = reqwest::get(url).await.expect("srcset URL");
        assert_eq!(answer.status(), 200, "{url}");
        let bytes = answer.bytes().await.expect("bytes");
        let size = imagesize::blob_size(&bytes).expect("an image");
        assert_eq!(format!("{}w", size.width), width, "{url}");
    }
    assert_eq!(
        gallery[0]["srcset"].as_str().map(|s| s.split(", ").count()),
        Some(1),
        "smaller than every responsive width: the original only"
    );

    // Media away: the page still answers, ids in its blocks, marked.
    stack.media_link.cut();
    let without = api
        .expect(200, Method::GET, "/api/pages/verano", None, None)
        .await;
    assert_eq!(without["media_unavailable"], true, "{without}");
    assert_eq!(without["blocks"][1]["media_id"], wide.as_str());
    stack.media_link.restore();
    stack.stop().await;
}
