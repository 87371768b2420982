//! Who may hold a connection: a cap per peer address, and a reserve of
//! connections past the global cap that answer health probes only.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;

use super::refusals::error_response;
use super::BoxError;

/// What a connection in the probes' reserve may ask for.
pub(super) const PROBE_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// Open connections per peer address.
#[derive(Default, Clone)]
pub(super) struct PeerCounts(Arc<Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>);

/// One connection counted against its peer until dropped.
pub(super) struct PeerSlot {
    counts: PeerCounts,
    peer: std::net::IpAddr,
}

impl PeerCounts {
    /// Counts one more connection from `peer`, unless it has `cap` open
    /// already (0: no cap).
    pub(super) fn take(&self, peer: std::net::IpAddr, cap: usize) -> Option<PeerSlot> {
        let peer = match peer {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, std::net::IpAddr::V4),
            v4 => v4,
        };
        let mut counts = self.0.lock().ok()?;
        let open = counts.entry(peer).or_insert(0);
        if cap > 0 && *open >= cap {
            return None;
        }
        *open += 1;
        Some(PeerSlot {
            counts: self.clone(),
            peer,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.0.lock() {
            if let Some(open) = counts.get_mut(&self.peer) {
                *open = open.saturating_sub(1);
                if *open == 0 {
                    counts.remove(&self.peer);
                }
            }
        }
    }
}

/// The answer on a connection from the probes' reserve to anything but a
/// probe: every ordinary connection is taken.
pub(super) fn busy_response() -> Response<UnsyncBoxBody<Bytes, BoxError>> {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "too-many-connections",
        "the server has too many open connections; try again shortly",
    );
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
