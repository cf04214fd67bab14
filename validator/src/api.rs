//! The validator's HTTPS API (types in `ghostbridge_core::api`).

use alloy::primitives::{Address, B256};
use alloy::sol_types::SolValue;
use axum::extract::{Path, State};
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
        let record = v.inner.store.message(id).await.map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
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

async fn attest_message(
    State(v): State<Validator>,
    Path((dst, id)): Path<(u64, B256)>,
) -> ApiResult<SignedDigest> {
    if let Some(reason) = v.halted() {
        return Err(err(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("halted: {reason}"),
        ));
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
                .put_batch(&root, req.dst_chain_id, &req.message_ids)
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
        .batch_members(&root)
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
            .message(id)
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
            .batches_containing(id)
            .await
            .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        if batches.len() >= MAX_BATCHES_PER_MESSAGE {
            return Err(err(StatusCode::TOO_MANY_REQUESTS, format!("message {id} is already in {} signed batches (at most {MAX_BATCHES_PER_MESSAGE}); ask for it alone", batches.len())));
        }
        marks.push((endpoint, record.src_chain, record.nonce));
    }
    let consumed = ghostbridge_core::chain::consumed_marks(&v.inner.providers[&dst][0], &marks)
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
