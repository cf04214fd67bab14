//! The validator's HTTPS API (types in `ghostbridge_core::api`).

use alloy::primitives::{Address, B256};
use alloy::sol_types::SolValue;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ghostbridge_core::api::{ApiError, BatchRequest, SignedDigest, ValidatorInfo};
use ghostbridge_core::bindings::verifier::AttestationVerifier;
use ghostbridge_core::protocol::{merkle_root, release_endpoint, Domain, Message};
use ghostbridge_store::{AttestationRecord, AttestationSubject};

use crate::Validator;

type ApiResult<T> = Result<Json<T>, (StatusCode, Json<ApiError>)>;

fn err(code: StatusCode, msg: impl Into<String>) -> (StatusCode, Json<ApiError>) {
    (code, Json(ApiError { error: msg.into() }))
}

/// Largest batch the validator signs.
const MAX_BATCH: usize = 256;

/// Most distinct batch roots one message may be signed in. Each signature kept costs ~5.6 KB
/// (ML-DSA-65 + ECDSA + members), so this bounds what any caller can make a validator store to
/// this many batches per admitted message, while leaving a relayer room to re-batch after
/// failures (it retries a message that failed alone, with a single-message attestation).
pub(crate) const MAX_BATCHES_PER_MESSAGE: usize = 8;

/// The API router.
pub fn router(v: Validator) -> Router {
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/attestations/{dst}/{id}", get(attest_message))
        .route("/v1/batches", post(attest_batch))
        .route("/v1/batches/{dst}/{root}", get(batch_signature))
        .with_state(v)
}

async fn info(State(v): State<Validator>) -> Json<ValidatorInfo> {
    let halt_reason = v.halted();
    Json(ValidatorInfo {
        address: v.address(),
        pq_public_key: v.inner.key.pq_public_key().into(),
        pq_key_hash: v.inner.key.pq_key_hash(),
        halted: halt_reason.is_some(),
        halt_reason,
    })
}

/// The destination's domain and current epoch (read from its verifier for every request, so a
/// rotation is honoured at once).
async fn domain_and_epoch(
    v: &Validator,
    dst: u64,
) -> Result<(Domain, u64), (StatusCode, Json<ApiError>)> {
    let chain = v.inner.chains.get(&dst).ok_or_else(|| {
        err(
            StatusCode::NOT_FOUND,
            format!("chain {dst} is not configured"),
        )
    })?;
    let verifier = AttestationVerifier::new(
        chain.deployment.verifier,
        v.inner.providers[&dst][0].clone(),
    );
    let epoch = verifier.epoch().call().await.map_err(|e| {
        err(
            StatusCode::BAD_GATEWAY,
            format!("reading the epoch of chain {dst}: {e}"),
        )
    })?;
    Ok((
        Domain {
            chain_id: dst,
            verifier: chain.deployment.verifier,
        },
        epoch,
    ))
}

