//! The validator's HTTPS API (types in `ghostbridge_core::api`).

use alloy::primitives::{Address, B256};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ghostbridge_core::api::{ApiError, BatchRequest, SignedDigest, ValidatorInfo};
use ghostbridge_core::bindings::verifier::AttestationVerifier;
use ghostbridge_core::protocol::{merkle_root, Domain};
use ghostbridge_store::{AttestationRecord, AttestationSubject};

use crate::Validator;

type ApiResult<T> = Result<Json<T>, (StatusCode, Json<ApiError>)>;

fn err(code: StatusCode, msg: impl Into<String>) -> (StatusCode, Json<ApiError>) {
    (code, Json(ApiError { error: msg.into() }))
}

/// Largest batch the validator signs.
const MAX_BATCH: usize = 256;

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
async fn domain_and_epoch(v: &Validator, dst: u64) -> Result<(Domain, u64), (StatusCode, Json<ApiError>)> {
    let chain = v.inner.chains.get(&dst).ok_or_else(|| err(StatusCode::NOT_FOUND, format!("chain {dst} is not configured")))?;
    let verifier = AttestationVerifier::new(chain.deployment.verifier, v.inner.providers[&dst][0].clone());
    let epoch = verifier.epoch().call().await
        .map_err(|e| err(StatusCode::BAD_GATEWAY, format!("reading the epoch of chain {dst}: {e}")))?;
    Ok((Domain { chain_id: dst, verifier: chain.deployment.verifier }, epoch))
}

async fn existing(v: &Validator, subject: AttestationSubject, epoch: u64) -> Result<Option<AttestationRecord>, (StatusCode, Json<ApiError>)> {
    let mine = v.address();
    Ok(v.inner.store.attestations(&subject, epoch).await
        .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .into_iter()
        .find(|a| a.validator == mine))
}

fn response(subject: B256, dst: u64, epoch: u64, digest: B256, signer: Address, r: &AttestationRecord) -> SignedDigest {
    SignedDigest { subject, dst_chain_id: dst, epoch, digest, signer, ecdsa: r.ecdsa_sig.clone(), mldsa: r.mldsa_sig.clone() }
}

async fn sign_and_store(v: &Validator, subject: AttestationSubject, epoch: u64, digest: B256) -> Result<AttestationRecord, (StatusCode, Json<ApiError>)> {
    let sig = v.inner.key.sign_digest(digest).map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let record = AttestationRecord { subject, epoch, validator: v.address(), ecdsa_sig: sig.ecdsa.to_vec().into(), mldsa_sig: sig.mldsa.into() };
    // Persist before answering: what we hand out is what we keep.
    v.inner.store.put_attestation(&record).await.map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    metrics::counter!("ghostbridge_validator_signatures_total").increment(1);
    Ok(record)
}

async fn attest_message(State(v): State<Validator>, Path((dst, id)): Path<(u64, B256)>) -> ApiResult<SignedDigest> {
    if let Some(reason) = v.halted() {
        return Err(err(StatusCode::SERVICE_UNAVAILABLE, format!("halted: {reason}")));
    }
    let message = v.inner.store.message(&id).await.map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .ok_or_else(|| err(StatusCode::NOT_FOUND, format!("message {id} is not admitted (unknown or not yet past the confirmation depth)")))?;
    if message.dst_chain != dst {
        return Err(err(StatusCode::CONFLICT, format!("message {id} goes to chain {}, not {dst}", message.dst_chain)));
    }
    let (domain, epoch) = domain_and_epoch(&v, dst).await?;
    let digest = domain.message_digest(id, epoch);
    let subject = AttestationSubject::Message(id);
    let record = match existing(&v, subject, epoch).await? {
        Some(r) => r,
        None => sign_and_store(&v, subject, epoch, digest).await?,
    };
    Ok(Json(response(id, dst, epoch, digest, v.address(), &record)))
}

async fn attest_batch(State(v): State<Validator>, Json(req): Json<BatchRequest>) -> ApiResult<SignedDigest> {
    if let Some(reason) = v.halted() {
        return Err(err(StatusCode::SERVICE_UNAVAILABLE, format!("halted: {reason}")));
    }
    if req.message_ids.is_empty() || req.message_ids.len() > MAX_BATCH {
        return Err(err(StatusCode::BAD_REQUEST, format!("a batch holds 1..={MAX_BATCH} messages")));
    }
    // Only messages this validator re-derived itself, each for this destination.
    for id in &req.message_ids {
        match v.inner.store.message(id).await.map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))? {
            Some(m) if m.dst_chain == req.dst_chain_id => {}
            Some(m) => return Err(err(StatusCode::CONFLICT, format!("message {id} goes to chain {}, not {}", m.dst_chain, req.dst_chain_id))),
            None => return Err(err(StatusCode::NOT_FOUND, format!("message {id} is not admitted"))),
        }
    }
    let root = merkle_root(&req.message_ids).map_err(|e| err(StatusCode::BAD_REQUEST, e.to_string()))?;
    let (domain, epoch) = domain_and_epoch(&v, req.dst_chain_id).await?;
    let digest = domain.batch_digest(root, epoch);
    let subject = AttestationSubject::Batch(root);
    let record = match existing(&v, subject, epoch).await? {
        Some(r) => r,
        None => {
            v.inner.store.put_batch(&root, req.dst_chain_id, &req.message_ids).await
                .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            sign_and_store(&v, subject, epoch, digest).await?
        }
    };
    Ok(Json(response(root, req.dst_chain_id, epoch, digest, v.address(), &record)))
}

/// What this validator signed for a batch root (the watcher's PQ check of delivered batches).
async fn batch_signature(State(v): State<Validator>, Path((dst, root)): Path<(u64, B256)>) -> ApiResult<SignedDigest> {
    let (domain, epoch) = domain_and_epoch(&v, dst).await?;
    let record = existing(&v, AttestationSubject::Batch(root), epoch).await?
        .ok_or_else(|| err(StatusCode::NOT_FOUND, format!("no signature for batch {root} at epoch {epoch}")))?;
    Ok(Json(response(root, dst, epoch, domain.batch_digest(root, epoch), v.address(), &record)))
}
