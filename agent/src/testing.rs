//! Fakes for daemon unit tests (feature `test-utils`): a scripted chain node. A decision of a
//! follower, a relayer or a watcher is then a short test over what the node answers, not only an
//! anvil run.

use alloy::primitives::{Address, Bloom, Bytes, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::rpc::types::{Block, Header, Log, TransactionReceipt};
pub use alloy::transports::mock::Asserter;

/// A provider over a scripted node: each RPC call takes the next answer pushed on the returned
/// [`Asserter`] (`push_success`, `push_failure`), whatever its method; `read_q` shows what is
/// left, so a test also checks how many calls were made.
pub fn mock_node() -> (DynProvider, Asserter) {
    let node = Asserter::new();
    let provider = ProviderBuilder::new()
        .connect_mocked_client(node.clone())
        .erased();
    (provider, node)
}

/// A block as `eth_getBlockByNumber` returns it, with `hash`.
pub fn block(hash: B256) -> Block {
    Block {
        header: Header {
            hash,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A log in block `number` (other fields empty).
pub fn log_in(number: u64) -> Log {
    Log {
        block_number: Some(number),
        ..Default::default()
    }
}

/// A mined receipt with `status` (other fields plausible).
pub fn receipt(status: bool) -> TransactionReceipt {
    let json = serde_json::json!({
        "transactionHash": B256::repeat_byte(0xaa),
        "transactionIndex": "0x0",
        "blockHash": B256::repeat_byte(0xbb),
        "blockNumber": "0x36",
        "from": Address::repeat_byte(0x01),
        "to": Address::repeat_byte(0x09),
        "contractAddress": null,
        "gasUsed": "0x5208",
        "cumulativeGasUsed": "0x5208",
        "effectiveGasPrice": "0x1",
        "logs": [],
        "logsBloom": Bloom::ZERO,
        "type": "0x2",
        "status": if status { "0x1" } else { "0x0" },
    });
    serde_json::from_value(json).unwrap_or_else(|e| panic!("receipt JSON: {e}"))
}

/// The node's answer to a call (`eth_call`, `eth_estimateGas`) that reverts with `data`.
pub fn reverts_with(data: impl Into<Bytes>) -> ErrorPayload {
    let data: Bytes = data.into();
    ErrorPayload {
        code: 3,
        message: "execution reverted".into(),
        data: Some(
            serde_json::value::to_raw_value(&data)
                .unwrap_or_else(|e| panic!("revert data JSON: {e}")),
        ),
    }
}
