//! The one HTTP/1.1 listener every GhostBridge daemon serves on: the validator API (TLS), the
//! ops ports (`/health`, `/metrics`, plain HTTP) and the L2 JSON-RPC. A network adversary (slow
//! senders, thousands of idle connections, huge bodies) gets only bounded resources from it:
//!
//! - at most [`ListenerLimits::max_connections`] connections at once (a semaphore); a connection
//!   over the cap is closed as soon as it is accepted (`ghostbridge_listener_rejected_total`);
//! - the TLS handshake must finish within `tls_handshake_timeout_ms`;
//! - a connection with no request in flight and no byte of a new one is closed after
//!   `idle_timeout_ms` (keep-alive idle, and a fresh connection that never speaks);
//! - once the first byte of a request head arrives, the whole head must arrive within
//!   `header_read_timeout_ms` (hyper's own header timer backs this up);
//! - once the head is in, the whole body must arrive within `body_read_timeout_ms`;
//! - a body over `max_body_bytes` is answered 413: at once when `Content-Length` says so, by the
//!   axum extractors ([`axum::extract::DefaultBodyLimit`]) for chunked bodies;
//! - every connection is wound down after `max_connection_lifetime_ms` (the request in flight
//!   may finish within [`SHUTDOWN_GRACE`]).
//!
//! A connection that misses a deadline is dropped without an answer; each kind is counted in
//! `ghostbridge_listener_timeouts_total{listener, kind}`. The deadlines are enforced by one
//! watchdog per connection ([`ConnWatch`]), fed by a wrapper around the socket (first byte of a
//! head) and around the service (request start, body end, response).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use ghostbridge_core::config::ListenerLimits;

/// How long a connection may finish its request in flight after shutdown or its lifetime cap.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Pause after a failed `accept` (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A duration of `v` ms, at least 1 ms (a zero timeout would close everything at once).
fn ms(v: u64) -> Duration {
    Duration::from_millis(v.max(1))
}

/// Serves `router` on `listener` (over TLS when `tls` is given) within `limits` until `shutdown`
/// fires; then stops accepting, lets each connection finish its request in flight (at most
/// [`SHUTDOWN_GRACE`]) and returns. `name` labels the metrics (`validator_api`, `ops`, ...).
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ListenerLimits,
    shutdown: CancellationToken,
) {
    let router = router.layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let tracker = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    }
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Over the cap: closed at once, before any byte is read or any task is spawned.
            metrics::counter!("ghostbridge_listener_rejected_total", "listener" => name)
                .increment(1);
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let _permit = permit;
            let open = metrics::gauge!("ghostbridge_listener_connections", "listener" => name);
            open.increment(1.0);
            match acceptor {
                None => serve_connection(name, tcp, router, limits, shutdown).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(
                        ms(limits.tls_handshake_timeout_ms),
                        acceptor.accept(tcp),
                    );
                    let tls = tokio::select! {
                        _ = shutdown.cancelled() => None,
                        r = handshake => match r {
                            Ok(Ok(tls)) => Some(tls),
                            Ok(Err(e)) => {
                                tracing::debug!(listener = name, %peer, error = %e, "TLS handshake refused");
                                metrics::counter!("ghostbridge_tls_handshake_failures_total").increment(1);
                                None
                            }
                            Err(_) => {
                                timed_out(name, Deadline::Handshake);
                                None
                            }
                        },
                    };
                    if let Some(tls) = tls {
                        serve_connection(name, tls, router, limits, shutdown).await;
                    }
                }
            }
            open.decrement(1.0);
        });
    }
    drop(listener);
    tracker.close();
    // Each connection winds down within SHUTDOWN_GRACE of the cancel; the margin covers
    // scheduling.
    let _ = tokio::time::timeout(
        SHUTDOWN_GRACE.saturating_add(Duration::from_secs(1)),
        tracker.wait(),
    )
    .await;
}

/// `t + d` (`d` capped at a year: the config allows any u64 of milliseconds).
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d.min(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(t)
}

/// Which deadline a connection missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Handshake,
    Idle,
    Header,
    Body,
}

fn timed_out(name: &'static str, kind: Deadline) {
    let kind = match kind {
        Deadline::Handshake => "handshake",
        Deadline::Idle => "idle",
        Deadline::Header => "header",
        Deadline::Body => "body",
    };
    tracing::debug!(listener = name, kind, "connection timed out");
    metrics::counter!("ghostbridge_listener_timeouts_total", "listener" => name, "kind" => kind)
        .increment(1);
}

/// Where a connection is in its request cycle, and since when.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in flight, no byte of the next one (since the connection opened or the last
    /// response).
    Idle(Instant),
    /// Part of a request head has arrived (since its first byte).
    Head(Instant),
    /// Head in, body still arriving (since the head).
    Body(Instant),
    /// Head and body in, the service is answering: no read deadline.
    Handling,
}

