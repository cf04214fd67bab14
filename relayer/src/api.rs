//! The public status API (docs/STATUS_API.md): `GET /v1/transfers/{hash}` and `GET /v1/quote`,
//! plain HTTP on its own address (`ghostbridge relay --api-addr`), served by the bounded
//! listener every daemon uses ([`ghostbridge_agent::listener`]: connection cap, timeouts, body
//! limit). Read-only: it reads the relayer's store and the chains, never writes.
//!
//! - Bad input is a 400, an unknown hash or path a 404, another method a 405, each with a JSON
//!   body `{"error": "..."}`; a chain or the store that cannot be read now is a 502/503 with the
//!   same body. A handler never panics into a 500.
//! - CORS for one configured page origin (`--api-cors-origin`): a request whose `Origin` is
//!   exactly it gets `Access-Control-Allow-Origin` (and a preflight `OPTIONS` its 204 with the
//!   allowed method and header); any other origin gets no CORS header at all, so browsers keep
//!   other pages out.
//! - At most [`MAX_IN_FLIGHT`] lookups at once (each costs a few RPC calls); more get a 503.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ghostbridge_agent::attest::ValidatorSet;
use ghostbridge_agent::daemon::DaemonError;
use ghostbridge_agent::runtime::{now_ms, ListenError};
use ghostbridge_core::api::ApiError;
use ghostbridge_core::bindings::{
    fee_manager::FeeManager, minter::BridgeMinter, vault::BridgeVault, wrapped_token::WrappedToken,
};
use ghostbridge_core::config::ListenerLimits;
use ghostbridge_core::protocol::{from_minter, message_id, Message};
use ghostbridge_core::status_api::{
    parse_hash, parse_quote_query, Fee, Headroom, Quote, ReleaseWindow, Step, StepName, StepStatus,
    TokenRef, Transfer, TransferKind, TransferState, TransfersResponse,
};
use ghostbridge_store::{AttestationSubject, MessageRecord, Status};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::Relayer;

/// Lookups served at once; more are answered 503 at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// Largest request body: the API is GET-only.
const MAX_BODY: usize = 1024;

/// Where and for whom the API is served.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// Listen address; `None`: no API.
    pub addr: Option<SocketAddr>,
    /// The one page origin (`scheme://host[:port]`) that gets CORS headers.
    pub cors_origin: Option<String>,
}

/// Checks a CORS origin: `http(s)://host[:port]`, no path, no trailing slash.
pub fn check_origin(origin: &str) -> Result<HeaderValue, String> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| format!("CORS origin {origin:?} must start with http:// or https://"))?;
    if rest.is_empty()
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return Err(format!(
            "CORS origin {origin:?} must be scheme://host[:port], without a path"
        ));
    }
    HeaderValue::from_str(origin).map_err(|e| format!("CORS origin {origin:?}: {e}"))
}

#[derive(Debug, Clone)]
struct Api {
    relayer: Relayer,
    cors: Option<HeaderValue>,
    in_flight: Arc<Semaphore>,
}

/// An error answer: status and message.
#[derive(Debug)]
struct Fail(StatusCode, String);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, Json(ApiError { error: self.1 })).into_response()
    }
}

fn bad(msg: impl Into<String>) -> Fail {
    Fail(StatusCode::BAD_REQUEST, msg.into())
}

fn chain_down(chain: u64, e: impl std::fmt::Display) -> Fail {
    tracing::debug!(chain, error = %e, "status API: chain read failed");
    Fail(
        StatusCode::BAD_GATEWAY,
        format!("chain {chain} cannot be read now; try again"),
    )
}

fn store_down(e: impl std::fmt::Display) -> Fail {
    tracing::warn!(error = %e, "status API: store read failed");
    Fail(
        StatusCode::SERVICE_UNAVAILABLE,
        "the relayer's store cannot be read now; try again".into(),
    )
}

/// The router (without the listener), for tests.
fn router(api: Api) -> Router {
    Router::new()
        .route("/v1/transfers/{hash}", get(transfers).fallback(not_allowed))
        .route("/v1/quote", get(quote).fallback(not_allowed))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(api.clone(), cors))
        .with_state(api)
}

/// Serves the API on `addr` until `shutdown`; returns the bound address.
pub(crate) async fn serve(
    relayer: Relayer,
    addr: SocketAddr,
    cors_origin: Option<&str>,
    shutdown: CancellationToken,
) -> Result<SocketAddr, DaemonError> {
    let cors = cors_origin
        .map(check_origin)
        .transpose()
        .map_err(|e| DaemonError::start("status API CORS origin", e))?;
    let api = Api {
        relayer,
        cors,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
    };
    let listen_error = |source| ListenError { addr, source };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    let limits = ListenerLimits {
        max_body_bytes: MAX_BODY,
        ..ListenerLimits::default()
    };
    tokio::spawn(ghostbridge_agent::listener::serve(
        "status_api",
        listener,
        router(api),
        None,
        limits,
        shutdown,
    ));
    Ok(bound)
}

