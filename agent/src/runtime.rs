//! What every daemon needs: tracing (JSON on request), Prometheus metrics, `/health`, graceful
//! shutdown on SIGINT/SIGTERM, and jittered exponential backoff for RPC retries.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use ghostbridge_core::config::ListenerLimits;

/// Sets up `tracing` (env filter `RUST_LOG`, default `info`), JSON lines when `json`.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init in the same process (tests) is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder once per process and returns its handle.
pub fn metrics_handle() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder can only exist if something else installed one first; then our
            // handle simply renders nothing, which the ops endpoint shows.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Health shared between a daemon's loops and its `/health` endpoint.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<RwLock<HealthState>>);

/// What `/health` reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HealthState {
    /// Unhealthy reasons by component; empty = healthy.
    pub problems: std::collections::BTreeMap<String, String>,
    /// Free-form progress (heads, cursors, counts).
    pub progress: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Health {
    /// Marks `component` unhealthy with `why`.
    pub fn problem(&self, component: &str, why: impl Into<String>) {
        if let Ok(mut s) = self.0.write() {
            s.problems.insert(component.into(), why.into());
        }
    }
    /// Clears `component`'s problem.
    pub fn ok(&self, component: &str) {
        if let Ok(mut s) = self.0.write() {
            s.problems.remove(component);
        }
    }
    /// Records a progress value.
    pub fn progress(&self, key: &str, value: impl Serialize) {
        if let (Ok(mut s), Ok(v)) = (self.0.write(), serde_json::to_value(value)) {
            s.progress.insert(key.into(), v);
        }
    }
    /// A copy of the state.
    pub fn snapshot(&self) -> HealthState {
        self.0.read().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Serves `/health` (200 or 503, JSON) and `/metrics` (Prometheus text) on plain HTTP, within
/// the default [`ListenerLimits`].
pub async fn serve_ops(
    addr: SocketAddr,
    health: Health,
    shutdown: CancellationToken,
) -> Result<SocketAddr, ListenError> {
    serve_ops_with(addr, health, ListenerLimits::default(), shutdown).await
}

/// [`serve_ops`] within `limits` (timeouts, connection cap, body limit: [`crate::listener`]).
/// Returns the bound address; the server runs on a spawned task until `shutdown`.
pub async fn serve_ops_with(
    addr: SocketAddr,
    health: Health,
    limits: ListenerLimits,
    shutdown: CancellationToken,
) -> Result<SocketAddr, ListenError> {
    let handle = metrics_handle();
    let router = Router::new()
        .route(
            "/health",
            get(|State(h): State<Health>| async move {
                let s = h.snapshot();
                let code = if s.problems.is_empty() {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (code, Json(s))
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let h = handle.clone();
                async move { h.render() }
            }),
        )
        .with_state(health);
    let listen_error = |source| ListenError { addr, source };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    tokio::spawn(crate::listener::serve(
        "ops", listener, router, None, limits, shutdown,
    ));
    Ok(bound)
}

/// A port a daemon cannot listen on (in use, not permitted, no such address): final, the
/// operator frees or changes it.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct ListenError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// What the OS said.
    pub source: std::io::Error,
}

/// A daemon task that panicked or was cancelled: the daemon stopped because of it.
#[derive(Debug, thiserror::Error)]
#[error("task {task} {why}")]
pub struct TaskFailed {
    /// The task's name, e.g. `deliver 31337`.
    pub task: String,
    /// `panicked: <message>` or `was cancelled`.
    pub why: String,
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        t.cancel();
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested, finishing in-flight work");
        t.cancel();
    });
    token
}

/// Exponential backoff with full jitter, for loops that retry RPC or database errors.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// Starts at `base`, never above `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            attempt: 0,
        }
    }
    /// The next delay (jittered in `[d/2, d]`).
    pub fn next_delay(&mut self) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        // `checked_div` is `None` only for a zero divisor.
        let half = exp.checked_div(2).unwrap_or_default();
        let jitter = half.mul_f64(rand::random::<f64>());
        half.saturating_add(jitter)
    }
    /// After a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.attempt
    }
}

/// How a round of a daemon loop ended (see [`run_rounds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Caught up: the next round runs after the poll interval.
    Idle,
    /// More work is waiting: the next round runs at once.
    Busy,
}

/// A daemon loop: its name in logs and `/health`, its poll interval, and the counter its
/// failed rounds increment (labelled with the component).
#[derive(Debug, Clone)]
pub struct RoundLoop {
    /// `/health` component and log field, e.g. `scanner/31337/0x…`.
    pub component: String,
    /// Wait after an [`Round::Idle`] round.
    pub poll: Duration,
    /// Prometheus counter of failed rounds.
    pub errors_metric: &'static str,
}

/// Failed rounds in a row before `/health` reports the component (a passing RPC error is not
/// an incident).
const FAILURES_BEFORE_UNHEALTHY: u32 = 3;

