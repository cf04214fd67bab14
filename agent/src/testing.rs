//! Fakes for daemon unit tests (feature `test-utils`): a scripted chain node ([`mock_node`]) and a
//! validator API ([`FakeValidator`]: HTTPS with the production TLS, real signatures). A decision
//! of a follower, a relayer or a watcher is then a short test over what the node and the
//! validators answer, not only an anvil run.

use alloy::primitives::{Address, Bloom, Bytes, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::rpc::types::{Block, Header, Log, TransactionReceipt};
pub use alloy::transports::mock::Asserter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use ghostbridge_core::api::{ApiError, BatchRequest, SignedDigest, ValidatorInfo};
use ghostbridge_core::config::ValidatorEndpoint;
use ghostbridge_core::keys::ValidatorKey;
use ghostbridge_core::protocol::{merkle_root, Domain};

use crate::attest::{ValidatorClients, ValidatorSet};

/// A provider over a scripted node: each RPC call takes the next answer pushed on the returned
/// [`Asserter`] (`push_success`, `push_failure`), whatever its method; `read_q` shows what is
/// left, so a test also checks how many calls were made.
pub fn mock_node() -> (DynProvider, Asserter) {
    let node = Asserter::new();
    let provider = ProviderBuilder::new()
        .connect_mocked_client(node.clone())
        .erased();
    (provider, node)
}

/// A block as `eth_getBlockByNumber` returns it, with `hash`.
pub fn block(hash: B256) -> Block {
    Block {
        header: Header {
            hash,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A log in block `number` (other fields empty).
pub fn log_in(number: u64) -> Log {
    Log {
        block_number: Some(number),
        ..Default::default()
    }
}

/// A mined receipt with `status` (other fields plausible).
pub fn receipt(status: bool) -> TransactionReceipt {
    let json = serde_json::json!({
        "transactionHash": B256::repeat_byte(0xaa),
        "transactionIndex": "0x0",
        "blockHash": B256::repeat_byte(0xbb),
        "blockNumber": "0x36",
        "from": Address::repeat_byte(0x01),
        "to": Address::repeat_byte(0x09),
        "contractAddress": null,
        "gasUsed": "0x5208",
        "cumulativeGasUsed": "0x5208",
        "effectiveGasPrice": "0x1",
        "logs": [],
        "logsBloom": Bloom::ZERO,
        "type": "0x2",
        "status": if status { "0x1" } else { "0x0" },
    });
    serde_json::from_value(json).unwrap_or_else(|e| panic!("receipt JSON: {e}"))
}

/// The node's answer to a call (`eth_call`, `eth_estimateGas`) that reverts with `data`.
pub fn reverts_with(data: impl Into<Bytes>) -> ErrorPayload {
    let data: Bytes = data.into();
    ErrorPayload {
        code: 3,
        message: "execution reverted".into(),
        data: Some(
            serde_json::value::to_raw_value(&data)
                .unwrap_or_else(|e| panic!("revert data JSON: {e}")),
        ),
    }
}

// ------------------------------------------------------------------ fake validator API

/// How a [`FakeValidator`] answers the sign requests (`GET /v1/attestations/{dst}/{id}`,
/// `POST /v1/batches`, `GET /v1/batches/{dst}/{root}`); `/v1/info` always answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Signs, as an honest validator that admitted the message.
    Sign,
    /// Answers this HTTP status with an `ApiError` body: 503 halted (`/v1/info` then says
    /// `halted`), 404 not admitted, 425 not admitted yet, 409 conflict...
    Status(u16),
    /// Waits this long, then signs (longer than the client's 10 s timeout: unreachable).
    Slow(std::time::Duration),
}

/// What a [`FakeValidator`] signs: the digest the real validator would sign for messages
/// (or batches) released by `endpoint` on `domain`'s chain at verifier epoch `epoch`.
#[derive(Debug, Clone, Copy)]
pub struct Signs {
    /// The destination chain and its verifier.
    pub domain: Domain,
    /// The releasing endpoint (minter for a lock, vault for a burn) the digest names.
    pub endpoint: Address,
    /// The verifier epoch the digest commits to.
    pub epoch: u64,
}

#[derive(Debug)]
struct FakeState {
    key: ValidatorKey,
    signs: Signs,
    behaviour: Mutex<Behaviour>,
}

type Reply = Result<Json<SignedDigest>, (StatusCode, Json<ApiError>)>;

impl FakeState {
    fn behaviour(&self) -> Behaviour {
        self.behaviour
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The answer to a request for the signature of message id or batch root `subject`.
    async fn answer(&self, dst: u64, subject: B256, batch: bool) -> Reply {
        let fail = |code: StatusCode, error: String| (code, Json(ApiError { error }));
        match self.behaviour() {
            Behaviour::Status(code) => {
                let code = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return Err(fail(code, format!("fake validator scripted: {code}")));
            }
            Behaviour::Slow(d) => tokio::time::sleep(d).await,
            Behaviour::Sign => {}
        }
        let (domain, endpoint, epoch) = (self.signs.domain, self.signs.endpoint, self.signs.epoch);
        if dst != domain.chain_id {
            return Err(fail(StatusCode::NOT_FOUND, format!("no chain {dst}")));
        }
        let digest = if batch {
            domain.batch_digest(endpoint, subject, epoch)
        } else {
            domain.message_digest(endpoint, subject, epoch)
        };
        let sig = self
            .key
            .sign_digest(digest)
            .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let (ecdsa, mldsa) = (sig.ecdsa.to_vec().into(), sig.mldsa.into());
        let signer = self.key.address();
        Ok(Json(SignedDigest {
            subject,
            dst_chain_id: dst,
            epoch,
            digest,
            signer,
            ecdsa,
            mldsa,
        }))
    }
}

type S = State<Arc<FakeState>>;
type At = Path<(u64, B256)>;

async fn fake_info(State(s): S) -> Json<ValidatorInfo> {
    let halted = s.behaviour() == Behaviour::Status(503);
    Json(ValidatorInfo {
        address: s.key.address(),
        pq_public_key: s.key.pq_public_key().into(),
        pq_key_hash: s.key.pq_key_hash(),
        halted,
        halt_reason: halted.then(|| "scripted".into()),
    })
}

async fn fake_message(State(s): S, Path((dst, id)): At) -> Reply {
    s.answer(dst, id, false).await
}

async fn fake_batch(State(s): S, Json(req): Json<BatchRequest>) -> Reply {
    // An empty batch has no root: signed over zero, which no client expects.
    let root = merkle_root(&req.message_ids).unwrap_or_default();
    s.answer(req.dst_chain_id, root, true).await
}

async fn fake_batch_root(State(s): S, Path((dst, root)): At) -> Reply {
    s.answer(dst, root, true).await
}

/// A validator API on 127.0.0.1 (ephemeral port) over the production TLS ([`crate::tls`]: TLS
/// 1.3, X25519MLKEM768 only, a fresh self-signed certificate the client pins), signing with a real
/// `ValidatorKey` (secp256k1 + ML-DSA-65). Stopped (and its certificate deleted) when dropped.
#[derive(Debug)]
pub struct FakeValidator {
    /// The config entry pointing at it (absolute certificate path).
    pub endpoint: ValidatorEndpoint,
    /// The key's address.
    pub address: Address,
    /// keccak256 of the key's ML-DSA-65 public key, as registered on chain.
    pub pq_key_hash: B256,
    state: Arc<FakeState>,
    dir: std::path::PathBuf,
    shutdown: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Why a fake could not be set up (a temp file, a port, a certificate).
pub type FakeError = Box<dyn std::error::Error + Send + Sync>;

impl FakeValidator {
    /// Starts serving with `key`, answering [`Behaviour::Sign`].
    pub async fn start(key: ValidatorKey, signs: Signs) -> Result<Self, FakeError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "ghostbridge-fake-validator-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let (cert, key_pem) = crate::tls::self_signed(&["localhost".into()])?;
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert)?;
        std::fs::write(&key_path, key_pem)?;
        let tls = crate::tls::server_config(&cert_path, &key_path)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (address, pq_key_hash) = (key.address(), key.pq_key_hash());
        let behaviour = Mutex::new(Behaviour::Sign);
        let state = Arc::new(FakeState {
            key,
            signs,
            behaviour,
        });
        let router = axum::Router::new()
            .route("/v1/info", get(fake_info))
            .route("/v1/attestations/{dst}/{id}", get(fake_message))
            .route("/v1/batches", post(fake_batch))
            .route("/v1/batches/{dst}/{root}", get(fake_batch_root))
            .with_state(state.clone());
        let shutdown = tokio_util::sync::CancellationToken::new();
        let serve = crate::tls::serve_https(listener, tls, router, shutdown.clone());
        let url = format!("https://localhost:{port}");
        let (tls_cert, server_name) = (cert_path, "localhost".into());
        Ok(Self {
            endpoint: ValidatorEndpoint {
                url,
                tls_cert,
                server_name,
            },
            address,
            pq_key_hash,
            state,
            dir,
            shutdown,
            task: Some(tokio::spawn(serve)),
        })
    }

    /// From now on, answers sign requests as `behaviour` says.
    pub fn set(&self, behaviour: Behaviour) {
        *self
            .state
            .behaviour
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = behaviour;
    }

    /// Stops serving and waits until the port is closed: a client then gets "connection
    /// refused" (an unreachable validator).
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeValidator {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Clients of `fakes`, built as the relayer and the watcher build them from their config.
pub fn clients(fakes: &[&FakeValidator]) -> Result<ValidatorClients, FakeError> {
    let endpoints: Vec<_> = fakes.iter().map(|f| f.endpoint.clone()).collect();
    Ok(ValidatorClients::new(
        &endpoints,
        std::path::Path::new("/"),
    )?)
}

/// The verifier's set made of `fakes` (signers ascending, as the verifier keeps them).
pub fn validator_set(fakes: &[&FakeValidator], epoch: u64, threshold: u64) -> ValidatorSet {
    let mut members: Vec<(Address, B256)> =
        fakes.iter().map(|f| (f.address, f.pq_key_hash)).collect();
    members.sort();
    ValidatorSet {
        epoch,
        signers: members.iter().map(|m| m.0).collect(),
        pq_key_hashes: members.iter().map(|m| m.1).collect(),
        threshold,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::attest::AnswerError;

    /// The fake answers as scripted, over the production TLS, with signatures that pass both
    /// ML-DSA-65 verifiers; stopped, it is unreachable.
    #[tokio::test]
    async fn a_fake_validator_signs_refuses_and_goes_away_as_scripted() {
        let domain = Domain {
            chain_id: 7,
            verifier: Address::repeat_byte(1),
        };
        let (endpoint, epoch) = (Address::repeat_byte(2), 4);
        let key = ValidatorKey::devnet(&[9; 32]).unwrap();
        let signs = Signs {
            domain,
            endpoint,
            epoch,
        };
        let mut fake = FakeValidator::start(key, signs).await.unwrap();
        let clients = clients(&[&fake]).unwrap();
        let set = validator_set(&[&fake], epoch, 1);
        let (id, path) = (
            B256::repeat_byte(3),
            ValidatorClients::message_path(7, B256::repeat_byte(3)),
        );
        let answer = clients.ask(&path, None).await.remove(0).unwrap();
        let digest = domain.message_digest(endpoint, id, epoch);
        let sig = clients.check(&set, digest, &answer, true).await.unwrap();
        assert_eq!(sig.signer_index, 0);
        fake.set(Behaviour::Status(503));
        let refused = clients.ask(&path, None).await.remove(0).unwrap_err();
        assert!(
            matches!(refused, AnswerError::Status { status: 503, .. }),
            "{refused}"
        );
        fake.stop().await;
        let gone = clients.ask(&path, None).await.remove(0).unwrap_err();
        assert!(matches!(gone, AnswerError::Unreachable { .. }), "{gone}");
    }
}