/// The destination endpoint that releases every one of `ids` (all for `dst`), decided from the
/// messages this validator re-derived itself: a lock on the source vault is minted by `dst`'s
/// minter, a burn on the source minter unlocked by `dst`'s vault. 404 for a message not admitted,
/// 409 for one going elsewhere or for members released by different endpoints.
async fn release_endpoint_of(
    v: &Validator,
    dst: u64,
    ids: &[B256],
) -> Result<Address, (StatusCode, Json<ApiError>)> {
    let dst_deployment = &v
        .inner
        .chains
        .get(&dst)
        .ok_or_else(|| {
            err(
                StatusCode::NOT_FOUND,
                format!("chain {dst} is not configured"),
            )
        })?
        .deployment;
    let mut endpoint: Option<(B256, Address)> = None;
    for id in ids {
        let record = v.inner.store.admitted(id).await.map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or_else(|| err(StatusCode::NOT_FOUND, format!("message {id} is not admitted (unknown or not yet past the confirmation depth)")))?;
        if record.dst_chain != dst {
            return Err(err(
                StatusCode::CONFLICT,
                format!("message {id} goes to chain {}, not {dst}", record.dst_chain),
            ));
        }
        let message = Message::abi_decode(&record.encoded).map_err(|e| {
            err(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("stored message {id}: {e}"),
            )
        })?;
        let src = v.inner.chains.get(&message.srcChainId).ok_or_else(|| {
            err(
                StatusCode::CONFLICT,
                format!(
                    "message {id} comes from chain {}, which is not configured",
                    message.srcChainId
                ),
            )
        })?;
        let this = release_endpoint(message.srcContract, &src.deployment, dst_deployment)
            .ok_or_else(|| {
                err(
                    StatusCode::CONFLICT,
                    format!(
                        "message {id} comes from {}, neither vault nor minter of chain {}",
                        message.srcContract, message.srcChainId
                    ),
                )
            })?;
        match endpoint {
            None => endpoint = Some((*id, this)),
            Some((first, e)) if e != this => {
                return Err(err(StatusCode::CONFLICT, format!("batch mixes release endpoints: message {first} is released by {e}, message {id} by {this}")));
            }
            Some(_) => {}
        }
    }
    endpoint
        .map(|(_, e)| e)
        .ok_or_else(|| err(StatusCode::BAD_REQUEST, "no messages"))
}

async fn existing(
    v: &Validator,
    subject: AttestationSubject,
    epoch: u64,
) -> Result<Option<AttestationRecord>, (StatusCode, Json<ApiError>)> {
    let mine = v.address();
    Ok(v.inner
        .store
        .attestations(&subject, epoch)
        .await
        .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .into_iter()
        .find(|a| a.validator == mine))
}

fn response(
    subject: B256,
    dst: u64,
    epoch: u64,
    digest: B256,
    signer: Address,
    r: &AttestationRecord,
) -> SignedDigest {
    SignedDigest {
        subject,
        dst_chain_id: dst,
        epoch,
        digest,
        signer,
        ecdsa: r.ecdsa_sig.clone(),
        mldsa: r.mldsa_sig.clone(),
    }
}

async fn sign_and_store(
    v: &Validator,
    subject: AttestationSubject,
    epoch: u64,
    digest: B256,
) -> Result<AttestationRecord, (StatusCode, Json<ApiError>)> {
    let sig = v
        .inner
        .key
        .sign_digest(digest)
        .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let record = AttestationRecord {
        subject,
        epoch,
        validator: v.address(),
        ecdsa_sig: sig.ecdsa.to_vec().into(),
        mldsa_sig: sig.mldsa.into(),
    };
    // Persist before answering: what we hand out is what we keep.
    v.inner
        .store
        .put_attestation(&record)
        .await
        .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    metrics::counter!("ghostbridge_validator_signatures_total").increment(1);
    Ok(record)
}

/// Where the caller saw a message's lock/burn: the optional query of
/// `GET /v1/attestations/{dst}/{id}?src_chain=..&src_contract=..&src_block=..` (the watcher
/// sends it). It only lets this validator tell "not yet" from "no" when it has no such
/// message; it never makes it sign anything (signing needs the message admitted by its own
/// follower), so a false hint can at most turn a "no" into a "not yet" for its sender.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SourceHint {
    /// Source chain.
    pub src_chain: Option<u64>,
    /// Source vault or minter.
    pub src_contract: Option<Address>,
    /// Block of the lock/burn.
    pub src_block: Option<u64>,
}

impl SourceHint {
    /// Parses `src_chain=..&src_contract=..&src_block=..` (other keys and unparsable values
    /// are ignored: the hint is then incomplete, and "not admitted" stays a 404).
    pub fn parse(query: &str) -> Self {
        let mut hint = Self::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "src_chain" => hint.src_chain = v.parse().ok(),
                "src_contract" => hint.src_contract = v.parse().ok(),
                "src_block" => hint.src_block = v.parse().ok(),
                _ => {}
            }
        }
        hint
    }

    /// The query string for this hint.
    pub fn query(chain: u64, contract: Address, block: u64) -> String {
        format!("src_chain={chain}&src_contract={contract}&src_block={block}")
    }
}

