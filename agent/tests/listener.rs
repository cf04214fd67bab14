//! The network adversary against the shared listener (`ghostbridge_agent::listener`), here on the
//! real ops server (`runtime::serve_ops_with`, plain HTTP) and on `listener::serve` with TLS:
//! thousands of idle connections, a sender at one byte a second, oversized bodies, and ordinary
//! keep-alive traffic that must still work. All traffic goes to 127.0.0.1; every loop is bounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[path = "../../core/tests/common/mod.rs"]
mod common;
#[path = "support/http_client.rs"]
mod http_client;

use ghostbridge_agent::listener;
use ghostbridge_agent::runtime::{self, Health};
use ghostbridge_agent::tls;
use ghostbridge_core::config::ListenerLimits;
use http_client::{check_idle, closed_after, drip, exchange, get, idle_connections};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Small limits so the tests take seconds, not minutes.
fn test_limits() -> ListenerLimits {
    ListenerLimits {
        max_connections: 64,
        tls_handshake_timeout_ms: 3_000,
        header_read_timeout_ms: 2_000,
        body_read_timeout_ms: 2_000,
        idle_timeout_ms: 3_000,
        max_body_bytes: 16 * 1024,
        max_connection_lifetime_ms: 600_000,
    }
}

async fn ops_server(limits: ListenerLimits) -> (SocketAddr, CancellationToken) {
    let shutdown = CancellationToken::new();
    let addr = runtime::serve_ops_with(
        "127.0.0.1:0".parse().expect("addr"),
        Health::default(),
        limits,
        shutdown.clone(),
    )
    .await
    .expect("serve_ops_with");
    (addr, shutdown)
}

/// (a) 2,000 idle TCP connections to the ops port: at most the cap are held, the rest closed at
/// once, and the held ones closed after the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_idle_connections_are_capped_and_timed_out() {
    let limits = test_limits();
    let (addr, shutdown) = ops_server(limits).await;
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let (closed, connecting) =
        idle_connections(2_000, idle + Duration::from_secs(4), || async move {
            TcpStream::connect(addr).await.expect("connect")
        })
        .await;
    check_idle(&closed, connecting, idle, limits.max_connections, "ops");
    shutdown.cancel();
}

/// (b) A request head sent at one byte a second is cut off at the header timeout, unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_slow_header_sender_is_disconnected_unanswered() {
    let limits = ListenerLimits {
        idle_timeout_ms: 10_000,
        ..test_limits()
    };
    let (addr, shutdown) = ops_server(limits).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let (elapsed, answer) = drip(
        &mut s,
        &get("/health"),
        Duration::from_secs(1),
        Duration::from_secs(8),
    )
    .await;
    println!("ops slow header sender: disconnected after {elapsed:?} (header timeout 2 s), answer {answer:?}");
    assert!(answer.is_empty(), "slow sender was answered: {answer:?}");
    assert!(
        elapsed >= Duration::from_millis(1_900) && elapsed <= Duration::from_millis(3_500),
        "disconnected after {elapsed:?}"
    );
    shutdown.cancel();
}

/// (c) A body declared over the limit is refused with 413 before it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_oversized_body_gets_413() {
    let limits = test_limits();
    let (addr, shutdown) = ops_server(limits).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        1 << 20
    );
    let (status, body) = exchange(&mut s, req.as_bytes()).await.expect("413 answer");
    println!(
        "ops: 1 MiB declared body -> {status} {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(status, 413);
    // At the limit is fine.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        limits.max_body_bytes
    )
    .into_bytes();
    req.extend(std::iter::repeat_n(b'a', limits.max_body_bytes));
    let (status, _) = exchange(&mut s, &req).await.expect("answer");
    assert_eq!(status, 200);
    shutdown.cancel();
}

/// (d) Normal requests work, several on one keep-alive connection, and the connection is only
/// closed once idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_keep_alive_requests_work() {
    let limits = test_limits();
    let (addr, shutdown) = ops_server(limits).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    for i in 0..5 {
        let (status, body) = exchange(&mut s, &get("/health"))
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(status, 200, "request {i}");
        assert!(
            String::from_utf8_lossy(&body).contains("problems"),
            "request {i}: {body:?}"
        );
        // Pauses shorter than the idle timeout keep the connection.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let (status, _) = exchange(&mut s, &get("/metrics")).await.expect("metrics");
    assert_eq!(status, 200);
    let closed = closed_after(&mut s, Instant::now(), Duration::from_secs(6)).await;
    println!("ops keep-alive: 6 requests on one connection over 3.5 s; closed {closed:?} after the last (idle 3 s)");
    let closed = closed.expect("idle keep-alive connection closed");
    assert!(
        closed >= Duration::from_millis(2_900),
        "closed after {closed:?}"
    );

    // And reqwest, as the daemons use it.
    let resp = reqwest::get(format!("http://{addr}/health"))
        .await
        .expect("GET /health");
    assert_eq!(resp.status(), 200);
    shutdown.cancel();
}

