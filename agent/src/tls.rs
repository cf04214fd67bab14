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
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| pem_error(cert_pem, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert_pem, e))?;
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| pem_error(key_pem, e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// Client config trusting only `pinned_cert_pem`; TLS 1.3 only, X25519MLKEM768 only.
pub fn client_config(pinned_cert_pem: &Path) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(pinned_cert_pem).map_err(|e| pem_error(pinned_cert_pem, e))?
    {
        roots.add(cert.map_err(|e| pem_error(pinned_cert_pem, e))?)?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// An HTTPS client for one validator (reqwest over the pinned, PQ-only rustls config).
pub fn https_client(pinned_cert_pem: &Path) -> Result<reqwest::Client, TlsError> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(pinned_cert_pem)?)
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
