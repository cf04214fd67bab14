//! `ghostbridge transfer`: lock (canonical token or native) or burn (wrapped token) from the
//! command line, then follow the message to delivery.

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use anyhow::{bail, Context};
use ghostbridge_core::bindings::{
    fee_manager::FeeManager, ghost_token::GhostToken, minter::BridgeMinter, vault::BridgeVault,
};
use ghostbridge_core::deployment::Deployment;

/// Gas limit of a lock/burn: well above the ~100k they use, so an estimate taken against a
/// state that changes before inclusion (other pending transfers) cannot make them run out.
const SEND_GAS: u64 = 400_000;

/// What leaves the source chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Lock a canonical token (zero = native) in the vault; the destination mints.
    Lock(Address),
    /// Burn a wrapped token at the minter; the destination vault unlocks.
    Burn(Address),
}

/// One end of a transfer.
#[derive(Debug, Clone)]
pub struct End {
    /// Chain id.
    pub chain_id: u64,
    /// RPC URL.
    pub rpc: String,
    /// Contracts.
    pub deployment: Deployment,
}

/// A sent transfer.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Message id.
    pub id: B256,
    /// Source nonce.
    pub nonce: u64,
    /// The lock/burn receipt.
    pub receipt: TransactionReceipt,
    /// Lock or burn.
    pub leg: Leg,
}

/// Resolves `ETH`/`native`, a symbol (`GCC`, `wGCC`) or an address into a leg.
pub async fn resolve_leg(from: &End, to: &End, token: &str) -> anyhow::Result<Leg> {
    let p = ghostbridge_agent::chain::http_provider(&from.rpc)?;
    let minter = BridgeMinter::new(from.deployment.minter, p);
    if token.eq_ignore_ascii_case("eth") || token.eq_ignore_ascii_case("native") {
        return Ok(Leg::Lock(Address::ZERO));
    }
    if let Some(t) = from.deployment.tokens.get(token) {
        return Ok(Leg::Lock(*t));
    }
    if let Some(sym) = token.strip_prefix('w') {
        let origin = if sym.eq_ignore_ascii_case("eth") {
            Some(Address::ZERO)
        } else {
            to.deployment.tokens.get(sym).copied()
        };
        if let Some(origin) = origin {
            let wrapped = minter.wrappedTokenOf(to.chain_id, origin).call().await?;
            if wrapped.is_zero() {
                bail!(
                    "no wrapped {token} for chain {} on chain {}",
                    to.chain_id,
                    from.chain_id
                );
            }
            return Ok(Leg::Burn(wrapped));
        }
    }
    let addr: Address = token.parse().with_context(|| {
        format!(
            "{token:?} is neither ETH, a token symbol of chain {} nor an address",
            from.chain_id
        )
    })?;
    if minter.isWrappedToken(addr).call().await? {
        Ok(Leg::Burn(addr))
    } else {
        Ok(Leg::Lock(addr))
    }
}

