//! How both services accept connections and read request bodies, with
//! limits that hold against slow and careless clients. Not a wire type,
//! but the two services must hold the same line, so it lives with what
//! they share (generic over any tower service, so it names no framework).
//!
//! - A request head must arrive within `header_read_timeout` of the
//!   connection starting to wait for it; hyper starts that timer when a
//!   connection goes idle too, so it also ends idle keep-alive connections.
//! - Heads are capped in size and in header count (`431` in the JSON
//!   envelope past either, answered by `guarded_call` with the reason; past
//!   a hard cap of eight times the limit hyper refuses before us, and
//!   `bare` envelopes that answer, and hyper's other bare ones, as written).
//! - At most `max_connections` are open, and at most
//!   `max_connections_per_peer` from one address; more are closed at once.
//!   Past `max_connections`, `probe_connections` more are taken for health
//!   probes only, so an orchestrator still hears from a full server.
//! - A body must keep moving: no gap longer than `body_stall` and, after
//!   that long, at least `min_body_rate` bytes a second on average (time
//!   spent waiting for the handler not counted). Past either the request
//!   is answered `408` and the connection closed.
//! - When a handler answers before reading the whole body (a refusal from
//!   the head of an upload), up to `drain_bytes` of the rest are read and
//!   discarded first, so the client receives the answer instead of a reset
//!   and its keep-alive connection stays usable; beyond that the answer
//!   carries `Connection: close`.
//! - On shutdown, open connections get `shutdown_deadline` to finish, then
//!   are closed: a client that never finishes its head cannot hold a
//!   process up.
//! - An error answer that is not JSON (the framework's own refusals: a
//!   path that is not UTF-8, an unknown method) is rewritten into the
//!   error envelope, so clients parse every error the same way.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

mod bare;
mod connections;
mod refusals;

use connections::{busy_response, PeerCounts, PROBE_PATHS};
pub use refusals::hard_header_cap;
use refusals::{
    envelope_plain_errors, error_response, oversized_head, timeout_response, HARD_MAX_HEADERS,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The limits, parsed once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest wait for a complete request head (and longest idle
    /// keep-alive).
    pub header_read_timeout: Duration,
    /// Largest request head, in bytes (at least 8192).
    pub max_header_bytes: usize,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one peer address (0: no cap).
    /// Behind a CDN or an ingress the peers are few, so raise it there, or
    /// set 0 and let the proxy hold its own clients apart.
    pub max_connections_per_peer: usize,
    /// Connections kept beyond `max_connections` for health probes only
    /// (`/healthz`, `/readyz`): a full server still answers its orchestrator.
    pub probe_connections: usize,
    /// Longest gap between two pieces of a request body.
    pub body_stall: Duration,
    /// Slowest average body rate (bytes a second) once `body_stall` has passed.
    pub min_body_rate: u64,
    /// Most bytes of an unread body discarded after an early answer.
    pub drain_bytes: u64,
    /// Longest time spent discarding them.
    pub drain_time: Duration,
    /// How long open connections may finish after shutdown begins.
    pub shutdown_deadline: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 32 * 1024,
            max_connections: 2048,
            max_connections_per_peer: 256,
            probe_connections: 16,
            body_stall: Duration::from_secs(15),
            min_body_rate: 1024,
            drain_bytes: 32 * 1024 * 1024,
            drain_time: Duration::from_secs(10),
            shutdown_deadline: Duration::from_secs(20),
        }
    }
}

