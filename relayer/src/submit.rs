//! Transaction submission on one destination chain: explicit account nonces, gas estimation with
//! a margin, EIP-1559 fees, and replacement with fees bumped by a bounded step when a
//! transaction is not mined in time. Each signed transaction is recorded in the store BEFORE it
//! is broadcast, so a relayer that restarts sees it and checks it instead of sending blind.
//!
//! One `Submitter` is shared by the concurrent delivery rounds of a chain: only nonce assignment,
//! signing, recording and broadcast run under its lock, so one round's transactions wait for
//! their block while the next round's go out behind them.

use std::time::{Duration, Instant};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::transports::TransportError;
use ghostbridge_core::config::GasPolicy;
use ghostbridge_store::{Store, StoreError};

/// One call to send.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) to: Address,
    pub(crate) data: Bytes,
    /// Messages this transaction delivers (their records get its hash).
    pub(crate) message_ids: Vec<B256>,
}

/// The node says call `index` of a `send_all` would revert (found by gas estimation, before
/// anything is signed or sent), with the revert data it returned, so the caller can tell a
/// final contract error from a transient one.
#[derive(Debug)]
pub(crate) struct WouldRevert {
    /// Position of the call in the list given to `send_all`.
    pub(crate) index: usize,
    /// The revert data (empty if the node returned none).
    pub(crate) data: Bytes,
    /// The node's message (it carries the data too).
    pub(crate) message: String,
}

impl std::fmt::Display for WouldRevert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gas estimation (the call would revert): {}",
            self.message
        )
    }
}

impl std::error::Error for WouldRevert {}

/// Why `send_all` delivered no receipts. Only [`SubmitError::WouldRevert`] carries the
/// destination's own refusal (sorted by the caller into a wait, a final error or a transient
/// one); every other case is transient: nothing was mined, or what was sent is recorded on its
/// messages and checked again by the next round.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubmitError {
    /// Gas estimation says a call would revert; nothing was sent.
    #[error(transparent)]
    WouldRevert(WouldRevert),
    /// Gas estimation failed without revert data (a node error): nothing was sent.
    #[error("gas estimation: {0}")]
    Estimate(TransportError),
    /// The node failed a read (fees, nonce, receipts, the pool).
    #[error("{what}: {source}")]
    Rpc {
        /// The request.
        what: &'static str,
        /// The node's error.
        source: TransportError,
    },
    /// The wallet could not sign.
    #[error("signing: {0}")]
    Sign(String),
    /// Recording the transaction on its messages failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Our lease on some messages ran out before the broadcast: their new holder delivers them.
    #[error("lease lost on {0} message(s); not broadcasting")]
    LeaseLost(usize),
    /// The node refused the transaction.
    #[error("broadcast failed: {0}")]
    Broadcast(TransportError),
    /// Not mined after every fee bump (e.g. the fee cap is below what the chain asks).
    #[error("transactions not mined after {0} fee bumps")]
    NotMined(u32),
}

fn rpc(what: &'static str) -> impl FnOnce(TransportError) -> SubmitError {
    move |source| SubmitError::Rpc { what, source }
}

/// Sender of one relayer account on one chain.
#[derive(Debug)]
pub(crate) struct Submitter {
    pub(crate) chain_id: u64,
    provider: DynProvider,
    wallet: EthereumWallet,
    from: Address,
    gas: GasPolicy,
    /// Held across the sign → record → broadcast of a whole call list, so nonces are handed
    /// out without gaps.
    nonces: tokio::sync::Mutex<NonceState>,
}

#[derive(Debug, Default)]
struct NonceState {
    /// The next unused account nonce (`None`: read it from the node).
    next: Option<u64>,
    /// Largest gas limit among our unmined transactions. A new one gets at least this much: a
    /// node that skips a transaction because the block is full but still tries the sender's
    /// next, smaller one finds a nonce gap and drops it from its pool (anvil does); with gas
    /// limits that never fall along the nonces, the later ones are skipped too.
    gas_floor: u64,
    /// Our transactions broadcast and not yet settled (receipt or give-up).
    in_flight: usize,
}

