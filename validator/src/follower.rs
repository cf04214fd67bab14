//! Follows one source contract on one chain and admits messages only after re-deriving them.

use std::collections::hash_map::Entry;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Log;
use alloy::sol_types::{SolEvent, SolValue};
use ghostbridge_agent::chain::{block_hash, ChainError};
use ghostbridge_agent::events::{EventError, EventSource};
use ghostbridge_agent::runtime::{run_rounds, Retry, Round, RoundLoop};
use ghostbridge_core::bindings::{minter::BridgeMinter, vault::BridgeVault};
use ghostbridge_core::protocol::{from_minter, message_id, Message, MESSAGE_VERSION};
use ghostbridge_store::{Admission, StoreError};
use tokio_util::sync::CancellationToken;

use crate::Validator;

/// Why a follower round admitted nothing. Every one is retried with backoff: the next round
/// reads the same window again (nothing is admitted until all of it re-derives).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FollowError {
    /// The validator's store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The event source could not give the next window.
    #[error(transparent)]
    Events(#[from] EventError),
    /// A cross-check RPC failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A log that does not (yet) re-derive into an admissible message: never signed; the
    /// reason names the check and the RPC.
    #[error("not admissible: {0}")]
    Inadmissible(String),
}

impl Retry for FollowError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Store(e) => e.is_retryable(),
            Self::Events(e) => e.is_retryable(),
            Self::Chain(e) => e.is_retryable(),
            // Not admissible yet (a node behind, a receipt not served): asked again.
            Self::Inadmissible(_) => true,
        }
    }
}

/// Fails the re-derivation with `reason` unless `ok`.
fn ensure(ok: bool, reason: impl FnOnce() -> String) -> Result<(), FollowError> {
    if ok {
        Ok(())
    } else {
        Err(FollowError::Inadmissible(reason()))
    }
}

/// Which source contract: the vault emits `Locked`, the minter `Burned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Vault,
    Minter,
}

pub(crate) async fn run(
    v: Validator,
    chain_id: u64,
    source: Source,
    poll: Duration,
    shutdown: CancellationToken,
) {
    let chain = &v.inner.chains[&chain_id];
    let (contract, topic) = match source {
        Source::Vault => (chain.deployment.vault, BridgeVault::Locked::SIGNATURE_HASH),
        Source::Minter => (
            chain.deployment.minter,
            BridgeMinter::Burned::SIGNATURE_HASH,
        ),
    };
    let events = EventSource::new(
        v.inner.providers[&chain_id][0].clone(),
        contract,
        &[topic],
        chain.confirmations,
        chain.max_block_range,
    );
    let spec = RoundLoop {
        component: format!("follower/{}/{:?}", chain.name, source),
        poll,
        errors_metric: "ghostbridge_validator_rpc_errors_total",
    };
    let (v, events) = (&v, &events);
    run_rounds(spec, &v.inner.health, &shutdown, move || async move {
        // Halted validators keep serving what they already signed but follow nothing more.
        if v.halted().is_none() {
            round(v, chain_id, source, events).await?;
        }
        Ok::<_, FollowError>(Round::Idle)
    })
    .await
}

