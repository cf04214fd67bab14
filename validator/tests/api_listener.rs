//! The network adversary against the validator's real HTTPS API (`serve_api`: the API router over
//! TLS 1.3 / X25519MLKEM768 through `ghostbridge_agent::listener`): 2,000 idle connections, a
//! request sent at one byte a second, oversized bodies (declared and chunked), and ordinary
//! keep-alive requests that must still work. All traffic goes to 127.0.0.1; every loop is bounded.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[path = "../../agent/tests/support/http_client.rs"]
mod http_client;

use ghostbridge_agent::runtime::Health;
use ghostbridge_agent::tls;
use ghostbridge_core::config::ListenerLimits;
use ghostbridge_core::keys::ValidatorKey;
use ghostbridge_store::Store;
use ghostbridge_validator::Validator;
use http_client::{check_idle, drip, exchange, get, idle_connections};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

fn test_limits() -> ListenerLimits {
    ListenerLimits {
        max_connections: 64,
        tls_handshake_timeout_ms: 2_500,
        header_read_timeout_ms: 2_000,
        body_read_timeout_ms: 2_000,
        idle_timeout_ms: 3_000,
        max_body_bytes: 16 * 1024,
        max_connection_lifetime_ms: 600_000,
    }
}

/// A validator (devnet key, no chains, a fresh SQLite store) serving its API over TLS.
struct Server {
    addr: SocketAddr,
    dir: PathBuf,
    connector: tokio_rustls::TlsConnector,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(limits: ListenerLimits) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ghostbridge-validator-listener-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (cert, key) = tls::self_signed(&["localhost".into()]).expect("self_signed");
        std::fs::write(dir.join("cert.pem"), cert).expect("write cert");
        std::fs::write(dir.join("key.pem"), key).expect("write key");
        let config =
            tls::server_config(&dir.join("cert.pem"), &dir.join("key.pem")).expect("server_config");
        let connector = tokio_rustls::TlsConnector::from(Arc::new(
            tls::client_config(&dir.join("cert.pem")).expect("client_config"),
        ));
        let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.join("v.db").display()))
            .await
            .expect("store");
        let key = ValidatorKey::devnet(&[3u8; 32]).expect("key");
        let validator =
            Validator::new(key, Vec::new(), store, Health::default()).expect("validator");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(ghostbridge_validator::serve_api(
            listener,
            validator,
            config,
            limits,
            shutdown.clone(),
        ));
        Self {
            addr,
            dir,
            connector,
            shutdown,
            task,
        }
    }

    async fn tls(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.expect("connect");
        self.connector
            .connect("localhost".try_into().expect("name"), tcp)
            .await
            .expect("TLS handshake")
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(8), self.task)
            .await
            .expect("serve_api returns after cancel")
            .expect("serve_api task");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn post(path: &str, headers: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{headers}\r\n").into_bytes()
}

/// (a) 2,000 idle TCP connections: at most the cap held, the rest closed at once; the held ones
/// closed at the TLS handshake timeout. The API still answers afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_capped_and_timed_out() {
    let limits = test_limits();
    let server = Server::start(limits).await;
    let addr = server.addr;
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
        "validator API",
    );
    let mut s = server.tls().await;
    let (status, _) = exchange(&mut s, &get("/v1/info"))
        .await
        .expect("GET /v1/info");
    assert_eq!(status, 200);
    server.stop().await;
}

/// (b) A TLS request whose head arrives at one byte a second is cut off at the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_sender_is_disconnected_unanswered() {
    let server = Server::start(ListenerLimits {
        idle_timeout_ms: 10_000,
        ..test_limits()
    })
    .await;
    let mut s = server.tls().await;
    let (elapsed, answer) = drip(
        &mut s,
        &get("/v1/info"),
        Duration::from_secs(1),
        Duration::from_secs(8),
    )
    .await;
    println!("validator API slow header sender: disconnected after {elapsed:?} (header timeout 2 s), {} bytes answered", answer.len());
    assert!(
        answer.is_empty(),
        "slow sender was answered: {}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        elapsed >= Duration::from_millis(1_900) && elapsed <= Duration::from_millis(3_500),
        "disconnected after {elapsed:?}"
    );
    server.stop().await;
}

