//! JSON types of the relayer's public status API (docs/STATUS_API.md), plain HTTP, read-only:
//!
//! - `GET /v1/transfers/{hash}` → [`TransfersResponse`]: the transfers a source transaction
//!   (lock or burn) emitted, or the one transfer with this message id, or the transfers a
//!   destination release transaction carried; each with its [`Step`]s.
//! - `GET /v1/quote?from=&to=&token=&amount=` → [`Quote`]: fee, rate-limit headroom, release
//!   window and large-transfer delay for this amount, read from the contracts.
//!
//! Every error is a 4xx (or 502/503 when a chain or the store cannot be read) with an
//! [`ApiError`](crate::api::ApiError) body `{"error": "..."}`. Amounts are decimal strings of
//! base units (they overflow JavaScript numbers); times are unix seconds.
//!
//! The parsers here ([`parse_hash`], [`parse_quote_query`]) are what the server applies to its
//! input; anything they refuse is a 400.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// Which leg a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Locked in the source vault, minted on the destination.
    Lock,
    /// Burned on the source minter, unlocked from the destination vault.
    Burn,
}

/// Where a transfer is, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// On its way (confirmations, attestation, submission).
    Pending,
    /// Held by the destination until a known time (large-transfer delay, rate limit, release
    /// window); see the waiting step's `until`.
    Waiting,
    /// The tokens reached the recipient.
    Released,
    /// It will not proceed without an operator (or it was cancelled); see the failed step's
    /// `reason`.
    Refused,
}

/// One step's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// The source `Locked` event (a lock leg).
    Locked,
    /// The source `Burned` event (a burn leg).
    Burned,
    /// The source block buried under the confirmation depth.
    Confirmations,
    /// Validator signatures gathered.
    Attested,
    /// The destination refuses the release until its rate-limit bucket refills or its token's
    /// release window ends (the relayer waits for `until`).
    RateLimited,
    /// The release transaction was sent.
    Submitted,
    /// A large transfer the destination holds until `until` (the guardian may cancel it).
    Held,
    /// The tokens reached the recipient.
    Released,
    /// Refused: failed permanently with `reason`, or cancelled during its hold.
    Refused,
}

/// How far a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Done.
    Done,
    /// Being worked on now.
    Active,
    /// Waiting for `until`.
    Waiting,
    /// Not reached yet.
    Pending,
    /// Failed (see `reason`).
    Failed,
}

/// One step of a transfer. Fields that do not apply to a step are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Which step.
    pub step: StepName,
    /// How far it is.
    pub status: StepStatus,
    /// Its transaction (source event: the lock or burn; `submitted`: the release transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<B256>,
    /// Its block (source event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    /// `confirmations`: blocks on top of the source block now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u64>,
    /// `confirmations`: blocks the relayer and validators wait for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<u64>,
    /// `attested`: distinct validator signatures the relayer holds for it (message or batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<u64>,
    /// `attested`: signatures the destination verifier needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u64>,
    /// `attested`: validators in the destination verifier's set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<u64>,
    /// `held` / `rate_limited`: when it may proceed (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// Why it waits or was refused (or the last transient error of an active step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Step {
    /// A step with no details.
    pub const fn new(step: StepName, status: StepStatus) -> Self {
        Self {
            step,
            status,
            tx_hash: None,
            block_number: None,
            confirmations: None,
            required: None,
            signatures: None,
            threshold: None,
            validators: None,
            until: None,
            reason: None,
        }
    }
}

/// One transfer (one bridge message) and its steps, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// `keccak256(abi.encode(message))`.
    pub message_id: B256,
    /// Lock or burn leg.
    pub kind: TransferKind,
    /// Source chain.
    pub src_chain_id: u64,
    /// Destination chain.
    pub dst_chain_id: u64,
    /// Nonce of the source contract.
    pub nonce: u64,
    /// The source token (for a burn: the origin token the message names).
    pub token: Address,
    /// Amount in base units (decimal string).
    #[serde(with = "decimal")]
    pub amount: U256,
    /// Who locked or burned.
    pub sender: Address,
    /// Who receives on the destination.
    pub recipient: Address,
    /// The lock/burn transaction, when known.
    pub source_tx: Option<B256>,
    /// The relayer's record status (`seen`, `attested`, `submitted`, `confirmed`,
    /// `failed_permanently`); `null` while it has not recorded the message yet.
    pub relayer_status: Option<String>,
    /// Summary of the steps.
    pub state: TransferState,
    /// The steps so far and to come.
    pub steps: Vec<Step>,
}

/// `GET /v1/transfers/{hash}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransfersResponse {
    /// The hash asked about.
    pub query: B256,
    /// What the hash is: `message_id`, `source_tx` or `release_tx`.
    pub matched: String,
    /// The transfers (one for a message id; a transaction may carry several).
    pub transfers: Vec<Transfer>,
}

/// The fee a lock or burn charges on the source chain (pulled by its `FeeManager` from the
/// sender: approve it first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// The `FeeManager` to approve.
    pub fee_manager: Address,
    /// Token the fee is paid in.
    pub token: Address,
    /// Amount in base units.
    #[serde(with = "decimal")]
    pub amount: U256,
}