/// The wait after a round that failed with a final error (see [`Retry`]).
const FINAL_ERROR_RETRY: Duration = Duration::from_secs(30);

/// What a round's error says about trying again.
pub trait Retry {
    /// Whether the round may pass later by itself: a node or database hiccup, validators not
    /// caught up. A final error (a store that refuses what it is given, a node answering what
    /// no contract returns, a broken invariant) needs an operator: [`run_rounds`] reports it in
    /// `/health` at once and retries it only slowly.
    fn is_retryable(&self) -> bool;
}

/// Runs `round` until shutdown: the one loop of every daemon task (follower, scanner, delivery
/// worker, watcher pass). A good round clears the component in `/health` and resets the
/// backoff; a failed one is logged, counted and retried after an exponential backoff (250 ms to
/// 30 s, jittered); more than [`FAILURES_BEFORE_UNHEALTHY`] in a row mark the component unhealthy
/// with the error until a round succeeds. A final error ([`Retry::is_retryable`] false) is
/// logged as an error and reported in `/health` at once, and the round is tried again after 30 s
/// (a fixed operator may not restart the daemon).
pub async fn run_rounds<F, Fut, E>(
    spec: RoundLoop,
    health: &Health,
    shutdown: &CancellationToken,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Round, E>>,
    E: std::fmt::Display + Retry,
{
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    let component = spec.component;
    while !shutdown.is_cancelled() {
        let delay = match round().await {
            Ok(done) => {
                backoff.reset();
                health.ok(&component);
                match done {
                    Round::Idle => spec.poll,
                    Round::Busy => Duration::ZERO,
                }
            }
            Err(e) if !e.is_retryable() => {
                tracing::error!(%component, error = %e, retry_in_ms = FINAL_ERROR_RETRY.as_millis() as u64, "round failed with a final error: needs an operator");
                metrics::counter!(spec.errors_metric, "component" => component.clone())
                    .increment(1);
                health.problem(&component, format!("final error: {e}"));
                FINAL_ERROR_RETRY
            }
            Err(e) => {
                let d = backoff.next_delay();
                tracing::warn!(%component, error = %e, retry_in_ms = d.as_millis() as u64, "round failed, retrying");
                metrics::counter!(spec.errors_metric, "component" => component.clone())
                    .increment(1);
                if backoff.failures() > FAILURES_BEFORE_UNHEALTHY {
                    health.problem(&component, e.to_string());
                }
                d
            }
        };
        if !sleep_or_shutdown(delay, shutdown).await {
            return;
        }
    }
}

/// Sleeps `d` unless shutdown fires first; returns false on shutdown.
pub async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! { _ = tokio::time::sleep(d) => true, _ = shutdown.cancelled() => false }
}

