//! The relayer's status API (docs/STATUS_API.md) end to end: a real devnet (two anvil chains,
//! 4 validators, the real `ghostbridge relay --api-addr` process), a real lock on chain A
//! followed through the API by its source tx hash, its message id and its release tx until
//! `released`; a quote; bad input (400), an unknown hash (404), another method (405); CORS for
//! the configured origin only; then a large transfer, quoted as large and shown `held` with the
//! time it may proceed.
//!
//! With `GHOSTBRIDGE_API_EXAMPLES=FILE` it writes the responses it got there (the examples of
//! docs/STATUS_API.md are captured this way).
// Test code: a panicking unwrap (or overflow) is the failure report.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use std::time::{Duration, Instant};

use alloy::primitives::Address;
use ghostbridge_cli::devnet::Devnet;
use ghostbridge_cli::transfer;
use ghostbridge_core::status_api::{
    Quote, StepName, StepStatus, TransferKind, TransferState, TransfersResponse,
};

mod common;
use common::*;

struct Answer {
    status: u16,
    allow_origin: Option<String>,
    body: serde_json::Value,
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    origin: Option<&str>,
) -> Answer {
    let mut req = http.request(method, url);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let allow_origin = resp
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
    };
    Answer {
        status,
        allow_origin,
        body,
    }
}

async fn get(http: &reqwest::Client, url: &str) -> Answer {
    call(http, reqwest::Method::GET, url, None).await
}

fn assert_error(a: &Answer, status: u16, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.body);
    assert!(
        a.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: no JSON error: {}",
        a.body
    );
}