/// A (token, chain) rate-limit bucket's headroom now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headroom {
    /// Amount it can move now (base units).
    #[serde(with = "decimal")]
    pub available: U256,
    /// Whether the quoted amount fits in it.
    pub fits: bool,
}

/// The destination token's release window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseWindow {
    /// When the current window ends (unix seconds; in the past: the next release opens a new
    /// window with a fresh allowance).
    pub ends_at: u64,
    /// What it may still release until then.
    #[serde(with = "decimal")]
    pub remaining: U256,
    /// Whether the quoted amount fits (always true once the window ended).
    pub fits: bool,
}

/// `GET /v1/quote`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Lock (source vault) or burn (source minter, wrapped token).
    pub kind: TransferKind,
    /// Source chain.
    pub src_chain_id: u64,
    /// Destination chain.
    pub dst_chain_id: u64,
    /// The source token (zero: native ETH).
    pub token: Address,
    /// The contract to call on the source chain (vault `lock`/`lockNative`, minter `burn`).
    pub src_contract: Address,
    /// The token released on the destination; `null` when the destination has none yet for
    /// this route (no wrapped token created).
    pub dst_token: Option<Address>,
    /// Amount quoted (base units).
    #[serde(with = "decimal")]
    pub amount: U256,
    /// `null`: no fee on this route.
    pub fee: Option<Fee>,
    /// Outbound bucket of the source endpoint (token, destination).
    pub outbound: Headroom,
    /// Inbound bucket of the destination endpoint (its token, source); `null` when there is no
    /// destination token yet.
    pub inbound: Option<Headroom>,
    /// `null` when there is no destination token yet.
    pub release_window: Option<ReleaseWindow>,
    /// Amount above which a transfer is large on the destination (`0`: none is).
    #[serde(with = "decimal")]
    pub large_amount: U256,
    /// Whether this amount is large.
    pub is_large: bool,
    /// Seconds a large transfer is held on the destination after its release (0 otherwise).
    pub delay_seconds: u64,
    /// The destination knows the source endpoint (`remoteOf`) and the source the destination.
    pub route_open: bool,
    /// Whether it can go now: route open, fits every bucket and the window.
    pub fits_now: bool,
}

/// U256 as a decimal string (`"1000000000000000000"`), as JavaScript's `BigInt` reads it.
pub mod decimal {
    use alloy::primitives::U256;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Serializes as a decimal string.
    pub fn serialize<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Reads a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(D::Error::custom("expected a decimal string"));
        }
        U256::from_str_radix(&s, 10).map_err(D::Error::custom)
    }
}

/// Why an input was refused (the 400 message).
pub type InputError = String;

/// A `0x`-prefixed 32-byte hex hash (message id or transaction hash).
pub fn parse_hash(s: &str) -> Result<B256, InputError> {
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| {
            "expected a 0x-prefixed 32-byte hex hash (tx hash or message id)".to_owned()
        })?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected a 0x-prefixed 32-byte hex hash (64 hex digits)".to_owned());
    }
    s.parse::<B256>()
        .map_err(|e| format!("not a 32-byte hash: {e}"))
}

/// The token of a quote: an address, or a symbol of the source chain's deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRef {
    /// An address (zero: native ETH).
    Address(Address),
    /// A symbol of the source chain (`GCC`, `ETH`), or `w` + a symbol of the destination for
    /// its wrapped token on the source (`wGCC`); matched case-insensitively.
    Symbol(String),
}

/// What `GET /v1/quote` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteQuery {
    /// Source chain.
    pub from: u64,
    /// Destination chain.
    pub to: u64,
    /// Token on the source chain.
    pub token: TokenRef,
    /// Amount in base units.
    pub amount: U256,
}

/// Longest query string accepted.
pub const MAX_QUERY_LEN: usize = 512;

