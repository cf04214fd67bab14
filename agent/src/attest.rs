//! Gathering validator signatures and checking them against the on-chain validator set.
//! Used by the relayer (to assemble calldata) and the watcher (to re-check delivered ones).

use std::collections::HashMap;
use std::path::Path;

use alloy::primitives::{Address, B256};
use alloy::providers::DynProvider;
use futures::future::join_all;

use crate::chain::ChainError;

use ghostbridge_core::api::{ApiError, BatchRequest, SignedDigest, ValidatorInfo};
use ghostbridge_core::bindings::verifier::AttestationVerifier;
use ghostbridge_core::config::ValidatorEndpoint;
use ghostbridge_core::keys::{check_ecdsa, check_mldsa, check_mldsa_both, SignatureError};
use ghostbridge_core::protocol::{to_compact, Attestation, CompactSignature};

/// The destination verifier's current set, read from the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    /// Verifier epoch.
    pub epoch: u64,
    /// Signers, ascending.
    pub signers: Vec<Address>,
    /// keccak256 of each signer's ML-DSA-65 public key.
    pub pq_key_hashes: Vec<B256>,
    /// Signatures needed.
    pub threshold: u64,
}

impl ValidatorSet {
    /// Reads the set from `verifier`.
    pub async fn read(provider: &DynProvider, verifier: Address) -> Result<Self, ChainError> {
        let v = AttestationVerifier::new(verifier, provider.clone());
        let (epoch, set, threshold) = tokio::try_join!(
            async { v.epoch().call().await },
            async { v.validators().call().await },
            async { v.threshold().call().await },
        )
        .map_err(|e| ChainError::rpc("reading the validator set", e))?;
        Ok(Self {
            epoch,
            signers: set.signers,
            pq_key_hashes: set.pqKeyHashes,
            threshold: threshold.to(),
        })
    }

    /// Index of `signer` in the set.
    pub fn index_of(&self, signer: Address) -> Option<usize> {
        self.signers.iter().position(|s| *s == signer)
    }
}

/// Why no attestation could be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    /// Fewer than the threshold of answers checked out (validators down, not caught up yet, or
    /// signing something else): retry later; every answer's reason is kept.
    #[error(
        "only {got} of the {need} required validator signatures checked out: {}",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    BelowThreshold {
        /// Signatures that checked out.
        got: u64,
        /// The set's threshold.
        need: u64,
        /// Why each other answer was not used.
        problems: Vec<AnswerError>,
        /// The answers that checked out: kept by the caller, so a transfer's status shows the
        /// validators that signed while it waits for the rest.
        accepted: Vec<SignedDigest>,
    },
}

/// Why a validator's answer was not used.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Transport or HTTP error.
    #[error("{url}: {error}")]
    Unreachable {
        /// Validator URL.
        url: String,
        /// What happened.
        error: String,
    },
    /// The validator answered with an HTTP error status (404: not admitted, 503: halted, ...).
    #[error("{url}: HTTP {status}: {error}")]
    Status {
        /// Validator URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The validator's error message.
        error: String,
    },
    /// Not in the current set.
    #[error("{0} is not in the destination's validator set")]
    NotInSet(Address),
    /// Wrong epoch/digest/subject.
    #[error("{signer} signed digest {got}, expected {expected}")]
    WrongDigest {
        /// Validator.
        signer: Address,
        /// Digest it returned.
        got: B256,
        /// Digest we computed.
        expected: B256,
    },
    /// A signature failed.
    #[error("{signer}: {error}")]
    BadSignature {
        /// Validator.
        signer: Address,
        /// Which check failed.
        error: SignatureError,
    },
}

/// One validator's API.
#[derive(Debug, Clone)]
pub struct ValidatorClient {
    /// Base URL.
    pub url: String,
    client: reqwest::Client,
}

