//! JSON-RPC over real HTTP on loopback (a hand-written HTTP/1.1 client over tokio's TcpStream).

use crate::sequencer::{signed, start, FEE};
use alloy_primitives::Address;
use ghostbridge_core::config::ListenerLimits;
use ghostbridge_sequencer::{
    rpc,
    tx::{address_of, test_key},
};
use serde_json::{json, Value};
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    post(addr, &body).await
}

async fn post(addr: SocketAddr, body: &str) -> Value {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let body = resp.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_roundtrip_over_http() {
    let (handle, _sink) = start(2, 50, 64);
    let alice = address_of(test_key(1).verifying_key());
    let bob = Address::repeat_byte(0x0b);
    handle.deposit(alice, 0, 10 * FEE).unwrap();
    let (addr, _server) = rpc::start(
        "127.0.0.1:0".parse().unwrap(),
        handle,
        ListenerLimits::default(),
    )
    .await
    .unwrap();

    assert_eq!(
        call(addr, "gp_getLatestBatch", json!([])).await["result"],
        Value::Null
    );
    let bal = call(addr, "gp_getBalance", json!([alice.to_string()])).await;
    assert_eq!(bal["result"], json!(format!("{:#x}", 10 * FEE)));

    let raw = format!("0x{}", hex::encode(signed(1, bob, 42, 0)));
    let sent = call(addr, "gp_sendRawTransaction", json!([raw])).await;
    let hash = sent["result"].as_str().unwrap().to_string();
    let mut receipt = Value::Null;
    for _ in 0..3000 {
        receipt = call(addr, "gp_getReceipt", json!([hash])).await["result"].clone();
        if receipt["status"] == "applied" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(receipt["status"], "applied", "{receipt}");
    assert_eq!(receipt["batchNumber"], 1);
    assert_eq!(
        call(addr, "gp_getNonce", json!([alice.to_string()])).await["result"],
        "0x1"
    );
    assert_eq!(
        call(addr, "gp_getBalance", json!([bob.to_string(), 0])).await["result"],
        "0x2a"
    );
    let latest = call(addr, "gp_getLatestBatch", json!([])).await["result"].clone();
    assert_eq!(latest["batchNumber"], 1);
    assert_eq!(latest["transactionCount"], 1);
    assert_eq!(
        latest["transactionsRoot"],
        json!(hash),
        "a one-transaction batch's root is its hash"
    );

    // Errors: unknown method, bad params, invalid tx, duplicate.
    assert_eq!(
        call(addr, "gp_nope", json!([])).await["error"]["code"],
        -32601
    );
    assert_eq!(
        call(addr, "gp_getBalance", json!(["0x12"])).await["error"]["code"],
        -32602
    );
    assert_eq!(
        call(addr, "gp_getBalance", json!([bob.to_string(), 8])).await["error"]["code"],
        -32602
    );
    let bad = call(addr, "gp_sendRawTransaction", json!(["0x0102"])).await;
    assert_eq!(bad["error"]["code"], -32000);
    assert!(bad["error"]["message"]
        .as_str()
        .unwrap()
        .contains("shorter"));
    let dup = call(addr, "gp_sendRawTransaction", json!([raw])).await;
    assert!(dup["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already known"));
    assert_eq!(dup["error"]["data"]["retryable"], false);
}

/// JSON-RPC 2.0 batches, and the listener's bounds against a hostile client: a head sent one
/// byte at a time is cut off at the header deadline, an oversized body is refused with 413, an
/// empty or oversized batch gets one error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_batches_and_bounds_against_slow_or_huge_requests() {
    let (handle, _sink) = start(2, 50, 64);
    let alice = address_of(test_key(1).verifying_key());
    handle.deposit(alice, 0, 10 * FEE).unwrap();
    let limits = ListenerLimits {
        header_read_timeout_ms: 500,
        max_body_bytes: 64 * 1024,
        ..ListenerLimits::default()
    };
    let (addr, _server) = rpc::start("127.0.0.1:0".parse().unwrap(), handle, limits)
        .await
        .unwrap();

    let batch = json!([
        { "jsonrpc": "2.0", "id": 1, "method": "gp_getBalance", "params": [alice.to_string()] },
        { "jsonrpc": "2.0", "id": 2, "method": "gp_nope", "params": [] },
        { "jsonrpc": "2.0", "id": 3, "method": "gp_getDepositCursor", "params": [] },
    ]);
    let answers = post(addr, &batch.to_string()).await;
    let answers = answers
        .as_array()
        .expect("a batch is answered with an array");
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["result"], json!(format!("{:#x}", 10 * FEE)));
    assert_eq!(answers[1]["error"]["code"], -32601);
    assert_eq!(answers[2]["result"], 1, "the dev deposit took index 0");
    assert_eq!(post(addr, "[]").await["error"]["code"], -32600);
    let too_many: Vec<Value> = (0..=rpc::BATCH_MAX)
        .map(|i| json!({ "jsonrpc": "2.0", "id": i, "method": "gp_getDepositCursor" }))
        .collect();
    assert_eq!(
        post(addr, &Value::Array(too_many).to_string()).await["error"]["code"],
        -32600
    );

    // One byte every 100 ms: the head never completes within 500 ms and the connection is cut.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = std::time::Instant::now();
    let head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    let mut cut = false;
    for b in head {
        if slow.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(
        cut || matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a slow head was served: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body over the limit: 413 before it is read.
    let mut big = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        1 << 20
    );
    big.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), big.read_to_string(&mut resp)).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
}