/// A connection kept busy is still wound down after its lifetime cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_connection_is_closed_at_its_lifetime_cap() {
    let limits = ListenerLimits {
        max_connection_lifetime_ms: 2_000,
        ..test_limits()
    };
    let (addr, shutdown) = ops_server(limits).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let start = Instant::now();
    let mut served = 0;
    while start.elapsed() < Duration::from_secs(6) {
        match exchange(&mut s, &get("/health")).await {
            Ok((200, _)) => served += 1,
            Ok((status, _)) => panic!("status {status}"),
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lived = start.elapsed();
    println!("busy connection: {served} requests, closed after {lived:?} (lifetime cap 2 s)");
    assert!(served >= 3, "{served} requests served");
    assert!(
        lived >= Duration::from_millis(1_900) && lived <= Duration::from_millis(3_500),
        "lived {lived:?}"
    );
    shutdown.cancel();
}

struct CertFiles {
    dir: std::path::PathBuf,
}

impl CertFiles {
    fn new() -> Self {
        let (cert, key) = tls::self_signed(&["localhost".into()]).expect("self_signed");
        let dir = common::temp_dir("listener");
        std::fs::write(dir.join("cert.pem"), cert).expect("write cert");
        std::fs::write(dir.join("key.pem"), key).expect("write key");
        Self { dir }
    }
    fn cert(&self) -> std::path::PathBuf {
        self.dir.join("cert.pem")
    }
    fn key(&self) -> std::path::PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for CertFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// 2,000 idle TCP connections that never start a TLS handshake: capped, and the held ones
/// closed after the handshake timeout; a TLS client still gets its answer afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_idle_connections_are_capped_and_timed_out() {
    let files = CertFiles::new();
    let config = tls::server_config(&files.cert(), &files.key()).expect("server_config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let limits = ListenerLimits {
        tls_handshake_timeout_ms: 2_500,
        ..test_limits()
    };
    let router = axum::Router::new().route("/x", axum::routing::get(|| async { "ok" }));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(listener::serve(
        "test_tls",
        listener,
        router,
        Some(config),
        limits,
        shutdown.clone(),
    ));
    let handshake = Duration::from_millis(limits.tls_handshake_timeout_ms);
    let (closed, connecting) =
        idle_connections(2_000, handshake + Duration::from_secs(4), || async move {
            TcpStream::connect(addr).await.expect("connect")
        })
        .await;
    check_idle(
        &closed,
        connecting,
        handshake,
        limits.max_connections,
        "tls",
    );

    let client = tokio_rustls::TlsConnector::from(Arc::new(
        tls::client_config(&files.cert()).expect("client_config"),
    ));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let mut s = client
        .connect("localhost".try_into().expect("name"), tcp)
        .await
        .expect("handshake");
    for _ in 0..3 {
        let (status, body) = exchange(&mut s, &get("/x")).await.expect("GET /x");
        assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(8), server)
        .await
        .expect("serve returns after cancel")
        .expect("serve task");
}

/// The limits are config keys (`[validator.api_limits]`, `[validator.ops_limits]`): each optional
/// with its default, a zero refused naming its key, an unknown key refused naming it.
#[test]
fn limits_are_optional_config_keys_checked_at_load() {
    use ghostbridge_core::config::{Config, Role};
    let dir = common::temp_dir("listener-config");
    let json = |id: u64| {
        serde_json::json!({
            "chainId": id,
            "verifier": "0x1000000000000000000000000000000000000001",
            "feeManager": "0x1000000000000000000000000000000000000002",
            "vault": "0x1000000000000000000000000000000000000003",
            "minter": "0x1000000000000000000000000000000000000004",
            "guardian": "0x1000000000000000000000000000000000000005",
            "deployBlock": 7,
            "tokens": {}
        })
        .to_string()
    };
    for id in [31337u64, 31338] {
        std::fs::write(dir.join(format!("deploy-{id}.json")), json(id)).expect("deployment");
    }
    for f in ["v.keystore.json", "cert.pem", "key.pem"] {
        std::fs::write(dir.join(f), "x").expect("file");
    }
    let config = |extra: &str| {
        let text = format!(
            r#"
[store]
url = "sqlite://state.db?mode=rwc"
[[chains]]
chain_id = 31337
rpc_urls = ["http://127.0.0.1:8545"]
confirmations = 1
deployment = "deploy-31337.json"
[[chains]]
chain_id = 31338
rpc_urls = ["http://127.0.0.1:8546"]
confirmations = 1
deployment = "deploy-31338.json"
[validator]
keystore = "v.keystore.json"
listen = "127.0.0.1:8555"
tls_cert = "cert.pem"
tls_key = "key.pem"
ops_listen = "127.0.0.1:9555"
{extra}
"#
        );
        let p = dir.join("validator.toml");
        std::fs::write(&p, text).expect("config");
        p
    };

    let (c, _) = Config::load(&config(""), Role::Validator).expect("no limits keys: defaults");
    let v = c.validator.expect("validator section");
    assert_eq!(
        (v.api_limits, v.ops_limits),
        (ListenerLimits::default(), ListenerLimits::default())
    );

    let (c, _) = Config::load(
        &config("[validator.api_limits]\nidle_timeout_ms = 5000\nmax_connections = 64\n"),
        Role::Validator,
    )
    .expect("partial limits");
    let v = c.validator.expect("validator section");
    assert_eq!(
        v.api_limits,
        ListenerLimits {
            idle_timeout_ms: 5_000,
            max_connections: 64,
            ..ListenerLimits::default()
        }
    );
    assert_eq!(v.ops_limits, ListenerLimits::default());

    let err = Config::load(
        &config("[validator.api_limits]\nmax_connections = 0\n[validator.ops_limits]\nheader_read_timeout_ms = 0\nmax_body_bytes = 0\n"),
        Role::Validator,
    )
    .expect_err("zero limits");
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "validator.api_limits.max_connections",
            "validator.ops_limits.header_read_timeout_ms",
            "validator.ops_limits.max_body_bytes"
        ],
        "{err}"
    );

    let err = Config::load(
        &config("[validator.api_limits]\nidle_timeout = 5\n"),
        Role::Validator,
    )
    .expect_err("unknown key");
    assert!(
        err.to_string().contains("validator.api_limits")
            && err.to_string().contains("idle_timeout"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
