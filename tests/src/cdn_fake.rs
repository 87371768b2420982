//! A CDN's purge API on loopback, checking requests the way each real one
//! documents them: Cloudflare's `POST /client/v4/zones/{zone}/purge_cache`
//! (`Authorization: Bearer`, `{"tags": [...]}`, at most 30 tags), Fastly's
//! `POST /service/{id}/purge` (`Fastly-Key`, keys space-separated in
//! `Surrogate-Key`, at most 256), and our webhook (HMAC-SHA256 of
//! `{timestamp}.{body}` in `X-Avenue-Signature`). Anything else is refused
//! and counted, so a test can say none was.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub const ZONE: &str = "0123abcd0123abcd0123abcd0123abcd";
pub const SERVICE: &str = "SU1Z0isxPaozGVKXdv0eY";
pub const TOKEN: &str = "purge-token-for-tests";
pub const WEBHOOK_SECRET: &str = "webhook-secret-for-tests";

#[derive(Default)]
struct Seen {
    /// Tags (or keys) of every purge accepted, per request.
    accepted: Vec<Vec<String>>,
    refused: Vec<String>,
    /// Requests still to answer 500 before accepting.
    fail_next: usize,
}

#[derive(Clone)]
pub struct CdnFake {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

fn refuse(seen: &Mutex<Seen>, why: String) -> (StatusCode, Json<Value>) {
    seen.lock().expect("lock").refused.push(why.clone());
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "success": false, "errors": [{ "message": why }] })),
    )
}

/// `Some` when this request must fail with 500 (the test asked for it).
fn failing(seen: &Mutex<Seen>) -> bool {
    let mut seen = seen.lock().expect("lock");
    if seen.fail_next > 0 {
        seen.fail_next -= 1;
        return true;
    }
    false
}

async fn cloudflare(
    State(seen): State<Arc<Mutex<Seen>>>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    if zone != ZONE {
        return refuse(&seen, format!("cloudflare: unknown zone {zone}"));
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return refuse(&seen, "cloudflare: no valid bearer token".into());
    }
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
    {
        return refuse(&seen, "cloudflare: not JSON".into());
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return refuse(&seen, "cloudflare: the body is not a JSON object".into());
    };
    let tags: Option<Vec<String>> = request.get("tags").and_then(|t| {
        t.as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect()
    });
    match tags {
        Some(tags) if request.len() == 1 && (1..=30).contains(&tags.len()) => {
            if failing(&seen) {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(
                        json!({ "success": false, "errors": [{ "code": 10000, "message": "try again" }] }),
                    ),
                );
            }
            seen.lock().expect("lock").accepted.push(tags);
            (
                StatusCode::OK,
                Json(
                    json!({ "success": true, "errors": [], "messages": [], "result": { "id": ZONE } }),
                ),
            )
        }
        _ => refuse(
            &seen,
            format!("cloudflare: expected {{\"tags\": [1 to 30 strings]}}, got {request:?}"),
        ),
    }
}

async fn fastly(
    State(seen): State<Arc<Mutex<Seen>>>,
    Path(service): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    if service != SERVICE {
        return refuse(&seen, format!("fastly: unknown service {service}"));
    }
    if headers.get("fastly-key").and_then(|v| v.to_str().ok()) != Some(TOKEN) {
        return refuse(&seen, "fastly: no valid Fastly-Key".into());
    }
    let keys: Vec<String> = headers
        .get("surrogate-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(' ')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    if keys.is_empty() || keys.len() > 256 {
        return refuse(&seen, "fastly: Surrogate-Key needs 1 to 256 keys".into());
    }
    if failing(&seen) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "msg": "try again" })),
        );
    }
    let ids: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.clone(), json!(format!("purge-{k}"))))
        .collect();
    seen.lock().expect("lock").accepted.push(keys);
    (StatusCode::OK, Json(Value::Object(ids)))
}

async fn webhook(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let expected = avenue_media::purge::targets::webhook_signature(
        WEBHOOK_SECRET,
        header("x-avenue-timestamp"),
        &body,
    );
    if header("x-avenue-timestamp").is_empty() || header("x-avenue-signature") != expected {
        return refuse(&seen, "webhook: bad signature".into());
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return refuse(&seen, "webhook: not JSON".into());
    };
    if failing(&seen) {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})));
    }
    let tags: Vec<String> = request["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let complete = ["ids", "urls"].iter().all(|k| {
        request[*k]
            .as_array()
            .is_some_and(|a| a.len() == tags.len())
    });
    if tags.is_empty() || !complete {
        return refuse(
            &seen,
            format!("webhook: expected ids, tags and urls, got {request}"),
        );
    }
    seen.lock().expect("lock").accepted.push(tags);
    (StatusCode::OK, Json(json!({ "ok": true })))
}

impl CdnFake {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// On `port` (0: any free one), answering 500 to the first `fail_next`
    /// purges.
    pub async fn start_on(port: u16) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let router = Router::new()
            .route("/client/v4/zones/{zone}/purge_cache", post(cloudflare))
            .route("/service/{service}/purge", post(fastly))
            .route("/purge", post(webhook))
            .with_state(seen.clone());
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the CDN fake");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            port,
            seen,
            task: Arc::new(task),
        }
    }

    pub fn fail_next(&self, n: usize) {
        self.seen.lock().expect("lock").fail_next = n;
    }

    pub fn base(&self) -> url::Url {
        url::Url::parse(&format!("http://127.0.0.1:{}/", self.port)).expect("url")
    }

    /// Tags purged so far, in every accepted request.
    pub fn purged(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("lock");
        seen.accepted.iter().flatten().cloned().collect()
    }

    pub fn refused(&self) -> Vec<String> {
        self.seen.lock().expect("lock").refused.clone()
    }

    /// Waits (at most 20 s) until `tags` are all purged.
    ///
    /// # Panics
    /// When they are not.
    pub async fn wait_for(&self, tags: &[String]) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let purged = self.purged();
            if tags.iter().all(|t| purged.contains(t)) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{tags:?} not purged within 20 s; purged {purged:?}, refused {:?}",
                self.refused()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}
