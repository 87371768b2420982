//! Media that embeds itself: a page read carries, per block, what a front
//! end needs to draw each image, from one lookup to media.

use avenue_tests::api::spawn_stack;
use avenue_tests::fixtures;
use reqwest::Method;
use serde_json::{json, Value};

/// Batched lookups media has answered so far.
async fn lookups(stack: &avenue_tests::api::Stack) -> f64 {
    stack
        .media
        .metric(
            "avenue_media_http_requests_total{method=\"POST\",route=\"/v1/media/lookup\",status=\"200\"}",
        )
        .await
}

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
                { "type": "gallery", "media_ids": [small, wide], "alts": [null, "Vestido de lado"] },
                { "type": "hero", "title": "Nueva temporada", "media_id": wide, "alt": "Portada" },
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

    let lookups_before = lookups(&stack).await;
    let read = api
        .expect(200, Method::GET, "/api/pages/verano", None, None)
        .await;
    assert_eq!(
        lookups(&stack).await - lookups_before,
        1.0,
        "six images, one lookup"
    );
    let embeds = read["embeds"].as_array().expect("embeds");
    assert_eq!(embeds.len(), 5, "{read}");
    // Gallery items and the hero carry their own alt text.
    assert_eq!(
        embeds[3][0]["alt"], "Remera azul",
        "no own alt: the library's"
    );
    assert_eq!(embeds[3][1]["alt"], "Vestido de lado");
    assert_eq!(embeds[4][0]["alt"], "Portada");
    assert_eq!(read["blocks"][4]["alt"], "Portada");
    // A placeholder to paint while loading, computed at upload.
    let hash = embeds[1][0]["placeholder"].as_str().expect("placeholder");
    assert_eq!(hash.len(), 28, "{hash}");
    assert_eq!(embeds[1][0]["resource_type"], "image");
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

/// Products, profiles and settings embed their media too: one lookup per
/// read (a whole product page included), ids kept and marked when media is
/// away. The page editor previews unsaved blocks the same way.
#[tokio::test]
async fn products_profiles_settings_and_previews_embed_their_media() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let front = upload_sized(&stack, &admin.token, 1000, 11).await;
    let back = upload_sized(&stack, &admin.token, 400, 12).await;

    for (sku, images) in [("EMB-1", json!([front, back])), ("EMB-2", json!([back]))] {
        api.expect(
            201,
            Method::POST,
            "/api/shop/products",
            Some(&admin.token),
            Some(json!({
                "name": format!("Vestido {sku}"), "sku": sku, "price": 150000, "stock": 3,
                "status": "published", "image_ids": images,
            })),
        )
        .await;
    }
    let before = lookups(&stack).await;
    let list = api
        .expect(200, Method::GET, "/api/shop/products?limit=10", None, None)
        .await;
    assert_eq!(
        lookups(&stack).await - before,
        1.0,
        "one lookup for the whole list"
    );
    let items = list["items"].as_array().expect("items");
    let first = items
        .iter()
        .find(|p| p["sku"] == "EMB-1")
        .expect("EMB-1 listed");
    let images = first["images"].as_array().expect("images");
    assert_eq!(images.len(), 2, "{first}");
    assert_eq!(images[0]["id"], front.as_str());
    assert_eq!(
        (images[0]["width"].as_u64(), images[0]["height"].as_u64()),
        (Some(1000), Some(500))
    );
    assert_eq!(
        images[0]["srcset"].as_str().map(|s| s.split(", ").count()),
        Some(4),
        "{first}"
    );
    assert_eq!(images[0]["placeholder"].as_str().map(str::len), Some(28));
    assert_eq!(images[1]["id"], back.as_str());
    let slug = first["slug"].as_str().expect("slug");
    let one = api
        .expect(
            200,
            Method::GET,
            &format!("/api/shop/products/{slug}"),
            None,
            None,
        )
        .await;
    assert_eq!(one["images"], first["images"]);

    // A creator's picture and the site logo.
    let creator = api.user("creator").await;
    let portrait = upload_sized(&stack, &creator.token, 300, 13).await;
    api.expect(
        201,
        Method::PUT,
        "/api/ugc/creators/me",
        Some(&creator.token),
        Some(json!({
            "name": "Creadora", "bio": "Moda", "niches": ["moda"], "profile_image": portrait,
        })),
    )
    .await;
    let mine = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/creators/me",
            Some(&creator.token),
            None,
        )
        .await;
    assert_eq!(mine["picture"]["id"], portrait.as_str(), "{mine}");
    assert_eq!(mine["picture"]["content_type"], "image/png");
    let listed = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/creators",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(listed[0]["picture"]["id"], portrait.as_str(), "{listed}");
    let logo = api
        .expect(
            200,
            Method::PUT,
            "/api/admin/settings/site.logo_media_id",
            Some(&admin.token),
            Some(json!({ "value": front })),
        )
        .await;
    assert_eq!(logo["media"]["id"], front.as_str(), "{logo}");
    let public = api
        .expect(200, Method::GET, "/api/settings/public", None, None)
        .await;
    assert_eq!(public["site.logo_media_id"], front.as_str());
    assert_eq!(
        public["media"]["site.logo_media_id"]["width"], 1000,
        "{public}"
    );

    // The editor's preview of unsaved blocks, checked like a save.
    let preview = api
        .expect(
            200,
            Method::POST,
            "/api/page-preview",
            Some(&admin.token),
            Some(json!({ "blocks": [
            { "type": "text", "text": "Hola" },
            { "type": "gallery", "media_ids": [front, back], "alts": ["Frente"] },
        ] })),
        )
        .await;
    assert_eq!(preview["embeds"][0], json!([]));
    assert_eq!(preview["embeds"][1][0]["alt"], "Frente");
    assert_eq!(preview["embeds"][1][1]["id"], back.as_str());
    api.expect(
        422,
        Method::POST,
        "/api/page-preview",
        Some(&admin.token),
        Some(json!({ "blocks": [
        { "type": "gallery", "media_ids": [front], "alts": ["a", "b"] },
    ] })),
    )
    .await;
    api.expect(
        403,
        Method::POST,
        "/api/page-preview",
        Some(&creator.token),
        Some(json!({ "blocks": [] })),
    )
    .await;

    // Media away: every read still answers, ids kept, marked.
    stack.media_link.cut();
    let without = api
        .expect(
            200,
            Method::GET,
            &format!("/api/shop/products/{slug}"),
            None,
            None,
        )
        .await;
    assert_eq!(without["media_unavailable"], true, "{without}");
    assert_eq!(without["image_ids"][0], front.as_str());
    let mine = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/creators/me",
            Some(&creator.token),
            None,
        )
        .await;
    assert_eq!(mine["media_unavailable"], true, "{mine}");
    assert_eq!(mine["profile_image"], portrait.as_str());
    let public = api
        .expect(200, Method::GET, "/api/settings/public", None, None)
        .await;
    assert_eq!(public["media_unavailable"], true, "{public}");
    stack.media_link.restore();
    stack.stop().await;
}