/// Sends the lock/burn with `key` and returns the message it emitted.
pub async fn send(
    from: &End,
    to: &End,
    leg: Leg,
    amount: U256,
    recipient: Address,
    key: &PrivateKeySigner,
) -> anyhow::Result<Sent> {
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(from.rpc.parse()?);
    let me = key.address();
    let fee = FeeManager::new(from.deployment.fee_manager, &p)
        .feeFor(to.chain_id)
        .call()
        .await?;
    if !fee.token.is_zero() && fee.amount > alloy::primitives::Uint::<96, 2>::ZERO {
        let t = GhostToken::new(fee.token, &p);
        if t.allowance(me, from.deployment.fee_manager).call().await? < U256::from(fee.amount) {
            t.approve(from.deployment.fee_manager, U256::MAX)
                .send()
                .await?
                .get_receipt()
                .await?;
        }
    }
    let receipt = match leg {
        Leg::Lock(token) if token.is_zero() => {
            let vault = BridgeVault::new(from.deployment.vault, &p);
            let call = vault
                .lockNative(to.chain_id, recipient)
                .value(amount)
                .gas(SEND_GAS);
            // Simulate first: a paused bridge or an exhausted rate limit is reported by name
            // before any gas is spent.
            call.call()
                .await
                .map_err(|e| anyhow::anyhow!("the lock would revert: {}", revert_reason(&e)))?;
            call.send().await?.get_receipt().await?
        }
        Leg::Lock(token) => {
            let t = GhostToken::new(token, &p);
            if t.allowance(me, from.deployment.vault).call().await? < amount {
                t.approve(from.deployment.vault, U256::MAX)
                    .send()
                    .await?
                    .get_receipt()
                    .await?;
            }
            let vault = BridgeVault::new(from.deployment.vault, &p);
            let call = vault
                .lock(token, amount, to.chain_id, recipient)
                .gas(SEND_GAS);
            call.call()
                .await
                .map_err(|e| anyhow::anyhow!("the lock would revert: {}", revert_reason(&e)))?;
            call.send().await?.get_receipt().await?
        }
        Leg::Burn(wrapped) => {
            let minter = BridgeMinter::new(from.deployment.minter, &p);
            let call = minter.burn(wrapped, amount, recipient).gas(SEND_GAS);
            call.call()
                .await
                .map_err(|e| anyhow::anyhow!("the burn would revert: {}", revert_reason(&e)))?;
            call.send().await?.get_receipt().await?
        }
    };
    if !receipt.status() {
        bail!(
            "the {leg:?} transaction {} reverted",
            receipt.transaction_hash
        );
    }
    for log in receipt.inner.logs() {
        if let Ok(e) = BridgeVault::Locked::decode_log_data(log.data()) {
            return Ok(Sent {
                id: e.messageId,
                nonce: e.nonce,
                receipt,
                leg,
            });
        }
        if let Ok(e) = BridgeMinter::Burned::decode_log_data(log.data()) {
            return Ok(Sent {
                id: e.messageId,
                nonce: e.nonce,
                receipt,
                leg,
            });
        }
    }
    bail!("no Locked/Burned event in {}", receipt.transaction_hash)
}

/// The contract error's name when the ABI knows it, else the RPC's message.
fn revert_reason(e: &alloy::contract::Error) -> String {
    if let Some(err) = e.as_decoded_interface_error::<BridgeVault::BridgeVaultErrors>() {
        return format!("{err:?}");
    }
    if let Some(err) = e.as_decoded_interface_error::<BridgeMinter::BridgeMinterErrors>() {
        return format!("{err:?}");
    }
    e.to_string()
}

/// True once the destination consumed the message.
pub async fn delivered(
    to: &End,
    p: &DynProvider,
    src_chain: u64,
    leg: Leg,
    nonce: u64,
) -> anyhow::Result<bool> {
    Ok(match leg {
        Leg::Lock(_) => {
            BridgeMinter::new(to.deployment.minter, p.clone())
                .isConsumed(src_chain, nonce)
                .call()
                .await?
        }
        Leg::Burn(_) => {
            BridgeVault::new(to.deployment.vault, p.clone())
                .isConsumed(src_chain, nonce)
                .call()
                .await?
        }
    })
}