fn gwei_to_wei(gwei: u64) -> u128 {
    u128::from(gwei).saturating_mul(1_000_000_000)
}

/// `fee * (100 + percent) / 100`, rounded up, capped.
pub(crate) fn bumped(fee: u128, percent: u64, cap: u128) -> u128 {
    let up = fee.saturating_mul(100 + u128::from(percent)).div_ceil(100);
    up.max(fee.saturating_add(1)).min(cap)
}

impl Submitter {
    pub(crate) fn new(
        chain_id: u64,
        provider: DynProvider,
        wallet: EthereumWallet,
        gas: GasPolicy,
    ) -> Self {
        let from = wallet.default_signer().address();
        Self {
            chain_id,
            provider,
            wallet,
            from,
            gas,
            nonces: tokio::sync::Mutex::new(NonceState::default()),
        }
    }

    /// `call` from our account, for estimation.
    fn probe(&self, call: &Call) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(self.from)
            .with_to(call.to)
            .with_input(call.data.clone())
    }

    /// The revert data of `call` run now against the latest state, `None` if it would pass or
    /// the node gives no data. For a release mined but reverted: estimation before sending
    /// cannot see what other transactions (our concurrent rounds, other relayers) release in
    /// the same block, so the refusal is asked of the node again.
    pub(crate) async fn revert_data(&self, call: &Call) -> Option<Bytes> {
        match self.provider.estimate_gas(self.probe(call)).await {
            Ok(_) => None,
            Err(e) => e.as_error_resp().and_then(|p| p.as_revert_data()),
        }
    }

    /// Sends `calls` with consecutive nonces and waits for all receipts, replacing unmined
    /// ones with bumped fees. Returns receipts in call order.
    pub(crate) async fn send_all(
        &self,
        calls: &[Call],
        store: &Store,
        relayer_id: &str,
        lease: Duration,
    ) -> Result<Vec<TransactionReceipt>, SubmitError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(rpc("estimating fees"))?;
        let cap = gwei_to_wei(self.gas.max_fee_per_gas_gwei);
        // The node's suggestion is 2 x base fee + tip; a backlog of full blocks raises the base
        // fee 12.5% per block and outruns that in 6 blocks. Twice the suggestion (still under
        // the cap) covers about 11 full blocks; only base fee + tip is ever paid.
        let max_fee = fees.max_fee_per_gas.saturating_mul(2).min(cap);
        let priority = fees.max_priority_fee_per_gas.min(max_fee);
        // Estimation runs each call: a release that would revert (already consumed, bad
        // attestation) fails here, before any fee is spent. The estimates run concurrently and
        // outside the nonce lock: a 200-message batch mint takes the node a while to execute.
        let estimates = futures::future::join_all(calls.iter().map(|call| {
            let probe = self.probe(call);
            let provider = self.provider.clone();
            async move { provider.estimate_gas(probe).await }
        }))
        .await;
        let mut gas_limits = Vec::with_capacity(calls.len());
        for (index, estimate) in estimates.into_iter().enumerate() {
            let estimate =
                estimate.map_err(
                    |e| match e.as_error_resp().and_then(|p| p.as_revert_data()) {
                        Some(data) => SubmitError::WouldRevert(WouldRevert {
                            index,
                            data,
                            message: e.to_string(),
                        }),
                        None => SubmitError::Estimate(e),
                    },
                )?;
            gas_limits.push(estimate.saturating_mul(self.gas.gas_limit_margin_percent) / 100);
        }
        let mut sent: Vec<Vec<B256>> = vec![Vec::new(); calls.len()];
        let nonce = self
            .broadcast_first(
                calls,
                &mut gas_limits,
                max_fee,
                priority,
                store,
                relayer_id,
                &mut sent,
            )
            .await?;
        let waited = self
            .await_receipts(
                calls,
                nonce,
                &gas_limits,
                max_fee,
                priority,
                sent,
                store,
                relayer_id,
                lease,
            )
            .await;
        let mut state = self.nonces.lock().await;
        state.in_flight = state.in_flight.saturating_sub(calls.len());
        if state.in_flight == 0 {
            state.gas_floor = 0;
        }
        if waited.is_err() {
            // A transaction of ours may never land: let the next sender re-read the nonce.
            state.next = None;
        }
        waited
    }

    /// Waits for each call's receipt, replacing unmined ones (same nonce) with bumped fees.
    #[allow(clippy::too_many_arguments)]
    async fn await_receipts(
        &self,
        calls: &[Call],
        nonce: u64,
        gas_limits: &[u64],
        mut max_fee: u128,
        mut priority: u128,
        mut sent: Vec<Vec<B256>>,
        store: &Store,
        relayer_id: &str,
        lease: Duration,
    ) -> Result<Vec<TransactionReceipt>, SubmitError> {
        let cap = gwei_to_wei(self.gas.max_fee_per_gas_gwei);
        let mut receipts: Vec<Option<TransactionReceipt>> = vec![None; calls.len()];
        for bump in 0..=self.gas.max_bumps {
            if bump > 0 {
                for (i, call) in calls.iter().enumerate() {
                    if receipts[i].is_none() {
                        let hash = self
                            .sign_record_broadcast(
                                call,
                                nonce.saturating_add(i as u64),
                                gas_limits[i],
                                max_fee,
                                priority,
                                store,
                                relayer_id,
                            )
                            .await?;
                        sent[i].push(hash);
                        metrics::counter!("ghostbridge_relayer_transactions_sent_total", "chain" => self.chain_id.to_string(), "bump" => bump.to_string()).increment(1);
                    }
                }
            }
            let round_started = Instant::now();
            let round_wait = Duration::from_secs(self.gas.resubmit_after_secs);
            let mut last_pool_check = Instant::now();
            while round_started.elapsed() < round_wait {
                for i in 0..calls.len() {
                    if receipts[i].is_some() {
                        continue;
                    }
                    for h in &sent[i] {
                        if let Some(r) = self
                            .provider
                            .get_transaction_receipt(*h)
                            .await
                            .map_err(rpc("eth_getTransactionReceipt"))?
                        {
                            receipts[i] = Some(r);
                            break;
                        }
                    }
                }
                if receipts.iter().all(Option::is_some) {
                    return Ok(receipts.into_iter().flatten().collect());
                }
                if last_pool_check.elapsed() >= Duration::from_secs(2) {
                    // A node may drop a pending transaction (pool limits, a nonce gap after a
                    // skipped one): send the same one again now instead of at the bump deadline.
                    last_pool_check = Instant::now();
                    for (i, call) in calls.iter().enumerate() {
                        let Some(last) = sent[i].last() else { continue };
                        if receipts[i].is_none()
                            && self
                                .provider
                                .get_transaction_by_hash(*last)
                                .await
                                .map_err(rpc("eth_getTransactionByHash"))?
                                .is_none()
                        {
                            tracing::info!(chain = self.chain_id, nonce = nonce.saturating_add(i as u64), tx = %last, "transaction dropped by the node; sending it again");
                            let hash = self
                                .sign_record_broadcast(
                                    call,
                                    nonce.saturating_add(i as u64),
                                    gas_limits[i],
                                    max_fee,
                                    priority,
                                    store,
                                    relayer_id,
                                )
                                .await?;
                            if hash != *last {
                                sent[i].push(hash);
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for call in calls {
                for id in &call.message_ids {
                    let _ = store.extend_lease(id, relayer_id, lease).await;
                }
            }
            if max_fee >= cap && bump > 0 {
                tracing::warn!(
                    chain = self.chain_id,
                    max_fee,
                    "fee cap reached, waiting without further bumps"
                );
            }
            max_fee = bumped(max_fee, self.gas.bump_percent, cap);
            priority = bumped(priority, self.gas.bump_percent, max_fee);
            tracing::info!(
                chain = self.chain_id,
                nonce,
                max_fee,
                priority,
                "not mined in time, replacing with bumped fees"
            );
        }
        Err(SubmitError::NotMined(self.gas.max_bumps))
    }

    /// Takes `calls.len()` consecutive nonces and sends the first version of each transaction,
    /// all under the nonce lock. Returns the first nonce. On failure at call `i`, calls before it
    /// are out and the nonce is re-read from the node by the next sender, so no gap is left.
    #[allow(clippy::too_many_arguments)]
    async fn broadcast_first(
        &self,
        calls: &[Call],
        gas_limits: &mut [u64],
        max_fee: u128,
        priority: u128,
        store: &Store,
        relayer_id: &str,
        sent: &mut [Vec<B256>],
    ) -> Result<u64, SubmitError> {
        let mut state = self.nonces.lock().await;
        let nonce = match state.next {
            Some(n) => n,
            None => self
                .provider
                .get_transaction_count(self.from)
                .pending()
                .await
                .map_err(rpc("reading the account nonce"))?,
        };
        // In flight from here until `send_all` has their receipts (or gave up on them); the
        // error branch below takes them back itself.
        state.in_flight = state.in_flight.saturating_add(calls.len());
        for (i, call) in calls.iter().enumerate() {
            gas_limits[i] = gas_limits[i].max(state.gas_floor);
            state.gas_floor = gas_limits[i];
            match self
                .sign_record_broadcast(
                    call,
                    nonce.saturating_add(i as u64),
                    gas_limits[i],
                    max_fee,
                    priority,
                    store,
                    relayer_id,
                )
                .await
            {
                Ok(hash) => sent[i].push(hash),
                Err(e) => {
                    state.next = None;
                    state.in_flight = state.in_flight.saturating_sub(calls.len());
                    if state.in_flight == 0 {
                        state.gas_floor = 0;
                    }
                    return Err(e);
                }
            }
            metrics::counter!("ghostbridge_relayer_transactions_sent_total", "chain" => self.chain_id.to_string(), "bump" => "0").increment(1);
        }
        state.next = Some(nonce.saturating_add(calls.len() as u64));
        Ok(nonce)
    }

    /// Signs one transaction, records its hash on its messages (refusing if our lease is gone),
    /// then broadcasts it.
    #[allow(clippy::too_many_arguments)]
    async fn sign_record_broadcast(
        &self,
        call: &Call,
        nonce: u64,
        gas_limit: u64,
        max_fee: u128,
        priority: u128,
        store: &Store,
        relayer_id: &str,
    ) -> Result<B256, SubmitError> {
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_to(call.to)
            .with_input(call.data.clone())
            .with_nonce(nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        let envelope = tx
            .build(&self.wallet)
            .await
            .map_err(|e| SubmitError::Sign(e.to_string()))?;
        let hash = *envelope.tx_hash();
        // Recorded before the broadcast, in one database transaction per transaction.
        let missed = store
            .mark_submitted_many(
                &call.message_ids,
                relayer_id,
                &hash,
                nonce,
                U256::from(max_fee),
            )
            .await?;
        if !missed.is_empty() {
            return Err(SubmitError::LeaseLost(missed.len()));
        }
        if let Err(e) = self
            .provider
            .send_raw_transaction(&envelope.encoded_2718())
            .await
        {
            let msg = e.to_string().to_ascii_lowercase();
            // A replacement the node already has, or a nonce an earlier send of ours already
            // used: the receipt wait sorts it out.
            if !(msg.contains("already known")
                || msg.contains("nonce too low")
                || msg.contains("replacement"))
            {
                return Err(SubmitError::Broadcast(e));
            }
        }
        Ok(hash)
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