async fn round(
    v: &Validator,
    chain_id: u64,
    source: Source,
    events: &EventSource,
) -> Result<(), FollowError> {
    let chain = &v.inner.chains[&chain_id];
    let providers = &v.inner.providers[&chain_id];
    let contract = events.contract();
    let store = &v.inner.store;
    let cursor = store.admission_cursor(chain_id, &contract).await?;
    if let Some(c) = &cursor {
        // What we admitted was final by our depth; if that block changed, the chain disagrees
        // with what we may already have signed.
        if !events.is_canonical(c.block_number, c.block_hash).await? {
            v.halt(format!(
                "chain {chain_id} reorganised past the confirmation depth: block {} was {} when admitted, now {:?}",
                c.block_number,
                c.block_hash,
                events.block_hash(c.block_number).await.ok().flatten()
            ));
            return Ok(());
        }
    }
    let next = cursor.as_ref().map_or(chain.deployment.deploy_block, |c| {
        c.block_number.saturating_add(1)
    });
    let Some(window) = events.next_window(next).await? else {
        return Ok(());
    };
    let (to, logs) = (window.to, &window.logs);
    let mut admitted = Vec::with_capacity(logs.len());
    // One receipts call and one canonical-hash check per block and RPC, not per log: under load
    // a block carries hundreds of locks.
    let mut blocks = BlockCache::default();
    for log in logs {
        let message = rederive(v, chain_id, source, contract, log, providers, &mut blocks).await?;
        admitted.push(message);
    }
    let rows: Vec<Admission> = admitted
        .iter()
        .map(|(id, m)| Admission {
            id: *id,
            src_chain: chain_id,
            src_contract: m.srcContract,
            nonce: m.nonce,
            dst_chain: m.dstChainId,
            encoded: m.abi_encode().into(),
        })
        .collect();
    // One transaction: all of the range is admitted, or (a conflict) none of it.
    match store.admit(&rows).await {
        Ok(_) => {}
        Err(StoreError::ConflictingAdmission {
            nonce,
            existing,
            new,
            ..
        }) => {
            v.halt(format!("chain {chain_id} contract {contract} nonce {nonce} now carries {new}, but {existing} was admitted under it"));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    store
        .set_admission_cursor(chain_id, &contract, to, &window.to_hash)
        .await?;
    metrics::counter!("ghostbridge_validator_messages_admitted_total", "chain" => chain_id.to_string()).increment(admitted.len() as u64);
    metrics::gauge!("ghostbridge_validator_cursor_block", "chain" => chain_id.to_string())
        .set(to as f64);
    v.inner
        .health
        .progress(&format!("cursor/{chain_id}/{contract}"), to);
    Ok(())
}

/// Re-derives a message from the chain; errors mean "not (yet) admissible", never "sign anyway".
async fn rederive(
    v: &Validator,
    chain_id: u64,
    source: Source,
    contract: Address,
    log: &Log,
    providers: &[DynProvider],
    blocks: &mut BlockCache,
) -> Result<(B256, Message), FollowError> {
    ensure(!log.removed, || "log was removed by a reorg".into())?;
    ensure(log.address() == contract, || {
        format!("log from {} instead of {contract}", log.address())
    })?;
    let undecodable =
        |e: alloy::sol_types::Error| FollowError::Inadmissible(format!("decoding the event: {e}"));
    let (topic_id, message) = match source {
        Source::Vault => {
            let ev = BridgeVault::Locked::decode_log_data(log.data()).map_err(undecodable)?;
            (ev.messageId, ev.message)
        }
        Source::Minter => {
            let ev = BridgeMinter::Burned::decode_log_data(log.data()).map_err(undecodable)?;
            (ev.messageId, from_minter(&ev.message))
        }
    };
    let id = message_id(&message);
    ensure(id == topic_id, || {
        format!("event id {topic_id} is not keccak256(abi.encode(message)) = {id}")
    })?;
    ensure(message.version == MESSAGE_VERSION, || {
        format!("unsupported message version {}", message.version)
    })?;
    ensure(message.srcChainId == chain_id, || {
        format!(
            "message says source chain {}, follower is on {chain_id}",
            message.srcChainId
        )
    })?;
    ensure(message.srcContract == contract, || {
        format!(
            "message says source contract {}, event came from {contract}",
            message.srcContract
        )
    })?;
    ensure(
        v.inner.chains.contains_key(&message.dstChainId) && message.dstChainId != chain_id,
        || {
            format!(
                "destination chain {} is not a configured remote",
                message.dstChainId
            )
        },
    )?;
    let missing = |what: &str| FollowError::Inadmissible(format!("log without {what}"));
    let tx_hash = log
        .transaction_hash
        .ok_or_else(|| missing("transaction hash"))?;
    let block = log.block_hash.ok_or_else(|| missing("block hash"))?;
    let number = log.block_number.ok_or_else(|| missing("block number"))?;
    let index = log.log_index.ok_or_else(|| missing("index"))?;
    for (i, p) in providers.iter().enumerate() {
        let receipts = blocks.receipts(i, p, number, block).await?;
        let receipt = receipts
            .iter()
            .find(|r| r.transaction_hash == tx_hash)
            .ok_or_else(|| {
                FollowError::Inadmissible(format!(
                    "RPC #{i}: transaction {tx_hash} is not in block {block}"
                ))
            })?;
        ensure(receipt.status(), || {
            format!("transaction {tx_hash} reverted (RPC #{i})")
        })?;
        ensure(receipt.block_hash == Some(block), || {
            format!("RPC #{i} puts {tx_hash} in another block")
        })?;
        let found = receipt.inner.logs().iter().any(|l| {
            l.log_index == Some(index) && l.address() == contract && l.data() == log.data()
        });
        ensure(found, || {
            format!("RPC #{i}: receipt of {tx_hash} lacks the log at index {index}")
        })?;
    }
    Ok((id, message))
}

/// Receipts of a block per RPC, fetched once the block is confirmed canonical on that RPC.
#[derive(Default)]
pub(crate) struct BlockCache {
    receipts: std::collections::HashMap<(usize, u64), Vec<alloy::rpc::types::TransactionReceipt>>,
}

impl BlockCache {
    async fn receipts(
        &mut self,
        rpc: usize,
        p: &DynProvider,
        number: u64,
        hash: B256,
    ) -> Result<&Vec<alloy::rpc::types::TransactionReceipt>, FollowError> {
        match self.receipts.entry((rpc, number)) {
            Entry::Occupied(cached) => Ok(cached.into_mut()),
            Entry::Vacant(slot) => {
                let canonical = block_hash(p, number).await?;
                ensure(canonical == Some(hash), || {
                    format!("RPC #{rpc}: block {number} is not canonical (or not known yet)")
                })?;
                let receipts = p
                    .get_block_receipts(hash.into())
                    .await
                    .map_err(|e| ChainError::Rpc {
                        what: "eth_getBlockReceipts",
                        reason: format!("RPC #{rpc}: {e}"),
                    })?
                    .ok_or_else(|| {
                        FollowError::Inadmissible(format!("RPC #{rpc} does not know block {hash}"))
                    })?;
                Ok(slot.insert(receipts))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, RwLock};

    use alloy::primitives::B256;
    use ghostbridge_agent::runtime::Health;
    use ghostbridge_agent::testing::{block, mock_node, Asserter};
    use ghostbridge_core::config::{Chain, GasPolicy};
    use ghostbridge_core::deployment::Deployment;
    use ghostbridge_core::keys::ValidatorKey;
    use ghostbridge_store::Store;

    const CHAIN: u64 = 31337;
    const VAULT: Address = Address::repeat_byte(0xa1);

    /// A validator on one chain whose only node is scripted, its journal in memory, and the
    /// vault's event source (2 confirmations).
    async fn validator() -> (Validator, EventSource, Asserter) {
        let (provider, node) = mock_node();
        let store = Store::open("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let chain = Chain {
            name: "a".into(),
            chain_id: CHAIN,
            rpc_urls: Vec::new(),
            confirmations: 2,
            block_time_ms: 1_000,
            max_block_range: 1_000,
            deployment: Deployment {
                chain_id: CHAIN,
                verifier: Address::repeat_byte(0xa0),
                fee_manager: Address::repeat_byte(0xa2),
                vault: VAULT,
                minter: Address::repeat_byte(0xa3),
                guardian: Address::repeat_byte(0xa4),
                deploy_block: 1,
                tokens: Default::default(),
            },
            gas: GasPolicy::default(),
        };
        let v = Validator {
            inner: Arc::new(crate::Inner {
                key: ValidatorKey::generate().unwrap(),
                chains: HashMap::from([(CHAIN, chain)]),
                providers: HashMap::from([(CHAIN, vec![provider.clone()])]),
                store,
                halted: RwLock::new(None),
                health: Health::default(),
            }),
        };
        let events = EventSource::new(
            provider,
            VAULT,
            &[BridgeVault::Locked::SIGNATURE_HASH],
            2,
            1_000,
        );
        (v, events, node)
    }

    #[tokio::test]
    async fn a_checkpoint_reorganised_away_halts_the_validator_before_it_reads_on() {
        let (v, events, node) = validator().await;
        let admitted_at = B256::repeat_byte(0x40);
        v.inner
            .store
            .set_admission_cursor(CHAIN, &VAULT, 40, &admitted_at)
            .await
            .unwrap();
        // The node's block 40 is another one now: the chain reorganised deeper than the depth
        // this validator signed at.
        node.push_success(&block(B256::repeat_byte(0x41)));
        node.push_success(&block(B256::repeat_byte(0x41)));
        round(&v, CHAIN, Source::Vault, &events).await.unwrap();
        let why = v.halted().expect("the validator halts");
        assert!(
            why.contains("reorganised past the confirmation depth"),
            "{why}"
        );
        assert!(node.read_q().is_empty(), "two reads, no log scan");
        // The cursor stays where the chain disagrees.
        let cursor = v
            .inner
            .store
            .admission_cursor(CHAIN, &VAULT)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((cursor.block_number, cursor.block_hash), (40, admitted_at));
    }

    #[tokio::test]
    async fn a_canonical_checkpoint_reads_on_and_nothing_new_changes_nothing() {
        let (v, events, node) = validator().await;
        v.inner
            .store
            .set_admission_cursor(CHAIN, &VAULT, 40, &B256::repeat_byte(0x40))
            .await
            .unwrap();
        node.push_success(&block(B256::repeat_byte(0x40)));
        // Head 42, 2 deep: block 40 is the newest confirmed one, already read.
        node.push_success(&42u64);
        round(&v, CHAIN, Source::Vault, &events).await.unwrap();
        assert_eq!(v.halted(), None);
        assert!(node.read_q().is_empty(), "checkpoint, head, nothing more");
        // A dead node is an error to retry, never a halt.
        node.push_failure_msg("connection refused");
        assert!(round(&v, CHAIN, Source::Vault, &events).await.is_err());
        assert_eq!(v.halted(), None);
    }
}
