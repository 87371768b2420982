//! The CDN can forget: every delivery answer names its media in
//! `Surrogate-Key` and `Cache-Tag`, errors are cached briefly or never, and
//! every removal reaches the CDN's purge API through a journal that retries
//! and survives a restart.

use std::time::Duration;

use avenue_media::config::Secret;
use avenue_media::purge::PurgeTarget;
use avenue_shared::MediaDescriptor;
use avenue_tests::cdn_fake::{CdnFake, SERVICE, TOKEN, WEBHOOK_SECRET, ZONE};
use avenue_tests::chaos::free_port;
use avenue_tests::{fixtures, spawn_media, spawn_media_on, spawn_media_with, unique_db, MediaApp};
use reqwest::Method;

async fn uploaded(app: &MediaApp, seed: u8) -> MediaDescriptor {
    app.upload(fixtures::png(8, 6, seed), &[])
        .await
        .json()
        .await
        .expect("descriptor")
}

fn purging(target: PurgeTarget) -> impl FnOnce(&mut avenue_media::Settings) {
    move |s| {
        s.purge.target = Some(target);
        s.purge.interval = Duration::from_millis(100);
        s.purge.first_backoff = Duration::from_millis(200);
    }
}

fn tag(media: &MediaDescriptor) -> String {
    format!("media-{}", media.id)
}

#[tokio::test]
async fn delivery_answers_name_their_media_and_errors_are_cached_briefly() {
    let app = spawn_media_with(|s| s.delivery.cors_origin = "https://avenue.com.py".into()).await;
    let media = uploaded(&app, 1).await;
    let client = reqwest::Client::new();
    for path in [
        format!("/image/upload/{}.png", media.id),
        format!("/image/upload/t_thumb/{}.jpg", media.id),
    ] {
        let answer = client.get(app.url(&path)).send().await.expect("answer");
        assert_eq!(answer.status(), 200, "{path}");
        let headers = answer.headers();
        assert_eq!(headers["surrogate-key"], tag(&media).as_str(), "{path}");
        assert_eq!(headers["cache-tag"], tag(&media).as_str(), "{path}");
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://avenue.com.py"
        );
        assert_eq!(headers["timing-allow-origin"], "https://avenue.com.py");
        assert!(headers["cache-control"]
            .to_str()
            .is_ok_and(|c| c.contains("immutable")));
    }
    let missing = "0123456789abcdef0123456789abcdef";
    let gone = client
        .get(app.url(&format!("/image/upload/{missing}.jpg")))
        .send()
        .await
        .expect("answer");
    assert_eq!(gone.status(), 404);
    assert_eq!(gone.headers()["cache-control"], "public, max-age=60");
    assert_eq!(
        gone.headers()["surrogate-key"],
        format!("media-{missing}").as_str()
    );
    app.stop().await;
}

/// The database is away: delivery answers 503, which no CDN may keep.
#[tokio::test]
async fn a_server_error_is_never_cached() {
    let uri = avenue_tests::mongo_uri();
    let host = uri
        .trim_start_matches("mongodb://")
        .split(['/', '?'])
        .next()
        .expect("host:port")
        .to_owned();
    let proxy = avenue_tests::proxy::CuttableProxy::start(host).await;
    let through = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let app = spawn_media_with(|s| s.mongodb.uri = Secret::new(&through)).await;
    proxy.cut();
    let answer = reqwest::get(app.url("/image/upload/0123456789abcdef0123456789abcdef.jpg"))
        .await
        .expect("answer");
    assert!(answer.status().is_server_error(), "{}", answer.status());
    assert_eq!(answer.headers()["cache-control"], "no-store");
    assert_eq!(
        answer.headers()["surrogate-key"],
        "media-0123456789abcdef0123456789abcdef"
    );
    proxy.restore();
    app.stop().await;
}

#[tokio::test]
async fn deletes_reach_cloudflare_by_tag() {
    let cdn = CdnFake::start().await;
    let app = spawn_media_with(purging(PurgeTarget::Cloudflare {
        zone: ZONE.into(),
        token: Secret::new(TOKEN),
        api_base: cdn.base(),
    }))
    .await;
    let (a, b) = (uploaded(&app, 3).await, uploaded(&app, 4).await);
    for media in [&a, &b] {
        let deleted = app
            .admin(Method::DELETE, &format!("/v1/media/{}", media.id))
            .send()
            .await
            .expect("delete");
        assert_eq!(deleted.status(), 204);
    }
    cdn.wait_for(&[tag(&a), tag(&b)]).await;
    assert!(cdn.refused().is_empty(), "{:?}", cdn.refused());
    let status: serde_json::Value = app
        .admin(Method::GET, "/v1/storage/status")
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["cdn_purges"]["done"], 2, "{status}");
    cdn.stop();
    app.stop().await;
}