impl ServerLimits {
    /// Reads the `HTTP_*` settings and `SHUTDOWN_DEADLINE_SECS` (seconds,
    /// bytes, counts), keeping the defaults for those not set.
    ///
    /// # Errors
    /// A message naming the setting that is not a number.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let number = |key: &str| -> Result<Option<u64>, String> {
            get(key)
                .map(|raw| {
                    raw.trim()
                        .parse::<u64>()
                        .map_err(|_| format!("{key} must be a whole number, got {raw:?}"))
                })
                .transpose()
        };
        let defaults = Self::default();
        let secs = |key: &str, default: Duration| -> Result<Duration, String> {
            Ok(number(key)?.map_or(default, Duration::from_secs))
        };
        Ok(Self {
            header_read_timeout: secs("HTTP_HEADER_TIMEOUT_SECS", defaults.header_read_timeout)?,
            max_header_bytes: number("HTTP_MAX_HEADER_BYTES")?
                .map_or(defaults.max_header_bytes, |n| n as usize)
                .max(8192),
            max_connections: number("HTTP_MAX_CONNECTIONS")?
                .map_or(defaults.max_connections, |n| n as usize)
                .max(1),
            max_connections_per_peer: number("HTTP_MAX_CONNECTIONS_PER_PEER")?
                .map_or(defaults.max_connections_per_peer, |n| n as usize),
            probe_connections: number("HTTP_PROBE_CONNECTIONS")?
                .map_or(defaults.probe_connections, |n| n as usize),
            body_stall: secs("HTTP_BODY_STALL_SECS", defaults.body_stall)?,
            min_body_rate: number("HTTP_MIN_BODY_RATE")?.unwrap_or(defaults.min_body_rate),
            drain_bytes: defaults.drain_bytes,
            drain_time: defaults.drain_time,
            shutdown_deadline: secs("SHUTDOWN_DEADLINE_SECS", defaults.shutdown_deadline)?,
        })
    }
}

/// The body handlers receive: the client's body, read by a task that holds
/// it to the limits above.
pub type GuardedRequest = Request<GuardedBody>;