/// 425 Too Early: "not admitted YET" (this validator has not scanned the message's source
/// block past its confirmation depth), told apart from 404 "not admitted" (it has, and saw no
/// such message). A watcher counts 425 as no answer, 404 as a refusal.
pub const NOT_YET: u16 = 425;

/// The answer for a message this validator has not admitted. 404 (a refusal) when the hint is
/// missing, names a source it does not follow, or its follower's cursor (`cursor`: last block
/// fully scanned and admitted, past the confirmation depth) is at or past the hinted block:
/// it saw that block and no such message in it. 425 ([`NOT_YET`]) when the cursor is behind
/// the block (a lagging or freshly added validator): it cannot know yet.
fn not_admitted(
    id: &B256,
    hint: &SourceHint,
    followed: bool,
    cursor: Option<u64>,
) -> (StatusCode, String) {
    let (Some(chain), Some(contract), Some(block)) =
        (hint.src_chain, hint.src_contract, hint.src_block)
    else {
        return (
            StatusCode::NOT_FOUND,
            format!("message {id} is not admitted (unknown or not yet past the confirmation depth; send src_chain, src_contract and src_block to tell which)"),
        );
    };
    if !followed {
        return (
            StatusCode::NOT_FOUND,
            format!("message {id} is not admitted: chain {chain} contract {contract} is not a source this validator follows"),
        );
    }
    match cursor {
        Some(c) if c >= block => (
            StatusCode::NOT_FOUND,
            format!("message {id} is not admitted: this validator scanned chain {chain} contract {contract} up to block {c}, past block {block}, and admitted no such message"),
        ),
        _ => (
            StatusCode::from_u16(NOT_YET).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            format!(
                "message {id} is not admitted yet: this validator has scanned chain {chain} contract {contract} up to block {}, not yet past block {block} at its confirmation depth; ask again later",
                cursor.map_or_else(|| "none".to_owned(), |c| c.to_string())
            ),
        ),
    }
}

async fn attest_message(
    State(v): State<Validator>,
    Path((dst, id)): Path<(u64, B256)>,
    RawQuery(query): RawQuery,
) -> ApiResult<SignedDigest> {
    let hint = SourceHint::parse(query.as_deref().unwrap_or(""));
    if let Some(reason) = v.halted() {
        return Err(err(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("halted: {reason}"),
        ));
    }
    let store = &v.inner.store;
    let internal =
        |e: ghostbridge_store::StoreError| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    if store.admitted(&id).await.map_err(internal)?.is_none() {
        let source = hint.src_chain.zip(hint.src_contract);
        let followed = source.is_some_and(|(chain, contract)| {
            v.inner
                .chains
                .get(&chain)
                .is_some_and(|c| contract == c.deployment.vault || contract == c.deployment.minter)
        });
        let cursor = match source {
            Some((chain, contract)) if followed => store
                .admission_cursor(chain, &contract)
                .await
                .map_err(internal)?
                .map(|c| c.block_number),
            _ => None,
        };
        let (code, msg) = not_admitted(&id, &hint, followed, cursor);
        return Err(err(code, msg));
    }
    let endpoint = release_endpoint_of(&v, dst, &[id]).await?;
    let (domain, epoch) = domain_and_epoch(&v, dst).await?;
    let digest = domain.message_digest(endpoint, id, epoch);
    let subject = AttestationSubject::Message(id);
    let record = match existing(&v, subject, epoch).await? {
        Some(r) => r,
        None => sign_and_store(&v, subject, epoch, digest).await?,
    };
    Ok(Json(response(id, dst, epoch, digest, v.address(), &record)))
}

