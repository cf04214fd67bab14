//! A client of the L2 JSON-RPC (`ghostbridge_sequencer::rpc`), for the CLI and tests: sends
//! signed transfers and withdrawals, reads balances, nonces, receipts and withdrawal proofs.

use alloy::primitives::{Address, B256};
use ghostbridge_sequencer::sequencer::WithdrawalProof;
use ghostbridge_sequencer::settlement::abi;
use serde_json::{json, Value};

/// An L2 JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct L2Client {
    url: String,
    http: reqwest::Client,
}

/// A receipt as the L2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L2Receipt {
    /// Queued.
    Pending,
    /// Applied in a batch.
    Applied {
        /// The batch.
        batch_number: u64,
    },
    /// Refused, with the reason.
    Rejected(String),
}

/// Why an L2 RPC request gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum L2ClientError {
    /// The node cannot be reached or timed out: retry.
    #[error("L2 RPC {url} unreachable: {source}")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// The transport's error.
        source: reqwest::Error,
    },
    /// The node answered with a JSON-RPC error (e.g. a transaction it refuses).
    #[error("{method}: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// The node's message.
        message: String,
    },
    /// The answer is not what the L2 RPC returns (a wrong or broken node).
    #[error("L2 RPC answer: {0} missing or malformed")]
    Malformed(&'static str),
    /// The transaction was refused by the sequencer.
    #[error("transaction {hash} rejected: {why}")]
    Rejected {
        /// The transaction.
        hash: B256,
        /// The sequencer's reason.
        why: String,
    },
    /// Still pending when the wait ended.
    #[error("transaction {hash} still pending after {after:?}")]
    StillPending {
        /// The transaction.
        hash: B256,
        /// How long it was waited for.
        after: std::time::Duration,
    },
}

impl L2ClientError {
    /// Whether asking again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::StillPending { .. })
    }
}

/// `parsed`, or [`L2ClientError::Malformed`] naming `what`.
fn field<T>(what: &'static str, parsed: Option<T>) -> Result<T, L2ClientError> {
    parsed.ok_or(L2ClientError::Malformed(what))
}

fn hex_u128(what: &'static str, v: &Value) -> Result<u128, L2ClientError> {
    field(
        what,
        v.as_str()
            .and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok()),
    )
}

fn parse_str<T: std::str::FromStr>(what: &'static str, v: &Value) -> Result<T, L2ClientError> {
    field(what, v.as_str().and_then(|s| s.parse().ok()))
}

fn as_u32(what: &'static str, v: &Value) -> Result<u32, L2ClientError> {
    field(what, v.as_u64().and_then(|n| u32::try_from(n).ok()))
}