/// Current unix time in ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Waits for a daemon's long-running tasks until they all end. A task that panics stops the
/// daemon: the panic is logged with the task's name, every other task is asked to stop
/// (`shutdown` is cancelled) and awaited, and the error is returned so the process exits
/// non-zero instead of running on without, say, its delivery loop.
pub async fn supervise(
    tasks: Vec<(String, tokio::task::JoinHandle<()>)>,
    shutdown: &CancellationToken,
) -> Result<(), TaskFailed> {
    let mut set = tokio::task::JoinSet::new();
    for (name, handle) in tasks {
        set.spawn(async move { (name, handle.await) });
    }
    let mut failed: Option<TaskFailed> = None;
    while let Some(joined) = set.join_next().await {
        let (name, outcome) = match joined {
            Ok(pair) => pair,
            // The wrapper only awaits a handle: it cannot panic; it is aborted only with the set.
            Err(e) => (String::from("supervisor"), Err(e)),
        };
        let Err(e) = outcome else { continue };
        let why = if e.is_panic() {
            let payload = e.into_panic();
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic payload".into());
            format!("panicked: {text}")
        } else {
            "was cancelled".to_owned()
        };
        let failure = TaskFailed { task: name, why };
        tracing::error!(task = %failure.task, "{failure}; stopping the daemon");
        shutdown.cancel();
        failed.get_or_insert(failure);
    }
    match failed {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// A panic inside a task that `owner` awaited is raised again in `owner`, so it reaches
/// [`supervise`] instead of being dropped with the `JoinError`.
pub fn propagate_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

#[cfg(test)]
mod supervise_tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_stops_the_others_and_is_reported() {
        let shutdown = CancellationToken::new();
        let s = shutdown.clone();
        let patient = tokio::spawn(async move { s.cancelled().await });
        let broken = tokio::spawn(async { panic!("the delivery loop broke") });
        let result = tokio::time::timeout(
            Duration::from_secs(5),
            supervise(
                vec![("patient".into(), patient), ("deliver".into(), broken)],
                &shutdown,
            ),
        )
        .await
        .expect("supervise returns once the other task has stopped");
        let err = result.unwrap_err().to_string();
        assert_eq!(err, "task deliver panicked: the delivery loop broke");
        assert!(shutdown.is_cancelled());
    }

    #[tokio::test]
    async fn tasks_that_end_on_shutdown_are_fine() {
        let shutdown = CancellationToken::new();
        let tasks = (0..3)
            .map(|i| {
                let s = shutdown.clone();
                (
                    format!("t{i}"),
                    tokio::spawn(async move { s.cancelled().await }),
                )
            })
            .collect();
        shutdown.cancel();
        supervise(tasks, &shutdown).await.unwrap();
    }

    #[tokio::test]
    async fn a_panic_in_a_nested_task_reaches_the_supervisor() {
        let shutdown = CancellationToken::new();
        let outer = tokio::spawn(async {
            let inner = tokio::spawn(async { panic!("worker 2 broke") });
            propagate_panic(inner.await);
        });
        let err = supervise(vec![("deliver".into(), outer)], &shutdown)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(err, "task deliver panicked: worker 2 broke");
    }
}

#[cfg(test)]
mod round_loop_tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::sync::Mutex;

    /// A scripted round's error: transient (an RPC hiccup) or final.
    #[derive(Debug, Clone, Copy)]
    enum Failure {
        Transient(&'static str),
        Final(&'static str),
    }

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Self::Transient(why) | Self::Final(why) => f.write_str(why),
            }
        }
    }

    impl Retry for Failure {
        fn is_retryable(&self) -> bool {
            matches!(self, Self::Transient(_))
        }
    }

    use Failure::{Final, Transient};

    /// A round scripted by `outcomes` (then idle forever), recording what `/health` said when
    /// each round started and when (tokio's paused clock: no real waiting).
    async fn run_script(outcomes: Vec<Result<Round, Failure>>) -> Vec<(Duration, Option<String>)> {
        let health = Health::default();
        let shutdown = CancellationToken::new();
        let seen = Mutex::new(Vec::new());
        let start = tokio::time::Instant::now();
        let script = Mutex::new(outcomes.into_iter());
        let spec = RoundLoop {
            component: "follower/test".into(),
            poll: Duration::from_secs(1),
            errors_metric: "test_round_errors_total",
        };
        let (health_ref, seen_ref, script_ref, stop) = (&health, &seen, &script, &shutdown);
        run_rounds(spec, &health, &shutdown, move || async move {
            let problem = health_ref.snapshot().problems.get("follower/test").cloned();
            seen_ref.lock().unwrap().push((start.elapsed(), problem));
            match script_ref.lock().unwrap().next() {
                Some(Ok(r)) => Ok(r),
                Some(Err(e)) => Err(e),
                None => {
                    stop.cancel();
                    Ok(Round::Idle)
                }
            }
        })
        .await;
        seen.into_inner().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_round_backs_off_and_turns_unhealthy_only_after_repeated_failures() {
        let seen = run_script(vec![
            Err(Transient("rpc down")),
            Err(Transient("rpc down")),
            Err(Transient("rpc down")),
            Err(Transient("rpc down")),
            Ok(Round::Idle),
        ])
        .await;
        assert_eq!(seen.len(), 6, "{seen:?}");
        // Three failures in a row are a passing error: healthy.
        assert!(seen[..4].iter().all(|(_, p)| p.is_none()), "{seen:?}");
        // The fourth made it a problem, with the error.
        assert_eq!(seen[4].1.as_deref(), Some("rpc down"), "{seen:?}");
        // A good round clears it.
        assert_eq!(seen[5].1, None, "{seen:?}");
        // The waits grow (jittered within [d/2, d] of 250 ms, 500 ms, 1 s, 2 s).
        let waits: Vec<Duration> = seen.windows(2).map(|w| w[1].0 - w[0].0).collect();
        for (wait, full) in waits.iter().zip([250u64, 500, 1000, 2000]) {
            let full = Duration::from_millis(full);
            assert!(*wait >= full / 2 && *wait <= full, "{waits:?}");
        }
        // After a success the loop waits the poll interval.
        assert_eq!(waits[4], Duration::from_secs(1), "{waits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_round_runs_the_next_at_once() {
        let seen = run_script(vec![Ok(Round::Busy), Ok(Round::Busy), Ok(Round::Idle)]).await;
        let at: Vec<Duration> = seen.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            at,
            [0, 0, 0, 1].map(Duration::from_secs).to_vec(),
            "busy rounds do not wait; an idle one waits the poll interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_error_is_reported_at_once_and_retried_slowly() {
        let seen = run_script(vec![
            Err(Final("the store refuses the row")),
            Ok(Round::Idle),
        ])
        .await;
        assert_eq!(seen.len(), 3, "{seen:?}");
        // Unhealthy from the first failure, with the error, not after three.
        assert_eq!(
            seen[1].1.as_deref(),
            Some("final error: the store refuses the row"),
            "{seen:?}"
        );
        assert_eq!(
            seen[1].0, FINAL_ERROR_RETRY,
            "retried after 30 s, not 250 ms"
        );
        // A good round clears it.
        assert_eq!(seen[2].1, None, "{seen:?}");
    }
}
