//! TLS 1.3 for the validator API with the hybrid post-quantum key exchange X25519MLKEM768 as the
//! ONLY group, on both sides (rustls with the aws-lc-rs provider). A peer that cannot do
//! X25519MLKEM768 fails the handshake instead of silently falling back to a classical group.
//! The relayer and watcher pin each validator's self-signed certificate as the only trust root.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A certificate, key or TLS configuration that cannot be used. Never retryable: the operator
/// fixes the file or the setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file that cannot be read or holds no usable certificate or key.
    #[error("{}: {error}", path.display())]
    Pem {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        error: String,
    },
    /// rustls refused the configuration (e.g. a key that does not match the certificate).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The certificate generator failed.
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The HTTPS client could not be built.
    #[error("HTTPS client: {0}")]
    Client(#[from] reqwest::Error),
    /// The pinned client certificates cannot verify anything (e.g. none parses as a root).
    #[error("client certificate verifier: {0}")]
    ClientVerifier(String),
}

fn pem_error(path: &Path, error: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        error: error.to_string(),
    }
}

/// The aws-lc-rs provider restricted to X25519MLKEM768.
pub fn provider() -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    p.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519MLKEM768];
    Arc::new(p)
}

/// A self-signed certificate (PEM) and its key (PEM) for `names` (`ghostbridge keys tls`).
pub fn self_signed(names: &[String]) -> Result<(String, String), TlsError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let params = rcgen::CertificateParams::new(names.to_vec())?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Server config: TLS 1.3 only, X25519MLKEM768 only.
pub fn server_config(
    cert_pem: &Path,
    key_pem: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = read_certs(cert_pem)?;
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| pem_error(key_pem, e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// Server config that also requires a client certificate, accepting exactly the self-signed
/// certificates in `client_cert_pems` (each pinned as its own trust root: mutual TLS for the
/// validator API). With none listed, any client is answered ([`server_config`]).
pub fn server_config_pinning_clients(
    cert_pem: &Path,
    key_pem: &Path,
    client_cert_pems: &[std::path::PathBuf],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    if client_cert_pems.is_empty() {
        return server_config(cert_pem, key_pem);
    }
    let mut clients = rustls::RootCertStore::empty();
    for pem in client_cert_pems {
        clients.add_parsable_certificates(read_certs(pem)?);
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(clients), provider())
            .build()
            .map_err(|e| TlsError::ClientVerifier(e.to_string()))?;
    let certs = read_certs(cert_pem)?;
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| pem_error(key_pem, e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

fn read_certs(pem: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_file_iter(pem)
        .map_err(|e| pem_error(pem, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(pem, e))
}

/// A client certificate and its key (PEM files), presented to validators that pin it.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// Certificate (PEM).
    pub cert: &'a Path,
    /// Private key (PEM).
    pub key: &'a Path,
}

/// Client config trusting only `pinned_cert_pem`; TLS 1.3 only, X25519MLKEM768 only.
pub fn client_config(pinned_cert_pem: &Path) -> Result<rustls::ClientConfig, TlsError> {
    client_config_with(pinned_cert_pem, None)
}

/// [`client_config`], presenting `identity` when the server asks for a client certificate.
pub fn client_config_with(
    pinned_cert_pem: &Path,
    identity: Option<Identity<'_>>,
) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(pinned_cert_pem)? {
        roots.add(cert)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots);
    Ok(match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let key = PrivateKeyDer::from_pem_file(id.key).map_err(|e| pem_error(id.key, e))?;
            builder.with_client_auth_cert(read_certs(id.cert)?, key)?
        }
    })
}

/// An HTTPS client for one validator (reqwest over the pinned, PQ-only rustls config).
pub fn https_client(pinned_cert_pem: &Path) -> Result<reqwest::Client, TlsError> {
    https_client_with(pinned_cert_pem, None)
}

/// [`https_client`], presenting `identity` (mutual TLS).
pub fn https_client_with(
    pinned_cert_pem: &Path,
    identity: Option<Identity<'_>>,
) -> Result<reqwest::Client, TlsError> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(client_config_with(pinned_cert_pem, identity)?)
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(3))
        .build()?)
}

/// Serves `router` over TLS on `listener` until `shutdown` fires, within the default
/// [`crate::listener::ListenerLimits`] (see [`crate::listener::serve`] to choose them).
pub async fn serve_https(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: CancellationToken,
) {
    crate::listener::serve(
        "https",
        listener,
        router,
        Some(config),
        Default::default(),
        shutdown,
    )
    .await;
}