/// All configured validators.
#[derive(Debug, Clone)]
pub struct ValidatorClients {
    clients: Vec<ValidatorClient>,
    /// ML-DSA public keys learned from `/v1/info`, by address (checked against the on-chain hash
    /// before every use, so a validator cannot swap keys).
    pq_keys: std::sync::Arc<tokio::sync::RwLock<HashMap<Address, Vec<u8>>>>,
}

impl ValidatorClients {
    /// Clients for the configured endpoints (certificates resolved against `base`).
    pub fn new(endpoints: &[ValidatorEndpoint], base: &Path) -> Result<Self, crate::tls::TlsError> {
        Self::with_identity(endpoints, None, base)
    }

    /// Clients for a daemon's config: its `[[validators]]`, presenting its `[client_tls]`
    /// identity (mutual TLS) when it has one.
    pub fn from_config(
        config: &ghostbridge_core::config::Config,
    ) -> Result<Self, crate::tls::TlsError> {
        let identity = config
            .client_tls
            .as_ref()
            .map(|t| (config.resolve(&t.cert), config.resolve(&t.key)));
        Self::with_identity(
            &config.validators,
            identity
                .as_ref()
                .map(|(cert, key)| crate::tls::Identity { cert, key }),
            &config.base_dir,
        )
    }

