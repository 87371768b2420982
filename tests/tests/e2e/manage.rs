//! Showing, listing, editing and deleting media.

use std::collections::HashSet;

use avenue_shared::{ErrorBody, MediaDescriptor, MediaPage};
use avenue_tests::{fixtures, spawn_media, MediaApp};
use mongodb::bson::doc;
use reqwest::Method;
use serde_json::json;

async fn stored(app: &MediaApp, seed: u8, fields: &[(&str, &str)]) -> MediaDescriptor {
    let response = app.upload(fixtures::png(6, 6, seed), fields).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

async fn page(app: &MediaApp, query: &str) -> MediaPage {
    let response = app
        .admin(Method::GET, &format!("/v1/media?{query}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.expect("page")
}

#[tokio::test]
async fn show_answers_the_descriptor_or_404() {
    let app = spawn_media().await;
    let d = stored(&app, 1, &[("alt", "hello")]).await;
    let shown: MediaDescriptor = app
        .admin(Method::GET, &format!("/v1/media/{}", d.id))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("descriptor");
    assert_eq!(shown, d);
    let missing = app
        .admin(Method::GET, "/v1/media/ffffffffffffffffffffffffffffffff")
        .send()
        .await
        .expect("answer");
    assert_eq!(missing.status(), 404);
    let malformed = app
        .admin(Method::GET, "/v1/media/nope")
        .send()
        .await
        .expect("answer");
    assert_eq!(malformed.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn listing_pages_newest_first_without_gaps_or_repeats() {
    let app = spawn_media().await;
    let mut created = Vec::new();
    for seed in 0..7u8 {
        let folder = if seed % 2 == 0 { "even" } else { "odd" };
        let tags = if seed % 3 == 0 { "three,all" } else { "all" };
        created.push(stored(&app, seed, &[("folder", folder), ("tags", tags)]).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".into(),
        };
        let p = page(&app, &query).await;
        pages += 1;
        assert!(p.items.len() <= 3);
        seen.extend(p.items.into_iter().map(|d| d.id));
        match p.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<_> = created.iter().rev().map(|d| d.id.clone()).collect();
    assert_eq!(seen, expected, "newest first, each once");

    let even = page(&app, "folder=even").await;
    assert_eq!(even.items.len(), 4);
    assert!(even
        .items
        .iter()
        .all(|d| d.folder.as_deref() == Some("even")));
    let three = page(&app, "tag=three").await;
    let ids: HashSet<_> = three.items.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids.len(), 3); // seeds 0, 3, 6
    let both = page(&app, "folder=even&tag=three").await;
    assert_eq!(both.items.len(), 2); // seeds 0, 6
    assert!(page(&app, "folder=nothing-here").await.items.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn bad_listing_parameters_are_400() {
    let app = spawn_media().await;
    for query in [
        "limit=0",
        "limit=201",
        "limit=ten",
        "cursor=garbage",
        "folder=../x",
        "tag=",
    ] {
        let response = app
            .admin(Method::GET, &format!("/v1/media?{query}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), 400, "{query}");
        let _: ErrorBody = response.json().await.expect("envelope");
    }
    app.stop().await;
}

#[tokio::test]
async fn patch_sets_and_clears_fields() {
    let app = spawn_media().await;
    let d = stored(
        &app,
        1,
        &[("folder", "old"), ("alt", "old alt"), ("tags", "a")],
    )
    .await;
    let patch = |body: serde_json::Value| {
        app.admin(Method::PATCH, &format!("/v1/media/{}", d.id))
            .json(&body)
            .send()
    };
    let updated: MediaDescriptor = patch(json!({ "alt": "New alt", "tags": ["x", "y", "x"] }))
        .await
        .expect("answer")
        .json()
        .await
        .expect("descriptor");
    assert_eq!(updated.alt.as_deref(), Some("New alt"));
    assert_eq!(updated.tags, vec!["x", "y"]);
    assert_eq!(updated.folder.as_deref(), Some("old"), "absent fields stay");
    assert_eq!(updated.sha256, d.sha256);

    let cleared: MediaDescriptor = patch(json!({ "folder": null, "alt": null }))
        .await
        .expect("answer")
        .json()
        .await
        .expect("descriptor");
    assert_eq!(cleared.folder, None);
    assert_eq!(cleared.alt, None);
    assert_eq!(cleared.tags, vec!["x", "y"]);

    let reread: MediaDescriptor = app
        .admin(Method::GET, &format!("/v1/media/{}", d.id))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("descriptor");
    assert_eq!(reread, cleared, "the change was stored");
    app.stop().await;
}

#[tokio::test]
async fn bad_patches_are_refused_and_change_nothing() {
    let app = spawn_media().await;
    let d = stored(&app, 2, &[("folder", "keep")]).await;
    let url = format!("/v1/media/{}", d.id);
    let cases: Vec<(&str, &str, u16, &str)> = vec![
        ("{\"alt\": ", "application/json", 400, "malformed-json"),
        (
            "{\"colour\": \"red\"}",
            "application/json",
            422,
            "invalid-json-shape",
        ),
        (
            "{\"tags\": \"not-a-list\"}",
            "application/json",
            422,
            "invalid-json-shape",
        ),
        (
            "{\"folder\": \"a//b\"}",
            "application/json",
            400,
            "invalid-field",
        ),
        ("{\"alt\": \"x\"}", "text/plain", 415, "expected-json"),
    ];
    for (body, content_type, status, code) in cases {
        let response = app
            .admin(Method::PATCH, &url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), status, "{body}");
        let error: ErrorBody = response.json().await.expect("envelope");
        assert_eq!(error.code, code, "{body}");
    }
    let huge = json!({ "alt": "x".repeat(3 * 1024 * 1024) });
    let response = app
        .admin(Method::PATCH, &url)
        .json(&huge)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 413);

    let missing = app
        .admin(Method::PATCH, "/v1/media/ffffffffffffffffffffffffffffffff")
        .json(&json!({ "alt": "x" }))
        .send()
        .await
        .expect("answer");
    assert_eq!(missing.status(), 404);
    let unchanged: MediaDescriptor = app
        .admin(Method::GET, &url)
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("descriptor");
    assert_eq!(unchanged, d);
    app.stop().await;
}

#[tokio::test]
async fn delete_removes_the_record_and_every_byte() {
    let app = spawn_media().await;
    let keep = stored(&app, 1, &[]).await;
    let bytes = fixtures::padded_png(700 * 1024, 3);
    let gone: MediaDescriptor = app
        .upload(bytes, &[])
        .await
        .json()
        .await
        .expect("descriptor");
    assert_eq!(app.storage_counts().await, (2, 2, 4, 0));

    let response = app
        .admin(Method::DELETE, &format!("/v1/media/{}", gone.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 204);
    assert_eq!(app.storage_counts().await, (1, 1, 1, 0));
    let show = app
        .admin(Method::GET, &format!("/v1/media/{}", gone.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(show.status(), 404);
    let deliver = app
        .fetch(&format!("/image/upload/{}.png", gone.id), &[])
        .await;
    assert_eq!(deliver.status(), 404);
    let again = app
        .admin(Method::DELETE, &format!("/v1/media/{}", gone.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(again.status(), 404);
    let still = app
        .fetch(&format!("/image/upload/{}.png", keep.id), &[])
        .await;
    assert_eq!(still.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn claimed_media_cannot_be_deleted_until_every_claim_is_released() {
    let app = spawn_media().await;
    let d = stored(&app, 41, &[]).await;
    let claim = |reference: &'static str| {
        app.admin(reqwest::Method::POST, &format!("/v1/media/{}/refs", d.id))
            .json(&serde_json::json!({ "ref": reference }))
            .send()
    };
    for _ in 0..2 {
        let claimed = claim("shop_products:p1").await.expect("answer");
        assert_eq!(claimed.status(), 200, "claims are idempotent");
        let body: MediaDescriptor = claimed.json().await.expect("descriptor");
        assert_eq!(body.refs.len(), 1);
    }
    assert_eq!(
        claim("page_content:home").await.expect("answer").status(),
        200
    );

    let refused = app
        .admin(reqwest::Method::DELETE, &format!("/v1/media/{}", d.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 409);
    let body: ErrorBody = refused.json().await.expect("envelope");
    assert_eq!(body.code, "media-in-use");
    assert!(
        body.message.contains("shop_products:p1") && body.message.contains("page_content:home"),
        "{}",
        body.message
    );
    assert_eq!(app.storage_counts().await, (1, 1, 1, 0), "nothing removed");

    for reference in ["shop_products:p1", "page_content:home", "page_content:home"] {
        let released = app
            .admin(
                reqwest::Method::DELETE,
                &format!("/v1/media/{}/refs/{reference}", d.id),
            )
            .send()
            .await
            .expect("answer");
        assert_eq!(released.status(), 204, "releases are idempotent");
    }
    let record = app.documents("media", doc! {}).await.remove(0);
    assert!(
        record.get_datetime("released_at").is_ok(),
        "last release noted"
    );

    let unknown = app
        .admin(
            reqwest::Method::POST,
            "/v1/media/00000000000000000000000000000000/refs",
        )
        .json(&serde_json::json!({ "ref": "shop_products:p1" }))
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status(), 404);
    let bad = claim("no colon here").await.expect("answer");
    assert_eq!(bad.status(), 400);

    let deleted = app
        .admin(reqwest::Method::DELETE, &format!("/v1/media/{}", d.id))
        .send()
        .await
        .expect("answer");
    assert_eq!(deleted.status(), 204);
    app.stop().await;
}
