//! A client of the L2 JSON-RPC (`ghostbridge_sequencer::rpc`), for the CLI and tests: sends
//! signed transfers and withdrawals, reads balances, nonces, receipts and withdrawal proofs.

use alloy::primitives::{Address, B256};
use anyhow::{bail, Context};
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

fn hex_u128(v: &Value) -> anyhow::Result<u128> {
    let s = v.as_str().context("expected a hex string")?;
    Ok(u128::from_str_radix(s.trim_start_matches("0x"), 16)?)
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
    pub async fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let answer: Value = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("L2 RPC {} unreachable", self.url))?
            .json()
            .await
            .context("L2 RPC answer is not JSON")?;
        if let Some(e) = answer.get("error") {
            bail!("{method}: {}", e["message"].as_str().unwrap_or("error"));
        }
        Ok(answer["result"].clone())
    }

    /// Balance of `token` (0 GCC .. 7).
    pub async fn balance(&self, who: Address, token: u32) -> anyhow::Result<u128> {
        hex_u128(&self.call("gp_getBalance", json!([who, token])).await?)
    }

    /// The account's next nonce.
    pub async fn nonce(&self, who: Address) -> anyhow::Result<u64> {
        Ok(u64::try_from(hex_u128(
            &self.call("gp_getNonce", json!([who])).await?,
        )?)?)
    }

    /// Next portal deposit index the L2 expects.
    pub async fn deposit_cursor(&self) -> anyhow::Result<u64> {
        self.call("gp_getDepositCursor", json!([]))
            .await?
            .as_u64()
            .context("deposit cursor")
    }

    /// Number of the last sealed batch (0: none).
    pub async fn latest_batch(&self) -> anyhow::Result<u64> {
        let h = self.call("gp_getLatestBatch", json!([])).await?;
        Ok(h["batchNumber"].as_u64().unwrap_or(0))
    }

    /// Sends a raw signed transfer; returns its hash.
    pub async fn send_transaction(&self, raw: &[u8]) -> anyhow::Result<B256> {
        let h = self
            .call(
                "gp_sendRawTransaction",
                json!([format!("0x{}", alloy::primitives::hex::encode(raw))]),
            )
            .await?;
        Ok(h.as_str().context("hash")?.parse()?)
    }

    /// Sends a raw signed withdrawal; returns its hash.
    pub async fn send_withdrawal(&self, raw: &[u8]) -> anyhow::Result<B256> {
        let h = self
            .call(
                "gp_sendRawWithdrawal",
                json!([format!("0x{}", alloy::primitives::hex::encode(raw))]),
            )
            .await?;
        Ok(h.as_str().context("hash")?.parse()?)
    }

    /// The receipt of `hash` (`None`: unknown).
    pub async fn receipt(&self, hash: B256) -> anyhow::Result<Option<L2Receipt>> {
        let r = self.call("gp_getReceipt", json!([hash])).await?;
        Ok(match r["status"].as_str() {
            None => None,
            Some("pending") => Some(L2Receipt::Pending),
            Some("applied") => Some(L2Receipt::Applied {
                batch_number: r["batchNumber"].as_u64().context("batchNumber")?,
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
    ) -> anyhow::Result<u64> {
        let start = std::time::Instant::now();
        loop {
            match self.receipt(hash).await? {
                Some(L2Receipt::Applied { batch_number }) => return Ok(batch_number),
                Some(L2Receipt::Rejected(why)) => bail!("transaction {hash} rejected: {why}"),
                _ if start.elapsed() > timeout => {
                    bail!("transaction {hash} still pending after {timeout:?}")
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
    ) -> anyhow::Result<Option<WithdrawalProof>> {
        let p = self
            .call("gp_getWithdrawalProof", json!([batch, index]))
            .await?;
        if p.is_null() {
            return Ok(None);
        }
        let w = &p["withdrawal"];
        let addr =
            |v: &Value| -> anyhow::Result<Address> { Ok(v.as_str().context("address")?.parse()?) };
        let siblings = p["siblings"]
            .as_array()
            .context("siblings")?
            .iter()
            .map(|s| Ok(s.as_str().context("sibling")?.parse()?))
            .collect::<anyhow::Result<Vec<B256>>>()?;
        Ok(Some(WithdrawalProof {
            withdrawal: abi::Withdrawal {
                batchNumber: w["batchNumber"].as_u64().context("batchNumber")?,
                index: u32::try_from(w["index"].as_u64().context("index")?)?,
                from: addr(&w["from"])?,
                l1Recipient: addr(&w["l1Recipient"])?,
                token: u32::try_from(w["token"].as_u64().context("token")?)?,
                amount: w["amount"].as_str().context("amount")?.parse()?,
            },
            siblings,
            withdrawals_root: p["withdrawalsRoot"].as_str().context("root")?.parse()?,
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
    ) -> anyhow::Result<Option<WithdrawalProof>> {
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
