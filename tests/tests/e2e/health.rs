//! Probes and metrics.

use std::time::Duration;

use avenue_tests::proxy::CuttableProxy;
use avenue_tests::{fixtures, mongo_uri, spawn_media, spawn_media_with};

fn mongo_host_port() -> String {
    let uri = mongo_uri();
    let rest = uri.trim_start_matches("mongodb://");
    rest.split(['/', '?']).next().expect("host:port").to_owned()
}

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_up() {
    let app = spawn_media().await;
    let health = app.fetch("/healthz", &[]).await;
    assert_eq!(health.status(), 200);
    let ready = app.fetch("/readyz", &[]).await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["backend"], "gridfs");
    app.stop().await;
}

#[tokio::test]
async fn readyz_is_503_while_the_database_is_unreachable() {
    let proxy = CuttableProxy::start(mongo_host_port()).await;
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let app = spawn_media_with(|s| s.mongodb.uri = avenue_media::config::Secret::new(&uri)).await;
    let ready = app.fetch("/readyz", &[]).await;
    assert_eq!(ready.status(), 200);

    proxy.cut();
    let down = app.fetch("/readyz", &[]).await;
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    // Liveness does not depend on the database.
    let alive = app.fetch("/healthz", &[]).await;
    assert_eq!(alive.status(), 200);

    proxy.restore();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut status = 0;
    while tokio::time::Instant::now() < deadline {
        status = app.fetch("/readyz", &[]).await.status().as_u16();
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "ready again once the database is back");
    app.stop().await;
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_upload_bytes() {
    let app = spawn_media().await;
    let bytes = fixtures::png(20, 20, 1);
    let d: avenue_shared::MediaDescriptor = app
        .upload(bytes.clone(), &[])
        .await
        .json()
        .await
        .expect("descriptor");
    assert_eq!(app.upload(bytes.clone(), &[]).await.status(), 200);
    for _ in 0..3 {
        let r = app.fetch(&format!("/image/upload/{}.png", d.id), &[]).await;
        assert_eq!(r.status(), 200);
    }
    let text = app.fetch("/metrics", &[]).await.text().await.expect("text");
    let requests = |method: &str, route: &str, status: u16| {
        metric(
            &text,
            &format!(
                "avenue_media_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests("POST", "/v1/media", 201), Some(1.0), "{text}");
    assert_eq!(requests("POST", "/v1/media", 200), Some(1.0), "{text}");
    assert_eq!(
        requests("GET", "/image/upload/{*path}", 200),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "avenue_media_http_request_duration_seconds_count{method=\"GET\",route=\"/image/upload/{*path}\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "avenue_media_upload_bytes_total"),
        Some(2.0 * bytes.len() as f64),
        "{text}"
    );
    assert_eq!(
        metric(&text, "avenue_media_uploads_total{outcome=\"created\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &text,
            "avenue_media_uploads_total{outcome=\"deduplicated\"}"
        ),
        Some(1.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn start_up_creates_the_gridfs_and_media_indexes() {
    let app = spawn_media().await;
    let names = |collection: &'static str| {
        let db = app.db().clone();
        async move {
            db.collection::<mongodb::bson::Document>(collection)
                .list_index_names()
                .await
                .expect("list indexes")
        }
    };
    let chunks = names("media.chunks").await;
    assert!(chunks.iter().any(|n| n == "files_id_1_n_1"), "{chunks:?}");
    let unique = app
        .db()
        .collection::<mongodb::bson::Document>("media.chunks")
        .list_indexes()
        .await
        .expect("list");
    use futures::TryStreamExt;
    let models: Vec<_> = unique.try_collect().await.expect("indexes");
    let chunk_index = models
        .iter()
        .find(|m| m.keys == mongodb::bson::doc! { "files_id": 1, "n": 1 })
        .expect("chunk index");
    assert_eq!(
        chunk_index.options.as_ref().and_then(|o| o.unique),
        Some(true)
    );
    let files = names("media.files").await;
    assert!(
        files.iter().any(|n| n == "filename_1_uploadDate_1"),
        "{files:?}"
    );
    let media = names("media").await;
    assert!(
        media.iter().any(|n| n == "created_at_-1__id_-1"),
        "{media:?}"
    );
    assert!(media.iter().any(|n| n == "storage_key_1"), "{media:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_media_api_document_matches_the_routes() {
    let app = avenue_tests::spawn_media().await;
    let document: serde_json::Value = app
        .fetch("/v1/openapi.json", &[])
        .await
        .json()
        .await
        .expect("json");
    assert!(document["openapi"]
        .as_str()
        .expect("version")
        .starts_with("3."));
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/v1/media",
        "/v1/media/{id}",
        "/v1/media/{id}/refs",
        "/image/upload/{path}",
        "/v1/storage/status",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "0123456789abcdef0123456789abcdef")
            .replace("{reference}", "shop_products:x")
            .replace("{path}", "0123456789abcdef0123456789abcdef.jpg");
        for method in item.as_object().expect("operations").keys() {
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = app
                .http
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .expect("answer");
            let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
            assert_ne!(body["message"], "no such endpoint", "{method} {path}");
        }
    }
    assert!(document["components"]["schemas"]["MediaDescriptor"].is_object());
    let docs = app.fetch("/v1/docs", &[]).await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("openapi.json"));
    app.stop().await;
}
