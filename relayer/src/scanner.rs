//! Reads `Locked`/`Burned` events of one source contract (past the confirmation depth, in chunks
//! the RPC accepts) into the store as `seen`. Idempotent: the store ignores known messages, so
//! several relayers on one database may scan the same chain.

use alloy::primitives::Address;
use alloy::sol_types::{SolEvent, SolValue};
use ghostbridge_agent::events::EventSource;
use ghostbridge_agent::runtime::{run_rounds, Round, RoundLoop};
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

async fn round(r: &Relayer, chain_id: u64, source: &EventSource) -> anyhow::Result<Round> {
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
