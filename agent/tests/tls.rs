//! The validator API's TLS: TLS 1.3 with X25519MLKEM768 as the only key exchange group, on both
//! sides; a classical-only client or a client that does not pin the server's certificate fails
//! the handshake; end to end over HTTPS with `serve_https` and `https_client`.

use std::path::PathBuf;
use std::sync::Arc;

#[path = "../../core/tests/common/mod.rs"]
mod common;

use common::temp_dir;
use ghostbridge_agent::tls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A self-signed cert for "localhost" written as `cert.pem`/`key.pem` in a fresh temp dir.
struct CertFiles {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl CertFiles {
    fn new(tag: &str) -> Self {
        let (cert_pem, key_pem) = tls::self_signed(&["localhost".into()]).expect("self_signed");
        let dir = temp_dir(tag);
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, cert_pem).expect("write cert");
        std::fs::write(&key, key_pem).expect("write key");
        Self { dir, cert, key }
    }
}

impl Drop for CertFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one TLS handshake: the server accepts one connection with `tls::server_config`, the
/// client connects with `client`. Returns both sides' results; on success each side has sent and
/// read one byte so the handshake is complete on both ends.
async fn handshake(
    files: &CertFiles,
    client: rustls::ClientConfig,
) -> (
    anyhow::Result<tokio_rustls::server::TlsStream<TcpStream>>,
    anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>>,
) {
    let server_config = tls::server_config(&files.cert, &files.key).expect("server_config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        let mut b = [0u8; 1];
        tls.read_exact(&mut b).await?;
        tls.write_all(b"s").await?;
        tls.flush().await?;
        anyhow::Ok(tls)
    });
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let client = async {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from("localhost")?;
        let mut tls = connector.connect(name, tcp).await?;
        tls.write_all(b"c").await?;
        tls.flush().await?;
        let mut b = [0u8; 1];
        tls.read_exact(&mut b).await?;
        anyhow::Ok(tls)
    };
    let client = tokio::time::timeout(std::time::Duration::from_secs(10), client)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("client timed out")));
    let server = match tokio::time::timeout(std::time::Duration::from_secs(10), server).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(anyhow::anyhow!("server task: {join}")),
        Err(_) => Err(anyhow::anyhow!("server timed out")),
    };
    (server, client)
}

/// A client config pinning `cert` with an arbitrary provider (TLS 1.3 only).
fn client_with_provider(
    cert: &std::path::Path,
    provider: rustls::crypto::CryptoProvider,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).expect("read cert") {
        roots.add(c.expect("pem")).expect("add root");
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_negotiates_x25519mlkem768_on_tls13() {
    let files = CertFiles::new("pq");
    let client = tls::client_config(&files.cert).expect("client_config");
    let (server, client) = handshake(&files, client).await;
    let server = server.expect("server handshake");
    let client = client.expect("client handshake");

    let (_, s) = server.get_ref();
    let s_group = s
        .negotiated_key_exchange_group()
        .expect("server: negotiated group");
    assert_eq!(
        s_group.name(),
        rustls::NamedGroup::X25519MLKEM768,
        "server group"
    );
    assert_eq!(
        s.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3),
        "server version"
    );

    let (_, c) = client.get_ref();
    let c_group = c
        .negotiated_key_exchange_group()
        .expect("client: negotiated group");
    assert_eq!(
        c_group.name(),
        rustls::NamedGroup::X25519MLKEM768,
        "client group"
    );
    assert_eq!(
        c.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3),
        "client version"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn classical_only_client_is_refused() {
    let files = CertFiles::new("classical");
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
    let client = client_with_provider(&files.cert, provider);
    let (server, client) = handshake(&files, client).await;
    let server_err = server.expect_err("server must refuse an X25519-only client");
    let client_err = client.expect_err("X25519-only client must not complete a handshake");
    // No silent downgrade: the server has no group in common and aborts.
    let s = format!("{server_err:#}");
    assert!(
        s.to_lowercase().contains("kx")
            || s.to_lowercase().contains("group")
            || s.contains("HandshakeFailure")
            || s.contains("PeerIncompatible"),
        "server error should be about the key exchange: {s}"
    );
    let _ = client_err;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_pinning_another_cert_is_refused() {
    let files = CertFiles::new("server");
    let other = CertFiles::new("other");
    let client = tls::client_config(&other.cert).expect("client_config");
    let (server, client) = handshake(&files, client).await;
    let client_err = client.expect_err("a client pinning another cert must fail");
    let c = format!("{client_err:#}");
    assert!(
        c.contains("certificate")
            || c.contains("Certificate")
            || c.contains("UnknownIssuer")
            || c.contains("BadSignature"),
        "client error should be about the certificate: {c}"
    );
    assert!(
        server.is_err(),
        "server must not complete the handshake either"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_https_end_to_end() {
    let files = CertFiles::new("https");
    let server_config = tls::server_config(&files.cert, &files.key).expect("server_config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    let router = axum::Router::new().route("/x", axum::routing::get(|| async { "ok" }));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(tls::serve_https(
        listener,
        server_config,
        router,
        shutdown.clone(),
    ));

    let client = tls::https_client(&files.cert).expect("https_client");
    let resp = client
        .get(format!("https://localhost:{port}/x"))
        .send()
        .await
        .expect("GET /x");
    assert!(resp.status().is_success(), "status {}", resp.status());
    assert_eq!(resp.text().await.expect("body"), "ok");

    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("serve_https returns after cancel")
        .expect("serve_https task");
}

/// Mutual TLS for the validator API: with pinned client certificates the server answers only a
/// client presenting one of them; a client without a certificate, or with one it does not pin,
/// fails the handshake and gets nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_pinning_clients_answers_only_them() {
    let server = CertFiles::new("mtls-server");
    let relayer = CertFiles::new("mtls-relayer");
    let stranger = CertFiles::new("mtls-stranger");
    let config = tls::server_config_pinning_clients(
        &server.cert,
        &server.key,
        std::slice::from_ref(&relayer.cert),
    )
    .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    let router = axum::Router::new().route("/x", axum::routing::get(|| async { "ok" }));
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(tls::serve_https(listener, config, router, shutdown.clone()));
    let get = |identity: Option<&CertFiles>| {
        let client = tls::https_client_with(
            &server.cert,
            identity.map(|f| tls::Identity {
                cert: &f.cert,
                key: &f.key,
            }),
        )
        .expect("client");
        async move {
            client
                .get(format!("https://localhost:{port}/x"))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
        }
    };

    let pinned = get(Some(&relayer))
        .await
        .expect("the pinned client is answered");
    assert_eq!(pinned.text().await.expect("body"), "ok");
    assert!(
        get(None).await.is_err(),
        "a client without a certificate must not be answered"
    );
    assert!(
        get(Some(&stranger)).await.is_err(),
        "a client with a certificate the server does not pin must not be answered"
    );

    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), serving)
        .await
        .expect("serve_https returns after cancel")
        .expect("serve_https task");
}