async fn not_found() -> Fail {
    Fail(
        StatusCode::NOT_FOUND,
        "no such endpoint (GET /v1/transfers/{hash}, GET /v1/quote)".into(),
    )
}

async fn not_allowed() -> Response {
    let mut r = Fail(
        StatusCode::METHOD_NOT_ALLOWED,
        "only GET (and OPTIONS) is allowed".into(),
    )
    .into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, OPTIONS"));
    r
}

/// CORS for the configured origin only, and the preflight.
async fn cors(State(api): State<Api>, req: Request, next: Next) -> Response {
    let allowed = allowed_origin(api.cors.as_ref(), req.headers());
    let mut resp = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, OPTIONS"));
        if allowed.is_some() {
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        r
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    // The answer depends on Origin: caches must not serve one origin's answer to another.
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    resp
}

/// The configured origin if the request's `Origin` is exactly it.
fn allowed_origin(configured: Option<&HeaderValue>, headers: &HeaderMap) -> Option<HeaderValue> {
    let configured = configured?;
    let origin = headers.get(header::ORIGIN)?;
    (origin.as_bytes() == configured.as_bytes()).then(|| configured.clone())
}

async fn transfers(
    State(api): State<Api>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<TransfersResponse>, Fail> {
    let Path(raw) = path.map_err(|_| bad("expected /v1/transfers/{0x tx hash or message id}"))?;
    let hash = parse_hash(&raw).map_err(bad)?;
    let _permit = api
        .in_flight
        .try_acquire()
        .map_err(|_| Fail(StatusCode::SERVICE_UNAVAILABLE, "busy; try again".into()))?;
    lookup(&api.relayer, hash).await.map(Json)
}

async fn quote(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Json<Quote>, Fail> {
    let q = parse_quote_query(q.as_deref()).map_err(bad)?;
    let _permit = api
        .in_flight
        .try_acquire()
        .map_err(|_| Fail(StatusCode::SERVICE_UNAVAILABLE, "busy; try again".into()))?;
    make_quote(&api.relayer, q).await.map(Json)
}

// ------------------------------------------------------------------ transfers

/// A message and where it came from.
struct Found {
    message: Message,
    record: Option<MessageRecord>,
    source: Option<(B256, Option<u64>)>,
}

async fn lookup(r: &Relayer, hash: B256) -> Result<TransfersResponse, Fail> {
    let store = &r.inner.store;
    // 1. A message id the relayer knows.
    if let Some(record) = store.message(&hash).await.map_err(store_down)? {
        let message = decode(&record)?;
        let source = source_of(r, &message, hash).await;
        let t = transfer(
            r,
            Found {
                message,
                record: Some(record),
                source,
            },
        )
        .await?;
        return Ok(TransfersResponse {
            query: hash,
            matched: "message_id".into(),
            transfers: vec![t],
        });
    }
    // 2. A release transaction the relayer sent (one for a batch carries several).
    let records = store.messages_by_tx(&hash).await.map_err(store_down)?;
    if !records.is_empty() {
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let message = decode(&record)?;
            let source = source_of(r, &message, record.id).await;
            out.push(
                transfer(
                    r,
                    Found {
                        message,
                        record: Some(record),
                        source,
                    },
                )
                .await?,
            );
        }
        return Ok(TransfersResponse {
            query: hash,
            matched: "release_tx".into(),
            transfers: out,
        });
    }
    // 3. A lock/burn transaction on one of the chains.
    let mut unreadable = None;
    let mut not_bridge = None;
    let mut chains: Vec<u64> = r.inner.chains.keys().copied().collect();
    chains.sort_unstable();
    for chain in chains {
        match source_events(r, chain, hash).await {
            Ok(None) => {}
            Ok(Some(events)) if events.is_empty() => not_bridge = Some(chain),
            Ok(Some(events)) => {
                let mut out = Vec::with_capacity(events.len());
                for (message, block) in events {
                    let record = store
                        .message(&message_id(&message))
                        .await
                        .map_err(store_down)?;
                    out.push(
                        transfer(
                            r,
                            Found {
                                message,
                                record,
                                source: Some((hash, block)),
                            },
                        )
                        .await?,
                    );
                }
                return Ok(TransfersResponse {
                    query: hash,
                    matched: "source_tx".into(),
                    transfers: out,
                });
            }
            Err(e) => unreadable = Some(chain_down(chain, e)),
        }
    }
    if let Some(chain) = not_bridge {
        return Err(Fail(
            StatusCode::NOT_FOUND,
            format!("transaction {hash} on chain {chain} emitted no Locked or Burned event of the bridge"),
        ));
    }
    Err(unreadable.unwrap_or_else(|| {
        Fail(
            StatusCode::NOT_FOUND,
            format!("{hash} is neither a bridge transaction on the relayer's chains nor a message id it has seen (a transfer is seen once its block is confirmed)"),
        )
    }))
}

fn decode(record: &MessageRecord) -> Result<Message, Fail> {
    use alloy::sol_types::SolValue;
    Message::abi_decode(&record.encoded).map_err(|e| {
        tracing::warn!(id = %record.id, error = %e, "status API: a stored message does not decode");
        Fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "the stored message cannot be decoded".into(),
        )
    })
}

/// `Some(events)` if `hash` is a mined transaction on `chain` (its bridge events, with the
/// block); `None` if the chain does not know it.
async fn source_events(
    r: &Relayer,
    chain: u64,
    hash: B256,
) -> Result<Option<Vec<(Message, Option<u64>)>>, alloy::transports::TransportError> {
    let (Some(provider), Some(c)) = (r.inner.providers.get(&chain), r.inner.chains.get(&chain))
    else {
        return Ok(None);
    };
    let Some(receipt) = provider.get_transaction_receipt(hash).await? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for log in receipt.inner.logs() {
        let message = if log.address() == c.deployment.vault
            && log.topic0() == Some(&BridgeVault::Locked::SIGNATURE_HASH)
        {
            BridgeVault::Locked::decode_log_data(log.data())
                .ok()
                .map(|e| e.message)
        } else if log.address() == c.deployment.minter
            && log.topic0() == Some(&BridgeMinter::Burned::SIGNATURE_HASH)
        {
            BridgeMinter::Burned::decode_log_data(log.data())
                .ok()
                .map(|e| from_minter(&e.message))
        } else {
            None
        };
        if let Some(m) = message.filter(|m| m.srcChainId == chain) {
            out.push((m, receipt.block_number));
        }
    }
    Ok(Some(out))
}

/// `eth_getLogs` windows a message-id lookup reads back from the head before it gives up on
/// showing the source transaction (the steps are still answered without it).
const SOURCE_SEARCH_WINDOWS: u64 = 64;

/// The source transaction of a stored message: its event, found by the indexed message id,
/// searched backwards from the head in windows the chain's RPC accepts (`max_block_range`),
/// down to the deploy block or [`SOURCE_SEARCH_WINDOWS`] windows, whichever comes first.
async fn source_of(r: &Relayer, m: &Message, id: B256) -> Option<(B256, Option<u64>)> {
    let provider = r.inner.providers.get(&m.srcChainId)?;
    let chain = r.inner.chains.get(&m.srcChainId)?;
    let topic = if m.srcContract == chain.deployment.vault {
        BridgeVault::Locked::SIGNATURE_HASH
    } else {
        BridgeMinter::Burned::SIGNATURE_HASH
    };
    let range = chain.max_block_range.max(1);
    let mut to = provider.get_block_number().await.ok()?;
    for _ in 0..SOURCE_SEARCH_WINDOWS {
        let from = to
            .saturating_sub(range.saturating_sub(1))
            .max(chain.deployment.deploy_block);
        let filter = Filter::new()
            .address(m.srcContract)
            .event_signature(topic)
            .topic1(id)
            .from_block(from)
            .to_block(to);
        let logs = provider.get_logs(&filter).await.ok()?;
        if let Some(log) = logs.first() {
            return Some((log.transaction_hash?, log.block_number));
        }
        if from <= chain.deployment.deploy_block {
            return None;
        }
        to = from.saturating_sub(1);
    }
    None
}

fn kind_of(r: &Relayer, m: &Message) -> Option<TransferKind> {
    let src = r.inner.chains.get(&m.srcChainId)?;
    if m.srcContract == src.deployment.vault {
        Some(TransferKind::Lock)
    } else if m.srcContract == src.deployment.minter {
        Some(TransferKind::Burn)
    } else {
        None
    }
}

/// Errors of a release the relayer waits out (`deliver::wait_reason`).
fn is_wait(error: &str) -> bool {
    error.starts_with("RateLimited:") || error.starts_with("ReleaseShareExceeded:")
}

/// What the destination says about a released (consumed) message.
enum Held {
    /// Not held (a plain release).
    No,
    /// Held until (unix seconds).
    Until(u64),
    /// Held, then executed.
    Executed,
    /// Cancelled by the guardian.
    Cancelled,
}

async fn transfer(r: &Relayer, f: Found) -> Result<Transfer, Fail> {
    let m = &f.message;
    let id = message_id(m);
    let kind = kind_of(r, m).ok_or_else(|| {
        Fail(
            StatusCode::NOT_FOUND,
            format!("message {id} does not come from a bridge contract the relayer serves"),
        )
    })?;
    let (src, dst) = match (
        r.inner.chains.get(&m.srcChainId),
        r.inner.chains.get(&m.dstChainId),
    ) {
        (Some(s), Some(d)) => (s, d),
        _ => {
            return Err(Fail(
                StatusCode::NOT_FOUND,
                format!(
                    "message {id} is for route {} -> {}, which the relayer does not serve",
                    m.srcChainId, m.dstChainId
                ),
            ))
        }
    };
    let src_p = &r.inner.providers[&m.srcChainId];
    let dst_p = &r.inner.providers[&m.dstChainId];
    let endpoint = match kind {
        TransferKind::Lock => dst.deployment.minter,
        TransferKind::Burn => dst.deployment.vault,
    };
    let record = f.record.as_ref();
    let status = record.map(|rec| rec.status);
    let now = now_ms();

    // The source event and its confirmations.
    let mut steps = Vec::new();
    let mut event = Step::new(
        match kind {
            TransferKind::Lock => StepName::Locked,
            TransferKind::Burn => StepName::Burned,
        },
        StepStatus::Done,
    );
    let block = f.source.and_then(|(_, b)| b);
    event.tx_hash = f.source.map(|(tx, _)| tx);
    event.block_number = block;
    steps.push(event);
    let mut conf = Step::new(StepName::Confirmations, StepStatus::Done);
    conf.required = Some(src.confirmations);
    if let Some(b) = block {
        let head = src_p
            .get_block_number()
            .await
            .map_err(|e| chain_down(m.srcChainId, e))?;
        let have = head.saturating_sub(b);
        conf.confirmations = Some(have);
        // Seen by the relayer = past the depth, whatever the head says now.
        if have < src.confirmations && record.is_none() {
            conf.status = StepStatus::Active;
        }
    }
    let confirmed_source = conf.status == StepStatus::Done;
    steps.push(conf);

    // Attestations: what the relayer gathered, for the verifier's current epoch.
    let set = ValidatorSet::read(dst_p, dst.deployment.verifier)
        .await
        .map_err(|e| chain_down(m.dstChainId, e))?;
    let mut signatures = r
        .inner
        .store
        .attestations(&AttestationSubject::Message(id), set.epoch)
        .await
        .map_err(store_down)?
        .len();
    for root in r
        .inner
        .store
        .batches_containing(&id)
        .await
        .map_err(store_down)?
    {
        let n = r
            .inner
            .store
            .attestations(&AttestationSubject::Batch(root), set.epoch)
            .await
            .map_err(store_down)?
            .len();
        signatures = signatures.max(n);
    }
    // Released on the destination? The consumed mark decides (another relayer may have done it).
    let consumed = match status {
        Some(Status::Confirmed) => true,
        Some(Status::FailedPermanently) => false,
        _ => BridgeVault::new(endpoint, dst_p.clone())
            .isConsumed(m.srcChainId, m.nonce)
            .call()
            .await
            .map_err(|e| chain_down(m.dstChainId, e))?,
    };
    let attested_done = consumed
        || matches!(
            status,
            Some(Status::Attested | Status::Submitted | Status::Confirmed)
        );
    let mut att = Step::new(
        StepName::Attested,
        if attested_done {
            StepStatus::Done
        } else if confirmed_source && record.is_some() {
            StepStatus::Active
        } else {
            StepStatus::Pending
        },
    );
    att.signatures = Some(signatures as u64);
    att.threshold = Some(set.threshold);
    att.validators = Some(set.signers.len() as u64);
    let last_error = record.and_then(|rec| rec.last_error.clone());
    let waiting = record.is_some_and(|rec| {
        rec.status.is_pending()
            && rec.next_attempt_at_ms > now
            && rec.last_error.as_deref().is_some_and(is_wait)
    });
    if att.status == StepStatus::Active && !waiting {
        att.reason.clone_from(&last_error);
    }
    steps.push(att);
    if waiting {
        let mut w = Step::new(StepName::RateLimited, StepStatus::Waiting);
        w.until = record.map(|rec| rec.next_attempt_at_ms.div_ceil(1000));
        w.reason.clone_from(&last_error);
        steps.push(w);
    }

    // Submission.
    let submission = record.and_then(|rec| rec.submission.clone());
    let mut sub = Step::new(
        StepName::Submitted,
        if consumed || submission.is_some() {
            StepStatus::Done
        } else if status == Some(Status::Attested) && !waiting {
            StepStatus::Active
        } else {
            StepStatus::Pending
        },
    );
    sub.tx_hash = submission.map(|s| s.tx_hash);
    if status == Some(Status::Submitted) {
        // Sent, not yet confirmed: report a transient error on it.
        sub.reason.clone_from(&last_error);
    } else if sub.status == StepStatus::Active {
        sub.reason.clone_from(&last_error);
    }
    steps.push(sub);

    // Held (large transfers) and released.
    let held = if consumed {
        let h = BridgeVault::new(endpoint, dst_p.clone())
            .heldTransfer(id)
            .call()
            .await
            .map_err(|e| chain_down(m.dstChainId, e))?;
        match h.status {
            1 => Held::Until(h.releaseAt),
            2 => Held::Executed,
            3 => Held::Cancelled,
            _ => Held::No,
        }
    } else {
        Held::No
    };
    match held {
        Held::No => {}
        Held::Until(t) => {
            let mut s = Step::new(StepName::Held, StepStatus::Waiting);
            s.until = Some(t);
            s.reason = Some(format!(
                "a large transfer: the destination holds it until {t}, then anyone may execute it; the guardian may cancel it until then"
            ));
            steps.push(s);
        }
        Held::Executed => steps.push(Step::new(StepName::Held, StepStatus::Done)),
        Held::Cancelled => {
            let mut s = Step::new(StepName::Held, StepStatus::Failed);
            s.reason = Some("cancelled by the guardian during the large-transfer hold".into());
            steps.push(s);
        }
    }
    let released = consumed && matches!(held, Held::No | Held::Executed);
    if let Some(rec) = record.filter(|rec| rec.status == Status::FailedPermanently) {
        // Keep what was done; the refusal replaces the steps it stopped.
        steps.retain(|s| s.status == StepStatus::Done);
        let mut s = Step::new(StepName::Refused, StepStatus::Failed);
        s.reason = rec.failure_reason.clone();
        steps.push(s);
    } else if matches!(held, Held::Cancelled) {
        let mut s = Step::new(StepName::Refused, StepStatus::Failed);
        s.reason = Some("cancelled by the guardian during the large-transfer hold".into());
        steps.push(s);
    } else {
        steps.push(Step::new(
            StepName::Released,
            if released {
                StepStatus::Done
            } else {
                StepStatus::Pending
            },
        ));
    }
    let state = if steps.iter().any(|s| s.status == StepStatus::Failed) {
        TransferState::Refused
    } else if released {
        TransferState::Released
    } else if steps.iter().any(|s| s.status == StepStatus::Waiting) {
        TransferState::Waiting
    } else {
        TransferState::Pending
    };
    Ok(Transfer {
        message_id: id,
        kind,
        src_chain_id: m.srcChainId,
        dst_chain_id: m.dstChainId,
        nonce: m.nonce,
        token: m.token,
        amount: m.amount,
        sender: m.sender,
        recipient: m.recipient,
        source_tx: f.source.map(|(tx, _)| tx),
        relayer_status: status.map(|s| s.as_str().to_owned()),
        state,
        steps,
    })
}

// ------------------------------------------------------------------ quote

async fn make_quote(
    r: &Relayer,
    q: ghostbridge_core::status_api::QuoteQuery,
) -> Result<Quote, Fail> {
    let (src, dst) = match (r.inner.chains.get(&q.from), r.inner.chains.get(&q.to)) {
        (Some(s), Some(d)) => (s, d),
        _ => {
            let mut known: Vec<u64> = r.inner.chains.keys().copied().collect();
            known.sort_unstable();
            return Err(bad(format!(
                "no route {} -> {}: the relayer serves chains {known:?}",
                q.from, q.to
            )));
        }
    };
    let src_p = &r.inner.providers[&q.from];
    let dst_p = &r.inner.providers[&q.to];
    let src_minter = BridgeMinter::new(src.deployment.minter, src_p.clone());
    let sdown = |e: alloy::contract::Error| chain_down(q.from, e);
    let ddown = |e: alloy::contract::Error| chain_down(q.to, e);
    let find = |tokens: &std::collections::BTreeMap<String, Address>, sym: &str| {
        tokens
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(sym) && !v.is_zero())
            .map(|(_, v)| *v)
    };
    // Resolve the leg as `ghostbridge transfer` does.
    let (kind, token) = match &q.token {
        TokenRef::Symbol(s) if s.eq_ignore_ascii_case("eth") => (TransferKind::Lock, Address::ZERO),
        TokenRef::Symbol(s) => {
            if let Some(t) = find(&src.deployment.tokens, s) {
                (TransferKind::Lock, t)
            } else {
                let origin = s.strip_prefix(['w', 'W']).and_then(|o| {
                    if o.eq_ignore_ascii_case("eth") {
                        Some(Address::ZERO)
                    } else {
                        find(&dst.deployment.tokens, o)
                    }
                });
                let Some(origin) = origin else {
                    return Err(bad(format!(
                        "unknown token symbol {s:?} on chain {} (known: ETH, {}; w<SYMBOL> for a wrapped token of chain {})",
                        q.from,
                        src.deployment.tokens.keys().cloned().collect::<Vec<_>>().join(", "),
                        q.to
                    )));
                };
                let wrapped = src_minter
                    .wrappedTokenOf(q.to, origin)
                    .call()
                    .await
                    .map_err(sdown)?;
                if wrapped.is_zero() {
                    return Err(bad(format!(
                        "no wrapped {s} of chain {} exists on chain {} yet",
                        q.to, q.from
                    )));
                }
                (TransferKind::Burn, wrapped)
            }
        }
        TokenRef::Address(a) => {
            if !a.is_zero() && src_minter.isWrappedToken(*a).call().await.map_err(sdown)? {
                (TransferKind::Burn, *a)
            } else {
                (TransferKind::Lock, *a)
            }
        }
    };
    // The contract called on the source, the one releasing on the destination, and the token
    // it releases.
    let (src_contract, dst_endpoint, dst_token) = match kind {
        TransferKind::Lock => {
            let wrapped = BridgeMinter::new(dst.deployment.minter, dst_p.clone())
                .wrappedTokenOf(q.from, token)
                .call()
                .await
                .map_err(ddown)?;
            (
                src.deployment.vault,
                dst.deployment.minter,
                (!wrapped.is_zero()).then_some(wrapped),
            )
        }
        TransferKind::Burn => {
            let w = WrappedToken::new(token, src_p.clone());
            let origin_chain = w.originChainId().call().await.map_err(sdown)?;
            if origin_chain != q.to {
                return Err(bad(format!(
                    "token {token} is a wrapped token of chain {origin_chain}; a burn goes back to its origin chain only"
                )));
            }
            let origin = w.originToken().call().await.map_err(sdown)?;
            (src.deployment.minter, dst.deployment.vault, Some(origin))
        }
    };
    let s_ep = BridgeVault::new(src_contract, src_p.clone());
    let d_ep = BridgeVault::new(dst_endpoint, dst_p.clone());
    let fee_manager = s_ep.feeManager().call().await.map_err(sdown)?;
    let fee = if fee_manager.is_zero() {
        None
    } else {
        let f = FeeManager::new(fee_manager, src_p.clone())
            .feeFor(q.to)
            .call()
            .await
            .map_err(sdown)?;
        let amount = U256::from(f.amount);
        (!f.token.is_zero() && !amount.is_zero()).then_some(Fee {
            fee_manager,
            token: f.token,
            amount,
        })
    };
    let out_available = s_ep
        .rateLimitAvailable(token, q.to, false)
        .call()
        .await
        .map_err(sdown)?;
    let route_open = !s_ep.remoteOf(q.to).call().await.map_err(sdown)?.is_zero()
        && !d_ep.remoteOf(q.from).call().await.map_err(ddown)?.is_zero();
    let delay = d_ep.largeTransferDelay().call().await.map_err(ddown)?;
    let (inbound, release_window, large_amount) = match dst_token {
        Some(t) => {
            let available = d_ep
                .rateLimitAvailable(t, q.from, true)
                .call()
                .await
                .map_err(ddown)?;
            let w = d_ep.releaseWindowOf(t).call().await.map_err(ddown)?;
            let chain_now = dst_p
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
                .map_err(|e| chain_down(q.to, e))?
                .map_or(now_ms() / 1000, |b| b.header.timestamp);
            let large = d_ep.largeAmountOf(t).call().await.map_err(ddown)?;
            (
                Some(Headroom {
                    available,
                    fits: q.amount <= available,
                }),
                Some(ReleaseWindow {
                    ends_at: w.endsAt,
                    remaining: w.remaining,
                    fits: w.endsAt <= chain_now || q.amount <= w.remaining,
                }),
                large,
            )
        }
        None => (None, None, U256::ZERO),
    };
    let is_large = !large_amount.is_zero() && q.amount > large_amount;
    let outbound = Headroom {
        available: out_available,
        fits: q.amount <= out_available,
    };
    // A large transfer is held, not limited, when it is released; the buckets apply when the
    // hold ends. A route with no destination token yet gets one at the first mint.
    let fits_now = route_open
        && outbound.fits
        && inbound.as_ref().is_none_or(|h| h.fits)
        && release_window.as_ref().is_none_or(|w| w.fits);
    Ok(Quote {
        kind,
        src_chain_id: q.from,
        dst_chain_id: q.to,
        token,
        src_contract,
        dst_token,
        amount: q.amount,
        fee,
        outbound,
        inbound,
        release_window,
        large_amount,
        is_large,
        delay_seconds: if is_large { delay } else { 0 },
        route_open,
        fits_now,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_a_bare_http_origin_is_accepted() {
        assert!(check_origin("http://127.0.0.1:8600").is_ok());
        assert!(check_origin("https://bridge.example").is_ok());
        for bad in [
            "",
            "*",
            "null",
            "127.0.0.1:8600",
            "http://",
            "http://a.example/",
            "http://a.example/page",
            "ftp://a.example",
            "http://a b",
        ] {
            assert!(check_origin(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cors_is_for_the_configured_origin_only() {
        let configured = check_origin("http://127.0.0.1:8600").unwrap();
        let with = |o: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
            h
        };
        assert_eq!(
            allowed_origin(Some(&configured), &with("http://127.0.0.1:8600")),
            Some(configured.clone())
        );
        for other in [
            "http://127.0.0.1:8601",
            "http://localhost:8600",
            "https://127.0.0.1:8600",
            "http://127.0.0.1:8600/",
            "null",
        ] {
            assert_eq!(
                allowed_origin(Some(&configured), &with(other)),
                None,
                "{other}"
            );
        }
        assert_eq!(allowed_origin(Some(&configured), &HeaderMap::new()), None);
        assert_eq!(allowed_origin(None, &with("http://127.0.0.1:8600")), None);
    }

    /// A relayer with an empty SQLite store and no chains: enough for everything the API
    /// decides before it reads a chain.
    async fn bare_relayer(name: &str) -> (Relayer, std::path::PathBuf) {
        let db =
            std::env::temp_dir().join(format!("ghostbridge-api-{name}-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let store = ghostbridge_store::Store::open(&format!("sqlite://{}?mode=rwc", db.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let relayer = Relayer {
            inner: Arc::new(crate::Inner {
                id: "api-test".into(),
                lease: std::time::Duration::from_secs(1),
                batch_max: 8,
                backoff: ghostbridge_store::BackoffPolicy {
                    base: std::time::Duration::from_millis(1),
                    max: std::time::Duration::from_millis(1),
                    max_attempts: 1,
                },
                max_final_attempts: 1,
                ..crate::testing::inner(
                    store,
                    [],
                    Default::default(),
                    crate::testing::no_validators(),
                )
            }),
        };
        (relayer, db)
    }

    /// A relayer on chain 31337 (vault `0xa1…`, deployed at block 100, RPC range 1,000) over a
    /// scripted node.
    async fn relayer_over(node: alloy::providers::DynProvider) -> (Relayer, std::path::PathBuf) {
        let (bare, db) = bare_relayer("source").await;
        let mut chain = crate::testing::chain(
            31337,
            Address::repeat_byte(0xa1),
            Address::repeat_byte(0xb3),
        );
        chain.deployment.deploy_block = 100;
        let inner = Arc::into_inner(bare.inner).unwrap();
        let relayer = Relayer {
            inner: Arc::new(crate::Inner {
                chains: [(31337, chain)].into(),
                providers: [(31337, node)].into(),
                ..inner
            }),
        };
        (relayer, db)
    }

    fn lock_from_a() -> Message {
        Message {
            version: 1,
            srcChainId: 31337,
            dstChainId: 31338,
            srcContract: Address::repeat_byte(0xa1),
            nonce: 4,
            token: Address::repeat_byte(0x77),
            amount: U256::from(5u64),
            sender: Address::repeat_byte(2),
            recipient: Address::repeat_byte(3),
        }
    }

    /// A message-id lookup reads back from the head in windows the RPC accepts (a real node
    /// refuses one `eth_getLogs` from the deploy block of a long chain) and stops at the first
    /// window holding the event, or at the deploy block.
    #[tokio::test]
    async fn the_source_of_a_message_is_searched_back_in_bounded_windows() {
        let (node, script) = ghostbridge_agent::testing::mock_node();
        let (r, db) = relayer_over(node).await;
        let m = lock_from_a();
        let id = message_id(&m);
        let source_tx = B256::repeat_byte(0x5e);
        let log = alloy::rpc::types::Log {
            block_number: Some(1_234),
            transaction_hash: Some(source_tx),
            ..ghostbridge_agent::testing::log_in(1_234)
        };
        // Head 2,500: windows 1,501..=2,500 (nothing), then 501..=1,500 (the event).
        script.push_success(&2_500u64);
        script.push_success(&Vec::<alloy::rpc::types::Log>::new());
        script.push_success(&vec![log]);
        assert_eq!(source_of(&r, &m, id).await, Some((source_tx, Some(1_234))));
        assert!(script.read_q().is_empty());

        // Not found: 1,501..=2,500, 501..=1,500, then 100..=500 (the deploy block), and no more.
        script.push_success(&2_500u64);
        for _ in 0..3 {
            script.push_success(&Vec::<alloy::rpc::types::Log>::new());
        }
        script.push_success(&"never read");
        assert_eq!(source_of(&r, &m, id).await, None);
        assert_eq!(script.read_q().len(), 1, "read past the deploy block");
        let _ = std::fs::remove_file(db);
    }

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_and_cors_only_for_the_page() {
        let (relayer, db) = bare_relayer("router").await;
        let shutdown = CancellationToken::new();
        let page = "http://127.0.0.1:8600";
        let addr = serve(
            relayer,
            "127.0.0.1:0".parse().unwrap(),
            Some(page),
            shutdown.clone(),
        )
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://{addr}");
        let call = |method: reqwest::Method, path: &str, origin: Option<&str>| {
            let mut req = http.request(method, format!("{base}{path}"));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let text = resp.text().await.unwrap();
                (status, headers, text)
            }
        };
        let hash = format!("0x{}", "42".repeat(32));
        for (method, path, want) in [
            (reqwest::Method::GET, "/v1/transfers/junk".to_owned(), 400),
            (reqwest::Method::GET, "/v1/transfers/0x1234".to_owned(), 400),
            (
                reqwest::Method::GET,
                "/v1/transfers/%E2%82%AC".to_owned(),
                400,
            ),
            (reqwest::Method::GET, format!("/v1/transfers/{hash}"), 404),
            (reqwest::Method::GET, "/v1/transfers".to_owned(), 404),
            (reqwest::Method::GET, "/".to_owned(), 404),
            (reqwest::Method::POST, format!("/v1/transfers/{hash}"), 405),
            (reqwest::Method::DELETE, "/v1/quote".to_owned(), 405),
            (reqwest::Method::GET, "/v1/quote".to_owned(), 400),
            (
                reqwest::Method::GET,
                "/v1/quote?from=1&to=2&token=GCC&amount=1.5".to_owned(),
                400,
            ),
            // Well-formed, but not a route this relayer serves.
            (
                reqwest::Method::GET,
                "/v1/quote?from=1&to=2&token=GCC&amount=1".to_owned(),
                400,
            ),
        ] {
            let (status, headers, text) = call(method.clone(), &path, None).await;
            assert_eq!(status, want, "{method} {path}: {text}");
            let body: ApiError = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {path}: not a JSON error ({e}): {text}"));
            assert!(!body.error.is_empty());
            assert_eq!(headers[header::CONTENT_TYPE], "application/json");
            assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        }
        // CORS: the page gets it (on errors too), another origin nothing.
        let (_, h, _) = call(reqwest::Method::GET, "/v1/transfers/junk", Some(page)).await;
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], page);
        let (_, h, _) = call(
            reqwest::Method::GET,
            "/v1/transfers/junk",
            Some("http://evil.example"),
        )
        .await;
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let (status, h, _) = call(reqwest::Method::OPTIONS, "/v1/quote", Some(page)).await;
        assert_eq!(status, 204);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], page);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "GET, OPTIONS");
        let (status, h, _) = call(
            reqwest::Method::OPTIONS,
            "/v1/quote",
            Some("http://evil.example"),
        )
        .await;
        assert_eq!(status, 204);
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_METHODS).is_none());
        // A body over the limit is refused before it is read.
        let resp = http
            .get(format!("{base}/v1/quote"))
            .body(vec![b'x'; MAX_BODY + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 413);
        shutdown.cancel();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }

    #[test]
    fn waits_are_told_from_other_errors() {
        assert!(is_wait(
            "RateLimited: token 0x.. from chain 1 requested 5 but 1 is available; waiting 9s"
        ));
        assert!(is_wait("ReleaseShareExceeded: token 0x.. requested 5"));
        assert!(!is_wait("validators unreachable"));
    }
}