#[tokio::test]
async fn an_erased_owner_reaches_fastly_by_surrogate_key() {
    let cdn = CdnFake::start().await;
    let app = spawn_media_with(purging(PurgeTarget::Fastly {
        service: SERVICE.into(),
        token: Secret::new(TOKEN),
        api_base: cdn.base(),
    }))
    .await;
    let media = uploaded(&app, 5).await;
    let erased = app
        .admin(Method::DELETE, "/v1/media?owner=tester")
        .send()
        .await
        .expect("erase");
    assert_eq!(erased.status(), 200, "{:?}", erased.text().await);
    cdn.wait_for(&[tag(&media)]).await;
    assert!(cdn.refused().is_empty(), "{:?}", cdn.refused());
    cdn.stop();
    app.stop().await;
}

/// The webhook is down when the media goes, answers 500 when it comes
/// back, and the media service restarts in between: the purge still
/// arrives, signed, exactly as journalled.
#[tokio::test]
async fn a_webhook_purge_survives_failures_and_a_restart() {
    let port = free_port();
    let target = PurgeTarget::Webhook {
        url: url::Url::parse(&format!("http://127.0.0.1:{port}/purge")).expect("url"),
        secret: Secret::new(WEBHOOK_SECRET),
    };
    let db_name = unique_db();
    let first = spawn_media_on(&db_name, purging(target.clone())).await;
    let media = uploaded(&first, 6).await;
    let deleted = first
        .admin(Method::DELETE, &format!("/v1/media/{}", media.id))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let purges = mongodb::Client::with_uri_str(avenue_tests::mongo_uri())
        .await
        .expect("client")
        .database(&db_name)
        .collection::<mongodb::bson::Document>("purges");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let entry = purges
            .find_one(mongodb::bson::doc! {})
            .await
            .expect("read")
            .expect("journalled");
        if entry.get_i32("attempts").unwrap_or(0) >= 1 && entry.get_str("status") == Ok("pending") {
            assert!(entry.get_str("last_error").is_ok(), "{entry}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{entry}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.stop_keeping_data().await;

    let cdn = CdnFake::start_on(port).await;
    cdn.fail_next(2);
    let second = spawn_media_on(&db_name, purging(target)).await;
    cdn.wait_for(&[tag(&media)]).await;
    assert!(cdn.refused().is_empty(), "{:?}", cdn.refused());
    let entry = purges
        .find_one(mongodb::bson::doc! {})
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(entry.get_str("status"), Ok("done"), "{entry}");
    assert!(entry.get_i32("attempts").unwrap_or(0) >= 4, "{entry}");
    cdn.stop();
    second.stop().await;
}

/// A `srcset` needs widths nobody signed: the allowed responsive widths
/// are served unsigned in strict mode, at that width, and nothing else is.
#[tokio::test]
async fn responsive_widths_are_served_unsigned_and_only_those() {
    let app = spawn_media_with(|s| {
        assert!(s.delivery.strict);
        s.delivery.responsive_widths = vec![320, 640];
    })
    .await;
    let media: MediaDescriptor = app
        .upload(fixtures::png(900, 300, 7), &[])
        .await
        .json()
        .await
        .expect("descriptor");
    for (transformation, width) in [
        ("c_limit,f_auto,q_auto,w_640", 640),
        ("w_320,q_auto,c_limit", 320),
        ("w_640", 640),
    ] {
        let answer =
            reqwest::get(app.url(&format!("/image/upload/{transformation}/{}.png", media.id)))
                .await
                .expect("answer");
        assert_eq!(answer.status(), 200, "{transformation}");
        let bytes = answer.bytes().await.expect("bytes");
        let size = imagesize::blob_size(&bytes).expect("an image");
        assert_eq!(size.width, width, "{transformation}");
    }
    for refused in [
        "c_limit,f_auto,q_auto,w_641",
        "c_fill,w_640",
        "w_640,h_100",
        "w_640/w_320",
    ] {
        let answer = reqwest::get(app.url(&format!("/image/upload/{refused}/{}.png", media.id)))
            .await
            .expect("answer");
        assert_eq!(answer.status(), 403, "{refused}");
    }
    app.stop().await;
}

/// One call answers many ids, in the order asked, naming the missing.
#[tokio::test]
async fn many_descriptors_come_in_one_lookup() {
    let app = spawn_media().await;
    let (a, b) = (uploaded(&app, 8).await, uploaded(&app, 9).await);
    let missing = avenue_shared::MediaId::parse("0123456789abcdef0123456789abcdef").expect("id");
    let found = app
        .client()
        .lookup(&[b.id.clone(), missing.clone(), a.id.clone(), b.id.clone()])
        .await
        .expect("lookup");
    let ids: Vec<&avenue_shared::MediaId> = found.items.iter().map(|m| &m.id).collect();
    assert_eq!(ids, [&b.id, &a.id]);
    assert_eq!(found.missing, [missing.to_string()]);
    let too_many: Vec<String> = (0..201).map(|i| format!("{i:032x}")).collect();
    let refused = app
        .admin(Method::POST, "/v1/media/lookup")
        .json(&serde_json::json!({ "ids": too_many }))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 400);
    let anonymous = reqwest::Client::new()
        .post(app.url("/v1/media/lookup"))
        .json(&serde_json::json!({ "ids": [a.id] }))
        .send()
        .await
        .expect("answer");
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}
