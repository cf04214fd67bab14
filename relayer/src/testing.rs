//! What the relayer's unit tests build a relayer from: a chain stated in full and the relayer's
//! shared state with test-sized knobs (each test overrides what it decides on).

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use ghostbridge_agent::attest::ValidatorClients;
use ghostbridge_core::config::Chain;
use ghostbridge_core::deployment::Deployment;
use ghostbridge_store::Store;

/// Chain `chain_id` with its `vault` and `minter` (verifier `0x77…`, deployed at block 1,
/// confirmation depth 2, RPC range 1,000).
pub(crate) fn chain(chain_id: u64, vault: Address, minter: Address) -> Chain {
    Chain {
        name: chain_id.to_string(),
        chain_id,
        rpc_urls: Vec::new(),
        confirmations: 2,
        block_time_ms: 1_000,
        max_block_range: 1_000,
        deployment: Deployment {
            chain_id,
            verifier: Address::repeat_byte(0x77),
            fee_manager: Address::repeat_byte(0xb2),
            vault,
            minter,
            guardian: Address::repeat_byte(0xb4),
            deploy_block: 1,
            tokens: Default::default(),
        },
        gas: Default::default(),
    }
}

/// Relayer `r1` over `store`, `chains` and their `providers`, asking `validators`.
pub(crate) fn inner(
    store: Store,
    chains: impl IntoIterator<Item = Chain>,
    providers: HashMap<u64, DynProvider>,
    validators: ValidatorClients,
) -> crate::Inner {
    crate::Inner {
        id: "r1".into(),
        store,
        chains: chains.into_iter().map(|c| (c.chain_id, c)).collect(),
        providers,
        validators,
        health: Default::default(),
        poll: Duration::from_millis(250),
        lease: Duration::from_secs(30),
        batch_min: 8,
        batch_max: 200,
        pipeline_batches: 1,
        rounds_in_flight: 1,
        backoff: Default::default(),
        max_final_attempts: 3,
    }
}

/// No validators at all (for decisions taken before any is asked).
pub(crate) fn no_validators() -> ValidatorClients {
    ValidatorClients::new(&[], std::path::Path::new("."))
        .unwrap_or_else(|e| panic!("no validators: {e}"))
}