async fn attest_batch(
    State(v): State<Validator>,
    Json(req): Json<BatchRequest>,
) -> ApiResult<SignedDigest> {
    if let Some(reason) = v.halted() {
        return Err(err(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("halted: {reason}"),
        ));
    }
    if req.message_ids.is_empty() || req.message_ids.len() > MAX_BATCH {
        return Err(err(
            StatusCode::BAD_REQUEST,
            format!("a batch holds 1..={MAX_BATCH} messages"),
        ));
    }
    // Only messages this validator re-derived itself, each for this destination, all released by
    // one endpoint there (the one the digest names).
    let endpoint = release_endpoint_of(&v, req.dst_chain_id, &req.message_ids).await?;
    let root =
        merkle_root(&req.message_ids).map_err(|e| err(StatusCode::BAD_REQUEST, e.to_string()))?;
    let (domain, epoch) = domain_and_epoch(&v, req.dst_chain_id).await?;
    let digest = domain.batch_digest(endpoint, root, epoch);
    let subject = AttestationSubject::Batch(root);
    let record = match existing(&v, subject, epoch).await? {
        Some(r) => r,
        None => {
            refuse_needless_batch(&v, req.dst_chain_id, endpoint, &req.message_ids).await?;
            v.inner
                .store
                .put_signed_batch(&root, req.dst_chain_id, &req.message_ids)
                .await
                .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            sign_and_store(&v, subject, epoch, digest).await?
        }
    };
    Ok(Json(response(
        root,
        req.dst_chain_id,
        epoch,
        digest,
        v.address(),
        &record,
    )))
}

/// What this validator signed for a batch root (the watcher's PQ check of delivered batches).
async fn batch_signature(
    State(v): State<Validator>,
    Path((dst, root)): Path<(u64, B256)>,
) -> ApiResult<SignedDigest> {
    let (domain, epoch) = domain_and_epoch(&v, dst).await?;
    let record = existing(&v, AttestationSubject::Batch(root), epoch)
        .await?
        .ok_or_else(|| {
            err(
                StatusCode::NOT_FOUND,
                format!("no signature for batch {root} at epoch {epoch}"),
            )
        })?;
    // The endpoint the digest named, recomputed from the members stored when it was signed.
    let members = v
        .inner
        .store
        .signed_batch_members(&root)
        .await
        .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .ok_or_else(|| {
            err(
                StatusCode::NOT_FOUND,
                format!("members of batch {root} are not stored"),
            )
        })?;
    let endpoint = release_endpoint_of(&v, dst, &members).await?;
    Ok(Json(response(
        root,
        dst,
        epoch,
        domain.batch_digest(endpoint, root, epoch),
        v.address(),
        &record,
    )))
}