/// Follows a sent transfer until delivered, printing progress when `show`.
pub async fn follow(
    from: &End,
    to: &End,
    sent: &Sent,
    timeout: Duration,
    show: bool,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let src = ghostbridge_agent::chain::http_provider(&from.rpc)?;
    let dst = ghostbridge_agent::chain::http_provider(&to.rpc)?;
    let lock_block = sent.receipt.block_number.unwrap_or_default();
    let mut last = String::new();
    loop {
        let head = src.get_block_number().await.unwrap_or(lock_block);
        let stage = if delivered(to, &dst, from.chain_id, sent.leg, sent.nonce).await? {
            "delivered".to_string()
        } else {
            format!(
                "waiting for confirmations and delivery ({} block(s) on top of the lock)",
                head.saturating_sub(lock_block)
            )
        };
        if show && stage != last {
            eprintln!("  [{:>5.1}s] {stage}", start.elapsed().as_secs_f64());
            last = stage.clone();
        }
        if stage == "delivered" {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!("message {} not delivered within {timeout:?}", sent.id);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends `n` ERC20 locks back to back; see [`send_many`].
pub async fn send_many_locks(
    from: &End,
    to: &End,
    token: Address,
    amount: U256,
    recipient: Address,
    key: &PrivateKeySigner,
    n: usize,
) -> anyhow::Result<Vec<Sent>> {
    send_many(from, to, Leg::Lock(token), amount, recipient, key, n).await
}

/// Sends `n` ERC20 locks or wrapped-token burns back to back (consecutive nonces, no waiting in
/// between) and returns each message with its receipt; for load tests and benchmarks.
pub async fn send_many(
    from: &End,
    to: &End,
    leg: Leg,
    amount: U256,
    recipient: Address,
    key: &PrivateKeySigner,
    n: usize,
) -> anyhow::Result<Vec<Sent>> {
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(from.rpc.parse()?);
    let me = key.address();
    let fee = FeeManager::new(from.deployment.fee_manager, &p)
        .feeFor(to.chain_id)
        .call()
        .await?;
    if !fee.token.is_zero() {
        GhostToken::new(fee.token, &p)
            .approve(from.deployment.fee_manager, U256::MAX)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    if let Leg::Lock(token) = leg {
        anyhow::ensure!(
            !token.is_zero(),
            "send_many sends ERC20 locks; use send for native"
        );
        GhostToken::new(token, &p)
            .approve(from.deployment.vault, U256::MAX)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    let vault = BridgeVault::new(from.deployment.vault, &p);
    let minter = BridgeMinter::new(from.deployment.minter, &p);
    let mut out = Vec::with_capacity(n);
    // Waves of at most 400: a node's pool need not hold thousands of one sender's transactions.
    let mut left = n;
    while left > 0 {
        let wave = left.min(400);
        left = left.saturating_sub(wave);
        let nonce = p.get_transaction_count(me).pending().await?;
        // Fees set once per wave (twice the suggestion: the wave's own full blocks raise the base
        // fee), so each send is one RPC call instead of a fee estimate plus the send.
        let fees = p.estimate_eip1559_fees().await?;
        let (max_fee, tip) = (
            fees.max_fee_per_gas.saturating_mul(2),
            fees.max_priority_fee_per_gas,
        );
        let mut hashes = Vec::with_capacity(wave);
        for i in 0..wave {
            let pending = match leg {
                Leg::Lock(token) => {
                    vault
                        .lock(token, amount, to.chain_id, recipient)
                        .nonce(nonce.saturating_add(i as u64))
                        .gas(250_000)
                        .max_fee_per_gas(max_fee)
                        .max_priority_fee_per_gas(tip)
                        .send()
                        .await?
                }
                Leg::Burn(wrapped) => {
                    minter
                        .burn(wrapped, amount, recipient)
                        .nonce(nonce.saturating_add(i as u64))
                        .gas(250_000)
                        .max_fee_per_gas(max_fee)
                        .max_priority_fee_per_gas(tip)
                        .send()
                        .await?
                }
            };
            hashes.push(*pending.tx_hash());
        }
        let waiting_since = Instant::now();
        for h in hashes {
            let receipt = loop {
                if let Some(r) = p.get_transaction_receipt(h).await? {
                    break r;
                }
                if waiting_since.elapsed() > Duration::from_secs(120) {
                    bail!("{leg:?} transaction {h} not mined within 120 s (dropped by the node?)");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            if !receipt.status() {
                bail!("{leg:?} {h} reverted");
            }
            let (id, msg_nonce) = receipt
                .inner
                .logs()
                .iter()
                .find_map(|l| {
                    BridgeVault::Locked::decode_log_data(l.data())
                        .map(|e| (e.messageId, e.nonce))
                        .or_else(|_| {
                            BridgeMinter::Burned::decode_log_data(l.data())
                                .map(|e| (e.messageId, e.nonce))
                        })
                        .ok()
                })
                .context("no Locked/Burned event")?;
            out.push(Sent {
                id,
                nonce: msg_nonce,
                receipt,
                leg,
            });
        }
    }
    Ok(out)
}
