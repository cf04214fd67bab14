//! Rotation watch (issue 11, item 8). A validator-set rotation now takes effect only
//! `rotationDelay` after `proposeRotation` (which needs the large threshold), and the guardian may
//! cancel it meanwhile. The watcher reads every `RotationProposed` of each chain's verifier: a
//! proposal whose hash governance did not announce to this watcher (env
//! `GHOSTBRIDGE_EXPECTED_ROTATIONS`, comma-separated 0x proposal hashes, i.e. the verifier's
//! `rotationDigest`) is a violation; with the guardian key the watcher cancels it
//! (`cancelRotation`) and, as for any violation, pauses the bridge.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::SolEvent;
use ghostbridge_agent::events::EventSource;
use ghostbridge_core::bindings::verifier::AttestationVerifier;
use ghostbridge_core::config::Chain;

use crate::decide::Violation;
use crate::WatcherError;

/// Violation kind (metric label) of an unannounced rotation proposal.
pub const KIND: &str = "unannounced_rotation";
/// Env var listing the proposal hashes governance announced.
pub const EXPECTED_ENV: &str = "GHOSTBRIDGE_EXPECTED_ROTATIONS";

/// A `RotationProposed` event, as the watcher judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Chain of the verifier.
    pub chain_id: u64,
    /// The verifier that emitted it.
    pub verifier: Address,
    /// Epoch it would install.
    pub new_epoch: u64,
    /// The rotation digest the current set signed.
    pub proposal_hash: B256,
    /// When anyone may execute it.
    pub executable_at: u64,
    /// The proposed signers.
    pub signers: Vec<Address>,
    /// Valid signatures it was proposed with.
    pub signatures: u64,
}

/// The violation for `p`, unless its hash was announced.
pub fn judge(p: &Proposal, expected: &HashSet<B256>) -> Option<Violation> {
    if expected.contains(&p.proposal_hash) {
        tracing::warn!(chain = p.chain_id, epoch = p.new_epoch, hash = %p.proposal_hash, executable_at = p.executable_at, "announced validator-set rotation proposed");
        return None;
    }
    Some(Violation {
        kind: KIND,
        chain_id: p.chain_id,
        detail: format!(
            "verifier {} on chain {}: rotation to epoch {} ({} signers, proposed with {} signatures, executable at {}) with proposal hash {} that governance did not announce ({EXPECTED_ENV})",
            p.verifier, p.chain_id, p.new_epoch, p.signers.len(), p.signatures, p.executable_at, p.proposal_hash
        ),
        key: format!("{KIND}/{}/{}", p.chain_id, p.proposal_hash),
        persistent: false,
        cancel: None,
    })
}

/// Parses `GHOSTBRIDGE_EXPECTED_ROTATIONS` (empty or unset: none expected).
pub fn expected_from(value: Option<&str>) -> Result<HashSet<B256>, WatcherError> {
    let mut out = HashSet::new();
    for part in value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        out.insert(part.parse::<B256>().map_err(|e| WatcherError::BadEnv {
            var: EXPECTED_ENV.into(),
            reason: format!("{part:?} is not a 32-byte hash: {e}"),
        })?);
    }
    Ok(out)
}

/// Per-chain scan cursors and the announced hashes.
#[derive(Debug, Default)]
pub struct RotationWatch {
    cursors: HashMap<u64, u64>,
    expected: HashSet<B256>,
}

impl RotationWatch {
    /// Starts at each chain's deployment block; reads the announced hashes from the env.
    pub fn new<'a>(chains: impl IntoIterator<Item = &'a Chain>) -> Result<Self, WatcherError> {
        let expected = expected_from(std::env::var(EXPECTED_ENV).ok().as_deref())?;
        Ok(Self {
            cursors: chains
                .into_iter()
                .map(|c| (c.chain_id, c.deployment.deploy_block))
                .collect(),
            expected,
        })
    }

    /// Violations for the proposals made since the last scan. A chain whose scan fails keeps its
    /// cursor (scanned again next time); the error of the last failing chain is returned after
    /// the others were scanned.
    pub async fn scan(
        &mut self,
        chains: &HashMap<u64, Chain>,
        providers: &HashMap<u64, DynProvider>,
    ) -> (Vec<Violation>, Option<WatcherError>) {
        let mut found = Vec::new();
        let mut error = None;
        for (id, c) in chains {
            let (Some(p), Some(from)) = (providers.get(id), self.cursors.get(id).copied()) else {
                continue;
            };
            match proposals(p, *id, c.deployment.verifier, from, c.max_block_range).await {
                Ok((list, next)) => {
                    found.extend(
                        list.iter()
                            .filter_map(|proposal| judge(proposal, &self.expected)),
                    );
                    self.cursors.insert(*id, next);
                }
                Err(e) => error = Some(e),
            }
        }
        (found, error)
    }
}