/// The names and statuses of the steps, e.g. `locked:done`.
fn shape(r: &TransfersResponse) -> Vec<String> {
    r.transfers[0]
        .steps
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                serde_json::to_value(s.step).unwrap().as_str().unwrap(),
                serde_json::to_value(s.status).unwrap().as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_is_followed_through_the_status_api() {
    let started = Instant::now();
    let mut o = options("status-api", 29700);
    o.watcher = false;
    o.api_cors_origin = Some("http://127.0.0.1:29724".into());
    let d = Devnet::start(o).await.expect("devnet");
    let up = started.elapsed();
    let (a, b) = ends(&d);
    let api = d.api_url();
    let page = d.api_cors_origin();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut examples = serde_json::Map::new();

    // A quote for 1 GCC A -> B, before anything moved.
    let q = get(
        &http,
        &format!(
            "{api}/v1/quote?from={}&to={}&token=GCC&amount={}",
            a.chain_id,
            b.chain_id,
            ether(1)
        ),
    )
    .await;
    assert_eq!(q.status, 200, "{}", q.body);
    examples.insert("quote".into(), q.body.clone());
    let quote: Quote = serde_json::from_value(q.body).unwrap();
    assert_eq!(quote.kind, TransferKind::Lock);
    assert_eq!(quote.token, a.deployment.tokens["GCC"]);
    assert_eq!(quote.src_contract, a.deployment.vault);
    assert!(quote.dst_token.is_some_and(|t| !t.is_zero()));
    assert!(quote.route_open && quote.fits_now, "{quote:?}");
    assert!(!quote.is_large && quote.delay_seconds == 0);

    // Bad input: 400 with a JSON error; unknown: 404; another method: 405.
    for junk in [
        "junk",
        "0x1234",
        "0xzz00000000000000000000000000000000000000000000000000000000000000",
        "%E2%82%AC",
    ] {
        let r = get(&http, &format!("{api}/v1/transfers/{junk}")).await;
        assert_error(&r, 400, junk);
    }
    examples.insert(
        "transfers_400".into(),
        get(&http, &format!("{api}/v1/transfers/junk")).await.body,
    );
    for bad in [
        "",
        "from=1&to=2",
        "from=31337&to=31338&token=GCC&amount=1.5",
        "from=31337&to=31338&token=GCC&amount=0",
        "from=31337&to=31338&token=NOPE&amount=1",
        "from=31337&to=99&token=GCC&amount=1",
    ] {
        let r = get(&http, &format!("{api}/v1/quote?{bad}")).await;
        assert_error(&r, 400, bad);
    }
    let unknown = format!("0x{}", "42".repeat(32));
    let r = get(&http, &format!("{api}/v1/transfers/{unknown}")).await;
    assert_error(&r, 404, "unknown hash");
    examples.insert("transfers_404".into(), r.body);
    assert_error(&get(&http, &format!("{api}/v2/nothing")).await, 404, "path");
    let r = call(
        &http,
        reqwest::Method::POST,
        &format!("{api}/v1/transfers/{unknown}"),
        None,
    )
    .await;
    assert_error(&r, 405, "POST");

    // A real lock of 1 GCC on chain A.
    let key = user();
    let recipient = Address::repeat_byte(0x5a);
    let leg = transfer::resolve_leg(&a, &b, "GCC").await.unwrap();
    let sent = transfer::send(&a, &b, leg, ether(1), recipient, &key)
        .await
        .unwrap();
    let tx = sent.receipt.transaction_hash;
    let locked_at = Instant::now();

    // Poll by source tx hash until released; the steps only ever move forward.
    let by_tx = format!("{api}/v1/transfers/{tx}");
    let mut seen_shapes: Vec<Vec<String>> = Vec::new();
    let mut first_pending = None;
    let last = loop {
        assert!(
            locked_at.elapsed() < Duration::from_secs(60),
            "not released in time; shapes seen: {seen_shapes:#?}"
        );
        let r = get(&http, &by_tx).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let resp: TransfersResponse = serde_json::from_value(r.body.clone()).unwrap();
        assert_eq!(resp.matched, "source_tx");
        assert_eq!(resp.transfers.len(), 1);
        let t = &resp.transfers[0];
        assert_eq!(t.message_id, sent.id);
        assert_eq!(t.source_tx, Some(tx));
        assert_eq!(t.recipient, recipient);
        assert_eq!(t.amount, ether(1));
        let s = shape(&resp);
        let done = |s: &[String]| s.iter().filter(|x| x.ends_with(":done")).count();
        if let Some(prev) = seen_shapes.last() {
            assert!(
                done(&s) >= done(prev),
                "a step went back: {prev:?} -> {s:?}"
            );
        }
        if seen_shapes.last() != Some(&s) {
            seen_shapes.push(s);
        }
        if t.state == TransferState::Released {
            break resp;
        }
        assert_eq!(t.state, TransferState::Pending, "{:?}", t.steps);
        if first_pending.is_none() {
            first_pending = Some(r.body);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    assert_eq!(
        shape(&last),
        [
            "locked:done",
            "confirmations:done",
            "attested:done",
            "submitted:done",
            "released:done"
        ],
        "shapes seen: {seen_shapes:#?}"
    );
    // Every shape seen was a prefix of done steps followed by not-done ones.
    for s in &seen_shapes {
        let names: Vec<&str> = s.iter().map(|x| x.split(':').next().unwrap()).collect();
        assert_eq!(
            names,
            [
                "locked",
                "confirmations",
                "attested",
                "submitted",
                "released"
            ],
            "{s:?}"
        );
        let first_open = s.iter().position(|x| !x.ends_with(":done"));
        if let Some(i) = first_open {
            assert!(
                s[i..].iter().all(|x| !x.ends_with(":done")),
                "done after not done: {s:?}"
            );
        }
    }
    let t = &last.transfers[0];
    let steps = &t.steps;
    assert_eq!(steps[0].tx_hash, Some(tx));
    assert_eq!(steps[0].block_number, sent.receipt.block_number);
    assert!(steps[1].confirmations.unwrap() >= steps[1].required.unwrap());
    let att = &steps[2];
    assert!(att.signatures.unwrap() >= att.threshold.unwrap(), "{att:?}");
    assert_eq!(att.validators, Some(4));
    let release_tx = steps[3].tx_hash.expect("release tx");
    // Released is read from the destination (its consumed mark); the relayer's record follows
    // once it has the receipt.
    assert!(
        matches!(t.relayer_status.as_deref(), Some("submitted" | "confirmed")),
        "{:?}",
        t.relayer_status
    );
    assert_eq!(steps[4].step, StepName::Released);
    assert_eq!(steps[4].status, StepStatus::Done);
    if let Some(p) = first_pending {
        examples.insert("transfer_pending".into(), p);
    }
    examples.insert(
        "transfer_released".into(),
        serde_json::to_value(&last).unwrap(),
    );

    // The same transfer by message id (its source tx found by the indexed id) and by the
    // release transaction.
    let r = get(&http, &format!("{api}/v1/transfers/{}", sent.id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let by_id: TransfersResponse = serde_json::from_value(r.body).unwrap();
    assert_eq!(by_id.matched, "message_id");
    let same = |r: &TransfersResponse| {
        assert_eq!(shape(r), shape(&last));
        let (x, y) = (&r.transfers[0], &last.transfers[0]);
        assert_eq!(x.message_id, y.message_id);
        assert_eq!(x.source_tx, y.source_tx);
        assert_eq!(x.state, y.state);
        assert_eq!(x.steps[0], y.steps[0]);
        assert_eq!(x.steps[3].tx_hash, y.steps[3].tx_hash);
    };
    same(&by_id);
    let r = get(&http, &format!("{api}/v1/transfers/{release_tx}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let by_release: TransfersResponse = serde_json::from_value(r.body).unwrap();
    assert_eq!(by_release.matched, "release_tx");
    same(&by_release);
    examples.insert(
        "transfer_by_message_id".into(),
        serde_json::to_value(&by_id).unwrap(),
    );

    // CORS: the configured origin only, on answers and on the preflight.
    let other = "http://evil.example";
    let r = call(&http, reqwest::Method::GET, &by_tx, Some(&page)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.allow_origin.as_deref(), Some(page.as_str()));
    let r = call(&http, reqwest::Method::GET, &by_tx, Some(other)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.allow_origin, None);
    let r = call(&http, reqwest::Method::GET, &by_tx, None).await;
    assert_eq!(r.allow_origin, None);
    let r = call(
        &http,
        reqwest::Method::GET,
        &format!("{api}/v1/transfers/junk"),
        Some(&page),
    )
    .await;
    assert_error(&r, 400, "junk with origin");
    assert_eq!(r.allow_origin.as_deref(), Some(page.as_str()));
    let pre = http
        .request(reqwest::Method::OPTIONS, &by_tx)
        .header("origin", &page)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status().as_u16(), 204);
    assert_eq!(
        pre.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        page
    );
    assert!(pre.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("GET"));
    let pre = http
        .request(reqwest::Method::OPTIONS, &by_tx)
        .header("origin", other)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(pre.headers().get("access-control-allow-origin").is_none());
    assert!(pre.headers().get("access-control-allow-methods").is_none());

    // A large transfer: the admin of chain B makes 1 wrapped GCC large; a quote for 2 says so,
    // and a lock of 2 shows `held` with the time it may proceed.
    let w_gcc = quote.dst_token.unwrap();
    let admin = alloy::providers::ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(
            ghostbridge_cli::devnet::DEPLOYER_KEY
                .parse::<alloy::signers::local::PrivateKeySigner>()
                .unwrap(),
        ))
        .connect_http(b.rpc.parse().unwrap());
    let minter_b =
        ghostbridge_core::bindings::minter::BridgeMinter::new(b.deployment.minter, &admin);
    assert!(minter_b
        .setLargeAmount(w_gcc, ether(1))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .status());
    let delay = minter_b.largeTransferDelay().call().await.unwrap();
    let q = get(
        &http,
        &format!(
            "{api}/v1/quote?from={}&to={}&token=GCC&amount={}",
            a.chain_id,
            b.chain_id,
            ether(2)
        ),
    )
    .await;
    assert_eq!(q.status, 200, "{}", q.body);
    examples.insert("quote_large".into(), q.body.clone());
    let big_quote: Quote = serde_json::from_value(q.body).unwrap();
    assert!(big_quote.is_large, "{big_quote:?}");
    assert_eq!(big_quote.large_amount, ether(1));
    assert_eq!(big_quote.delay_seconds, delay);
    let leg = transfer::resolve_leg(&a, &b, "GCC").await.unwrap();
    let big = transfer::send(&a, &b, leg, ether(2), recipient, &key)
        .await
        .unwrap();
    let held_at = Instant::now();
    let held = loop {
        assert!(
            held_at.elapsed() < Duration::from_secs(60),
            "the large transfer was never shown held"
        );
        let r = get(
            &http,
            &format!("{api}/v1/transfers/{}", big.receipt.transaction_hash),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let resp: TransfersResponse = serde_json::from_value(r.body).unwrap();
        if resp.transfers[0].state == TransferState::Waiting {
            break resp;
        }
        assert_eq!(resp.transfers[0].state, TransferState::Pending, "{resp:?}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    assert_eq!(
        shape(&held),
        [
            "locked:done",
            "confirmations:done",
            "attested:done",
            "submitted:done",
            "held:waiting",
            "released:pending"
        ]
    );
    let until = held.transfers[0].steps[4].until.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        until + 120 >= now + delay && until <= now + delay + 120,
        "held until {until}, now {now}, delay {delay}"
    );
    examples.insert("transfer_held".into(), serde_json::to_value(&held).unwrap());

    if let Ok(path) = std::env::var("GHOSTBRIDGE_API_EXAMPLES") {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&serde_json::Value::Object(examples)).unwrap(),
        )
        .unwrap();
    }
    d.stop().await;
    eprintln!(
        "status API e2e took {:?} (devnet up in {up:?}, from the first lock on {:?}); step shapes seen: {seen_shapes:#?}",
        started.elapsed(),
        locked_at.elapsed()
    );
}
