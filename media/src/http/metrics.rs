//! Prometheus metrics, one registry per application instance (so several
//! instances in one test process keep separate counts), rendered at `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::AppState;
use crate::media::variants::VariantCounters;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneLabels {
    pub lane: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    /// Bytes of uploads that became (or matched) a media.
    pub upload_bytes: Counter,
    /// Uploads by outcome: `created`, `deduplicated`, or the error code.
    pub uploads: Family<OutcomeLabels, Counter>,
    /// Shared with the variant cache, which counts renders and hits.
    pub variants: VariantCounters,
    /// Renders waiting for a place, per lane; read when scraped.
    renders_waiting: Family<LaneLabels, Gauge>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("avenue_media");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to about 16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let upload_bytes = Counter::default();
        let uploads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by route",
            latency.clone(),
        );
        registry.register(
            "upload_bytes",
            "Bytes received in accepted uploads",
            upload_bytes.clone(),
        );
        registry.register("uploads", "Uploads by outcome", uploads.clone());
        let renders_waiting = Family::<LaneLabels, Gauge>::default();
        registry.register(
            "renders_waiting",
            "Renders waiting for a place, per lane (light, heavy)",
            renders_waiting.clone(),
        );
        let variants = VariantCounters::default();
        registry.register(
            "variant_renders",
            "Variants rendered (not served from memory or the store)",
            variants.renders.clone(),
        );
        registry.register(
            "variant_renders_refused",
            "Renders refused with 503 because their lane was full",
            variants.refused.clone(),
        );
        registry.register(
            "variant_memory_hits",
            "Variant requests answered from the in-memory cache",
            variants.memory_hits.clone(),
        );
        registry.register(
            "variant_store_hits",
            "Variants loaded from the store instead of rendered",
            variants.store_hits.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            upload_bytes,
            uploads,
            variants,
            renders_waiting,
        }
    }

    fn set_waiting(&self, (light, heavy): (usize, usize)) {
        for (lane, waiting) in [("light", light), ("heavy", heavy)] {
            self.renders_waiting
                .get_or_create(&LaneLabels { lane: lane.into() })
                .set(i64::try_from(waiting).unwrap_or(i64::MAX));
        }
    }

    pub fn record_upload(&self, outcome: &str) {
        self.uploads
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts and times every request under its route template (never the raw
/// path, which would give one series per media id).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text")))]
async fn render(State(state): State<AppState>) -> Response {
    state.metrics.set_waiting(state.variants.waiting());
    match state.metrics.render() {
        Ok(text) => {
            let mut response = Body::from(text).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}