/// The state the watchdog of one connection enforces deadlines on.
#[derive(Debug)]
struct ConnWatch {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl ConnWatch {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            changed: Notify::new(),
        })
    }

    fn set(&self, update: impl FnOnce(Phase) -> Option<Phase>) {
        let changed = match self.phase.lock() {
            Ok(mut p) => match update(*p) {
                Some(next) => {
                    *p = next;
                    true
                }
                None => false,
            },
            Err(_) => false,
        };
        if changed {
            // notify_one keeps a permit when the watchdog is not waiting yet: no lost wake-up.
            self.changed.notify_one();
        }
    }

    /// Bytes came in from the client.
    fn on_read(&self) {
        self.set(|p| match p {
            Phase::Idle(_) => Some(Phase::Head(Instant::now())),
            _ => None,
        });
    }

    fn request_started(&self, body_done: bool) {
        self.set(|_| {
            Some(if body_done {
                Phase::Handling
            } else {
                Phase::Body(Instant::now())
            })
        });
    }

    fn body_done(&self) {
        self.set(|p| match p {
            Phase::Body(_) => Some(Phase::Handling),
            _ => None,
        });
    }

    fn request_finished(&self) {
        self.set(|_| Some(Phase::Idle(Instant::now())));
    }

    /// The next read deadline, if any.
    fn deadline(&self, limits: &ListenerLimits) -> Option<(Instant, Deadline)> {
        let phase = self.phase.lock().map(|p| *p).unwrap_or(Phase::Handling);
        match phase {
            Phase::Idle(t) => Some((after(t, ms(limits.idle_timeout_ms)), Deadline::Idle)),
            Phase::Head(t) => Some((
                after(t, ms(limits.header_read_timeout_ms)),
                Deadline::Header,
            )),
            Phase::Body(t) => Some((after(t, ms(limits.body_read_timeout_ms)), Deadline::Body)),
            Phase::Handling => None,
        }
    }
}

/// Serves one connection until it ends, misses a deadline, reaches its lifetime cap or the
/// server shuts down.
async fn serve_connection<IO>(
    name: &'static str,
    io: IO,
    router: Router,
    limits: ListenerLimits,
    shutdown: CancellationToken,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let watch = ConnWatch::new();
    let io = TokioIo::new(Watched {
        inner: io,
        watch: watch.clone(),
    });
    let service = RequestService {
        router: TowerToHyperService::new(router),
        watch: watch.clone(),
        limits,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper arms its header timer when it starts waiting for a head, i.e. also while idle: as a
    // backstop it gets idle + header; the watchdog below enforces each precisely.
    let backstop = ms(limits.idle_timeout_ms).saturating_add(ms(limits.header_read_timeout_ms));
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(backstop)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let lifetime = tokio::time::sleep(ms(limits.max_connection_lifetime_ms));
    tokio::pin!(lifetime);
    let mut wind_down: Option<Instant> = None;
    loop {
        let deadline = watch.deadline(&limits);
        let read_deadline = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let hard_stop = async {
            match wind_down {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(listener = name, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = watch.changed.notified() => {}
            _ = read_deadline => {
                // Re-read: the phase may have moved on since the deadline was computed.
                if let Some((at, kind)) = watch.deadline(&limits) {
                    if at <= Instant::now() {
                        timed_out(name, kind);
                        return;
                    }
                }
            }
            _ = &mut lifetime, if wind_down.is_none() => {
                metrics::counter!("ghostbridge_listener_lifetime_closed_total", "listener" => name).increment(1);
                conn.as_mut().graceful_shutdown();
                wind_down = Some(after(Instant::now(), SHUTDOWN_GRACE));
            }
            _ = shutdown.cancelled(), if wind_down.is_none() => {
                conn.as_mut().graceful_shutdown();
                wind_down = Some(after(Instant::now(), SHUTDOWN_GRACE));
            }
            _ = hard_stop => return,
        }
    }
}

/// The socket (or TLS stream), reporting the first byte of each request head to the watchdog.
struct Watched<IO> {
    inner: IO,
    watch: Arc<ConnWatch>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.watch.on_read();
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The request body, reporting its end to the watchdog.
struct WatchedBody {
    inner: Incoming,
    watch: Arc<ConnWatch>,
}

impl HttpBody for WatchedBody {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(r, Poll::Ready(None)) || this.inner.is_end_stream() {
            this.watch.body_done();
        }
        r
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Marks the request finished when the service's future completes or is dropped.
struct RequestGuard(Arc<ConnWatch>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The hyper service of one connection: the 413 pre-check on `Content-Length`, the body
/// wrapper, then the router.
struct RequestService {
    router: TowerToHyperService<Router>,
    watch: Arc<ConnWatch>,
    limits: ListenerLimits,
}

impl hyper::service::Service<Request<Incoming>> for RequestService {
    type Response = Response<axum::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.watch.request_started(req.body().is_end_stream());
        let guard = RequestGuard(self.watch.clone());
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let max = u64::try_from(self.limits.max_body_bytes).unwrap_or(u64::MAX);
        if declared.is_some_and(|n| n > max) {
            // Refused before reading a byte of it; the connection closes after the answer.
            metrics::counter!("ghostbridge_listener_body_too_large_total").increment(1);
            let resp = Response::builder()
                .status(StatusCode::PAYLOAD_TOO_LARGE)
                .header(hyper::header::CONNECTION, "close")
                .body(axum::body::Body::from(format!(
                    "request body over {max} bytes"
                )))
                .unwrap_or_else(|_| Response::new(axum::body::Body::empty()));
            return Box::pin(async move {
                drop(guard);
                Ok(resp)
            });
        }
        let watch = self.watch.clone();
        let req = req.map(|inner| WatchedBody { inner, watch });
        let fut = hyper::service::Service::call(&self.router, req);
        Box::pin(async move {
            let resp = fut.await?;
            drop(guard);
            Ok(resp)
        })
    }
}
