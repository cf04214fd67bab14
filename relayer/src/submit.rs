//! Transaction submission on one destination chain: explicit account nonces, gas estimation with
//! a margin, EIP-1559 fees, and replacement with fees bumped by a bounded step when a
//! transaction is not mined in time. Each signed transaction is recorded in the store BEFORE it
//! is broadcast, so a relayer that restarts sees it and checks it instead of sending blind.

use std::time::{Duration, Instant};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use anyhow::{bail, Context};
use ghostbridge_core::config::GasPolicy;
use ghostbridge_store::Store;

/// One call to send.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) to: Address,
    pub(crate) data: Bytes,
    /// Messages this transaction delivers (their records get its hash).
    pub(crate) message_ids: Vec<B256>,
}

/// Sender of one relayer account on one chain.
#[derive(Debug)]
pub(crate) struct Submitter {
    pub(crate) chain_id: u64,
    provider: DynProvider,
    wallet: EthereumWallet,
    from: Address,
    gas: GasPolicy,
    next_nonce: Option<u64>,
}

fn gwei_to_wei(gwei: f64) -> u128 {
    (gwei * 1e9) as u128
}

/// `fee * (100 + percent) / 100`, rounded up, capped.
pub(crate) fn bumped(fee: u128, percent: u64, cap: u128) -> u128 {
    let up = fee.saturating_mul(100 + u128::from(percent)).div_ceil(100);
    up.max(fee.saturating_add(1)).min(cap)
}

impl Submitter {
    pub(crate) fn new(chain_id: u64, provider: DynProvider, wallet: EthereumWallet, gas: GasPolicy) -> Self {
        let from = wallet.default_signer().address();
        Self { chain_id, provider, wallet, from, gas, next_nonce: None }
    }

    /// Forget the cached nonce (after an error that may have used or skipped one).
    pub(crate) fn resync(&mut self) {
        self.next_nonce = None;
    }

    /// Sends `calls` with consecutive nonces and waits for all receipts, replacing unmined
    /// ones with bumped fees. Returns receipts in call order.
    pub(crate) async fn send_all(&mut self, calls: &[Call], store: &Store, relayer_id: &str, lease: Duration) -> anyhow::Result<Vec<TransactionReceipt>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let nonce = match self.next_nonce {
            Some(n) => n,
            None => self.provider.get_transaction_count(self.from).pending().await.context("reading the account nonce")?,
        };
        let fees = self.provider.estimate_eip1559_fees().await.context("estimating fees")?;
        let cap = gwei_to_wei(self.gas.max_fee_per_gas_gwei);
        let mut max_fee = fees.max_fee_per_gas.min(cap);
        let mut priority = fees.max_priority_fee_per_gas.min(max_fee);
        // Estimation runs each call: a release that would revert (already consumed, bad
        // attestation) fails here, before any fee is spent. The estimates run concurrently: a
        // 200-message mintBatch takes the node a while to execute.
        let estimates = futures::future::join_all(calls.iter().enumerate().map(|(i, call)| {
            let probe = TransactionRequest::default().with_from(self.from).with_to(call.to).with_input(call.data.clone())
                .with_nonce(nonce + i as u64);
            let provider = self.provider.clone();
            async move { provider.estimate_gas(probe).await }
        })).await;
        let mut gas_limits = Vec::with_capacity(calls.len());
        for estimate in estimates {
            let estimate = estimate.map_err(|e| anyhow::anyhow!("gas estimation (the call would revert): {e}"))?;
            gas_limits.push(estimate.saturating_mul(self.gas.gas_limit_margin_percent) / 100);
        }
        let mut sent: Vec<Vec<B256>> = vec![Vec::new(); calls.len()];
        let mut receipts: Vec<Option<TransactionReceipt>> = vec![None; calls.len()];
        for bump in 0..=self.gas.max_bumps {
            for (i, call) in calls.iter().enumerate() {
                if receipts[i].is_some() {
                    continue;
                }
                let tx = TransactionRequest::default()
                    .with_from(self.from).with_to(call.to).with_input(call.data.clone())
                    .with_nonce(nonce + i as u64).with_chain_id(self.chain_id)
                    .with_gas_limit(gas_limits[i])
                    .with_max_fee_per_gas(max_fee).with_max_priority_fee_per_gas(priority);
                let envelope = tx.build(&self.wallet).await.context("signing")?;
                let hash = *envelope.tx_hash();
                // Recorded before the broadcast, in one database transaction per transaction.
                let missed = store.mark_submitted_many(&call.message_ids, relayer_id, &hash, nonce + i as u64, U256::from(max_fee)).await?;
                if !missed.is_empty() {
                    self.resync();
                    bail!("lease lost on {} message(s); not broadcasting", missed.len());
                }
                sent[i].push(hash);
                match self.provider.send_raw_transaction(&envelope.encoded_2718()).await {
                    Ok(_) => {}
                    Err(e) => {
                        let msg = e.to_string().to_ascii_lowercase();
                        // A replacement the node already has, or a nonce an earlier send of ours
                        // already used: the receipt wait below sorts it out.
                        if !(msg.contains("already known") || msg.contains("nonce too low") || msg.contains("replacement")) {
                            self.resync();
                            bail!("broadcast failed: {e}");
                        }
                    }
                }
                metrics::counter!("ghostbridge_relayer_transactions_sent_total", "chain" => self.chain_id.to_string(), "bump" => bump.to_string()).increment(1);
            }
            let deadline = Instant::now() + Duration::from_secs(self.gas.resubmit_after_secs);
            while Instant::now() < deadline {
                for i in 0..calls.len() {
                    if receipts[i].is_some() {
                        continue;
                    }
                    for h in &sent[i] {
                        if let Some(r) = self.provider.get_transaction_receipt(*h).await? {
                            receipts[i] = Some(r);
                            break;
                        }
                    }
                }
                if receipts.iter().all(Option::is_some) {
                    self.next_nonce = Some(nonce + calls.len() as u64);
                    return Ok(receipts.into_iter().flatten().collect());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            for call in calls {
                for id in &call.message_ids {
                    let _ = store.extend_lease(id, relayer_id, lease).await;
                }
            }
            if max_fee >= cap && bump > 0 {
                tracing::warn!(chain = self.chain_id, max_fee, "fee cap reached, waiting without further bumps");
            }
            max_fee = bumped(max_fee, self.gas.bump_percent, cap);
            priority = bumped(priority, self.gas.bump_percent, max_fee);
            tracing::info!(chain = self.chain_id, nonce, max_fee, priority, "not mined in time, replacing with bumped fees");
        }
        self.resync();
        bail!("transactions not mined after {} fee bumps", self.gas.max_bumps)
    }
}

#[cfg(test)]
mod tests {
    use super::bumped;

    #[test]
    fn bump_is_bounded_by_the_cap_and_always_increases_below_it() {
        assert_eq!(bumped(100, 15, 1_000), 115);
        assert_eq!(bumped(1, 10, 1_000), 2);
        assert_eq!(bumped(990, 15, 1_000), 1_000);
        assert_eq!(bumped(1_000, 15, 1_000), 1_000);
    }
}
