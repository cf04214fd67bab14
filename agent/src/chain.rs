//! RPC access: providers with timeouts, log scans chunked to the RPC's range limit, consumed
//! marks read in JSON-RPC batches.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};

/// Why an RPC read failed, and whether trying again may help.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The configured URL cannot be used (a config error: retrying cannot help).
    #[error("bad RPC URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node failed, timed out or refused the request: retry with backoff.
    #[error("{what}: {reason}")]
    Rpc {
        /// The request.
        what: &'static str,
        /// The node's or transport's error.
        reason: String,
    },
    /// The node answered something that is not what the contract returns (a wrong or lying
    /// node): retried like an RPC error, worth an alert.
    #[error("{what}: undecodable answer: {reason}")]
    Decode {
        /// The request.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl ChainError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::BadUrl { .. })
    }

    pub(crate) fn rpc(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Rpc {
            what,
            reason: e.to_string(),
        }
    }
}

/// A read-only HTTP provider with a request timeout (a dead endpoint fails fast and is retried
/// by the caller's loop instead of hanging it).
pub fn http_provider(url: &str) -> Result<DynProvider, ChainError> {
    let bad = |reason: String| ChainError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed: reqwest::Url = url.parse().map_err(|e| bad(format!("{e}")))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let transport = alloy::transports::http::Http::with_client(client, parsed);
    let rpc = alloy::rpc::client::RpcClient::new(transport, true);
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(rpc)
        .erased())
}

/// Fetches logs of `address` with topic0 in `events` over `[from, to]`, in chunks of at most
/// `max_range` blocks; a chunk the RPC refuses as too large is halved and retried.
pub async fn scan_logs(
    provider: &DynProvider,
    address: Address,
    events: &[B256],
    from: u64,
    to: u64,
    max_range: u64,
) -> Result<Vec<Log>, ChainError> {
    let mut logs = Vec::new();
    let mut start = from;
    let mut range = max_range.max(1);
    while start <= to {
        let end = to.min(start.saturating_add(range.saturating_sub(1)));
        let filter = Filter::new()
            .address(address)
            .event_signature(events.to_vec())
            .from_block(start)
            .to_block(end);
        match provider.get_logs(&filter).await {
            Ok(mut chunk) => {
                logs.append(&mut chunk);
                start = end.saturating_add(1);
            }
            Err(e) if range > 1 && looks_like_range_error(&e.to_string()) => {
                range = (range / 2).max(1);
                tracing::debug!(range, "RPC refused the log range, halving");
            }
            Err(e) => return Err(ChainError::rpc("eth_getLogs", e)),
        }
    }
    Ok(logs)
}

fn looks_like_range_error(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    ["range", "too many", "limit", "exceed", "10000 results"]
        .iter()
        .any(|s| m.contains(s))
}

/// The hash of the canonical block at `number`, if the chain has it.
pub async fn block_hash(provider: &DynProvider, number: u64) -> Result<Option<B256>, ChainError> {
    Ok(provider
        .get_block_by_number(number.into())
        .await
        .map_err(|e| ChainError::rpc("eth_getBlockByNumber", e))?
        .map(|b| b.header.hash))
}

/// Consumed marks of many `(endpoint, source chain, nonce)` on one chain, read with JSON-RPC
/// batches of 200 `eth_call`s: one HTTP request per mark costs the node more than the releases
/// themselves. Vault and minter share `BridgeEndpoint.isConsumed`, so one binding reads both.
pub async fn consumed_marks(
    provider: &DynProvider,
    marks: &[(Address, u64, u64)],
) -> Result<Vec<bool>, ChainError> {
    use alloy::network::TransactionBuilder;
    use alloy::rpc::client::BatchRequest;
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::SolCall;
    use ghostbridge_core::bindings::minter::BridgeMinter::isConsumedCall;
    const WHAT: &str = "eth_call isConsumed (batched)";
    let reads = marks.chunks(200).map(|chunk| async move {
        let mut batch = BatchRequest::new(provider.client());
        let mut waiters = Vec::with_capacity(chunk.len());
        for &(endpoint, src, nonce) in chunk {
            let data = isConsumedCall {
                srcChainId: src,
                nonce,
            }
            .abi_encode();
            let call = TransactionRequest::default()
                .with_to(endpoint)
                .with_input(data);
            waiters.push(
                batch
                    .add_call::<_, alloy::primitives::Bytes>(
                        "eth_call",
                        &(call, alloy::eips::BlockNumberOrTag::Latest),
                    )
                    .map_err(|e| ChainError::rpc(WHAT, e))?,
            );
        }
        batch.send().await.map_err(|e| ChainError::rpc(WHAT, e))?;
        let mut out = Vec::with_capacity(waiters.len());
        for w in waiters {
            let ret = w.await.map_err(|e| ChainError::rpc(WHAT, e))?;
            out.push(
                isConsumedCall::abi_decode_returns(&ret).map_err(|e| ChainError::Decode {
                    what: WHAT,
                    reason: e.to_string(),
                })?,
            );
        }
        Ok::<_, ChainError>(out)
    });
    let mut out = Vec::with_capacity(marks.len());
    for read in futures::future::join_all(reads).await {
        out.extend(read?);
    }
    Ok(out)
}