/// Parses `from=31337&to=31338&token=GCC&amount=1000000000000000000`: every key once, no
/// other key, an integer amount above zero in base units (no decimals, no exponent).
pub fn parse_quote_query(query: Option<&str>) -> Result<QuoteQuery, InputError> {
    let query = query.unwrap_or_default();
    if query.len() > MAX_QUERY_LEN {
        return Err(format!("query over {MAX_QUERY_LEN} bytes"));
    }
    let (mut from, mut to, mut token, mut amount) = (None, None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{}` has no value", clip(pair)))?;
        let slot = match k {
            "from" => &mut from,
            "to" => &mut to,
            "token" => &mut token,
            "amount" => &mut amount,
            other => {
                return Err(format!(
                    "unknown parameter `{}` (expected from, to, token, amount)",
                    clip(other)
                ))
            }
        };
        if slot.replace(v).is_some() {
            return Err(format!("`{k}` given twice"));
        }
    }
    fn need<'a>(v: Option<&'a str>, k: &str) -> Result<&'a str, InputError> {
        v.ok_or_else(|| format!("missing `{k}`"))
    }
    let chain = |v: &str, k: &str| {
        if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{k}` must be a chain id (decimal)"));
        }
        v.parse::<u64>()
            .map_err(|_| format!("`{k}` must be a chain id (decimal)"))
    };
    let from = chain(need(from, "from")?, "from")?;
    let to = chain(need(to, "to")?, "to")?;
    if from == to {
        return Err("`from` and `to` are the same chain".to_owned());
    }
    let token = need(token, "token")?;
    let token = if token.starts_with("0x") || token.starts_with("0X") {
        if token.len() != 42 || !token.bytes().skip(2).all(|b| b.is_ascii_hexdigit()) {
            return Err("`token` must be a 20-byte 0x address or a symbol".to_owned());
        }
        TokenRef::Address(
            token
                .parse()
                .map_err(|_| "`token` must be a 20-byte 0x address or a symbol".to_owned())?,
        )
    } else if !token.is_empty()
        && token.len() <= 16
        && token.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        TokenRef::Symbol(token.to_owned())
    } else {
        return Err("`token` must be a 20-byte 0x address or a symbol".to_owned());
    };
    let amount = need(amount, "amount")?;
    if amount.is_empty() || amount.len() > 78 || !amount.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            "`amount` must be a whole number of base units (decimal digits, no decimal point)"
                .to_owned(),
        );
    }
    let amount: U256 = amount
        .parse()
        .map_err(|_| "`amount` does not fit in 256 bits".to_owned())?;
    if amount.is_zero() {
        return Err("`amount` must be above zero".to_owned());
    }
    Ok(QuoteQuery {
        from,
        to,
        token,
        amount,
    })
}

/// At most 40 characters of untrusted input, for an error message.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_must_be_exactly_32_bytes_of_hex() {
        let h = format!("0x{}", "ab".repeat(32));
        assert_eq!(parse_hash(&h).unwrap(), h.parse::<B256>().unwrap());
        assert!(parse_hash(&format!("0X{}", "AB".repeat(32))).is_ok());
        for bad in [
            "",
            "0x",
            "junk",
            &"ab".repeat(32),
            &format!("0x{}", "ab".repeat(31)),
            &format!("0x{}", "ab".repeat(33)),
            &format!("0x{}g", "a".repeat(63)),
            &format!("0x{}", "é".repeat(32)),
        ] {
            assert!(parse_hash(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn quote_queries_are_checked() {
        let q = parse_quote_query(Some(
            "from=31337&to=31338&token=gcc&amount=1000000000000000000",
        ))
        .unwrap();
        assert_eq!(q.from, 31337);
        assert_eq!(q.to, 31338);
        assert_eq!(q.token, TokenRef::Symbol("gcc".into()));
        assert_eq!(q.amount, U256::from(10u64).pow(U256::from(18u64)));
        let a = format!("from=1&to=2&token=0x{}&amount=5", "11".repeat(20));
        assert_eq!(
            parse_quote_query(Some(&a)).unwrap().token,
            TokenRef::Address(Address::repeat_byte(0x11))
        );
        for (bad, why) in [
            (None, "missing"),
            (Some("from=1&to=2&token=GCC"), "missing `amount`"),
            (Some("from=1&to=1&token=GCC&amount=1"), "same chain"),
            (Some("from=x&to=2&token=GCC&amount=1"), "chain id"),
            (Some("from=-1&to=2&token=GCC&amount=1"), "chain id"),
            (
                Some("from=99999999999999999999&to=2&token=GCC&amount=1"),
                "chain id",
            ),
            (Some("from=1&to=2&token=GCC&amount=0"), "above zero"),
            (Some("from=1&to=2&token=GCC&amount=1.5"), "whole number"),
            (Some("from=1&to=2&token=GCC&amount=1e18"), "whole number"),
            (Some("from=1&to=2&token=GCC&amount=-3"), "whole number"),
            (
                Some(&format!("from=1&to=2&token=GCC&amount={}", "9".repeat(78))),
                "256 bits",
            ),
            (Some("from=1&to=2&token=0x12&amount=1"), "address"),
            (Some("from=1&to=2&token=G%43C&amount=1"), "symbol"),
            (
                Some("from=1&to=2&token=GCC&amount=1&x=1"),
                "unknown parameter",
            ),
            (Some("from=1&from=1&to=2&token=GCC&amount=1"), "twice"),
            (Some("from=1&to=2&token&amount=1"), "no value"),
            (Some(&"a".repeat(600)), "over"),
        ] {
            let e = parse_quote_query(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn amounts_serialize_as_strings_and_absent_fields_are_left_out() {
        let mut s = Step::new(StepName::Attested, StepStatus::Active);
        s.signatures = Some(2);
        s.threshold = Some(3);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"step": "attested", "status": "active", "signatures": 2, "threshold": 3})
        );
        let h = Headroom {
            available: U256::from(10u64).pow(U256::from(24u64)),
            fits: true,
        };
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["available"], "1000000000000000000000000");
        assert_eq!(serde_json::from_value::<Headroom>(v).unwrap(), h);
    }
}
