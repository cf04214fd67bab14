//! JSON-RPC 2.0 over HTTP (axum) for L2 users, on `127.0.0.1:9090` by default.
//!
//! | method | params | result |
//! |---|---|---|
//! | `gp_sendRawTransaction` | `["0x<raw tx>"]` | tx hash |
//! | `gp_getBalance` | `["0x<address>", token?]` (token defaults to 0, GCC) | `"0x<u128 hex>"` |
//! | `gp_getNonce` | `["0x<address>"]` | `"0x<u64 hex>"` |
//! | `gp_getReceipt` | `["0x<tx hash>"]` | receipt or `null` |
//! | `gp_getLatestBatch` | `[]` | batch header (roots) or `null` |
//! | `gp_sendRawWithdrawal` | `["0x<raw signed withdrawal>"]` | its hash (keccak256 of the raw bytes) |
//! | `gp_getWithdrawalProof` | `[batchNumber, index]` | leaf fields, 16 siblings, withdrawals root, or `null` (header hash, submission time, proposer: the Rollup's `BatchSubmitted` event) |
//! | `gp_getDepositCursor` | `[]` | next portal deposit index the L2 expects |
//!
//! A JSON array of requests is a JSON-RPC 2.0 batch: one array of responses, in order (at most
//! [`BATCH_MAX`] requests; notifications are answered too).

use crate::{sequencer::SequencerHandle, TOKEN_COUNT};
use alloy_primitives::{Address, B256};
use axum::{extract::State, routing::post, Json, Router};
use ghostbridge_core::config::ListenerLimits;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9090";

/// Most requests in one JSON-RPC batch.
pub const BATCH_MAX: usize = 1024;

/// JSON-RPC error codes used here.
mod code {
    pub(super) const PARSE: i64 = -32700;
    pub(super) const INVALID_REQUEST: i64 = -32600;
    pub(super) const METHOD_NOT_FOUND: i64 = -32601;
    pub(super) const INVALID_PARAMS: i64 = -32602;
    pub(super) const SERVER: i64 = -32000;
}

struct RpcError {
    code: i64,
    message: String,
    retryable: bool,
}

impl RpcError {
    fn params(message: impl Into<String>) -> Self {
        Self {
            code: code::INVALID_PARAMS,
            message: message.into(),
            retryable: false,
        }
    }
}

/// The axum router serving JSON-RPC on `POST /`.
pub fn router(handle: SequencerHandle) -> Router {
    Router::new().route("/", post(serve)).with_state(handle)
}

/// Binds `addr` and serves on the bounded listener of every GhostBridge daemon
/// (`ghostbridge_agent::listener`: connection cap, header/body/idle timeouts, body limit) until
/// the task is aborted; returns the bound address (port 0 picks one).
pub async fn start(
    addr: SocketAddr,
    handle: SequencerHandle,
    limits: ListenerLimits,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router(handle);
    let task = tokio::spawn(ghostbridge_agent::listener::serve(
        "l2_rpc",
        listener,
        app,
        None,
        limits,
        tokio_util::sync::CancellationToken::new(),
    ));
    Ok((local, task))
}

async fn serve(State(handle): State<SequencerHandle>, body: String) -> Json<Value> {
    let parsed: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            return Json(error_response(
                Value::Null,
                &RpcError {
                    code: code::PARSE,
                    message: e.to_string(),
                    retryable: false,
                },
            ))
        }
    };
    Json(match parsed {
        Value::Array(requests) if requests.is_empty() || requests.len() > BATCH_MAX => {
            error_response(
                Value::Null,
                &RpcError {
                    code: code::INVALID_REQUEST,
                    message: format!(
                        "a batch holds 1..={BATCH_MAX} requests, got {}",
                        requests.len()
                    ),
                    retryable: false,
                },
            )
        }
        Value::Array(requests) => Value::Array(
            requests
                .iter()
                .map(|request| answer(&handle, request))
                .collect(),
        ),
        request => answer(&handle, &request),
    })
}

/// The response to one request object.
fn answer(handle: &SequencerHandle, request: &Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return error_response(
            id,
            &RpcError {
                code: code::INVALID_REQUEST,
                message: "missing method".into(),
                retryable: false,
            },
        );
    };
    let params = request.get("params").cloned().unwrap_or_else(|| json!([]));
    match dispatch(handle, method, &params) {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(e) => error_response(id, &e),
    }
}