/// The proposals of `verifier` from block `from` to the head, and the next block to scan.
async fn proposals(
    p: &DynProvider,
    chain_id: u64,
    verifier: Address,
    from: u64,
    range: u64,
) -> Result<(Vec<Proposal>, u64), WatcherError> {
    let head = p
        .get_block_number()
        .await
        .map_err(|e| WatcherError::rpc("eth_blockNumber", e))?;
    if head < from {
        return Ok((Vec::new(), from));
    }
    let mut out = Vec::new();
    let events = EventSource::new(
        p.clone(),
        verifier,
        &[AttestationVerifier::RotationProposed::SIGNATURE_HASH],
        0,
        range.max(1),
    );
    for log in events.logs(from, head).await? {
        let e = AttestationVerifier::RotationProposed::decode_log_data(log.data())
            .map_err(|e| WatcherError::decode("RotationProposed log", e))?;
        out.push(Proposal {
            chain_id,
            verifier,
            new_epoch: e.newEpoch,
            proposal_hash: e.proposalHash,
            executable_at: e.executableAt,
            signers: e.signers,
            signatures: e.signatures.try_into().unwrap_or(u64::MAX),
        });
    }
    Ok((out, head.saturating_add(1)))
}

/// Cancels the pending rotation on `verifier` with the guardian key's provider.
pub async fn cancel(p: impl Provider, verifier: Address) -> Result<B256, WatcherError> {
    let v = AttestationVerifier::new(verifier, p);
    let hash = v
        .pendingRotation()
        .call()
        .await
        .map_err(|e| WatcherError::rpc("pendingRotation", e))?
        .proposalHash;
    if hash.is_zero() {
        return Err(WatcherError::NoPendingRotation);
    }
    let receipt = v
        .cancelRotation()
        .send()
        .await
        .map_err(|e| WatcherError::rpc("cancelRotation", e))?
        .get_receipt()
        .await
        .map_err(|e| WatcherError::rpc("cancelRotation receipt", e))?;
    if !receipt.status() {
        return Err(WatcherError::Reverted {
            what: "cancelRotation",
            hint: "does the guardian key hold GUARDIAN_ROLE on the verifier?".into(),
        });
    }
    Ok(receipt.transaction_hash)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn proposal(hash: B256) -> Proposal {
        Proposal {
            chain_id: 1,
            verifier: Address::repeat_byte(1),
            new_epoch: 2,
            proposal_hash: hash,
            executable_at: 10,
            signers: vec![Address::repeat_byte(2)],
            signatures: 4,
        }
    }

    #[test]
    fn an_unannounced_proposal_is_a_violation_and_an_announced_one_is_not() {
        let announced = B256::repeat_byte(7);
        let expected = expected_from(Some(&format!(" {announced} ,"))).unwrap();
        assert!(judge(&proposal(announced), &expected).is_none());
        let v = judge(&proposal(B256::repeat_byte(8)), &expected).expect("violation");
        assert_eq!(v.kind, KIND);
        assert!(!v.persistent);
        assert!(v.detail.contains("did not announce"));
        assert!(expected_from(None).unwrap().is_empty());
        let bad = expected_from(Some("0x12")).unwrap_err();
        assert!(matches!(bad, WatcherError::BadEnv { .. }) && !bad.is_retryable());
        assert!(bad.to_string().starts_with(EXPECTED_ENV), "{bad}");
    }
}