/// Serves `make_service(peer)` on every connection `listener` accepts until
/// `shutdown` completes, then lets open connections finish within the
/// deadline.
///
/// # Errors
/// Never for a single connection's failure; only when accepting is
/// impossible for good.
pub async fn serve<M, S, B>(
    listener: TcpListener,
    limits: ServerLimits,
    make_service: M,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    M: Fn(SocketAddr) -> S,
    S: tower::Service<GuardedRequest, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper refuses a head past its own buffer with a bare 431 (no body, no
    // type). Its buffer is set well above our limit, so heads between the
    // two reach `guarded_call`, which says by how much; past the hard cap
    // the stream (`bare`) puts hyper's answer in the envelope.
    let hard_cap = hard_header_cap(limits.max_header_bytes);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(hard_cap)
        .max_headers(HARD_MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(hard_cap).unwrap_or(u32::MAX))
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let probes = Arc::new(Semaphore::new(limits.probe_connections));
    let peers = PeerCounts::default();
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment
                    // rather than spin; the connections that hold them end.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(peer_slot) = peers.take(peer.ip(), limits.max_connections_per_peer) else {
            tracing::warn!(%peer, limit = limits.max_connections_per_peer,
                "too many open connections from one peer; closing a new one");
            drop(stream);
            continue;
        };
        let (slot, probes_only) = match open.clone().try_acquire_owned() {
            Ok(slot) => (slot, false),
            Err(_) => match probes.clone().try_acquire_owned() {
                Ok(slot) => (slot, true),
                Err(_) => {
                    tracing::warn!(%peer, limit = limits.max_connections,
                        "too many open connections; closing a new one");
                    drop(stream);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = make_service(peer);
        let hyper_service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let service = service.clone();
            async move {
                if probes_only && !PROBE_PATHS.contains(&request.uri().path()) {
                    return Ok(busy_response());
                }
                guarded_call(service, request, limits).await
            }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        connections.spawn(async move {
            let connection = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(bare::Enveloped::new(stream)),
                    hyper_service,
                )
                .into_owned();
            if let Err(err) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(slot);
            drop(peer_slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_deadline) => {
            tracing::warn!(
                open = connections.len(),
                "connections still open at the shutdown deadline; closing them"
            );
        }
    }
    connections.shutdown().await;
    Ok(())
}

/// How the task reading a body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyOutcome {
    /// Read to the end (by the handler, or drained after it answered).
    Complete,
    /// The client stopped sending, or sent too slowly.
    Stalled,
    /// Broken off, or too much left to drain.
    Abandoned,
}

async fn guarded_call<S, B>(
    service: S,
    request: Request<Incoming>,
    limits: ServerLimits,
) -> Result<Response<UnsyncBoxBody<Bytes, BoxError>>, Infallible>
where
    S: tower::Service<GuardedRequest, Response = Response<B>, Error = Infallible>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    // A body declared larger than we would ever drain is not waited for:
    // the answer goes at once, and the connection closes after it.
    let too_long_to_drain = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|declared| declared > limits.drain_bytes);
    let (parts, incoming) = request.into_parts();
    if let Some(reason) = oversized_head(&parts, &limits) {
        let mut response = error_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header-too-large",
            &reason,
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(response);
    }
    let has_body = !incoming.is_end_stream();
    let shared = Arc::new(Mutex::new(Reader::Waiting(Some(incoming))));
    let body = GuardedBody {
        shared: shared.clone(),
        limits,
        receiver: None,
    };
    let response = match service.oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let mut response = envelope_plain_errors(response).await;
    let taken = match shared.lock() {
        Ok(mut reader) => std::mem::replace(&mut *reader, Reader::Gone),
        Err(_) => Reader::Gone,
    };
    let outcome = match taken {
        // Read to its end by the handler, it reports so at once; anything
        // else would be a drain we have already decided not to wait for.
        Reader::Started(done) if too_long_to_drain => {
            match tokio::time::timeout(Duration::from_millis(100), done).await {
                Ok(Ok(BodyOutcome::Complete)) => BodyOutcome::Complete,
                _ => BodyOutcome::Abandoned,
            }
        }
        Reader::Waiting(_) if too_long_to_drain => BodyOutcome::Abandoned,
        Reader::Started(done) => match tokio::time::timeout(limits.drain_time, done).await {
            Ok(Ok(outcome)) => outcome,
            _ => BodyOutcome::Abandoned,
        },
        // Never read: a client waiting for `100 Continue` has sent nothing,
        // so there is nothing to drain; anyone else has sent it already.
        Reader::Waiting(Some(incoming)) if has_body && !expects_continue => {
            let (_, done) = start_reader(incoming, limits, true);
            match tokio::time::timeout(limits.drain_time, done).await {
                Ok(Ok(outcome)) => outcome,
                _ => BodyOutcome::Abandoned,
            }
        }
        Reader::Waiting(_) if !has_body => BodyOutcome::Complete,
        Reader::Waiting(_) | Reader::Gone => BodyOutcome::Abandoned,
    };
    match outcome {
        BodyOutcome::Complete => {}
        BodyOutcome::Stalled => {
            response = timeout_response();
        }
        BodyOutcome::Abandoned => {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    Ok(response)
}

enum Reader {
    /// Not read yet: started on the handler's first poll.
    Waiting(Option<Incoming>),
    /// The reading task runs; it reports how it ended here.
    Started(oneshot::Receiver<BodyOutcome>),
    /// Settled after the answer.
    Gone,
}

/// A request body read by a task that holds it to the limits; handlers see
/// an ordinary body.
pub struct GuardedBody {
    shared: Arc<Mutex<Reader>>,
    limits: ServerLimits,
    receiver: Option<mpsc::Receiver<Result<Frame<Bytes>, BoxError>>>,
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.receiver.is_none() {
            let limits = self.limits;
            let Ok(mut reader) = self.shared.lock() else {
                return Poll::Ready(None);
            };
            let incoming = match &mut *reader {
                Reader::Waiting(incoming) => incoming.take(),
                _ => None,
            };
            let Some(incoming) = incoming else {
                return Poll::Ready(None);
            };
            let (frames, done) = start_reader(incoming, limits, false);
            *reader = Reader::Started(done);
            drop(reader);
            self.receiver = frames;
        }
        match self.receiver.as_mut() {
            Some(receiver) => receiver.poll_recv(cx),
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

type Frames = mpsc::Receiver<Result<Frame<Bytes>, BoxError>>;

/// Spawns the task that reads `incoming`: into a channel for the handler,
/// or (`drain_only`, or once the handler has let go) into the void.
fn start_reader(
    incoming: Incoming,
    limits: ServerLimits,
    drain_only: bool,
) -> (Option<Frames>, oneshot::Receiver<BodyOutcome>) {
    let (frames_tx, frames_rx) = mpsc::channel(4);
    let (done_tx, done_rx) = oneshot::channel();
    let sender = (!drain_only).then_some(frames_tx);
    tokio::spawn(async move {
        let outcome = read_body(incoming, sender, limits).await;
        let _ = done_tx.send(outcome);
    });
    ((!drain_only).then_some(frames_rx), done_rx)
}

async fn read_body(
    mut incoming: Incoming,
    mut sender: Option<mpsc::Sender<Result<Frame<Bytes>, BoxError>>>,
    limits: ServerLimits,
) -> BodyOutcome {
    let mut received: u64 = 0;
    // Time spent waiting for the client only: a handler slow to take
    // what arrived is not the client's fault.
    let mut waited = Duration::ZERO;
    let mut draining_since: Option<(Instant, u64)> = sender.is_none().then(|| (Instant::now(), 0));
    loop {
        let asked = Instant::now();
        let next = tokio::time::timeout(limits.body_stall, incoming.frame()).await;
        waited += asked.elapsed();
        let frame = match next {
            Err(_) => return stalled(&mut sender).await,
            Ok(None) => return BodyOutcome::Complete,
            Ok(Some(Err(err))) => {
                if let Some(sender) = &sender {
                    let _ = sender.send(Err(Box::new(err))).await;
                }
                return BodyOutcome::Abandoned;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
        }
        if waited > limits.body_stall && received < limits.min_body_rate * waited.as_secs() {
            return stalled(&mut sender).await;
        }
        match (&sender, draining_since) {
            (Some(tx), _) => {
                if tx.send(Ok(frame)).await.is_err() {
                    // The handler answered without the rest: drain it.
                    sender = None;
                    draining_since = Some((Instant::now(), received));
                }
            }
            (None, Some((since, at))) => {
                if received - at > limits.drain_bytes || since.elapsed() > limits.drain_time {
                    return BodyOutcome::Abandoned;
                }
            }
            (None, None) => draining_since = Some((Instant::now(), received)),
        }
    }
}

async fn stalled(sender: &mut Option<mpsc::Sender<Result<Frame<Bytes>, BoxError>>>) -> BodyOutcome {
    if let Some(sender) = sender.take() {
        let err: BoxError = "the request body stopped arriving".into();
        let _ = sender.send(Err(err)).await;
    }
    BodyOutcome::Stalled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_from_the_environment() {
        let limits = ServerLimits::from_env(|key| match key {
            "HTTP_HEADER_TIMEOUT_SECS" => Some("3".into()),
            "HTTP_MAX_HEADER_BYTES" => Some("100".into()),
            "SHUTDOWN_DEADLINE_SECS" => Some("7".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(limits.header_read_timeout, Duration::from_secs(3));
        assert_eq!(limits.max_header_bytes, 8192, "hyper needs at least 8 KiB");
        assert_eq!(limits.shutdown_deadline, Duration::from_secs(7));
        assert_eq!(limits.body_stall, ServerLimits::default().body_stall);
        let err =
            ServerLimits::from_env(|key| (key == "HTTP_MAX_CONNECTIONS").then(|| "many".into()))
                .expect_err("not a number");
        assert!(err.contains("HTTP_MAX_CONNECTIONS"), "{err}");
    }
}
