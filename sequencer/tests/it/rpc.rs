//! JSON-RPC over real HTTP on loopback (a hand-written HTTP/1.1 client over tokio's TcpStream).

use crate::sequencer::{signed, start, FEE};
use alloy_primitives::Address;
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
    let (addr, _server) = rpc::start("127.0.0.1:0".parse().unwrap(), handle)
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
