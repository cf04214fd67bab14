//! Reads `Locked`/`Burned` events of one source contract (past the confirmation depth, in chunks
//! the RPC accepts) into the store as `seen`. Idempotent: the store ignores known messages, so
//! several relayers on one database may scan the same chain.

use alloy::primitives::Address;
use alloy::sol_types::{SolEvent, SolValue};
use ghostbridge_agent::events::EventSource;
use ghostbridge_agent::runtime::{run_rounds, Retry, Round, RoundLoop};
use ghostbridge_core::bindings::{minter::BridgeMinter, vault::BridgeVault};
use ghostbridge_core::protocol::{from_minter, message_id};
use ghostbridge_store::NewMessage;
use tokio_util::sync::CancellationToken;

use crate::Relayer;

pub(crate) async fn run(r: Relayer, chain_id: u64, contract: Address, shutdown: CancellationToken) {
    let chain = &r.inner.chains[&chain_id];
    let source = EventSource::new(
        r.inner.providers[&chain_id].clone(),
        contract,
        &[
            BridgeVault::Locked::SIGNATURE_HASH,
            BridgeMinter::Burned::SIGNATURE_HASH,
        ],
        chain.confirmations,
        chain.max_block_range,
    );
    let spec = RoundLoop {
        component: format!("scanner/{chain_id}/{contract}"),
        poll: r.inner.poll,
        errors_metric: "ghostbridge_relayer_rpc_errors_total",
    };
    let (r, source) = (&r, &source);
    run_rounds(spec, &r.inner.health, &shutdown, move || {
        round(r, chain_id, source)
    })
    .await
}

/// Why a scan round recorded nothing; every case is retried (the window is read again).
#[derive(Debug, thiserror::Error)]
enum ScanError {
    /// The relayer's store failed.
    #[error("store: {0}")]
    Store(#[from] ghostbridge_store::StoreError),
    /// The event source could not give the next window.
    #[error(transparent)]
    Events(#[from] ghostbridge_agent::events::EventError),
    /// A log of the bridge's own event that does not decode (a wrong or lying node).
    #[error("undecodable bridge event: {0}")]
    Decode(#[from] alloy::sol_types::Error),
}

impl Retry for ScanError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Store(e) => e.is_retryable(),
            Self::Events(e) => e.is_retryable(),
            // The node answers what the contract never emits: an alarm, not weather.
            Self::Decode(_) => false,
        }
    }
}

async fn round(r: &Relayer, chain_id: u64, source: &EventSource) -> Result<Round, ScanError> {
    let contract = source.contract();
    let cursor = r.inner.store.cursor(chain_id, &contract).await?;
    let next = cursor.map_or(r.inner.chains[&chain_id].deployment.deploy_block, |c| {
        c.block_number.saturating_add(1)
    });
    let Some(window) = source.next_window(next).await? else {
        return Ok(Round::Idle);
    };
    let mut rows = Vec::with_capacity(window.logs.len());
    for log in &window.logs {
        let message = if log.topic0() == Some(&BridgeVault::Locked::SIGNATURE_HASH) {
            BridgeVault::Locked::decode_log_data(log.data())?.message
        } else {
            from_minter(&BridgeMinter::Burned::decode_log_data(log.data())?.message)
        };
        if message.srcContract != contract
            || message.srcChainId != chain_id
            || !r.inner.chains.contains_key(&message.dstChainId)
        {
            tracing::warn!(
                chain = chain_id,
                nonce = message.nonce,
                "skipping an event that does not describe this route"
            );
            continue;
        }
        rows.push(NewMessage {
            id: message_id(&message),
            src_chain: chain_id,
            dst_chain: message.dstChainId,
            src_contract: message.srcContract,
            nonce: message.nonce,
            encoded: message.abi_encode().into(),
        });
    }
    let new = r.inner.store.insert_seen_batch(&rows).await?;
    r.inner
        .store
        .set_cursor(chain_id, &contract, window.to, &window.to_hash)
        .await?;
    if new > 0 {
        tracing::info!(chain = chain_id, new, to = window.to, "messages seen");
        metrics::counter!("ghostbridge_relayer_messages_seen_total", "chain" => chain_id.to_string()).increment(new as u64);
    }
    Ok(Round::Idle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    use alloy::primitives::{B256, U256};
    use alloy::rpc::types::Log;
    use ghostbridge_agent::testing::{block, mock_node};

    use crate::testing::chain;
    use ghostbridge_core::protocol::Message;
    use ghostbridge_store::{Status, Store};

    const A: u64 = 31337;
    const B: u64 = 31338;
    const VAULT_A: Address = Address::repeat_byte(0xa1);

    /// A `Locked` log of the vault on A for a lock to `dst`.
    fn locked(nonce: u64, dst: u64) -> (B256, Log) {
        let message = Message {
            version: 1,
            srcChainId: A,
            dstChainId: dst,
            srcContract: VAULT_A,
            nonce,
            token: Address::repeat_byte(0x77),
            amount: U256::from(5u64),
            sender: Address::repeat_byte(2),
            recipient: Address::repeat_byte(3),
        };
        let id = message_id(&message);
        let data = BridgeVault::Locked {
            messageId: id,
            nonce,
            dstChainId: dst,
            message,
        }
        .encode_log_data();
        let log = Log {
            inner: alloy::primitives::Log {
                address: VAULT_A,
                data,
            },
            block_number: Some(5),
            ..Default::default()
        };
        (id, log)
    }

    #[tokio::test]
    async fn a_confirmed_lock_is_recorded_once_and_a_foreign_route_is_skipped() {
        let (provider, node) = mock_node();
        let store = Store::open("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let r = Relayer {
            inner: Arc::new(crate::testing::inner(
                store,
                [
                    chain(A, VAULT_A, Address::repeat_byte(0xb3)),
                    chain(B, Address::ZERO, Address::repeat_byte(0xb3)),
                ],
                HashMap::from([(A, provider.clone())]),
                crate::testing::no_validators(),
            )),
        };
        let source = EventSource::new(
            provider,
            VAULT_A,
            &[BridgeVault::Locked::SIGNATURE_HASH],
            2,
            1_000,
        );
        let (to_b, log_b) = locked(1, B);
        let (to_elsewhere, log_elsewhere) = locked(2, 999);
        // Head 10, 2 deep: blocks 1..=8 are read.
        node.push_success(&10u64);
        node.push_success(&vec![log_b.clone(), log_elsewhere]);
        node.push_success(&block(B256::repeat_byte(0x08)));
        assert_eq!(round(&r, A, &source).await.unwrap(), Round::Idle);
        assert!(node.read_q().is_empty());
        let store = &r.inner.store;
        let seen = store.message(&to_b).await.unwrap().expect("recorded");
        assert_eq!(
            (seen.status, seen.dst_chain, seen.nonce),
            (Status::Seen, B, 1)
        );
        assert!(
            store.message(&to_elsewhere).await.unwrap().is_none(),
            "a chain this relayer does not serve"
        );
        let cursor = store.cursor(A, &VAULT_A).await.unwrap().unwrap();
        assert_eq!(
            (cursor.block_number, cursor.block_hash),
            (8, B256::repeat_byte(0x08))
        );
        // The same log again (another relayer's scan, a restart) changes nothing.
        node.push_success(&20u64);
        node.push_success(&vec![log_b]);
        node.push_success(&block(B256::repeat_byte(0x12)));
        round(&r, A, &source).await.unwrap();
        assert_eq!(store.status_counts().await.unwrap().seen, 1);
    }
}