impl L2Client {
    /// A client of `url` (e.g. `http://127.0.0.1:9090`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// One call; an error object becomes an error carrying its message.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, L2ClientError> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let unreachable = |source| L2ClientError::Unreachable {
            url: self.url.clone(),
            source,
        };
        let answer: Value = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?
            .json()
            .await
            .map_err(|_| L2ClientError::Malformed("a JSON-RPC answer"))?;
        if let Some(e) = answer.get("error") {
            return Err(L2ClientError::Rpc {
                method: method.to_owned(),
                message: e["message"].as_str().unwrap_or("error").to_owned(),
            });
        }
        Ok(answer["result"].clone())
    }

    /// Balance of `token` (0 GCC .. 7).
    pub async fn balance(&self, who: Address, token: u32) -> Result<u128, L2ClientError> {
        hex_u128(
            "balance",
            &self.call("gp_getBalance", json!([who, token])).await?,
        )
    }

    /// The account's next nonce.
    pub async fn nonce(&self, who: Address) -> Result<u64, L2ClientError> {
        let nonce = hex_u128("nonce", &self.call("gp_getNonce", json!([who])).await?)?;
        field("nonce", u64::try_from(nonce).ok())
    }

    /// Next portal deposit index the L2 expects.
    pub async fn deposit_cursor(&self) -> Result<u64, L2ClientError> {
        field(
            "deposit cursor",
            self.call("gp_getDepositCursor", json!([])).await?.as_u64(),
        )
    }

    /// Number of the last sealed batch (0: none).
    pub async fn latest_batch(&self) -> Result<u64, L2ClientError> {
        let h = self.call("gp_getLatestBatch", json!([])).await?;
        Ok(h["batchNumber"].as_u64().unwrap_or(0))
    }

    /// Sends a raw signed transfer; returns its hash.
    pub async fn send_transaction(&self, raw: &[u8]) -> Result<B256, L2ClientError> {
        let h = self
            .call(
                "gp_sendRawTransaction",
                json!([format!("0x{}", alloy::primitives::hex::encode(raw))]),
            )
            .await?;
        parse_str("hash", &h)
    }

    /// Sends a raw signed withdrawal; returns its hash.
    pub async fn send_withdrawal(&self, raw: &[u8]) -> Result<B256, L2ClientError> {
        let h = self
            .call(
                "gp_sendRawWithdrawal",
                json!([format!("0x{}", alloy::primitives::hex::encode(raw))]),
            )
            .await?;
        parse_str("hash", &h)
    }

    /// The receipt of `hash` (`None`: unknown).
    pub async fn receipt(&self, hash: B256) -> Result<Option<L2Receipt>, L2ClientError> {
        let r = self.call("gp_getReceipt", json!([hash])).await?;
        Ok(match r["status"].as_str() {
            None => None,
            Some("pending") => Some(L2Receipt::Pending),
            Some("applied") => Some(L2Receipt::Applied {
                batch_number: field("batchNumber", r["batchNumber"].as_u64())?,
            }),
            Some(_) => Some(L2Receipt::Rejected(
                r["reason"].as_str().unwrap_or("rejected").to_owned(),
            )),
        })
    }

    /// Waits until `hash` is applied or rejected (polling every 100 ms, up to `timeout`).
    pub async fn wait_receipt(
        &self,
        hash: B256,
        timeout: std::time::Duration,
    ) -> Result<u64, L2ClientError> {
        let start = std::time::Instant::now();
        loop {
            match self.receipt(hash).await? {
                Some(L2Receipt::Applied { batch_number }) => return Ok(batch_number),
                Some(L2Receipt::Rejected(why)) => {
                    return Err(L2ClientError::Rejected { hash, why })
                }
                _ if start.elapsed() > timeout => {
                    return Err(L2ClientError::StillPending {
                        hash,
                        after: timeout,
                    })
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    }

    /// Withdrawal `index` of batch `batch` with its proof (`None`: no such withdrawal).
    pub async fn withdrawal_proof(
        &self,
        batch: u64,
        index: u32,
    ) -> Result<Option<WithdrawalProof>, L2ClientError> {
        let p = self
            .call("gp_getWithdrawalProof", json!([batch, index]))
            .await?;
        if p.is_null() {
            return Ok(None);
        }
        let w = &p["withdrawal"];
        let siblings = field("siblings", p["siblings"].as_array())?
            .iter()
            .map(|s| parse_str("sibling", s))
            .collect::<Result<Vec<B256>, _>>()?;
        Ok(Some(WithdrawalProof {
            withdrawal: abi::Withdrawal {
                batchNumber: field("batchNumber", w["batchNumber"].as_u64())?,
                index: as_u32("index", &w["index"])?,
                from: parse_str("from", &w["from"])?,
                l1Recipient: parse_str("l1Recipient", &w["l1Recipient"])?,
                token: as_u32("token", &w["token"])?,
                amount: parse_str("amount", &w["amount"])?,
            },
            siblings,
            withdrawals_root: parse_str("withdrawalsRoot", &p["withdrawalsRoot"])?,
        }))
    }

    /// The index in batch `batch` of a withdrawal by `from` to `l1_recipient` of `amount` of
    /// `token` (the first such leaf; equal leaves pay the same recipient the same amount).
    pub async fn find_withdrawal(
        &self,
        batch: u64,
        from: Address,
        l1_recipient: Address,
        token: u32,
        amount: u128,
    ) -> Result<Option<WithdrawalProof>, L2ClientError> {
        for index in 0..=u32::from(u16::MAX) {
            let Some(p) = self.withdrawal_proof(batch, index).await? else {
                return Ok(None);
            };
            let w = &p.withdrawal;
            if w.from == from
                && w.l1Recipient == l1_recipient
                && w.token == token
                && w.amount == amount
            {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }
}