    /// [`Self::new`], presenting `identity` to every validator.
    pub fn with_identity(
        endpoints: &[ValidatorEndpoint],
        identity: Option<crate::tls::Identity<'_>>,
        base: &Path,
    ) -> Result<Self, crate::tls::TlsError> {
        let clients = endpoints
            .iter()
            .map(|e| {
                let cert = if e.tls_cert.is_absolute() {
                    e.tls_cert.clone()
                } else {
                    base.join(&e.tls_cert)
                };
                Ok(ValidatorClient {
                    url: e.url.trim_end_matches('/').to_owned(),
                    client: crate::tls::https_client_with(&cert, identity)?,
                })
            })
            .collect::<Result<Vec<_>, crate::tls::TlsError>>()?;
        Ok(Self {
            clients,
            pq_keys: Default::default(),
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        c: &ValidatorClient,
        path: &str,
        body: Option<&BatchRequest>,
    ) -> Result<T, AnswerError> {
        let url = format!("{}{path}", c.url);
        let unreachable = |error: String| AnswerError::Unreachable {
            url: url.clone(),
            error,
        };
        let req = match body {
            Some(b) => c.client.post(&url).json(b),
            None => c.client.get(&url),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| unreachable(format!("{e:#}")))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let msg = resp
                .json::<ApiError>()
                .await
                .map(|e| e.error)
                .unwrap_or_default();
            return Err(AnswerError::Status {
                url: url.clone(),
                status: status.as_u16(),
                error: msg,
            });
        }
        resp.json::<T>()
            .await
            .map_err(|e| unreachable(e.to_string()))
    }

    /// Learns ML-DSA public keys from validators not yet known.
    async fn refresh_keys(&self) {
        if self.pq_keys.read().await.len() >= self.clients.len() {
            return;
        }
        let infos = join_all(
            self.clients
                .iter()
                .map(|c| self.get::<ValidatorInfo>(c, "/v1/info", None)),
        )
        .await;
        let mut keys = self.pq_keys.write().await;
        for info in infos.into_iter().flatten() {
            // Only the raw 1,952-byte encoding is ever kept (a DER key is refused here and, in
            // any case, by every check before use).
            match ghostbridge_core::keys::MldsaPublicKey::from_bytes(&info.pq_public_key) {
                Ok(key) => {
                    keys.insert(info.address, key.as_bytes().to_vec());
                }
                Err(e) => {
                    tracing::warn!(validator = %info.address, error = %e, "validator's ML-DSA-65 public key refused")
                }
            }
        }
    }

    /// Every validator's answer for `path` (GET, or POST with `body`).
    pub async fn ask(
        &self,
        path: &str,
        body: Option<&BatchRequest>,
    ) -> Vec<Result<SignedDigest, AnswerError>> {
        self.refresh_keys().await;
        join_all(
            self.clients
                .iter()
                .map(|c| self.get::<SignedDigest>(c, path, body)),
        )
        .await
    }

    /// Checks one answer against the set and the digest we computed ourselves. The digest names
    /// the releasing endpoint (`Domain::message_digest(endpoint, ..)`), so an answer signed for
    /// the other endpoint of the destination (vault vs minter) is refused as `WrongDigest`.
    /// `both_pq_verifiers`: also run the independent fips204 verifier (the watcher does).
    pub async fn check(
        &self,
        set: &ValidatorSet,
        expected_digest: B256,
        answer: &SignedDigest,
        both_pq_verifiers: bool,
    ) -> Result<CompactSignature, AnswerError> {
        let signer = answer.signer;
        let index = set.index_of(signer).ok_or(AnswerError::NotInSet(signer))?;
        if answer.digest != expected_digest || answer.epoch != set.epoch {
            return Err(AnswerError::WrongDigest {
                signer,
                got: answer.digest,
                expected: expected_digest,
            });
        }
        let bad = |error| AnswerError::BadSignature { signer, error };
        check_ecdsa(expected_digest, &answer.ecdsa, signer).map_err(bad)?;
        let pq_hash = set.pq_key_hashes[index];
        let Some(pk) = self.pq_keys.read().await.get(&signer).cloned() else {
            // No raw key learned yet (`/v1/info` unreachable, or its key refused): not the
            // registered key, as for an empty key before keys were length-checked.
            return Err(bad(SignatureError::PqKeyNotRegistered {
                registered: pq_hash,
                actual: alloy::primitives::keccak256([]),
            }));
        };
        if both_pq_verifiers {
            check_mldsa_both(expected_digest, &pk, &answer.mldsa, pq_hash).map_err(bad)?;
        } else {
            check_mldsa(expected_digest, &pk, &answer.mldsa, pq_hash).map_err(bad)?;
        }
        let sig65: [u8; 65] = answer
            .ecdsa
            .as_ref()
            .try_into()
            .map_err(|_| bad(SignatureError::MalformedEcdsa))?;
        let (r, vs) = to_compact(&sig65);
        Ok(CompactSignature {
            signer_index: u8::try_from(index).map_err(|_| AnswerError::NotInSet(signer))?,
            r,
            vs,
        })
    }

    /// Gathers, checks and assembles an attestation over `expected_digest`; refuses with every
    /// reason when fewer than the threshold check out.
    pub async fn attestation(
        &self,
        set: &ValidatorSet,
        expected_digest: B256,
        path: &str,
        body: Option<&BatchRequest>,
    ) -> Result<(Attestation, Vec<SignedDigest>), AttestationError> {
        let mut signatures = Vec::new();
        let mut accepted = Vec::new();
        let mut problems = Vec::new();
        for answer in self.ask(path, body).await {
            match answer {
                Ok(a) => match self.check(set, expected_digest, &a, false).await {
                    Ok(sig) => {
                        signatures.push(sig);
                        accepted.push(a);
                    }
                    Err(e) => {
                        metrics::counter!("ghostbridge_invalid_validator_signatures_total")
                            .increment(1);
                        tracing::warn!(error = %e, "validator signature refused");
                        problems.push(e);
                    }
                },
                Err(e) => problems.push(e),
            }
        }
        signatures.sort_by_key(|s| s.signer_index);
        signatures.dedup_by_key(|s| s.signer_index);
        if (signatures.len() as u64) < set.threshold {
            return Err(AttestationError::BelowThreshold {
                got: signatures.len() as u64,
                need: set.threshold,
                problems,
                accepted,
            });
        }
        Ok((
            Attestation {
                signers: set.signers.clone(),
                signatures,
            },
            accepted,
        ))
    }

    /// Fetch a batch root signature from every validator.
    pub fn batch_path(dst: u64, root: B256) -> String {
        format!("/v1/batches/{dst}/{root}")
    }

    /// Path of a message attestation.
    pub fn message_path(dst: u64, id: B256) -> String {
        format!("/v1/attestations/{dst}/{id}")
    }
}
