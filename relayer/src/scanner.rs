//! Reads `Locked`/`Burned` events of one source contract (past the confirmation depth, in chunks
//! the RPC accepts) into the store as `seen`. Idempotent: the store ignores known messages, so
//! several relayers on one database may scan the same chain.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::sol_types::{SolEvent, SolValue};
use anyhow::Context;
use ghostbridge_core::bindings::{minter::BridgeMinter, vault::BridgeVault};
use ghostbridge_core::chain::{block_hash, scan_logs};
use ghostbridge_core::protocol::{from_minter, message_id};
use ghostbridge_core::runtime::{sleep_or_shutdown, Backoff};
use ghostbridge_store::NewMessage;
use tokio_util::sync::CancellationToken;

use crate::Relayer;

pub(crate) async fn run(r: Relayer, chain_id: u64, contract: Address, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    let component = format!("scanner/{chain_id}/{contract}");
    loop {
        let delay = match round(&r, chain_id, contract).await {
            Ok(()) => {
                backoff.reset();
                r.inner.health.ok(&component);
                r.inner.poll
            }
            Err(e) => {
                let d = backoff.next_delay();
                tracing::warn!(chain = chain_id, error = %format!("{e:#}"), retry_in_ms = d.as_millis() as u64, "scan failed, retrying");
                metrics::counter!("ghostbridge_relayer_rpc_errors_total", "chain" => chain_id.to_string()).increment(1);
                if backoff.failures() > 3 {
                    r.inner.health.problem(&component, format!("{e:#}"));
                }
                d
            }
        };
        if !sleep_or_shutdown(delay, &shutdown).await {
            return;
        }
    }
}

async fn round(r: &Relayer, chain_id: u64, contract: Address) -> anyhow::Result<()> {
    let chain = &r.inner.chains[&chain_id];
    let provider = &r.inner.providers[&chain_id];
    let head = provider
        .get_block_number()
        .await
        .context("eth_blockNumber")?;
    let Some(safe) = head.checked_sub(chain.confirmations) else {
        return Ok(());
    };
    let cursor = r.inner.store.cursor(chain_id, &contract).await?;
    let from = cursor.map_or(chain.deployment.deploy_block, |c| {
        c.block_number.saturating_add(1)
    });
    if from > safe {
        return Ok(());
    }
    let to = safe.min(from.saturating_add(10_000 - 1));
    let logs = scan_logs(
        provider,
        contract,
        &[
            BridgeVault::Locked::SIGNATURE_HASH,
            BridgeMinter::Burned::SIGNATURE_HASH,
        ],
        from,
        to,
        chain.max_block_range,
    )
    .await?;
    let mut rows = Vec::with_capacity(logs.len());
    for log in &logs {
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
    let hash = block_hash(provider, to)
        .await?
        .context("safe block vanished")?;
    r.inner
        .store
        .set_cursor(chain_id, &contract, to, &hash)
        .await?;
    if new > 0 {
        tracing::info!(chain = chain_id, new, to, "messages seen");
        metrics::counter!("ghostbridge_relayer_messages_seen_total", "chain" => chain_id.to_string()).increment(new as u64);
    }
    Ok(())
}