fn error_response(id: Value, e: &RpcError) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": e.code, "message": e.message, "data": { "retryable": e.retryable } } })
}

fn param<'a>(params: &'a Value, i: usize, name: &str) -> Result<&'a str, RpcError> {
    params
        .get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::params(format!("param {i} ({name}) must be a hex string")))
}

fn address(params: &Value) -> Result<Address, RpcError> {
    let s = param(params, 0, "address")?;
    s.parse()
        .map_err(|e| RpcError::params(format!("bad address {s:?}: {e}")))
}

fn dispatch(handle: &SequencerHandle, method: &str, params: &Value) -> Result<Value, RpcError> {
    let server = |message: String, retryable: bool| RpcError {
        code: code::SERVER,
        message,
        retryable,
    };
    match method {
        "gp_sendRawTransaction" => {
            let s = param(params, 0, "raw transaction")?;
            let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s))
                .map_err(|e| RpcError::params(format!("bad hex: {e}")))?;
            let hash = handle
                .submit_raw(raw)
                .map_err(|e| server(e.to_string(), e.is_retryable()))?;
            Ok(json!(hash))
        }
        "gp_getBalance" => {
            let who = address(params)?;
            let token = match params.get(1) {
                None | Some(Value::Null) => 0,
                Some(v) => v
                    .as_u64()
                    .filter(|&t| t < TOKEN_COUNT as u64)
                    .ok_or_else(|| {
                        RpcError::params(format!("token {v} is not an id below {TOKEN_COUNT}"))
                    })?,
            };
            let account = handle
                .account(who)
                .map_err(|e| server(e.to_string(), e.is_retryable()))?;
            let balance = account.map_or(0, |a| a.balances[token as usize]);
            Ok(json!(format!("{balance:#x}")))
        }
        "gp_getNonce" => {
            let who = address(params)?;
            let account = handle
                .account(who)
                .map_err(|e| server(e.to_string(), e.is_retryable()))?;
            Ok(json!(format!("{:#x}", account.map_or(0, |a| a.nonce))))
        }
        "gp_getReceipt" => {
            let s = param(params, 0, "hash")?;
            let hash: B256 = s
                .parse()
                .map_err(|e| RpcError::params(format!("bad hash {s:?}: {e}")))?;
            Ok(handle.receipt(&hash).map_or(Value::Null, |r| json!(r)))
        }
        "gp_getLatestBatch" => Ok(handle.latest_batch().map_or(Value::Null, |h| json!(h))),
        "gp_sendRawWithdrawal" => {
            let s = param(params, 0, "raw withdrawal")?;
            let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s))
                .map_err(|e| RpcError::params(format!("bad hex: {e}")))?;
            let hash = handle
                .submit_raw_withdrawal(raw)
                .map_err(|e| server(e.to_string(), e.is_retryable()))?;
            Ok(json!(hash))
        }
        "gp_getWithdrawalProof" => {
            let number = |i: usize, name: &str| {
                params
                    .get(i)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| RpcError::params(format!("param {i} ({name}) must be a number")))
            };
            let batch = number(0, "batch number")?;
            let index = u32::try_from(number(1, "withdrawal index")?)
                .map_err(|_| RpcError::params("withdrawal index beyond u32"))?;
            Ok(handle
                .withdrawal_proof(batch, index)
                .map_or(Value::Null, |p| withdrawal_proof_json(&p)))
        }
        "gp_getDepositCursor" => Ok(json!(handle.deposit_cursor())),
        other => Err(RpcError {
            code: code::METHOD_NOT_FOUND,
            message: format!("method {other:?} not found"),
            retryable: false,
        }),
    }
}

/// JSON of a withdrawal proof: amounts as decimal strings (u128 exceeds JSON's safe integers).
fn withdrawal_proof_json(p: &crate::sequencer::WithdrawalProof) -> Value {
    let w = &p.withdrawal;
    json!({
        "withdrawal": {
            "batchNumber": w.batchNumber,
            "index": w.index,
            "from": w.from,
            "l1Recipient": w.l1Recipient,
            "token": w.token,
            "amount": w.amount.to_string(),
        },
        "siblings": p.siblings,
        "withdrawalsRoot": p.withdrawals_root,
    })
}