/// (b) A `POST /v1/batches` whose body arrives at one byte a second is cut off at the body
/// timeout, unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_sender_is_disconnected_unanswered() {
    let server = Server::start(ListenerLimits {
        idle_timeout_ms: 10_000,
        ..test_limits()
    })
    .await;
    let mut s = server.tls().await;
    let body = br#"{"dst_chain_id":31338,"message_ids":["0x0000000000000000000000000000000000000000000000000000000000000001"]}"#;
    s.write_all(&post(
        "/v1/batches",
        &format!("Content-Length: {}\r\n", body.len()),
    ))
    .await
    .expect("head");
    s.flush().await.expect("flush");
    let (elapsed, answer) =
        drip(&mut s, body, Duration::from_secs(1), Duration::from_secs(8)).await;
    println!("validator API slow body sender: disconnected after {elapsed:?} (body timeout 2 s), {} bytes answered", answer.len());
    assert!(
        answer.is_empty(),
        "slow sender was answered: {}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        elapsed >= Duration::from_millis(1_900) && elapsed <= Duration::from_millis(3_500),
        "disconnected after {elapsed:?}"
    );
    server.stop().await;
}

/// (c) Oversized bodies get 413: declared by `Content-Length` (refused before the body is
/// sent) and chunked (refused by the JSON extractor's limit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413() {
    let limits = test_limits();
    let server = Server::start(limits).await;
    let mut s = server.tls().await;
    let (status, body) = exchange(
        &mut s,
        &post("/v1/batches", &format!("Content-Length: {}\r\n", 1 << 20)),
    )
    .await
    .expect("answer");
    println!(
        "validator API: 1 MiB declared body -> {status} {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(status, 413);

    let mut s = server.tls().await;
    s.write_all(&post("/v1/batches", "Transfer-Encoding: chunked\r\n"))
        .await
        .expect("head");
    let chunk = vec![b' '; 4096];
    let mut sent = 0;
    let mut answered = None;
    // Up to 4x the limit, a chunk at a time, until the server answers.
    while sent <= 4 * limits.max_body_bytes && answered.is_none() {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if s.write_all(&frame).await.is_err() || s.flush().await.is_err() {
            break;
        }
        sent += chunk.len();
        let mut peek = [0u8; 12];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(20), s.read(&mut peek)).await
        {
            answered = Some(String::from_utf8_lossy(&peek[..n]).to_string());
        }
    }
    if answered.is_none() {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut rest)).await;
        answered = Some(String::from_utf8_lossy(&rest).to_string());
    }
    let answered = answered.unwrap_or_default();
    println!("validator API: chunked body, {sent} bytes sent -> {answered:?}");
    assert!(
        answered.starts_with("HTTP/1.1 413"),
        "chunked oversized body: {answered:?}"
    );
    server.stop().await;
}

/// (d) Ordinary requests work, several on one keep-alive TLS connection; an ordinary small
/// POST gets the handler's answer, not a limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_requests_work() {
    let server = Server::start(test_limits()).await;
    let mut s = server.tls().await;
    for i in 0..5 {
        let (status, body) = exchange(&mut s, &get("/v1/info"))
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(status, 200, "request {i}");
        assert!(
            String::from_utf8_lossy(&body).contains("pq_public_key"),
            "request {i}"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let body = br#"{"dst_chain_id":31338,"message_ids":["0x0000000000000000000000000000000000000000000000000000000000000001"]}"#;
    let mut req = post(
        "/v1/batches",
        &format!("Content-Length: {}\r\n", body.len()),
    );
    req.extend_from_slice(body);
    let (status, answer) = exchange(&mut s, &req).await.expect("POST /v1/batches");
    println!(
        "validator API keep-alive: 6 requests on one TLS connection; small POST -> {status} {}",
        String::from_utf8_lossy(&answer)
    );
    // The handler's own answer (the message is not admitted), not a limit.
    assert!(
        status != 413 && String::from_utf8_lossy(&answer).contains("error"),
        "{status}"
    );
    server.stop().await;
}