/// The signing endpoints are unauthenticated, so a new batch root is only signed when it can
/// still release something: 409 when a member is already consumed on its destination (a batch
/// over delivered messages is useless to an honest relayer), 429 when a member is already in
/// [`MAX_BATCHES_PER_MESSAGE`] signed batches. Reading the marks fails with 502: retry.
async fn refuse_needless_batch(
    v: &Validator,
    dst: u64,
    endpoint: Address,
    ids: &[B256],
) -> Result<(), (StatusCode, Json<ApiError>)> {
    let mut marks = Vec::with_capacity(ids.len());
    for id in ids {
        let record = v
            .inner
            .store
            .admitted(id)
            .await
            .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or_else(|| {
                err(
                    StatusCode::NOT_FOUND,
                    format!("message {id} is not admitted"),
                )
            })?;
        let batches = v
            .inner
            .store
            .signed_batches_containing(id)
            .await
            .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        if batches.len() >= MAX_BATCHES_PER_MESSAGE {
            return Err(err(StatusCode::TOO_MANY_REQUESTS, format!("message {id} is already in {} signed batches (at most {MAX_BATCHES_PER_MESSAGE}); ask for it alone", batches.len())));
        }
        marks.push((endpoint, record.src_chain, record.nonce));
    }
    let consumed = ghostbridge_agent::chain::consumed_marks(&v.inner.providers[&dst][0], &marks)
        .await
        .map_err(|e| {
            err(
                StatusCode::BAD_GATEWAY,
                format!("reading consumed marks on chain {dst}: {e:#}"),
            )
        })?;
    if let Some(i) = consumed.iter().position(|c| *c) {
        return Err(err(
            StatusCode::CONFLICT,
            format!(
                "message {} is already released on chain {dst}; a batch over it is not signed",
                ids[i]
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ghostbridge_core::config::{Chain, GasPolicy};
    use ghostbridge_core::deployment::Deployment;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const VAULT: Address = Address::repeat_byte(0xa1);

    #[test]
    fn not_yet_is_told_from_no() {
        let id = B256::repeat_byte(1);
        let hint = SourceHint {
            src_chain: Some(1),
            src_contract: Some(VAULT),
            src_block: Some(100),
        };
        // Behind the block (or nothing scanned yet): "not yet", never a refusal.
        assert_eq!(not_admitted(&id, &hint, true, Some(99)).0.as_u16(), NOT_YET);
        assert_eq!(not_admitted(&id, &hint, true, None).0.as_u16(), NOT_YET);
        // At or past it, and no such message: a refusal.
        assert_eq!(
            not_admitted(&id, &hint, true, Some(100)).0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            not_admitted(&id, &hint, true, Some(500)).0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            SourceHint::parse(&SourceHint::query(1, VAULT, 100)),
            hint,
            "the query round-trips"
        );
        assert_eq!(SourceHint::parse("src_block=x&zzz").src_block, None);
        // A source it does not follow, or no hint: a refusal, as before.
        assert_eq!(
            not_admitted(&id, &hint, false, None).0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            not_admitted(&id, &SourceHint::default(), true, None).0,
            StatusCode::NOT_FOUND
        );
    }

    async fn status_of(addr: std::net::SocketAddr, path: &str) -> u16 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let head = String::from_utf8_lossy(&out);
        head.split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// The real router: a lagging validator answers 425 for a message past its cursor, a
    /// validator whose cursor passed the block answers 404.
    #[tokio::test]
    async fn the_api_answers_not_yet_behind_its_cursor_and_no_past_it() {
        let dir = std::env::temp_dir().join(format!(
            "ghostbridge-validator-notyet-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = ghostbridge_store::Store::open(&format!(
            "sqlite://{}?mode=rwc",
            dir.join("v.db").display()
        ))
        .await
        .unwrap();
        store.migrate().await.unwrap();
        store
            .set_admission_cursor(1, &VAULT, 120, &B256::repeat_byte(7))
            .await
            .unwrap();
        let chain = |chain_id: u64, vault: Address| Chain {
            name: format!("c{chain_id}"),
            chain_id,
            rpc_urls: vec!["http://127.0.0.1:1".into()],
            confirmations: 2,
            block_time_ms: 1000,
            max_block_range: 1000,
            deployment: Deployment {
                chain_id,
                verifier: Address::repeat_byte(0xb1),
                fee_manager: Address::repeat_byte(0xb2),
                vault,
                minter: Address::repeat_byte(0xb3),
                guardian: Address::repeat_byte(0xb4),
                deploy_block: 0,
                tokens: Default::default(),
            },
            gas: GasPolicy::default(),
        };
        let key = ghostbridge_core::keys::ValidatorKey::devnet(&[3u8; 32]).unwrap();
        let v = Validator::new(
            key,
            vec![chain(1, VAULT), chain(2, Address::repeat_byte(0xc1))],
            store,
            ghostbridge_agent::runtime::Health::default(),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router(v)).await.unwrap();
        });
        let id = B256::repeat_byte(9);
        let path = |block: u64| {
            format!("/v1/attestations/2/{id}?src_chain=1&src_contract={VAULT}&src_block={block}")
        };
        assert_eq!(status_of(addr, &path(121)).await, NOT_YET);
        assert_eq!(status_of(addr, &path(120)).await, 404);
        assert_eq!(status_of(addr, &path(3)).await, 404);
        assert_eq!(
            status_of(addr, &format!("/v1/attestations/2/{id}")).await,
            404
        );
        // A contract that is not a followed source: a refusal.
        let other = Address::repeat_byte(0xee);
        assert_eq!(
            status_of(
                addr,
                &format!("/v1/attestations/2/{id}?src_chain=1&src_contract={other}&src_block=999")
            )
            .await,
            404
        );
        server.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
